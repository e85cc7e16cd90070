// Package input holds the rules every text input meets where a request is
// decoded, whatever surface receives it: a strict JSON decoder (valid
// UTF-8, no NUL, no repeated key), the check of query parameters and of
// header values used as keys, the rule for names people see (no control,
// format or invisible characters; stored in NFC), the fold key that makes
// two names the same name, and the one rule for time zones.
//
// Text that is not UTF-8 or that holds a NUL is refused, never repaired:
// PostgreSQL cannot store either in a text column, SQLite would store a
// NUL that every later reader trips over, and replacing bytes with U+FFFD
// would store something the client never sent.
package input

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// CodeInvalidText is the code of text that is not UTF-8 or holds a NUL.
const CodeInvalidText = "invalid_text"

// ValidText reports whether s is UTF-8 without a NUL character.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// Query checks every query parameter, names and values alike. Go decodes
// %FF and %00 into raw bytes, so the decoded form is what is checked.
//
// Codes: invalid_text (details: parameter).
func Query(q url.Values) error {
	var bad []string
	for k, vs := range q {
		if !ValidText(k) {
			bad = append(bad, k)
			continue
		}
		for _, v := range vs {
			if !ValidText(v) {
				bad = append(bad, k)
				break
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	// The map's order is random; name the same parameter every time. The
	// name is quoted in Go syntax, so invalid bytes and a NUL show as
	// escapes and the message itself stays valid text.
	k := strconv.Quote(slices.Min(bad))
	return fault.New(fault.Invalid, CodeInvalidText, "Query parameter %s must be UTF-8 text without NUL characters.", k).
		With("parameter", k[1:len(k)-1])
}

// QueryString is Query for a raw query string, parsed as net/http does
// (a malformed pair is dropped there and here).
func QueryString(raw string) error {
	// Only an escape or a byte outside printable ASCII can decode into
	// something that is not text; most queries have neither.
	plain := true
	for i := 0; i < len(raw) && plain; i++ {
		plain = raw[i] != '%' && raw[i] > 0x20 && raw[i] < 0x7f
	}
	if plain {
		return nil
	}
	q, _ := url.ParseQuery(raw)
	return Query(q)
}

// Header checks the value of a header used as a key (Idempotency-Key).
//
// Codes: invalid_text (details: header).
func Header(name, value string) error {
	if ValidText(value) {
		return nil
	}
	return fault.New(fault.Invalid, CodeInvalidText, "Header %s must be UTF-8 text without NUL characters.", name).With("header", name)
}
