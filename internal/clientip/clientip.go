// Package clientip finds the address of the client that sent a request
// when the server sits behind reverse proxies (nginx, a load balancer):
// there the TCP peer is the proxy, and the client is named in
// X-Forwarded-For, a header anybody can also forge.
//
// The rule: X-Forwarded-For is read only when the peer is a trusted proxy,
// and then from the right. Each proxy appends the address it received the
// connection from, so the rightmost entries were written by our own
// proxies; the first address from the right that is NOT a trusted proxy is
// the client as our outermost proxy saw it. Anything left of it was
// written by the client (or its proxies) and is ignored, so a forged
// header cannot choose the address a rate limit counts against.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxHops bounds how many X-Forwarded-For entries are examined: no real
// chain of trusted proxies is that long, and a huge forged header must not
// cost more than a fixed amount of work.
const maxHops = 32

// ParsePrefixes reads a comma-separated list of CIDR prefixes ("10.0.0.0/8,
// ::1/128"); a bare address stands for itself alone. Spaces around entries
// and empty entries are ignored, so "" is the empty list.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix like 10.0.0.0/8", f)
			}
			// Masked: 10.1.2.3/8 means 10.0.0.0/8, and Contains needs a
			// canonical prefix for mapped addresses to compare alike.
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", f)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Resolver knows which peers are trusted proxies.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver trusting the proxies in trusted. With none, the
// TCP peer is always the client and X-Forwarded-For is never read.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// Trusted reports whether a is one of the trusted proxies.
func (r *Resolver) Trusted(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr applies the rule to a peer address ("ip:port", as in
// http.Request.RemoteAddr) and the X-Forwarded-For header lines in the
// order received (several lines form one list, as RFC 9110 says): for an
// http.Request, Addr(r.RemoteAddr, r.Header.Values("X-Forwarded-For")).
// The package takes strings rather than a request so that configuration
// can validate prefixes without depending on HTTP code.
func (r *Resolver) Addr(remoteAddr string, forwardedFor []string) netip.Addr {
	peer, ok := parseHost(remoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !r.Trusted(peer) {
		return peer
	}
	// Walk from the right. client is the nearest address so far: if every
	// entry is trusted (an internal caller) or an entry cannot be parsed,
	// the answer is the last good hop, never an address we did not read.
	client := peer
	hops := 0
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		line := forwardedFor[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				line, entry = line[:j], line[j+1:]
			} else {
				line, entry = "", line
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			hops++
			if hops > maxHops {
				return client
			}
			a, ok := parseHost(entry)
			if !ok {
				// A trusted proxy writes addresses; garbage here was
				// written by someone else, so stop at the last hop that a
				// trusted proxy vouched for.
				return client
			}
			if !r.Trusted(a) {
				return a
			}
			client = a
		}
	}
	return client
}

// parseHost reads "1.2.3.4", "1.2.3.4:80", "::1", "[::1]" or "[::1]:80".
// IPv4-mapped IPv6 addresses become IPv4 and zones are dropped, so one
// client always has one spelling.
func parseHost(s string) (netip.Addr, bool) {
	if len(s) > 64 { // the longest spelling of an address with port is 47 bytes
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// Key is the form of a client address that per-address limits count
// against: the address itself for IPv4, the /64 network for IPv6, since
// one subscriber is normally given a whole /64 and could otherwise step
// through addresses to get a fresh budget each time.
func Key(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
