package apisports

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The provider's typing is loose: ids and scores arrive as numbers, numeric
// strings or null, and the same field changes shape between sports. These
// types never fail a decode, so one odd field costs that field (recorded as
// Bad and checked by the caller) instead of the whole item.

// optInt is a non-negative integer that may be missing.
type optInt struct {
	V   int
	Set bool
	Bad bool
}

// maxInt bounds every integer we accept; epoch seconds fit easily, and
// anything larger is a data error rather than a value.
const maxInt = 1 << 40

func (o *optInt) UnmarshalJSON(b []byte) error {
	*o = optInt{}
	s := strings.TrimSpace(string(b))
	if s == "null" || s == "" {
		return nil
	}
	if s[0] == '"' {
		var str string
		if json.Unmarshal(b, &str) != nil {
			o.Bad = true
			return nil
		}
		s = strings.TrimSpace(str)
		if s == "" {
			return nil
		}
	}
	if len(s) > 15 {
		o.Bad = true
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxInt {
		o.Bad = true
		return nil
	}
	o.V, o.Set = n, true
	return nil
}

// flexID is an id sent as an integer or a string; it is empty when the
// value cannot serve as an id. Only letters and digits are kept valid
// because ids are joined with '-' (h2h) and ':' (refs).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	*f = ""
	s := strings.TrimSpace(string(b))
	if s != "" && s[0] == '"' {
		var str string
		if json.Unmarshal(b, &str) != nil {
			return nil
		}
		s = str
	}
	if validID(s) {
		*f = flexID(s)
	}
	return nil
}

func validID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// looseString is a string that may arrive as a number or null. Other
// shapes become empty. It is trimmed and bounded because names end up in
// the catalogue and in logs.
type looseString string

const maxString = 200

func (l *looseString) UnmarshalJSON(b []byte) error {
	*l = ""
	s := strings.TrimSpace(string(b))
	switch {
	case s == "" || s == "null" || s[0] == '{' || s[0] == '[' || s == "true" || s == "false":
		return nil
	case s[0] == '"':
		var str string
		if json.Unmarshal(b, &str) != nil {
			return nil
		}
		s = str
	}
	*l = looseString(clean(s))
	return nil
}

// clean trims s, drops control characters and caps its length on a rune
// boundary.
func clean(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > maxString {
		cut := maxString
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.TrimSpace(s)
}

func (l looseString) String() string { return string(l) }

// rawString returns the text of a JSON scalar (a string's content or a
// number's literal), or "" for anything else. Season values are strings
// for some basketball leagues and integers elsewhere; both are passed back
// to the provider as they came.
func rawString(b json.RawMessage) string {
	var l looseString
	_ = l.UnmarshalJSON(b)
	return string(l)
}
