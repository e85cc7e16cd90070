package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/request"
)

func inRequest() context.Context {
	return request.With(context.Background(), &request.Info{
		ID: "req-1", TraceID: "0af7651916cd43dd8448eb211c80319c", ClientIP: netip.MustParseAddr("::ffff:203.0.113.7"),
		Geo: &request.Geo{CountryISO: "KR", CountryName: "South Korea", City: "Seoul", Lat: 37.5, Lon: 127, HasLocation: true},
	})
}

func TestNewTakesTheRequestsMetadata(t *testing.T) {
	t.Parallel()
	e := audit.New(inRequest(), audit.Login, "user:u_1").By("u_1", "kim")
	if e.Actor != "user:u_1" || e.UserID != "u_1" || e.Username != "kim" || e.Outcome != audit.Success {
		t.Fatalf("actor: %+v", e)
	}
	if e.ClientIP != "203.0.113.7" || e.RequestID != "req-1" || e.TraceID != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("request metadata: %+v", e)
	}
	if e.Geo == nil || e.Geo.CountryISO != "KR" || e.Geo.City != "Seoul" || e.Geo.Lat == nil || *e.Geo.Lon != 127 {
		t.Fatalf("geo: %+v", e.Geo)
	}
	// Outside a request (the CLI, a worker) nothing is invented.
	o := audit.New(context.Background(), audit.AdminPartnerAdd, "partner:acme").ByCLI()
	if o.ClientIP != "" || o.Geo != nil || o.RequestID != "" || o.Actor != audit.ActorCLI {
		t.Fatalf("outside a request: %+v", o)
	}
	if p := audit.New(context.Background(), audit.PartnerCredit, "").ByPartner("acme"); p.Actor != "partner:acme" || p.UserID != "" {
		t.Fatalf("partner: %+v", p)
	}
}

func TestFailedRecordsTheCodeOnly(t *testing.T) {
	t.Parallel()
	e := audit.New(context.Background(), audit.Login, "").Because("given")
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fault.New(fault.Unauthenticated, "invalid_credentials", "The username or password is wrong."), "invalid_credentials"},
		{errors.New("dial tcp 10.0.0.1:5432: password=hunter2"), "internal"},
	} {
		f := e.Failed(tt.err)
		if f.Outcome != audit.Failure || f.Reason != tt.want {
			t.Errorf("Failed(%v) = %s %q, want failure %q", tt.err, f.Outcome, f.Reason, tt.want)
		}
	}
	if e.Outcome != audit.Success || e.Reason != "given" {
		t.Errorf("Failed changed the original: %+v", e)
	}
}

func TestHostileTextIsBoundedAndClean(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("가", 100_000)
	e := audit.New(context.Background(), audit.Login, "username:"+long+"\n{\"x\":1}").By("u_1", "bad\x00name\r\n\xff"+long)
	e.Reason = long + "\u2028"
	e.ClientIP = "not an address"
	e.Clean()
	for name, v := range map[string]string{"target": e.Target, "username": e.Username, "reason": e.Reason} {
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n\u2028") {
			t.Errorf("%s not clean: %q", name, v[:min(40, len(v))])
		}
	}
	if len(e.Target) > audit.MaxTarget || len(e.Username) > audit.MaxName || len(e.Reason) > audit.MaxReason {
		t.Errorf("not bounded: %d %d %d", len(e.Target), len(e.Username), len(e.Reason))
	}
	if e.ClientIP != "" {
		t.Errorf("a malformed address was kept: %q", e.ClientIP)
	}
}

