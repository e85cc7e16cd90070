package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"github.com/pointsbook/pointsbook/internal/request"
)

// places is a Locator over a fixed table.
type places map[netip.Addr]*request.Geo

func (p places) Lookup(a netip.Addr) *request.Geo { return p[a] }

var seoul = &request.Geo{CountryISO: "KR", CountryName: "South Korea", City: "Seoul", Lat: 37.5665, Lon: 126.978, HasLocation: true}

// site is the root handler over an API with one route, which answers
// five bytes, logs a line of its own, and names a user as the edge would
// for a signed-in caller (the edge's own test covers the session).
func site(t *testing.T, acc *Access, logs io.Writer) http.Handler {
	t.Helper()
	log := slog.New(request.LogHandler(slog.NewJSONHandler(logs, nil)))
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/bets/{id}", func(w http.ResponseWriter, r *http.Request) {
		info := request.From(r.Context())
		if r.Header.Get("Authorization") != "" {
			info.UserID, info.Username = "u_45", "kim"
		}
		log.InfoContext(r.Context(), "inside the handler")
		w.WriteHeader(201)
		w.Write([]byte("hello")) //nolint:errcheck // test
	})
	return Handler(API(api, http.NotFoundHandler()), http.NotFoundHandler(), Readiness{DB: pinger{}}, nil, acc, log)
}

// lines parses the log: one JSON object per line.
func lines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %v: %q", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// accessLine is the one access line among the log's lines.
func accessLine(t *testing.T, logs string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, l := range lines(t, logs) {
		if l["event.dataset"] == Dataset {
			if found != nil {
				t.Fatalf("two access lines: %s", logs)
			}
			found = l
		}
	}
	if found == nil {
		t.Fatalf("no access line: %s", logs)
	}
	return found
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestAccessLineFields: a real request over TCP through a trusted proxy
// (the loopback peer) carries every field of the access line.
func TestAccessLineFields(t *testing.T) {
	t.Parallel()
	logs := &logtest.Buffer{}
	trusted, _ := clientip.ParsePrefixes("127.0.0.0/8,::1/128")
	srv := httptest.NewServer(site(t, &Access{Clients: clientip.New(trusted), Geo: places{netip.MustParseAddr("203.0.113.9"): seoul}}, logs))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/bets/b_7?token=abc&page=2&Code=xyz", nil)
	req.Header.Set("User-Agent", "pb-test/1.0")
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Request-Id", "edge-req-42")
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	srv.Close() // the access line is written before the response ends; Close waits for the handler
	if got := res.Header.Get("X-Request-Id"); got != "edge-req-42" {
		t.Fatalf("X-Request-Id = %q", got)
	}
	line := accessLine(t, logs.String())
	want := map[string]any{
		"msg":                         "http request",
		"event.dataset":               "pointsbook.access",
		"http.request.method":         "GET",
		"http.route":                  "GET /api/v1/bets/{id}",
		"url.path":                    "/api/v1/bets/b_7",
		"url.query":                   "token=REDACTED&page=2&Code=REDACTED",
		"http.response.status_code":   float64(201),
		"http.response.body.bytes":    float64(5),
		"http.request.id":             "edge-req-42",
		"trace.id":                    "4bf92f3577b34da6a3ce929d0e0e4736",
		"client.ip":                   "203.0.113.9",
		"client.geo.country_iso_code": "KR",
		"client.geo.country_name":     "South Korea",
		"client.geo.city_name":        "Seoul",
		"user.id":                     "u_45",
		"user.name":                   "kim",
		"user_agent.original":         "pb-test/1.0",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %#v, want %#v", k, line[k], v)
		}
	}
	if loc, _ := line["client.geo.location"].(map[string]any); loc["lat"] != 37.5665 || loc["lon"] != 126.978 {
		t.Errorf("client.geo.location = %#v", line["client.geo.location"])
	}
	if d, _ := line["event.duration"].(float64); d <= 0 {
		t.Errorf("event.duration = %v", line["event.duration"])
	}
	if strings.Contains(logs.String(), "abc") || strings.Contains(logs.String(), "xyz") {
		t.Errorf("a secret parameter reached the log: %s", logs.String())
	}
	// The handler's own line carries the same request id and trace.
	for _, l := range lines(t, logs.String()) {
		if l["msg"] == "inside the handler" && (l["http.request.id"] != "edge-req-42" || l["trace.id"] != want["trace.id"]) {
			t.Errorf("handler line lacks the request's ids: %v", l)
		}
	}
}

