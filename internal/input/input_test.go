package input

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

type slip struct {
	Stake int64 `json:"stake"`
	Legs  []struct {
		SelectionID string `json:"selection_id"`
		Odds        string `json:"odds"`
	} `json:"legs"`
	Meta map[string]string `json:"meta"`
	At   time.Time         `json:"at"`
	Any  any               `json:"any"`
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body, code, msg, field string
	}{
		{"ok", `{"stake":100,"legs":[{"selection_id":"s_1","odds":"2.05"}]}`, "", "", ""},
		{"ok unicode", `{"legs":[{"selection_id":"별빛 ☆"}],"meta":{"a":"b","A":"c"}}`, "", "", ""},
		{"ok same key in sibling objects", `{"legs":[{"odds":"1"},{"odds":"2"}]}`, "", "", ""},
		{"ok escaped non-NUL control", `{"legs":[{"odds":"\u0001"}]}`, "", "", ""},

		// Today's answers, word for word.
		{"empty", " \n", "invalid_json", "The request needs a JSON body.", ""},
		{"syntax", `{"stake":}`, "invalid_json", "The body is not valid JSON (at byte 10).", ""},
		{"type", `{"stake":"x"}`, "invalid_json", `Field "stake" has the wrong type.`, ""},
		{"unknown", `{"stakes":1}`, "unknown_field", `The body has an unknown field: "stakes".`, ""},
		{"trailing", `{"stake":1}{}`, "invalid_json", "The body has data after the JSON value.", ""},
		{"time", `{"at":"yesterday"}`, "invalid_json", "Times must be RFC 3339, like 2026-11-24T10:30:00Z.", ""},

		// Invalid UTF-8, anywhere.
		{"bad utf8 value", "{\"legs\":[{\"selection_id\":\"s_\xff\"}]}", "invalid_text", `Field "legs[0].selection_id" is not valid UTF-8 text.`, "legs[0].selection_id"},
		{"bad utf8 second element", "{\"legs\":[{\"odds\":\"1\"},{\"odds\":\"\xc3\"}]}", "invalid_text", `Field "legs[1].odds" is not valid UTF-8 text.`, "legs[1].odds"},
		{"bad utf8 key", "{\"legs\":[{\"\xff\":1}]}", "invalid_text", `A field name in "legs[0]" is not valid UTF-8 text.`, "legs[0]"},
		{"bad utf8 top key", "{\"\xed\xa0\x80\":1}", "invalid_text", "A field name in the body is not valid UTF-8 text.", ""},
		{"bad utf8 outside strings", "{\"stake\":1\xff}", "invalid_text", "The body is not valid UTF-8 text.", ""},
		{"bad utf8 after value", "{\"stake\":1} \xff", "invalid_text", "The body is not valid UTF-8 text.", ""},
		{"bad utf8 root string", "\"\xff\"", "invalid_text", "The body is not valid UTF-8 text.", ""},

		// Escapes that name no character: encoding/json would store U+FFFD.
		{"lone high surrogate", `{"legs":[{"odds":"\ud800"}]}`, "invalid_text", `Field "legs[0].odds" is not valid UTF-8 text.`, "legs[0].odds"},
		{"lone low surrogate", `{"meta":{"k":"x\uDC00"}}`, "invalid_text", `Field "meta.k" is not valid UTF-8 text.`, "meta.k"},
		{"high then not low", `{"meta":{"k":"\ud800\u0041"}}`, "invalid_text", `Field "meta.k" is not valid UTF-8 text.`, "meta.k"},
		{"lone surrogate key", `{"meta":{"\ud800":"v"}}`, "invalid_text", `A field name in "meta" is not valid UTF-8 text.`, "meta"},
		{"ok surrogate pair", `{"meta":{"k":"\ud83d\ude00"}}`, "", "", ""},
		{"ok replacement character", `{"meta":{"k":"\ufffd �"}}`, "", "", ""},
		{"ok escaped backslash", `{"meta":{"k":"\\ud800 \ufffd"}}`, "", "", ""},

		// NUL, escaped (a raw NUL is not JSON at all).
		{"nul value", `{"legs":[{"selection_id":"s_1\u0000"}]}`, "invalid_text", `Field "legs[0].selection_id" contains a NUL character.`, "legs[0].selection_id"},
		{"nul map value", `{"meta":{"k":"\u0000"}}`, "invalid_text", `Field "meta.k" contains a NUL character.`, "meta.k"},
		{"nul key", `{"meta":{"k\u0000":"v"}}`, "invalid_text", `A field name in "meta" contains a NUL character.`, "meta"},
		{"nul in any", `{"any":[[{"x":["\u0000"]}]]}`, "invalid_text", `Field "any[0][0].x[0]" contains a NUL character.`, "any[0][0].x[0]"},
		{"raw nul", "{\"stake\":1\x00}", "invalid_json", "The body is not valid JSON (at byte 11).", ""},

		// Repeated keys at every level.
		{"dup top", `{"stake":1,"stake":1000}`, "duplicate_key", `Field "stake" appears more than once; each key may appear once per object.`, "stake"},
		{"dup in leg", `{"legs":[{"odds":"1","selection_id":"a","odds":"9"}]}`, "duplicate_key", `Field "legs[0].odds" appears more than once; each key may appear once per object.`, "legs[0].odds"},
		{"dup deep", `{"any":{"a":[{"b":{"c":1,"c":2}}]}}`, "duplicate_key", `Field "any.a[0].b.c" appears more than once; each key may appear once per object.`, "any.a[0].b.c"},
		{"dup after many keys", `{"meta":{` + manyPairs(40) + `,"k7":"again"}}`, "duplicate_key", `Field "meta.k7" appears more than once; each key may appear once per object.`, "meta.k7"},
		{"dup by escape", `{"stake":1,"st\u0061ke":2}`, "duplicate_key", `Field "stake" appears more than once; each key may appear once per object.`, "stake"},
		{"dup in trailing value", `{"stake":1}{"stake":1,"stake":2}`, "invalid_json", "The body has data after the JSON value.", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s slip
			err := DecodeJSON([]byte(tt.body), &s)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid {
				t.Fatalf("err = %v, want a %s", err, tt.code)
			}
			if fe.Code != tt.code || fe.Message != tt.msg {
				t.Errorf("got %s %q, want %s %q", fe.Code, fe.Message, tt.code, tt.msg)
			}
			if got, _ := fe.Details["field"].(string); got != tt.field {
				t.Errorf("details.field = %q, want %q", got, tt.field)
			}
		})
	}
}

