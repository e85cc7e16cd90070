package server

import (
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/request"
)

// Access configures the request metadata and the access log.
type Access struct {
	// Clients knows the trusted reverse proxies: their X-Forwarded-For
	// names the client, their X-Request-Id and traceparent are believed.
	// nil trusts no peer.
	Clients *clientip.Resolver
	// Geo places the client's address; nil leaves the client.geo fields
	// out.
	Geo Locator
	// Probes logs /healthz, /readyz and /metrics too, which load
	// balancers and Prometheus call every few seconds.
	Probes bool
}

// Locator places a client address (internal/geoip). The answer is shared
// and must not be changed; nil when the address has no place.
type Locator interface {
	Lookup(a netip.Addr) *request.Geo
}

// Bounds of what one access line carries from the request. Above them a
// value is cut: an ECS keyword longer than 1 KiB is not indexed anyway,
// and a line must stay one bounded line whatever a client sends.
const (
	maxUserAgent = 1024
	maxPath      = 2048
	maxQuery     = 2048
	maxMethod    = 32
	maxUsername  = 256
	maxRequestID = 128
)

// Dataset is the access line's event.dataset, by which the log shipper
// sends it to the access index.
const Dataset = "pointsbook.access"

var probePaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// accessLog is the outermost middleware: it makes the request's Info
// before anything else runs, so every later layer and log line sees the
// request id, and writes one access line when the response is done.
func accessLog(log *slog.Logger, metrics Metrics, acc Access, next http.Handler) http.Handler {
	clients := acc.Clients
	if clients == nil {
		clients = clientip.New(nil)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := newInfo(r, clients, acc.Geo)
		w.Header().Set("X-Request-Id", info.ID)
		// The muxes below set r.Pattern on this request as they route it
		// (none of the layers in between copies it), so after ServeHTTP
		// it names the route that answered ("GET /api/v1/bets/{id}").
		r = r.WithContext(request.With(r.Context(), info))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK // a handler that writes nothing answers 200
		}
		if metrics != nil {
			metrics.ObserveRequest(r.Method, r.Pattern, sw.status, d)
		}
		if !acc.Probes && probePaths[r.URL.Path] {
			return
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "http request", accessAttrs(r, info, sw, d)...)
	})
}

// newInfo is the one place that decides a request's metadata from what
// arrived: the id and trace of a trusted proxy or our own id, the client
// behind trusted proxies, and its place.
func newInfo(r *http.Request, clients *clientip.Resolver, geo Locator) *request.Info {
	info := &request.Info{ClientIP: clients.Addr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))}
	if peer, ok := peerAddr(r.RemoteAddr); ok {
		info.Trusted = clients.Trusted(peer)
	}
	if info.Trusted {
		// One header line exactly: two ids or two traces mean the request
		// was tampered with on the way, so neither is believed.
		if ids := r.Header.Values("X-Request-Id"); len(ids) == 1 && validRequestID(ids[0]) {
			info.ID = ids[0]
		}
		if tps := r.Header.Values("Traceparent"); len(tps) == 1 {
			info.TraceID, _ = parseTraceparent(tps[0])
		}
	}
	if info.ID == "" {
		info.ID = newRequestID()
	}
	if geo != nil && info.ClientIP.IsValid() {
		info.Geo = geo.Lookup(info.ClientIP)
	}
	return info
}

func accessAttrs(r *http.Request, info *request.Info, sw *statusWriter, d time.Duration) []slog.Attr {
	attrs := make([]slog.Attr, 0, 18)
	attrs = append(attrs,
		slog.String("event.dataset", Dataset),
		slog.String("http.request.method", clean(r.Method, maxMethod)),
		slog.String("url.path", clean(r.URL.Path, maxPath)),
		slog.Int("http.response.status_code", sw.status),
		slog.Int64("http.response.body.bytes", sw.bytes),
		slog.Int64("event.duration", d.Nanoseconds()),
	)
	if r.Pattern != "" {
		attrs = append(attrs, slog.String("http.route", clean(r.Pattern, maxPath)))
	}
	if q := redactQuery(r.URL.RawQuery); q != "" {
		attrs = append(attrs, slog.String("url.query", q))
	}
	if info.ClientIP.IsValid() {
		attrs = append(attrs, slog.String("client.ip", info.ClientIP.String()))
	}
	if g := info.Geo; g != nil {
		if g.CountryISO != "" {
			attrs = append(attrs, slog.String("client.geo.country_iso_code", g.CountryISO))
		}
		if g.CountryName != "" {
			attrs = append(attrs, slog.String("client.geo.country_name", g.CountryName))
		}
		if g.City != "" {
			attrs = append(attrs, slog.String("client.geo.city_name", g.City))
		}
		if g.HasLocation {
			attrs = append(attrs, slog.Group("client.geo.location", slog.Float64("lat", g.Lat), slog.Float64("lon", g.Lon)))
		}
	}
	if info.UserID != "" {
		attrs = append(attrs, slog.String("user.id", info.UserID))
	}
	if info.Username != "" {
		attrs = append(attrs, slog.String("user.name", clean(info.Username, maxUsername)))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, slog.String("user_agent.original", clean(ua, maxUserAgent)))
	}
	return attrs
}

