package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// Codes of a refused JSON body besides invalid_text.
const (
	CodeInvalidJSON  = "invalid_json"
	CodeUnknownField = "unknown_field"
	CodeDuplicateKey = "duplicate_key"
)

// maxDepth is encoding/json's own nesting limit: deeper bodies are left
// to the decoder, which refuses them.
const maxDepth = 10000

// DecodeJSON parses a JSON body strictly into v. Before decoding, the body's
// text is checked (see walk): invalid UTF-8 anywhere (also a lone surrogate
// escape such as \ud800), a NUL in any string (also written \u0000) and a
// key repeated within one object, at any depth, are refused with the path
// of the field. encoding/json itself
// would replace the bytes with U+FFFD, keep the NUL, and let the last of
// two keys win. Then unknown fields, trailing data and wrong types are
// refused as before, each naming the field.
//
// Codes: invalid_json, unknown_field, invalid_text, duplicate_key (the
// last two with details.field).
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fault.New(fault.Invalid, CodeInvalidJSON, "The request needs a JSON body.")
	}
	if err := walk(body); err != nil {
		return err
	}
	return decodeStrict(body, v)
}

// CheckJSON applies DecodeJSON's text rules (UTF-8, no NUL, no repeated
// key) to a body that its caller decodes its own way; a syntax error is
// left to that caller.
//
// Codes: invalid_text, duplicate_key.
func CheckJSON(body []byte) error { return walk(body) }

// frame is one open object or array during the walk.
type frame struct {
	object  bool
	keyNext bool   // object: the next string is a key
	key     string // object: the key whose value is being read
	index   int    // array: the index of the value being read
	keys    []string
	seen    map[string]bool // keys, once an object has many
}

// manyKeys is when an object's keys move from a list to a map.
const manyKeys = 16

func (f *frame) repeated(k string) bool {
	if f.seen != nil {
		if f.seen[k] {
			return true
		}
		f.seen[k] = true
		return false
	}
	for _, x := range f.keys {
		if x == k {
			return true
		}
	}
	f.keys = append(f.keys, k)
	if len(f.keys) > manyKeys {
		f.seen = make(map[string]bool, 2*manyKeys)
		for _, x := range f.keys {
			f.seen[x] = true
		}
		f.keys = nil
	}
	return false
}

// walk checks the text of the body's first JSON value. A syntax error is
// not its concern: it returns nil and leaves the wording to decodeStrict.
//
// Nearly every body is valid UTF-8 JSON with nothing to refuse: scan reads
// those bytes once without allocating and answers nil. Anything else (bytes
// that are not UTF-8, a syntax error, an escape for NUL or a surrogate, a
// repeated key, deep nesting, a very wide object) is decided by walkTokens,
// whose answer, word for word, is the rule.
func walk(body []byte) error {
	if utf8.Valid(body) && scan(body) {
		return nil
	}
	return walkTokens(body)
}

// walkTokens is walk by encoding/json's tokens: it allocates for every
// token, and is only reached for bodies scan could not clear.
func walkTokens(body []byte) error {
	valid := utf8.Valid(body)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			if !valid {
				return notUTF8("")
			}
			return nil
		}
		off := dec.InputOffset()
		// The bytes of this token (and the separators before it): only
		// looked at when the body has bytes that are not UTF-8, to say
		// where they are.
		raw := body[prev:off]
		prev = off
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if len(stack) >= maxDepth {
					return nil
				}
				stack = append(stack, frame{object: t == '{', keyNext: t == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].keyNext {
				top := &stack[n-1]
				switch {
				case !valid && !utf8.Valid(raw), replaced(t, raw):
					return keyProblem(stack, "is not valid UTF-8 text")
				case strings.IndexByte(t, 0) >= 0:
					return keyProblem(stack, "contains a NUL character")
				case top.repeated(t):
					top.key = t
					p := path(stack)
					return fault.New(fault.Invalid, CodeDuplicateKey, "Field %q appears more than once; each key may appear once per object.", p).With("field", p)
				}
				top.key, top.keyNext = t, false
				continue
			}
			switch {
			case !valid && !utf8.Valid(raw), replaced(t, raw):
				return notUTF8(path(stack))
			case strings.IndexByte(t, 0) >= 0:
				p := path(stack)
				if p == "" {
					return fault.New(fault.Invalid, CodeInvalidText, "The body contains a NUL character.")
				}
				return fault.New(fault.Invalid, CodeInvalidText, "Field %q contains a NUL character.", p).With("field", p)
			}
		}
		// A value is complete.
		n := len(stack)
		if n == 0 {
			break
		}
		if top := &stack[n-1]; top.object {
			top.keyNext = true
		} else {
			top.index++
		}
	}
	if !valid {
		// The bytes are after the first value.
		return notUTF8("")
	}
	return nil
}

