package account

import (
	"testing"

	"github.com/pointsbook/pointsbook/internal/fault"
)

func TestNickname(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in, want, msg string
	}{
		{"korean", "별빛", "별빛", ""},
		{"nfc", "Cafe\u0301 kim", "Café kim", ""},
		{"nfc counts composed", "e\u0301", "é", "A nickname is 2 to 24 characters without leading or trailing spaces."},
		{"jamo compose to 2", "\u1100\u1161\u1102\u1161", "가나", ""},
		{"not utf8", "ki\xffm", "", "A nickname is 2 to 24 characters without leading or trailing spaces."},
		{"nul", "ki\x00m", "", "A nickname cannot contain control characters or angle brackets."},
		{"angle", "<kim>", "", "A nickname cannot contain control characters or angle brackets."},
		{"c1", "ki\u0085m", "", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators)."},
		{"rlo", "ki\u202Em", "", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators)."},
		{"rli", "ki\u2067m", "", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators)."},
		{"alm", "ki\u061Cm", "", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators)."},
		{"zwsp", "ki\u200Bm", "", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators)."},
		{"word joiner", "ki\u2060m", "", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators)."},
		{"paragraph separator inside", "ki\u2029m", "", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators)."},
		{"line separator at the end", "kim\u2028", "", "A nickname is 2 to 24 characters without leading or trailing spaces."},
		{"reserved", "Deleted-7", "", "Nicknames of the form deleted-<number> are reserved for deleted accounts."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Nickname(tt.in)
			if tt.msg == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Nickname(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Code != "invalid_nickname" || fe.Message != tt.msg {
				t.Fatalf("Nickname(%q) = %v, want invalid_nickname %q", tt.in, err, tt.msg)
			}
		})
	}
}

// Sign-up and profile updates store the nickname in NFC: Check puts it in
// that form in place.
func TestChecksNormaliseNickname(t *testing.T) {
	t.Parallel()
	s := Signup{Username: "kim", Password: "long-password-1", Email: "kim@example.com", Nickname: "Cafe\u0301"}
	if err := s.Check(); err != nil || s.Nickname != "Café" {
		t.Fatalf("Signup.Check: %v, nickname %q", err, s.Nickname)
	}
	n := "Cafe\u0301"
	p := ProfileUpdate{Nickname: &n}
	if err := p.Check(); err != nil || *p.Nickname != "Café" {
		t.Fatalf("ProfileUpdate.Check: %v, nickname %q", err, *p.Nickname)
	}
}