func manyPairs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":"v"`)
	}
	return b.String()
}

// A body nested deeper than encoding/json allows is refused by the
// decoder, not walked for ever.
func TestDecodeJSONDeep(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("[", maxDepth+5) + strings.Repeat("]", maxDepth+5)
	var v any
	if fault.Code(DecodeJSON([]byte(body), &v)) != "invalid_json" {
		t.Fatal("a body past the nesting limit was accepted")
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, raw, param string
	}{
		{"ok", "username=kim&nickname=%EB%B3%84", ""},
		{"empty", "", ""},
		{"nul value", "username=a%00b", "username"},
		{"bad utf8 value", "nickname=%FF", "nickname"},
		{"second value", "tz=UTC&tz=%C3", "tz"},
		{"nul key", "a%00=1", `a\x00`},
		{"bad key", "%FF=1", `\xff`},
		{"first name in order", "z=%00&b=%00&m=%FF", "b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := QueryString(tt.raw)
			if tt.param == "" {
				if err != nil {
					t.Fatalf("QueryString: %v", err)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || fe.Code != CodeInvalidText {
				t.Fatalf("err = %v, want invalid_text", err)
			}
			if fe.Details["parameter"] != tt.param || !strings.Contains(fe.Message, `"`+tt.param+`"`) {
				t.Errorf("names %v in %q, want %s", fe.Details["parameter"], fe.Message, tt.param)
			}
		})
	}
	if err := Query(url.Values{"ok": {"x"}}); err != nil {
		t.Fatal(err)
	}
}

func TestHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"retry-1", true}, {"키-1", true}, {"", true}, {"a\x00b", false}, {"a\xffb", false},
	} {
		err := Header("Idempotency-Key", tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("Header(%q) = %v", tt.value, err)
		}
		if fe, ok := fault.As(err); !tt.ok && (!ok || fe.Code != CodeInvalidText || fe.Details["header"] != "Idempotency-Key") {
			t.Errorf("Header(%q) = %v, want invalid_text naming the header", tt.value, err)
		}
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in, want, code string
	}{
		{"ascii", "Seoul FC", "Seoul FC", ""},
		{"korean", "별빛", "별빛", ""},
		{"emoji", "⚽ fan", "⚽ fan", ""},
		{"nfc", "Cafe\u0301", "Café", ""},
		{"hangul jamo composed", "\u1100\u1161", "가", ""},
		{"compat form kept", "ＫＩＭ", "ＫＩＭ", ""},
		{"nul", "a\x00b", "", "invalid_text"},
		{"bad utf8", "a\xffb", "", "invalid_text"},
		{"surrogate bytes", "a\xed\xa0\x80", "", "invalid_text"},
		{"tab", "a\tb", "", "invalid_name"},
		{"del", "a\x7fb", "", "invalid_name"},
		{"c1", "a\u0085b", "", "invalid_name"},
		{"rlo", "a\u202Eb", "", "invalid_name"},
		{"lre", "a\u202Ab", "", "invalid_name"},
		{"isolate", "a\u2066b", "", "invalid_name"},
		{"pop isolate", "a\u2069b", "", "invalid_name"},
		{"lrm", "a\u200Eb", "", "invalid_name"},
		{"rlm", "a\u200Fb", "", "invalid_name"},
		{"alm", "a\u061Cb", "", "invalid_name"},
		{"zwsp", "a\u200Bb", "", "invalid_name"},
		{"zwnj", "a\u200Cb", "", "invalid_name"},
		{"zwj", "a\u200Db", "", "invalid_name"},
		{"word joiner", "a\u2060b", "", "invalid_name"},
		{"bom", "\uFEFFab", "", "invalid_name"},
		{"line separator", "a\u2028b", "", "invalid_name"},
		{"paragraph separator", "a\u2029b", "", "invalid_name"},
		{"soft hyphen", "a\u00ADb", "", "invalid_name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Name(tt.in)
			if c := fault.Code(err); c != tt.code {
				t.Fatalf("Name(%q) code %q, want %q", tt.in, c, tt.code)
			}
			if got != tt.want {
				t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"Seoul FC", "Seoul FC"},
		{"Seoul\x00 FC", "Seoul FC"},
		{"Se\xffoul FC", "Seoul FC"},
		{"\u202ECF luoeS", "CF luoeS"},
		{"Caf\u200Be\u0301", "Café"},
		{" Busan\u2028 ", "Busan"},
		{"\x00\u200B", ""},
		{"\uFFFD kept", "\uFFFD kept"},
	} {
		if got := CleanName(tt.in); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if _, err := Name(CleanName(tt.in)); err != nil {
			t.Errorf("Name(CleanName(%q)): %v", tt.in, err)
		}
	}
}

