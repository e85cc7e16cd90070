package input

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// FuzzDecodeJSON feeds the strict decoder arbitrary bytes. Every outcome
// is a success or a 400-kind fault with a code and a message, never a
// panic or an internal error; and what it accepts has no invalid UTF-8,
// no NUL and no repeated key.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"stake":1000,"legs":[{"selection_id":"s_1","odds":"2.05"}],"odds_policy":"reject"}`,
		`{"stake":1,"stake":2}`, `{"legs":[{"odds":"1","odds":"2"}]}`, `{"a":{"b":[{"c":1,"c":2}]}}`,
		`{"a":"\u0000"}`, `{"a\u0000":1}`, "{\"a\":\"\xff\"}", "{\"\xc3\":1}", "\"\xed\xa0\x80\"",
		`{"a":1} {"a":1,"a":1}`, `[[[[[]]]]]`, `{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\\ud800\ufffd"}`, `{"\udc00":1}`, `{"st\u0061ke":1,"stake":2}`,
		``, ` `, `null`, `{`, `}`, `[1,]`, `{"a":1,}`, "{\"a\":1\x00}", `"x"`, `1e999`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v any
		err := DecodeJSON(body, &v)
		if err != nil {
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || fe.Code == "" || fe.Message == "" {
				t.Fatalf("DecodeJSON(%q) = %v: not a 400 with a code", body, err)
			}
			if !utf8.ValidString(fe.Message) {
				t.Fatalf("message %q is not UTF-8", fe.Message)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		if hasNUL(v) {
			t.Fatalf("accepted a NUL: %q", body)
		}
		// A repeated key would have lost a value: the walk and a decode
		// into a map see the same number of keys.
		if n := countKeys(body); n >= 0 && n != countMapKeys(v) {
			t.Fatalf("accepted a repeated key: %q", body)
		}
	})
}

// countKeys counts the object keys of the body's first value by tokens,
// or -1 when the body is not JSON.
func countKeys(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	type open struct{ object, keyNext bool }
	var stack []open
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return -1
		}
		switch x := tok.(type) {
		case json.Delim:
			if x == '{' || x == '[' {
				stack = append(stack, open{x == '{', x == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if k := len(stack) - 1; k >= 0 && stack[k].keyNext {
				n++
				stack[k].keyNext = false
				continue
			}
		}
		if len(stack) == 0 {
			return n
		}
		if k := len(stack) - 1; stack[k].object {
			stack[k].keyNext = true
		}
	}
}

// countMapKeys counts the keys of every object in a decoded value.
func countMapKeys(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := len(x)
		for _, e := range x {
			n += countMapKeys(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += countMapKeys(e)
		}
		return n
	}
	return 0
}

// hasNUL reports whether a decoded value holds a NUL in a key or string.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, e := range x {
			if hasNUL(k) || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}