// replaced reports whether encoding/json put U+FFFD into the decoded
// string s for a lone surrogate escape (\ud800 without its pair) in raw:
// such a string has no UTF-8 form, and it is refused like invalid bytes
// rather than stored as something the client never sent. Decoded strings
// without U+FFFD, nearly all, cost one search.
func replaced(s string, raw []byte) bool {
	if !strings.ContainsRune(s, utf8.RuneError) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		r, ok := hex4(raw[i+2:])
		if !ok {
			return false // not JSON; the decoder says so
		}
		i += 5
		switch {
		case 0xDC00 <= r && r <= 0xDFFF:
			return true // a low half with no high half before it
		case 0xD800 <= r && r <= 0xDBFF:
			if i+2 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(raw[i+3:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(v), err == nil
}

func notUTF8(p string) error {
	if p == "" {
		return fault.New(fault.Invalid, CodeInvalidText, "The body is not valid UTF-8 text.")
	}
	return fault.New(fault.Invalid, CodeInvalidText, "Field %q is not valid UTF-8 text.", p).With("field", p)
}

// keyProblem refuses a key that cannot be shown, by the object holding it.
func keyProblem(stack []frame, what string) error {
	p := path(stack[:len(stack)-1])
	if p == "" {
		return fault.New(fault.Invalid, CodeInvalidText, "A field name in the body %s.", what)
	}
	return fault.New(fault.Invalid, CodeInvalidText, "A field name in %q %s.", p, what).With("field", p)
}

// path names the value being read: stake, legs[0].selection_id, [2].
func path(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// decodeStrict decodes one JSON value: unknown fields, trailing data and
// wrong types are refused, each saying which field is wrong.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var timeErr *time.ParseError
		switch {
		case errors.As(err, &timeErr):
			return fault.New(fault.Invalid, CodeInvalidJSON, "Times must be RFC 3339, like 2026-11-24T10:30:00Z.")
		case errors.As(err, &typeErr):
			return fault.New(fault.Invalid, CodeInvalidJSON, "Field %q has the wrong type.", typeErr.Field)
		case errors.As(err, &syntaxErr):
			return fault.New(fault.Invalid, CodeInvalidJSON, "The body is not valid JSON (at byte %d).", syntaxErr.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return fault.New(fault.Invalid, CodeUnknownField, "The body has an unknown field: %s.", err.Error()[len("json: unknown field "):])
		default:
			if fe, ok := fault.As(err); ok {
				return fe
			}
			return fault.New(fault.Invalid, CodeInvalidJSON, "The body is not valid: %s.", safeJSONError(err))
		}
	}
	if dec.More() {
		return fault.New(fault.Invalid, CodeInvalidJSON, "The body has data after the JSON value.")
	}
	return nil
}

// safeJSONError keeps messages from our own UnmarshalJSON methods (odds,
// lines), which are written for users, and hides anything else.
func safeJSONError(err error) string {
	s := err.Error()
	if len(s) > 200 {
		return "invalid value"
	}
	return s
}

// Limits of scan's fast path; past them walkTokens decides.
const (
	scanDepth = 32 // open objects and arrays
	scanKeys  = 64 // keys of one object
)

// scan reports whether body, valid UTF-8, starts with a JSON value that
// walkTokens would pass: strict JSON up to the end of the first value, no
// \u0000 escape, no surrogate escape outside a high-low pair, no key
// repeated in an object. false means "not sure", never "refused": every
// body that is not plainly clean goes to walkTokens. What follows the first
// value is not looked at, as walkTokens does not.
func scan(body []byte) bool {
	var (
		stackArr [scanDepth]struct {
			object bool
			keys   int // object: where its keys start in keys
		}
		keysArr [scanKeys][]byte
	)
	stack := stackArr[:0]
	keys := keysArr[:0]
	i := 0
	for {
		// A value.
		i = skipSpace(body, i)
		if i >= len(body) {
			return false
		}
		switch c := body[i]; c {
		case '{', '[':
			if len(stack) == scanDepth {
				return false
			}
			i++
			if c == '[' {
				stack = append(stack, struct {
					object bool
					keys   int
				}{false, 0})
				i = skipSpace(body, i)
				if i < len(body) && body[i] == ']' {
					i++
					stack = stack[:len(stack)-1]
					break
				}
				continue
			}
			stack = append(stack, struct {
				object bool
				keys   int
			}{true, len(keys)})
			i = skipSpace(body, i)
			if i < len(body) && body[i] == '}' {
				i++
				stack = stack[:len(stack)-1]
				break
			}
			var ok bool
			if i, keys, ok = scanKey(body, i, keys, stack[len(stack)-1].keys); !ok {
				return false
			}
			continue
		case '"':
			end, _, ok := scanString(body, i)
			if !ok {
				return false
			}
			i = end
		case 't':
			if !hasLit(body, i, "true") {
				return false
			}
			i += 4
		case 'f':
			if !hasLit(body, i, "false") {
				return false
			}
			i += 5
		case 'n':
			if !hasLit(body, i, "null") {
				return false
			}
			i += 4
		default:
			end, ok := scanNumber(body, i)
			if !ok {
				return false
			}
			i = end
		}
		// A value is complete: close what it completes, then find the
		// next value.
		for {
			n := len(stack)
			if n == 0 {
				return true
			}
			i = skipSpace(body, i)
			if i >= len(body) {
				return false
			}
			top := stack[n-1]
			c := body[i]
			if c == ',' {
				i++
				if top.object {
					var ok bool
					if i, keys, ok = scanKey(body, i, keys, top.keys); !ok {
						return false
					}
				}
				break
			}
			if top.object && c == '}' {
				keys = keys[:top.keys]
			} else if top.object || c != ']' {
				return false
			}
			i++
			stack = stack[:n-1]
		}
	}
}

// scanKey reads `"key" :` at body[i:] (after spaces), checks the key
// against those of its object, keys[from:], and adds it.
func scanKey(body []byte, i int, keys [][]byte, from int) (int, [][]byte, bool) {
	i = skipSpace(body, i)
	if i >= len(body) || body[i] != '"' {
		return 0, keys, false
	}
	end, escaped, ok := scanString(body, i)
	if !ok || len(keys)-from >= scanKeys {
		return 0, keys, false
	}
	k := body[i+1 : end-1]
	if escaped {
		var s string
		if json.Unmarshal(body[i:end], &s) != nil {
			return 0, keys, false
		}
		k = []byte(s)
	}
	for _, x := range keys[from:] {
		if bytes.Equal(x, k) {
			return 0, keys, false
		}
	}
	keys = append(keys, k)
	i = skipSpace(body, end)
	if i >= len(body) || body[i] != ':' {
		return 0, keys, false
	}
	return i + 1, keys, true
}

// scanString reads the string starting with the quote at body[i] and
// returns the index past its closing quote and whether it has escapes.
// It is not ok for anything that is not JSON and for an escape walkTokens
// would refuse or that it might: \u0000 and surrogates not in a pair.
func scanString(body []byte, i int) (end int, escaped, ok bool) {
	for i++; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return 0, false, false
		case c != '\\':
			continue
		}
		escaped = true
		i++
		if i >= len(body) {
			return 0, false, false
		}
		switch body[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			continue
		case 'u':
		default:
			return 0, false, false
		}
		r, ok := hex4fast(body, i+1)
		if !ok || r == 0 || 0xDC00 <= r && r <= 0xDFFF {
			return 0, false, false
		}
		i += 4
		if 0xD800 <= r && r <= 0xDBFF {
			if i+2 >= len(body) || body[i+1] != '\\' || body[i+2] != 'u' {
				return 0, false, false
			}
			lo, ok := hex4fast(body, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return 0, false, false
			}
			i += 6
		}
	}
	return 0, false, false
}

// hex4fast reads the four hex digits at body[i:].
func hex4fast(body []byte, i int) (rune, bool) {
	if i+4 > len(body) {
		return 0, false
	}
	var r rune
	for _, c := range body[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber reads a JSON number at body[i:]: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func scanNumber(body []byte, i int) (int, bool) {
	if i < len(body) && body[i] == '-' {
		i++
	}
	switch {
	case i < len(body) && body[i] == '0':
		i++
	case i < len(body) && '1' <= body[i] && body[i] <= '9':
		i = digits(body, i)
	default:
		return 0, false
	}
	if i < len(body) && body[i] == '.' {
		j := digits(body, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(body) && (body[i] == 'e' || body[i] == 'E') {
		i++
		if i < len(body) && (body[i] == '+' || body[i] == '-') {
			i++
		}
		j := digits(body, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(body []byte, i int) int {
	for i < len(body) && '0' <= body[i] && body[i] <= '9' {
		i++
	}
	return i
}

func hasLit(body []byte, i int, lit string) bool {
	return len(body)-i >= len(lit) && string(body[i:i+len(lit)]) == lit
}

func skipSpace(body []byte, i int) int {
	for i < len(body) {
		switch body[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
