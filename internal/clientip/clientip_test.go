package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func mustPrefixes(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    string // prefixes joined by space
		wantErr bool
	}{
		{"", "", false},
		{" , ", "", false},
		{"127.0.0.0/8,::1/128", "127.0.0.0/8 ::1/128", false},
		{" 10.1.2.3/8 , 192.0.2.7 ", "10.0.0.0/8 192.0.2.7/32", false},
		{"::ffff:192.0.2.7", "192.0.2.7/32", false},
		{"2001:db8::1", "2001:db8::1/128", false},
		{"10.0.0.0/33", "", true},
		{"example.com", "", true},
		{"10.0.0.0/8,nope", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if strings.Join(s, " ") != tt.want {
				t.Fatalf("got %v, want %q", s, tt.want)
			}
		})
	}
}

func TestAddr(t *testing.T) {
	r := New(mustPrefixes(t, "127.0.0.0/8,::1/128,10.0.0.0/8"))
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no proxy", "203.0.113.9:5555", nil, "203.0.113.9"},
		{"untrusted peer's header is ignored", "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, no header", "127.0.0.1:4000", nil, "127.0.0.1"},
		{"nginx in front", "127.0.0.1:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged entry left of the real one", "127.0.0.1:4000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted hops", "10.0.0.5:80", []string{"6.6.6.6, 198.51.100.1, 10.0.3.4"}, "198.51.100.1"},
		{"several header lines form one list", "10.0.0.5:80", []string{"6.6.6.6", "198.51.100.1", "10.0.3.4"}, "198.51.100.1"},
		{"all hops trusted", "10.0.0.5:80", []string{"10.9.9.9, 127.0.0.1"}, "10.9.9.9"},
		{"garbage right after our proxies", "10.0.0.5:80", []string{"198.51.100.1, bogus"}, "10.0.0.5"},
		{"garbage left of the client", "10.0.0.5:80", []string{"bogus, 198.51.100.1"}, "198.51.100.1"},
		{"empty entries skipped", "10.0.0.5:80", []string{" , 198.51.100.1 ,, "}, "198.51.100.1"},
		{"ports and brackets", "[::1]:80", []string{"[2001:db8::7]:1234"}, "2001:db8::7"},
		{"ipv4 with port", "[::1]:80", []string{"198.51.100.1:9999"}, "198.51.100.1"},
		{"mapped peer is trusted", "[::ffff:127.0.0.1]:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"mapped client unmapped", "127.0.0.1:80", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"zone dropped", "127.0.0.1:80", []string{"fe80::1%eth0"}, "fe80::1"},
		{"unparsable peer", "nonsense", []string{"198.51.100.1"}, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Addr(tt.remote, tt.xff); got.String() != tt.want {
				t.Fatalf("Addr(%q, %q) = %s, want %s", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestNoTrustedProxies(t *testing.T) {
	r := New(nil)
	if got := r.Addr("127.0.0.1:80", []string{"198.51.100.1"}); got.String() != "127.0.0.1" {
		t.Fatalf("with no trusted proxies X-Forwarded-For was read: %s", got)
	}
}

func TestHopLimit(t *testing.T) {
	r := New(mustPrefixes(t, "10.0.0.0/8"))
	hops := strings.Repeat("10.0.0.1,", maxHops+5)
	if got := r.Addr("10.0.0.5:80", []string{"198.51.100.1," + hops}); got.String() != "10.0.0.1" {
		t.Fatalf("a chain longer than maxHops was followed to %s", got)
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"198.51.100.1", "198.51.100.1"},
		{"::ffff:198.51.100.1", "198.51.100.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		if got := Key(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("Key(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if Key(netip.Addr{}) != "unknown" {
		t.Error("zero address")
	}
}

// FuzzAddr checks the properties the rate limits rely on, for any peer and
// header: an untrusted peer is the answer; any other answer was read from
// the header; and once an untrusted client has been found, nothing a
// client prepends to the header changes the answer.
func FuzzAddr(f *testing.F) {
	f.Add("127.0.0.1:80", "198.51.100.1", "1.2.3.4")
	f.Add("10.0.0.1:80", "198.51.100.1, 10.2.2.2", "")
	f.Add("[::1]:80", "[2001:db8::1]:80, ::1", "garbage,,")
	f.Add("203.0.113.1:80", "10.0.0.1", "x")
	f.Add("10.0.0.1:80", ",,,", "[")
	trusted := mustPrefixes(f, "127.0.0.0/8,::1/128,10.0.0.0/8,fd00::/8")
	r := New(trusted)
	f.Fuzz(func(t *testing.T, remote, xff, forged string) {
		got := r.Addr(remote, []string{xff})
		peer, ok := parseHost(remote)
		if !ok {
			if got.IsValid() {
				t.Fatalf("unparsable peer %q gave %s", remote, got)
			}
			return
		}
		if !got.IsValid() {
			t.Fatalf("valid peer %q gave no address", remote)
		}
		if !r.Trusted(peer) && got != peer {
			t.Fatalf("untrusted peer %s but answer %s", peer, got)
		}
		if got != peer {
			found := false
			for _, e := range strings.Split(xff, ",") {
				if a, ok := parseHost(strings.TrimSpace(e)); ok && a == got {
					found = true
				}
			}
			if !found {
				t.Fatalf("answer %s is neither the peer nor in %q", got, xff)
			}
		}
		if !r.Trusted(got) {
			if again := r.Addr(remote, []string{forged + "," + xff}); again != got {
				t.Fatalf("prepending %q changed the answer from %s to %s", forged, got, again)
			}
			if again := r.Addr(remote, []string{forged, xff}); again != got {
				t.Fatalf("a forged header line %q changed the answer from %s to %s", forged, got, again)
			}
		}
		_ = Key(got)
	})
}

// FuzzParsePrefixes: no input panics, and what parses prints back to a
// list that parses to the same prefixes.
func FuzzParsePrefixes(f *testing.F) {
	f.Add("127.0.0.0/8,::1/128")
	f.Add(" 10.1.2.3/8 , 192.0.2.7 ")
	f.Add("::ffff:1.2.3.4/104")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePrefixes(s)
		if err != nil {
			return
		}
		var parts []string
		for _, p := range ps {
			parts = append(parts, p.String())
		}
		again, err := ParsePrefixes(strings.Join(parts, ","))
		if err != nil || len(again) != len(ps) {
			t.Fatalf("%q -> %v does not parse back: %v", s, parts, err)
		}
		for i := range ps {
			if again[i] != ps[i] {
				t.Fatalf("%q: %s became %s", s, ps[i], again[i])
			}
		}
	})
}
