package input

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// walkSeeds are bodies where walk (scan, then walkTokens) must answer as
// walkTokens alone does: the clean path, each refusal, and each reason
// scan hands a body to walkTokens. walkTokens is the reference: every
// refusal comes from it, so scan must never clear a body it refuses.
func walkSeeds() []string {
	deep := func(n int, open, inner, close string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	return []string{
		// FuzzDecodeJSON's seeds.
		`{"stake":1000,"legs":[{"selection_id":"s_1","odds":"2.05"}],"odds_policy":"reject"}`,
		`{"stake":1,"stake":2}`, `{"legs":[{"odds":"1","odds":"2"}]}`, `{"a":{"b":[{"c":1,"c":2}]}}`,
		`{"a":"\u0000"}`, `{"a\u0000":1}`, "{\"a\":\"\xff\"}", "{\"\xc3\":1}", "\"\xed\xa0\x80\"",
		`{"a":1} {"a":1,"a":1}`, `[[[[[]]]]]`, `{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\\ud800\ufffd"}`, `{"\udc00":1}`, `{"st\u0061ke":1,"stake":2}`,
		``, ` `, `null`, `{`, `}`, `[1,]`, `{"a":1,}`, "{\"a\":1\x00}", `"x"`, `1e999`,
		// TestDecodeJSON's bodies.
		`{"legs":[{"selection_id":"별빛 ☆"}],"meta":{"a":"b","A":"c"}}`, `{"legs":[{"odds":"1"},{"odds":"2"}]}`,
		`{"legs":[{"odds":"\u0001"}]}`, " \n", `{"stake":}`, `{"stake":"x"}`, `{"stake":1}{}`,
		"{\"legs\":[{\"selection_id\":\"s_\xff\"}]}", "{\"legs\":[{\"odds\":\"1\"},{\"odds\":\"\xc3\"}]}",
		"{\"legs\":[{\"\xff\":1}]}", "{\"\xed\xa0\x80\":1}", "{\"stake\":1\xff}", "{\"stake\":1} \xff", "\"\xff\"",
		`{"legs":[{"odds":"\ud800"}]}`, `{"meta":{"k":"x\uDC00"}}`, `{"meta":{"k":"\ud800\u0041"}}`, `{"meta":{"\ud800":"v"}}`,
		`{"meta":{"k":"\ud83d\ude00"}}`, `{"meta":{"k":"\ufffd �"}}`, `{"meta":{"k":"\\ud800 \ufffd"}}`,
		`{"legs":[{"selection_id":"s_1\u0000"}]}`, `{"any":[[{"x":["\u0000"]}]]}`,
		`{"any":{"a":[{"b":{"c":1,"c":2}}]}}`, `{"meta":{` + manyPairs(40) + `,"k7":"again"}}`, `{"meta":{` + manyPairs(70) + `}}`,
		`{"stake":1}{"stake":1,"stake":2}`,
		// Escapes in keys.
		`{"a\u0062":1,"ab":2}`, `{"ab":1,"a\u0062":2}`, `{"a\"b":1,"a\"b":2}`, `{"a\\b":1,"a\/b":2,"a/b":3}`,
		`{"\ud83d\ude00":1,"😀":2}`, `{"\uD83D\uDE00":1}`, `{"a\u00e9":1,"aé":2}`, `{"a\x":1}`, `{"a\u12":1}`,
		// Nested arrays of objects, the same key in siblings.
		`[{"a":1},{"a":2},[{"a":[{"a":1,"b":2}]}]]`, `[{"a":1},{"a":2,"a":3}]`, `{"a":{"a":{"a":1}},"b":{"a":1},"a":2}`,
		// Depth near scan's and encoding/json's limits.
		deep(scanDepth-1, "[", `{"a":1,"a":2}`, "]"), deep(scanDepth, "[", `{"a":1,"a":2}`, "]"), deep(scanDepth+1, "[", `"\u0000"`, "]"),
		deep(maxDepth-1, "[", `{"a":1,"a":2}`, "]"), deep(maxDepth, "[", `{"a":1,"a":2}`, "]"), deep(maxDepth+1, "[", "", "]"),
		deep(maxDepth-1, `{"a":`, `"\u0000"`, "}"),
		// Invalid UTF-8 in keys, values, between tokens, after the value.
		"{\"a\xff\":1}", "{\"a\":\"b\xc3\"}", "{\"a\" \xff: 1}", "[1,\xff2]", "{\"a\":1}\xff", "\xff", "{\"a\":1,\"a\":2}\xff",
		"{\"a\":[}\xff", "{\"a\":\"\u0000\"\xff}", "{\"a\":\"\\ud800\"}\xff",
		// NUL, raw and escaped.
		`["\u0000"]`, `"\u0000"`, "[\"\x00\"]", `{"\u0000":1,"\u0000":2}`, `{"a":"\u0000","a":1}`,
		// Surrogates.
		`["\ud800\udc00"]`, `["\udbff\udfff"]`, `["\ud800\ud800"]`, `["\ud800"`, `["\ud800\`, `["\ud800\u`, `["\ud800\udc0"]`, `["\udfff\ud800"]`,
		// Numbers and literals.
		`[0,-0,1.5,-1e10,1E+2,2e-3]`, `[01]`, `[-]`, `[1.]`, `[.5]`, `[1e]`, `[+1]`, `0x1`, `-`, `1 2`, `[true,false,null]`, `[tru]`, `[nul,"\u0000"]`, `TRUE`,
		// Trailing garbage and truncated bodies.
		`{"a":1}garbage`, `{"a":1} {"a":"\u0000"}`, `{"a":1`, `{"a":`, `{"a"`, `{"a`, `[1,2`, `[`, `{"a":1,"a"`, `{"a":1,"a":}`, `{"a":1 "a":2}`,
		`{"a":[1,2}`, `[1:2]`, `{"a",1}`, `{1:2}`, `{"a":1,,"b":2}`,
		// Top-level values that are not objects.
		`"plain"`, `"\u0000"`, `"\ud800"`, `123`, `[]`, `{}`, `  [ ] `, "\t{ \"a\" : [ 1 , { } ] }\r\n",
		"\ufeff{}",
	}
}

// sameResult reports whether two walks answered alike: both nil, or faults
// with the same kind, code, message and details.
func sameResult(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	fa, okA := fault.As(a)
	fb, okB := fault.As(b)
	if !okA || !okB {
		return false
	}
	return fa.Kind == fb.Kind && fa.Code == fb.Code && fa.Message == fb.Message && reflect.DeepEqual(fa.Details, fb.Details)
}

func TestWalkMatchesReference(t *testing.T) {
	t.Parallel()
	for _, s := range walkSeeds() {
		body := []byte(s)
		if got, want := walk(body), walkTokens(body); !sameResult(got, want) {
			t.Errorf("walk(%.80q) = %v, reference %v", s, got, want)
		}
	}
}

// scan clears the common bodies by itself, without allocating.
func TestScanClearsCleanBodies(t *testing.T) {
	for _, s := range []string{
		string(benchSlipBody), `{"legs":[{"selection_id":"별빛 ☆"}],"meta":{"a":"b","A":"c"}}`,
		`{"a\u0062":1,"a":{"ab":2}}`, `{"meta":{"k":"\ud83d\ude00 \n"}}`, `[1,-2.5e3,true,false,null,{},[]]`,
	} {
		if !scan([]byte(s)) {
			t.Errorf("scan(%q) = false, want the fast path", s)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = walk(benchSlipBody) }); n != 0 {
		t.Errorf("walk of a bet slip allocates %v times", n)
	}
}

// FuzzWalkMatchesReference holds walk to the Token walk's answers for
// arbitrary bytes: the same fault (code, message, details) or both nil.
func FuzzWalkMatchesReference(f *testing.F) {
	for _, s := range walkSeeds() {
		// The bodies nested to encoding/json's limit stay in
		// TestWalkMatchesReference: mutants of such sizes stall the fuzzer
		// in minimisation.
		if len(s) <= 4096 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, want := walk(body), walkTokens(body)
		if !sameResult(got, want) {
			t.Fatalf("walk(%q) = %v, reference %v", body, got, want)
		}
	})
}
