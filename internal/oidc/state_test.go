package oidc

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

var testKey = stateKey("a-client-secret")

func TestSealOpen(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	fs := flowState{State: random(), Nonce: random(), Verifier: "v-123", ReturnTo: "/matches", Expires: now.Add(FlowTTL).Unix()}
	sealed := seal(testKey, fs)
	got, err := open(testKey, sealed, now)
	if err != nil || got != fs {
		t.Fatalf("open(seal(x)) = %+v, %v; want %+v", got, err, fs)
	}
	// flip changes one character for another of the base64url alphabet.
	// (Flipping a bit turned '-' or '_', one time in 32, into a character
	// outside it, and the MAC case then failed as malformed.)
	flip := func(i int) string {
		b := []byte(sealed)
		b[i] = 'A'
		if sealed[i] == 'A' {
			b[i] = 'B'
		}
		return string(b)
	}
	payload, _, _ := strings.Cut(strings.TrimPrefix(sealed, sealPrefix), ".")
	tests := []struct {
		name   string
		sealed string
		key    []byte
		at     time.Time
		want   error
	}{
		{"empty", "", testKey, now, errMissing},
		{"no prefix", strings.TrimPrefix(sealed, sealPrefix), testKey, now, errMalformed},
		{"no mac", sealPrefix + payload, testKey, now, errMalformed},
		{"payload changed", flip(len(sealPrefix) + 3), testKey, now, errForged},
		{"mac changed", flip(len(sealed) - 2), testKey, now, errForged},
		{"other key", sealed, stateKey("another-secret"), now, errForged},
		{"too long", sealed + strings.Repeat("A", maxSealed), testKey, now, errMalformed},
		{"expired", sealed, testKey, now.Add(FlowTTL), errExpired},
		{"empty state", seal(testKey, flowState{Nonce: "n", Verifier: "v", Expires: fs.Expires}), testKey, now, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := open(tt.key, tt.sealed, tt.at); err != tt.want {
				t.Fatalf("open = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := open(testKey, sealed, now.Add(FlowTTL-time.Second)); err != nil {
		t.Fatalf("open just before expiry: %v", err)
	}
}

// FuzzOpen: open never panics, and accepts only what seal made with the key.
func FuzzOpen(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(seal(testKey, flowState{State: "s", Nonce: "n", Verifier: "v", ReturnTo: "/", Expires: now.Unix() + 60}))
	f.Add("v1.e30.AAAA")
	f.Add("v1..")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := open(testKey, s, now)
		if err != nil {
			return
		}
		if seal(testKey, fs) != s {
			t.Fatalf("open accepted %q, which seal does not produce from %+v", s, fs)
		}
	})
}

func TestReturnPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/matches", "/matches"},
		{"/matches?sport=football&date=2026-11-25#top", "/matches?sport=football&date=2026-11-25#top"},
		{"/%EA%B9%80", "/%EA%B9%80"},
		{"//evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"/a\\b", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"matches", "/"},
		{"/a b", "/"},
		{"/a\tb", "/"},
		{"/a\nLocation: x", "/"},
		{"/" + strings.Repeat("a", 600), "/"},
		{"/%zz", "/"},
	}
	for _, tt := range tests {
		if got := ReturnPath(tt.in); got != tt.want {
			t.Errorf("ReturnPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzReturnPath: whatever ReturnPath returns stays on our host when a
// browser resolves it against our URL.
func FuzzReturnPath(f *testing.F) {
	for _, s := range []string{"/", "/matches?x=1", "//evil", "/\\evil", "https://evil", "/%2F%2Fevil", "/./../x", "\x00"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://pointsbook.example/api/v1/auth/oidc/callback")
	f.Fuzz(func(t *testing.T, s string) {
		p := ReturnPath(s)
		if p != "/" && p != s {
			t.Fatalf("ReturnPath(%q) = %q: neither the input nor /", s, p)
		}
		u, err := url.Parse(p)
		if err != nil {
			t.Fatalf("ReturnPath(%q) = %q, which does not parse: %v", s, p, err)
		}
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("ReturnPath(%q) = %q resolves to %s", s, p, r)
		}
	})
}

func TestFlexBool(t *testing.T) {
	for in, want := range map[string]bool{`true`: true, `"true"`: true, `false`: false, `"false"`: false, `null`: false, `"TRUE"`: true} {
		var b flexBool
		if err := b.UnmarshalJSON([]byte(in)); err != nil || bool(b) != want {
			t.Errorf("flexBool(%s) = %v, %v; want %v", in, b, err, want)
		}
	}
	for _, in := range []string{`1`, `"yes"`, `{}`} {
		var b flexBool
		if err := b.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("flexBool(%s) accepted", in)
		}
	}
}

func TestNewNeedsEverything(t *testing.T) {
	full := Config{Issuer: "https://id.example", ClientID: "c", ClientSecret: "s", RedirectURL: "https://pb.example/cb"}
	if _, err := New(full); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{ClientID: "c", ClientSecret: "s", RedirectURL: "r"}, {Issuer: "i", ClientSecret: "s", RedirectURL: "r"},
		{Issuer: "i", ClientID: "c", RedirectURL: "r"}, {Issuer: "i", ClientID: "c", ClientSecret: "s"}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted an incomplete config", c)
		}
	}
}