// TestLogWritesTheFieldContract checks the one line per event against the
// field names the index templates and dashboards use (fields.md).
func TestLogWritesTheFieldContract(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(request.LogHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := inRequest()
	e := audit.New(ctx, audit.AdminMatchVoid, "match:m_3").By("u_9", "op").Because("abandoned")
	audit.Log(ctx, log, e)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
	}
	if n := strings.Count(buf.String(), `"http.request.id"`); n != 1 {
		t.Fatalf("http.request.id written %d times: %s", n, buf.String())
	}
	want := map[string]any{
		"event.dataset": "pointsbook.audit", "event.action": "admin.match.void", "event.outcome": "success",
		"event.reason": "abandoned", "user.id": "u_9", "user.name": "op", "pointsbook.audit.target": "match:m_3",
		"client.ip": "203.0.113.7", "client.geo.country_iso_code": "KR", "client.geo.country_name": "South Korea",
		"client.geo.city_name": "Seoul", "http.request.id": "req-1", "trace.id": "0af7651916cd43dd8448eb211c80319c",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	loc, _ := got["client.geo.location"].(map[string]any)
	if loc["lat"] != 37.5 || loc["lon"] != 127.0 {
		t.Errorf("client.geo.location = %v", got["client.geo.location"])
	}

	// Outside a request the event's own ids are written; a partner is
	// named where a user would be.
	buf.Reset()
	p := audit.New(ctx, audit.PartnerCredit, "user:u_1").ByPartner("acme")
	audit.Log(context.Background(), log, p)
	got = nil
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["http.request.id"] != "req-1" || got["user.name"] != "partner:acme" || got["user.id"] != nil {
		t.Errorf("partner line: %v", got)
	}
}

func TestParseFilter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		query string
		code  string
		check func(audit.Filter) bool
	}{
		{"", "", func(f audit.Filter) bool { return f.Limit == audit.DefaultPage }},
		{"actor=user:u_1&action=admin.*&target=match:m_2&outcome=failure&limit=200", "", func(f audit.Filter) bool {
			return f.Actor == "user:u_1" && f.Action == "admin.*" && f.Target == "match:m_2" && f.Outcome == "failure" && f.Limit == 200
		}},
		{"from=2026-12-09T01:00:00Z&to=2026-12-09T11:00:00%2B09:00", "", func(f audit.Filter) bool {
			return f.From.Equal(time.Date(2026, 12, 9, 1, 0, 0, 0, time.UTC)) && f.To.Equal(time.Date(2026, 12, 9, 2, 0, 0, 0, time.UTC))
		}},
		{"from=2026-12-09T01:00:00Z&to=2026-12-09T10:00:00%2B09:00", "invalid_filter", nil},
		{"from=2026-12-09T01:00:00Z&to=2026-12-09T01:00:00Z", "invalid_filter", nil},
		{"from=yesterday", "invalid_filter", nil},
		{"to=0001-01-01T00:00:00Z", "invalid_filter", nil},
		{"outcome=maybe", "invalid_filter", nil},
		{"action=*", "invalid_filter", nil},
		{"action=a*b*", "invalid_filter", nil},
		{"actor=" + strings.Repeat("x", 200), "invalid_filter", nil},
		{"target=a%0Ab", "invalid_filter", nil},
		{"limit=0", "invalid_limit", nil},
		{"limit=201", "invalid_limit", nil},
		{"limit=-1", "invalid_limit", nil},
		{"limit=99999999999999999999", "invalid_limit", nil},
	} {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		f, err := audit.ParseFilter(q.Get)
		if fault.Code(err) != tt.code {
			t.Errorf("%q: code %q, want %q (%v)", tt.query, fault.Code(err), tt.code, err)
			continue
		}
		if tt.check != nil && !tt.check(f) {
			t.Errorf("%q: %+v", tt.query, f)
		}
	}
}

// FuzzParseFilter: any query gives a filter within bounds or an
// invalid_filter / invalid_limit refusal, never anything else.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "action=admin.*&limit=5", "from=2026-12-09T01:00:00Z", "limit=٣", "outcome=failure&to=2026-13-01T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := audit.ParseFilter(q.Get)
		if err != nil {
			if c := fault.Code(err); c != "invalid_filter" && c != "invalid_limit" {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if got.Limit < 1 || got.Limit > audit.MaxPage || !utf8.ValidString(got.Actor+got.Action+got.Target+got.Cursor) {
			t.Fatalf("%q: %+v", raw, got)
		}
		if !got.From.IsZero() && !got.To.IsZero() && !got.From.Before(got.To) {
			t.Fatalf("%q: empty range accepted", raw)
		}
	})
}

func TestLimiterBoundsRowsPerKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)
	l := audit.NewLimiter(3, time.Minute)
	l.MaxKeys = 2
	l.Now = func() time.Time { return now }
	allowed := 0
	for range 10 {
		if l.Allow("203.0.113.1") {
			allowed++
		}
	}
	if allowed != 3 || l.Suppressed() != 7 {
		t.Fatalf("allowed %d suppressed %d, want 3 and 7", allowed, l.Suppressed())
	}
	if !l.Allow("203.0.113.2") {
		t.Fatal("a second address was refused")
	}
	// Full: a third address waits until an old window ends.
	if l.Allow("203.0.113.3") {
		t.Fatal("a third address was remembered beyond MaxKeys")
	}
	now = now.Add(time.Minute)
	if !l.Allow("203.0.113.3") || !l.Allow("203.0.113.1") {
		t.Fatal("a new window did not reopen the budget")
	}
}