// peerAddr is the TCP peer of RemoteAddr ("ip:port").
func peerAddr(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// validRequestID accepts a proxy's request id: 1 to 128 visible ASCII
// characters, which covers UUIDs, AWS's Root=1-… trace ids and nginx's
// $request_id, and keeps anything else out of every log line.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// newRequestID is 128 random bits in hex: unique across instances
// without coordination, and it says nothing about traffic volumes. The
// id is no secret, so the runtime's generator (ChaCha8 seeded from the
// system, no system call) serves instead of crypto/rand, which costs a
// getrandom call per request.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// parseTraceparent reads a W3C Trace Context traceparent header
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>") and returns
// its trace id. Version ff and all-zero ids are invalid; a later version
// may append fields after a dash, which are ignored, as the
// recommendation says.
func parseTraceparent(h string) (string, bool) {
	const size = 55
	if len(h) < size || len(h) > 512 {
		return "", false
	}
	version, trace, parent, flags := h[0:2], h[3:35], h[36:52], h[53:55]
	if h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return "", false
	}
	if !lowerHex(version) || version == "ff" || !lowerHex(trace) || !lowerHex(parent) || !lowerHex(flags) {
		return "", false
	}
	if version == "00" && len(h) != size || len(h) > size && h[size] != '-' {
		return "", false
	}
	if trace == "00000000000000000000000000000000" || parent == "0000000000000000" {
		return "", false
	}
	return trace, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// secretParams are query parameters whose values are never logged: OAuth
// and OIDC callbacks (code, state, tokens), reset and verification links,
// signed URLs, and any key or password someone puts in a URL. Names are
// compared case-insensitively after unescaping, and any name containing
// one of secretParts counts too (client_secret, X-Amz-Signature…).
var secretParams = map[string]bool{
	"code": true, "state": true, "nonce": true, "code_verifier": true,
	"token": true, "access_token": true, "id_token": true, "refresh_token": true,
	"password": true, "passwd": true, "pwd": true, "pass": true,
	"key": true, "apikey": true, "api_key": true, "secret": true,
	"signature": true, "sig": true, "session": true, "auth": true, "authorization": true,
	"otp": true, "jwt": true, "assertion": true, "credential": true, "credentials": true,
}

var secretParts = []string{"token", "secret", "passw", "signature", "apikey", "api_key", "api-key", "credential"}

func secretParam(name string) bool {
	name = strings.ToLower(name)
	if secretParams[name] {
		return true
	}
	for _, p := range secretParts {
		if strings.Contains(name, p) {
			return true
		}
	}
	return false
}

// Redacted replaces a secret parameter's value in url.query.
const Redacted = "REDACTED"

// redactQuery is the raw query with every secret parameter's value
// replaced by REDACTED, bounded and made safe. Redaction comes first, so
// the cut can never expose part of a secret.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(min(len(raw), maxQuery+16))
	for raw != "" && b.Len() <= maxQuery {
		// ';' separated parameters in old CGI practice; treating it as a
		// separator only ever redacts more.
		var pair string
		sep := strings.IndexAny(raw, "&;")
		if sep >= 0 {
			pair, raw = raw[:sep+1], raw[sep+1:]
		} else {
			pair, raw = raw, ""
		}
		body := strings.TrimRight(pair, "&;")
		name, _, _ := strings.Cut(body, "=")
		unescaped, err := url.QueryUnescape(name)
		if err != nil {
			unescaped = name
		}
		if secretParam(unescaped) {
			b.WriteString(name + "=" + Redacted + pair[len(body):])
			continue
		}
		b.WriteString(pair)
	}
	return clean(b.String(), maxQuery)
}

// clean makes s safe for one log line: valid UTF-8 (bad bytes become
// U+FFFD), no control characters (newlines, NUL, ESC…, each replaced by
// U+FFFD so the loss shows), at most n bytes cut at a character boundary.
// The JSON encoder would escape control characters too; removing them
// keeps terminals and dashboards that show the decoded value safe.
func clean(s string, n int) string {
	if len(s) > 4*n {
		s = s[:4*n] // beyond this nothing can survive the cut below
	}
	if plain(s) {
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), n) + 3)
	for i := 0; i < len(s) && b.Len() <= n; {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// plain reports whether s is printable ASCII only, the common case,
// which needs no copy.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
