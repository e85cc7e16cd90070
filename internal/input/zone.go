package input

import (
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// CodeInvalidZone is the code of a refused time zone.
const CodeInvalidZone = "invalid_time_zone"

// Zone loads an IANA time zone name ("Asia/Seoul", "Europe/London",
// "UTC"). Refused: "", names longer than 64 bytes, anything that is not
// the shape of an IANA name (letters, digits, '_', '-', '+', '/'-separated
// parts; so no paths, dots or spaces), and the names that mean whatever
// zone the server runs in: "Local" (Go's name for it) and "localtime"
// (the file that points at /etc/localtime on many systems). A player's
// calendar days must not move when the server is moved.
//
// Codes: invalid_time_zone.
func Zone(name string) (*time.Location, error) {
	if !zoneShape(name) || strings.EqualFold(name, "Local") || strings.EqualFold(last(name), "localtime") {
		return nil, zoneError()
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, zoneError()
	}
	return loc, nil
}

func zoneError() error {
	return fault.New(fault.Invalid, CodeInvalidZone, "Use an IANA time zone name such as Asia/Seoul or Europe/London.")
}

// zoneShape reports whether name has the shape of an IANA zone name.
func zoneShape(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '+') {
				return false
			}
		}
	}
	return true
}

func last(name string) string {
	return name[strings.LastIndexByte(name, '/')+1:]
}