func TestFold(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"kim", "KIM", true},
		{"kim", "ＫＩＭ", true},
		{"Straße", "STRASSE", true},
		{"ﬁsh", "FISH", true},
		{"Café", "CAFE\u0301", true},
		{"별빛", "별빛", true},
		{"별빛", "별빗", false},
		{"kim", "kim2", false},
		{"ⓚⓘⓜ", "kim", true},
	} {
		if got := Fold(tt.a) == Fold(tt.b); got != tt.same {
			t.Errorf("Fold(%q)=%q, Fold(%q)=%q: same = %v, want %v", tt.a, Fold(tt.a), tt.b, Fold(tt.b), got, tt.same)
		}
	}
}

func TestZone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"Asia/Seoul", true}, {"Europe/London", true}, {"UTC", true}, {"America/Argentina/Buenos_Aires", true},
		{"Etc/GMT+9", true}, {"America/Port-au-Prince", true},
		{"", false}, {"Local", false}, {"local", false}, {"localtime", false}, {"LocalTime", false},
		{"./localtime", false}, {"Etc/../localtime", false}, {"/etc/localtime", false}, {"../../etc/passwd", false},
		{"Mars/Olympus", false}, {"Asia//Seoul", false}, {"Asia/Seoul ", false}, {"Asia/Seoul\x00", false},
		{strings.Repeat("A", 65), false}, {"Asia/Seoul/", false},
	} {
		loc, err := Zone(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("Zone(%q) = %v, %v", tt.name, loc, err)
			continue
		}
		if err != nil && fault.Code(err) != CodeInvalidZone {
			t.Errorf("Zone(%q) code %s", tt.name, fault.Code(err))
		}
		if err == nil && loc.String() != tt.name {
			t.Errorf("Zone(%q) = %s", tt.name, loc)
		}
	}
}

// A query with no escapes and only printable ASCII needs no parsing; one
// with raw bytes outside it is parsed and checked like any other.
func TestQueryStringRawBytes(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"a=b&c=d": true, "tz=Asia%2FSeoul": true, "a=\xff": false, "a=\x00": false, "a=b+c": true, "a=%E2%82%AC": true,
	} {
		if err := QueryString(raw); (err == nil) != ok {
			t.Errorf("QueryString(%q) = %v", raw, err)
		}
	}
}