// A client that is not behind a trusted proxy cannot choose its address,
// its request id or its trace; the id is ours and on every line.
func TestSpoofedHeadersFromAnUntrustedPeerAreIgnored(t *testing.T) {
	t.Parallel()
	logs := &logtest.Buffer{}
	trusted, _ := clientip.ParsePrefixes("10.0.0.0/8")
	h := site(t, &Access{Clients: clientip.New(trusted), Geo: places{netip.MustParseAddr("203.0.113.9"): seoul}}, logs)
	req := httptest.NewRequest("GET", "/api/v1/bets/b_1", nil)
	req.RemoteAddr = "198.51.100.7:41000"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Request-Id", "chosen-by-the-client")
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	id := rec.Header().Get("X-Request-Id")
	if !hexID.MatchString(id) {
		t.Fatalf("X-Request-Id = %q, want one of ours", id)
	}
	line := accessLine(t, logs.String())
	if line["client.ip"] != "198.51.100.7" || line["http.request.id"] != id || line["trace.id"] != nil || line["client.geo.country_iso_code"] != nil {
		t.Fatalf("spoofed headers believed: %v", line)
	}
	for _, l := range lines(t, logs.String()) {
		if l["http.request.id"] != id {
			t.Fatalf("line without the request id: %v", l)
		}
	}
}

// Behind a trusted proxy the access line names the client the proxy saw,
// the address the rate limits count.
func TestAccessLineNamesTheClientBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	trusted, _ := clientip.ParsePrefixes("10.0.0.0/8")
	for _, tt := range []struct {
		name, peer, xff, want string
	}{
		{"behind our proxy", "10.0.0.5:41000", "203.0.113.9", "203.0.113.9"},
		{"forged left of our proxy's entry", "10.0.0.5:41000", "192.0.2.66, 203.0.113.9", "203.0.113.9"},
		{"forged by a direct client", "198.51.100.7:41000", "203.0.113.9", "198.51.100.7"},
		{"no header", "10.0.0.5:41000", "", "10.0.0.5"},
		{"IPv6 peer", "[2001:db8::1]:41000", "", "2001:db8::1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &logtest.Buffer{}
			req := httptest.NewRequest("GET", "/api/v1/bets/b_1", nil)
			req.RemoteAddr = tt.peer
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			site(t, &Access{Clients: clientip.New(trusted)}, logs).ServeHTTP(httptest.NewRecorder(), req)
			if got := accessLine(t, logs.String())["client.ip"]; got != tt.want {
				t.Fatalf("client.ip = %v, want %s", got, tt.want)
			}
		})
	}
}

