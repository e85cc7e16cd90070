package sqlstore

import (
	"testing"
	"time"
)

func TestParseID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, in string
		want       int64
		ok         bool
	}{
		{"b_", "b_77", 77, true},
		{"b_", "m_77", 0, false},
		{"b_", "b_077", 0, false}, // one spelling per id
		{"b_", "b_-1", 0, false},
		{"b_", "b_0", 0, false},
		{"b_", "b_", 0, false},
		{"b_", "b_99999999999999999999", 0, false},
		{"mk_", "mk_5", 5, true},
	}
	for _, tt := range tests {
		got, ok := parseID(tt.prefix, tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseID(%q, %q) = %d, %v; want %d, %v", tt.prefix, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"b_1", "b_", "b_+1", "b_1e3", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, ok := parseID(pBet, s); ok && fmtID(pBet, id) != s {
			t.Fatalf("parseID(%q) = %d, which formats as %q", s, id, fmtID(pBet, id))
		}
	})
}

func FuzzMatchCursor(f *testing.F) {
	f.Add("1.1764000000000000.5")
	f.Add("1764000000000000.5")
	f.Add("..")
	f.Add("4.-1.-1")
	f.Fuzz(func(t *testing.T, s string) {
		grp, at, id, ok := parseMatchCursor(s)
		if ok && at.Location() != time.UTC {
			t.Fatalf("cursor %q parsed to a non-UTC time", s)
		}
		if ok && (grp < 0 || grp > 3) {
			t.Fatalf("cursor %q parsed to group %d, outside the list's four", s, grp)
		}
		_ = id
	})
}
