package input

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// CodeInvalidName is the code of a name with a hidden character. Callers
// whose names have a code of their own (invalid_nickname, invalid_match)
// answer with it instead.
const CodeInvalidName = "invalid_name"

// Hidden reports whether r may not appear in a name people see: a control
// character (C0, DEL, C1), a format character (bidirectional overrides,
// embeddings and isolates, marks such as U+200E, U+200F and U+061C,
// zero-width spaces and joiners, U+2060, U+FEFF, soft hyphens, tags) or a
// line or paragraph separator. Each of them can hide text, reorder it or
// make two names look alike.
func Hidden(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// Name checks a name people see (a nickname, a league, team or match
// name) and returns it in Unicode NFC, the form it is stored and compared
// in. Length and spacing rules belong to the caller; they apply to the
// returned form.
//
// Codes: invalid_text (not UTF-8, or a NUL), invalid_name (a hidden
// character).
func Name(s string) (string, error) {
	if !ValidText(s) {
		return "", fault.New(fault.Invalid, CodeInvalidText, "Names must be UTF-8 text without NUL characters.")
	}
	for _, r := range s {
		if Hidden(r) {
			return "", fault.New(fault.Invalid, CodeInvalidName, "Names cannot contain control, formatting or invisible characters (such as U+%04X).", r)
		}
	}
	return norm.NFC.String(s), nil
}

// CleanName is Name for text that cannot be refused (a data provider's
// league and team names): bytes that are not UTF-8 and hidden characters
// are dropped rather than stored, spaces at the ends trimmed, and the
// rest returned in NFC. It may return "".
func CleanName(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || Hidden(r) {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || n > 1) && !Hidden(r) {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
		s = b.String()
	}
	return strings.TrimSpace(norm.NFC.String(s))
}

// Fold is the key under which two names are the same name: NFKC with
// case folding, so "ＫＩＭ", "Kim" and "kim" share one key. It is what a
// uniqueness constraint compares; the name itself is shown as given.
func Fold(s string) string {
	// A Caser keeps state between calls: one per call.
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}