// A trusted proxy's request id and traceparent are taken only when sane.
func TestTrustedProxyHeaders(t *testing.T) {
	t.Parallel()
	trusted, _ := clientip.ParsePrefixes("10.0.0.0/8")
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, tt := range []struct {
		name        string
		ids, tps    []string
		wantID      string // "": one of ours
		wantTraceID string
	}{
		{"both taken", []string{"3f2a-b"}, []string{"00-" + trace + "-00f067aa0ba902b7-01"}, "3f2a-b", trace},
		{"AWS trace id", []string{"Root=1-67891233-abcdef012345678912345678"}, nil, "Root=1-67891233-abcdef012345678912345678", ""},
		{"id with a space", []string{"a b"}, nil, "", ""},
		{"id with a newline", []string{"a\nb"}, nil, "", ""},
		{"id not ASCII", []string{"요청"}, nil, "", ""},
		{"id too long", []string{strings.Repeat("a", 129)}, nil, "", ""},
		{"longest id", []string{strings.Repeat("a", 128)}, nil, strings.Repeat("a", 128), ""},
		{"two ids", []string{"a", "b"}, nil, "", ""},
		{"empty id", []string{""}, nil, "", ""},
		{"two traceparents", nil, []string{"00-" + trace + "-00f067aa0ba902b7-01", "00-" + trace + "-00f067aa0ba902b7-01"}, "", ""},
		{"upper-case trace", nil, []string{"00-" + strings.ToUpper(trace) + "-00f067aa0ba902b7-01"}, "", ""},
		{"zero trace", nil, []string{"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, "", ""},
		{"future version with more fields", nil, []string{"cc-" + trace + "-00f067aa0ba902b7-09-what-ever"}, "", trace},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &logtest.Buffer{}
			req := httptest.NewRequest("GET", "/api/v1/bets/b_1", nil)
			req.RemoteAddr = "10.0.0.5:41000"
			for _, v := range tt.ids {
				req.Header.Add("X-Request-Id", v)
			}
			for _, v := range tt.tps {
				req.Header.Add("Traceparent", v)
			}
			rec := httptest.NewRecorder()
			site(t, &Access{Clients: clientip.New(trusted)}, logs).ServeHTTP(rec, req)
			id := rec.Header().Get("X-Request-Id")
			if tt.wantID == "" && !hexID.MatchString(id) || tt.wantID != "" && id != tt.wantID {
				t.Fatalf("X-Request-Id = %q, want %q", id, tt.wantID)
			}
			line := accessLine(t, logs.String())
			if line["http.request.id"] != id {
				t.Fatalf("http.request.id = %v, header %q", line["http.request.id"], id)
			}
			if got, _ := line["trace.id"].(string); got != tt.wantTraceID {
				t.Fatalf("trace.id = %q, want %q", got, tt.wantTraceID)
			}
		})
	}
}

// Whatever a client sends — newlines, NUL, escape sequences, invalid
// UTF-8, 100 KB headers — each record stays one JSON line of bounded
// size with valid UTF-8 values.
func TestLogInjection(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("A", 100<<10)
	nasty := "evil\n{\"msg\":\"forged\"}\r\n\x00\x1b[31m\xff\xfe\u2028end"
	for _, tt := range []struct {
		name, target, ua, username string
	}{
		{"user agent with newlines and NUL", "/api/v1/bets/b_1", nasty, ""},
		{"100 KB user agent", "/api/v1/bets/b_1", huge, ""},
		{"100 KB of multi-byte user agent", "/api/v1/bets/b_1", strings.Repeat("한", 40<<10), ""},
		{"100 KB username with newlines", "/api/v1/bets/b_1", "", strings.Repeat("kim\n", 25<<10)},
		{"path with escaped controls", "/api/v1/bets/\n\x00\xff\x1b", "", ""},
		{"query with controls and a huge value", "/api/v1/bets/b_1?q=%0A%00%FF&x=" + huge + "&token=" + huge, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &logtest.Buffer{}
			log := slog.New(request.LogHandler(slog.NewJSONHandler(logs, nil)))
			api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.username != "" {
					request.From(r.Context()).UserID, request.From(r.Context()).Username = "u_1", tt.username
				}
			})
			h := Handler(api, http.NotFoundHandler(), Readiness{DB: pinger{}}, nil, nil, log)
			req := httptest.NewRequest("GET", "/", nil)
			req.URL.Path, req.URL.RawQuery, _ = strings.Cut(tt.target, "?")
			req.Header.Set("User-Agent", tt.ua)
			h.ServeHTTP(httptest.NewRecorder(), req)
			out := logs.String()
			if n := strings.Count(out, "\n"); n != 1 {
				t.Fatalf("%d lines for one request: %q", n, out)
			}
			if len(out) > 8<<10 {
				t.Fatalf("access line is %d bytes", len(out))
			}
			line := accessLine(t, out)
			for k, v := range line {
				if s, ok := v.(string); ok && (!utf8.ValidString(s) || strings.ContainsAny(s, "\x00\n\r\x1b")) {
					t.Errorf("%s = %q", k, s)
				}
			}
			if ua, _ := line["user_agent.original"].(string); len(ua) > maxUserAgent {
				t.Errorf("user agent of %d bytes", len(ua))
			}
		})
	}
}

