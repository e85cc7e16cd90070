package account

import (
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/fault"
)

var fast = HashParams{MemoryKiB: 1024, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h, err := Hash("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash format %q", h)
	}
	if !Verify("correct horse battery", h) {
		t.Fatal("right password refused")
	}
	for _, bad := range []string{"correct horse batterY", "", "correct horse battery "} {
		if Verify(bad, h) {
			t.Fatalf("wrong password %q accepted", bad)
		}
	}
	if Verify("x", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA") {
		t.Fatal("absurd parameters accepted")
	}
	if Verify("x", "garbage") {
		t.Fatal("garbage accepted")
	}
}

func TestSignupCheck(t *testing.T) {
	t.Parallel()
	ok := Signup{Username: "kim_1", Password: "long enough pw", Email: "kim@example.com", Nickname: "김치"}
	tests := []struct {
		name string
		edit func(*Signup)
		code string
	}{
		{"ok", func(*Signup) {}, ""},
		{"short username", func(s *Signup) { s.Username = "ab" }, "invalid_username"},
		{"username with space", func(s *Signup) { s.Username = "kim lee" }, "invalid_username"},
		{"username in Hangul", func(s *Signup) { s.Username = "김민수" }, "invalid_username"},
		{"nickname too short", func(s *Signup) { s.Nickname = "k" }, "invalid_nickname"},
		{"nickname with markup", func(s *Signup) { s.Nickname = "<b>kim" }, "invalid_nickname"},
		{"bad email", func(s *Signup) { s.Email = "kim" }, "invalid_email"},
		{"email with name", func(s *Signup) { s.Email = "Kim <kim@example.com>" }, "invalid_email"},
		{"short password", func(s *Signup) { s.Password = "short" }, "weak_password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			if got := fault.Code(s.Check()); got != tt.code {
				t.Fatalf("code=%q, want %q", got, tt.code)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	a, da := NewToken()
	b, db := NewToken()
	if a == b || da == db || TokenDigest(a) != da {
		t.Fatal("tokens not unique or digest mismatch")
	}
	if again := CSRFToken(a); CSRFToken(a) == CSRFToken(b) || again != CSRFToken(a) {
		t.Fatal("CSRF token not bound to session")
	}
}
