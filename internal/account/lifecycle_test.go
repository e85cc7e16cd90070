package account

import (
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/fault"
)

func TestCheckNewPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, password, username, email string
		ok                              bool
	}{
		{"good", "violet-harbour-42", "kim_1", "kim@example.com", true},
		{"too short", "short-pw", "kim_1", "kim@example.com", false},
		{"common", "qwertyuiop", "kim_1", "kim@example.com", false},
		{"common in another case", "QwertyUIOP", "kim_1", "kim@example.com", false},
		{"common, further down the list", "1q2w3e4r5t6y", "kim_1", "kim@example.com", false},
		{"equals username", "kimberly_2026", "kimberly_2026", "x@example.com", false},
		{"contains username any case", "xx-KIMBERLY-xx", "kimberly", "x@example.com", false},
		{"contains e-mail local part", "my jeonghwa.lee pass", "kim_1", "jeonghwa.lee@example.com", false},
		{"equals short local part", "ab", "kim_1", "ab@example.com", false},
		{"short local part elsewhere is fine", "crab-nebula-77", "kim_1", "ab@example.com", true},
		{"korean passphrase", "푸른하늘과바다의노래", "kim_1", "kim@example.com", true},
		{"too long", strings.Repeat("x", 257), "kim_1", "kim@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNewPassword(tt.password, tt.username, tt.email)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckNewPassword = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && fault.Code(err) != "weak_password" {
				t.Fatalf("code %q", fault.Code(err))
			}
		})
	}
}

func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	set := commonPasswords()
	if len(set) < 1000 || len(set) > 5000 {
		t.Fatalf("list has %d entries", len(set))
	}
	for p := range set {
		if len(p) < 10 || strings.HasPrefix(p, "#") || p != strings.ToLower(p) {
			t.Fatalf("entry %q: every entry is lower case and at least 10 characters", p)
		}
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c := NewCode()
		if CheckCode(c) != nil {
			t.Fatalf("code %q has the wrong shape", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	for _, bad := range []string{"", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 123456"} {
		if fault.Code(CheckCode(bad)) != "invalid_code" {
			t.Fatalf("code %q accepted", bad)
		}
	}
	k1, k2 := []byte("key-one"), []byte("key-two")
	h := CodeHash(k1, "u_1", "123456")
	if h == CodeHash(k2, "u_1", "123456") || h == CodeHash(k1, "u_2", "123456") || h == CodeHash(k1, "u_1", "123457") ||
		h != CodeHash([]byte("key-one"), "u_1", "123456") {
		t.Fatal("a code hash must depend on the key and the user, and only on them")
	}
}

func TestProfileUpdateCheck(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	tests := []struct {
		name string
		p    ProfileUpdate
		code string
	}{
		{"empty", ProfileUpdate{}, ""},
		{"zone", ProfileUpdate{TimeZone: s("America/Los_Angeles")}, ""},
		{"utc", ProfileUpdate{TimeZone: s("UTC")}, ""},
		{"unknown zone", ProfileUpdate{TimeZone: s("Mars/Olympus")}, "invalid_time_zone"},
		{"local", ProfileUpdate{TimeZone: s("Local")}, "invalid_time_zone"},
		{"empty zone", ProfileUpdate{TimeZone: s("")}, "invalid_time_zone"},
		{"path zone", ProfileUpdate{TimeZone: s("../../etc/passwd")}, "invalid_time_zone"},
		{"long zone", ProfileUpdate{TimeZone: s(strings.Repeat("A", 65))}, "invalid_time_zone"},
		{"nickname", ProfileUpdate{Nickname: s("별빛")}, ""},
		{"reserved nickname", ProfileUpdate{Nickname: s("Deleted-12")}, "invalid_nickname"},
		{"long nickname", ProfileUpdate{Nickname: s(strings.Repeat("가", 25))}, "invalid_nickname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fault.Code(tt.p.Check()); got != tt.code {
				t.Fatalf("code %q, want %q", got, tt.code)
			}
		})
	}
}

func FuzzCheckNewPassword(f *testing.F) {
	for _, s := range []string{"violet-harbour-42", "qwertyuiop", "", "kim@", "가나다라마바사아자차"} {
		f.Add(s, "kim_1", "kim@example.com")
	}
	f.Fuzz(func(t *testing.T, password, username, email string) {
		err := CheckNewPassword(password, username, email)
		if err != nil && fault.Code(err) != "weak_password" {
			t.Fatalf("code %q", fault.Code(err))
		}
		if err == nil && (len(password) < 10 || IsCommonPassword(password)) {
			t.Fatalf("accepted %q", password)
		}
	})
}