// Health probes and /metrics are left out unless the setting asks.
func TestProbesLeftOutOfTheAccessLog(t *testing.T) {
	t.Parallel()
	for _, probes := range []bool{false, true} {
		t.Run(fmt.Sprint("probes=", probes), func(t *testing.T) {
			t.Parallel()
			logs := &logtest.Buffer{}
			log := slog.New(request.LogHandler(slog.NewJSONHandler(logs, nil)))
			h := Handler(http.NotFoundHandler(), http.NotFoundHandler(), Readiness{DB: pinger{}}, &recorder{}, &Access{Probes: probes}, log)
			for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
				serve(t, h, "GET", p)
			}
			n := len(lines(t, logs.String()))
			if !probes && n != 0 || probes && n != 3 {
				t.Fatalf("probes=%v: %d lines: %s", probes, n, logs.String())
			}
			serve(t, h, "GET", "/api/v1/sports")
			if all := lines(t, logs.String()); len(all) != n+1 || all[n]["url.path"] != "/api/v1/sports" {
				t.Fatal("an ordinary request was not logged")
			}
		})
	}
}

// A panic is answered 500 and logged like any answer, with the request id
// on the panic's line too.
func TestPanicHasAnAccessLine(t *testing.T) {
	t.Parallel()
	logs := &logtest.Buffer{}
	log := slog.New(request.LogHandler(slog.NewJSONHandler(logs, nil)))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	Handler(api, http.NotFoundHandler(), Readiness{DB: pinger{}}, nil, nil, log).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/x", nil))
	id := rec.Header().Get("X-Request-Id")
	if line := accessLine(t, logs.String()); line["http.response.status_code"] != float64(500) || line["http.request.id"] != id {
		t.Fatalf("access line %v", line)
	}
	for _, l := range lines(t, logs.String()) {
		if l["msg"] == "panic in handler" && l["http.request.id"] != id {
			t.Fatalf("panic line without the request id: %v", l)
		}
	}
}

func TestRedactQuery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"page=2&sort=asc", "page=2&sort=asc"},
		{"code=abc&state=def", "code=REDACTED&state=REDACTED"},
		{"TOKEN=abc&Password=x", "TOKEN=REDACTED&Password=REDACTED"},
		{"access_token=a&id_token=b&refresh_token=c", "access_token=REDACTED&id_token=REDACTED&refresh_token=REDACTED"},
		{"key=k&api_key=k&apikey=k&secret=s&client_secret=s", "key=REDACTED&api_key=REDACTED&apikey=REDACTED&secret=REDACTED&client_secret=REDACTED"},
		{"X-Amz-Signature=abc&sig=1&signature=2", "X-Amz-Signature=REDACTED&sig=REDACTED&signature=REDACTED"},
		{"%74oken=abc", "%74oken=REDACTED"}, // escaped name
		{"to%ken=abc", "to%ken=abc"},        // bad escape: compared as written
		{"token", "token=REDACTED"},         // no value still says it was there
		{"token=", "token=REDACTED"},
		{"token=a&token=b", "token=REDACTED&token=REDACTED"},
		{"a=1;password=x;b=2", "a=1;password=REDACTED;b=2"},
		{"monkey=1&keyboard=2", "monkey=1&keyboard=2"}, // "key" alone is exact
		{"next=%2Fme&code=1&", "next=%2Fme&code=REDACTED&"},
		{"q=a\nb", "q=a\ufffdb"},
	} {
		if got := redactQuery(tt.in); got != tt.want {
			t.Errorf("redactQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := redactQuery(strings.Repeat("a=1&", 10_000) + "token=secret"); len(got) > maxQuery || strings.Contains(got, "secret") {
		t.Errorf("long query: %d bytes", len(got))
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"Mozilla/5.0", 1024, "Mozilla/5.0"},
		{"abcdef", 3, "abc"},
		{"a\nb\x00c", 10, "a\ufffdb\ufffdc"},
		{"a\xffb", 10, "a\ufffdb"},
		{"한국어", 7, "한국"}, // never half a character
		{"\u2028x", 10, "\u2028x"},
	} {
		if got := clean(tt.in, tt.n); got != tt.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func FuzzTraceparent(f *testing.F) {
	for _, s := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"", "00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
	} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$`)
	f.Fuzz(func(t *testing.T, h string) {
		id, ok := parseTraceparent(h)
		m := valid.FindStringSubmatch(h)
		if !ok {
			if id != "" {
				t.Fatalf("refused %q but returned %q", h, id)
			}
			return
		}
		if m == nil || m[1] != id || id == strings.Repeat("0", 32) || h[:2] == "ff" || len(h) > 512 {
			t.Fatalf("accepted %q as %q", h, id)
		}
		if h[:2] == "00" && len(h) != 55 {
			t.Fatalf("version 00 with extra data accepted: %q", h)
		}
	})
}

func FuzzRedactQuery(f *testing.F) {
	for _, s := range []string{"page=2&token=abc", "code=1;state=2", "%74oken=x", "a=%ff\n", "token"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := redactQuery(raw)
		if len(got) > maxQuery || !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\n\r") {
			t.Fatalf("redactQuery(%q) = %q", raw, got)
		}
		// Every secret parameter that survives the cut has no value but REDACTED.
		pairs := strings.FieldsFunc(got, func(r rune) bool { return r == '&' || r == ';' })
		if len(got) >= maxQuery-4 && len(pairs) > 0 {
			pairs = pairs[:len(pairs)-1] // the last may be cut
		}
		for _, p := range pairs {
			name, value, _ := strings.Cut(p, "=")
			if secretParam(unescapeOr(name)) && value != Redacted {
				t.Fatalf("redactQuery(%q) leaves %q", raw, p)
			}
		}
	})
}

func unescapeOr(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func FuzzClean(f *testing.F) {
	f.Add("Mozilla/5.0 (X11)", 1024)
	f.Add("a\nb\x00\xff한", 5)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 4096 {
			return
		}
		got := clean(s, n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Fatalf("clean(%q, %d) = %q", s, n, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
				t.Fatalf("clean(%q, %d) = %q keeps %U", s, n, got, r)
			}
		}
	})
}

// BenchmarkAccessLog is the cost per request of the request metadata and
// the access line (JSON-encoded, written to a discarding writer), with and
// without a cached GeoIP place, against the same handler without them.
func BenchmarkAccessLog(b *testing.B) {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/matches", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) }) //nolint:errcheck // bench
	log := slog.New(request.LogHandler(slog.NewJSONHandler(io.Discard, nil)))
	trusted, _ := clientip.ParsePrefixes("10.0.0.0/8")
	geo := places{netip.MustParseAddr("203.0.113.9"): seoul}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare-mux", api},
		{"access-log", accessLog(log, nil, Access{Clients: clientip.New(trusted)}, api)},
		{"access-log-geo", accessLog(log, nil, Access{Clients: clientip.New(trusted), Geo: geo}, api)},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v1/matches?page=2&token=x", nil)
			req.RemoteAddr = "10.0.0.5:41000"
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
