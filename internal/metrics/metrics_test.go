package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	m := New()
	m.ObserveRequest("GET", "GET /api/v1/matches/{id}", 200, 3*time.Millisecond)
	m.ObserveRequest("GET", "", 404, time.Millisecond)
	leader := 1.0
	m.Gauge("pointsbook_feed_leader", "Whether this instance polls the feed.", map[string]string{"provider": "simulator"}, func() float64 { return leader })
	m.CounterFunc("pointsbook_attempt_limiter_fallbacks_total", "Attempts counted in process.", nil, func() float64 { return 7 })
	m.Live(func() LiveStats {
		return LiveStats{Connections: 3, Overflows: 1, Delivered: 40, FramesIn: 5, FramesOut: 12}
	})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`pointsbook_http_requests_total{code="200",method="GET",route="GET /api/v1/matches/{id}"} 1`,
		`pointsbook_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`pointsbook_http_request_duration_seconds_bucket{route="GET /api/v1/matches/{id}",le="0.005"} 1`,
		`pointsbook_feed_leader{provider="simulator"} 1`,
		"# TYPE pointsbook_attempt_limiter_fallbacks_total counter\npointsbook_attempt_limiter_fallbacks_total 7",
		"# TYPE pointsbook_live_connections gauge\npointsbook_live_connections 3",
		"# TYPE pointsbook_live_slow_clients_dropped_total counter\npointsbook_live_slow_clients_dropped_total 1",
		"pointsbook_live_events_delivered_total 40",
		`pointsbook_live_frames_total{direction="in"} 5`,
		`pointsbook_live_frames_total{direction="out"} 12`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}

func scrape(t *testing.T, h http.Handler, header string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestBetCounters(t *testing.T) {
	m := New()
	m.BetPlaced("football", 1000)
	m.BetPlaced("football", 500)
	m.BetPlaced("mixed", 200)
	m.BetPlaced("curling", 300) // not a sport of ours
	m.BetRefused("insufficient_points")
	m.BetRefused("insufficient_points")
	m.BetRefused("market_closed")
	m.BetRefused("Not A Code\n")
	m.BetSettled("football", "won", 2000)
	m.BetSettled("football", "lost", -2000) // a correction taking a payout back
	m.BetSettled("basketball", "void", 500)
	m.BetSettled("basketball", "half", 0)
	m.Credited("topup", 20000)
	m.Credited("partner_credit", 300)
	m.Credited("bribe", 1)
	m.ObserveRequest("BREW", "", 405, time.Millisecond)
	_, body := scrape(t, m.Handler(), "")
	for _, want := range []string{
		`pointsbook_bets_placed_total{sport="football"} 2`,
		`pointsbook_bets_placed_total{sport="mixed"} 1`,
		`pointsbook_bets_placed_total{sport="other"} 1`,
		`pointsbook_bets_placed_total{sport="handball"} 0`,
		`pointsbook_points_staked_total{sport="football"} 1500`,
		`pointsbook_bets_refused_total{reason="insufficient_points"} 2`,
		`pointsbook_bets_refused_total{reason="market_closed"} 1`,
		`pointsbook_bets_refused_total{reason="other"} 1`,
		`pointsbook_bets_settled_total{outcome="won",sport="football"} 1`,
		`pointsbook_bets_settled_total{outcome="lost",sport="football"} 1`,
		`pointsbook_bets_settled_total{outcome="void",sport="basketball"} 1`,
		`pointsbook_bets_settled_total{outcome="other",sport="basketball"} 1`,
		`pointsbook_points_paid_total{sport="football"} 2000`,
		`pointsbook_points_reversed_total{sport="football"} 2000`,
		`pointsbook_points_paid_total{sport="basketball"} 500`,
		`pointsbook_programme_credits_total{kind="topup"} 1`,
		`pointsbook_programme_credited_points_total{kind="topup"} 20000`,
		`pointsbook_programme_credited_points_total{kind="partner"} 300`,
		`pointsbook_programme_credits_total{kind="other"} 1`,
		`pointsbook_programme_credits_total{kind="signup_bonus"} 0`,
		`pointsbook_http_requests_total{code="405",method="other",route="unmatched"} 1`,
		`pointsbook_build_info{`,
		`go_build_info{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}

// TestRefusalReasonsBounded: whatever codes arrive, the reason label
// takes at most maxReasons values plus other.
func TestRefusalReasonsBounded(t *testing.T) {
	m := New()
	for i := range 3 * maxReasons {
		m.BetRefused(fmt.Sprintf("code_%d", i))
	}
	_, body := scrape(t, m.Handler(), "")
	if n := strings.Count(body, "pointsbook_bets_refused_total{"); n != maxReasons+1 {
		t.Fatalf("%d refusal series, want %d", n, maxReasons+1)
	}
	if want := fmt.Sprintf(`pointsbook_bets_refused_total{reason="other"} %d`, 2*maxReasons); !strings.Contains(body, want) {
		t.Fatalf("exposition lacks %s", want)
	}
}

func TestToken(t *testing.T) {
	m := New()
	m.RequireToken("s3cret-token")
	h := m.Handler()
	for _, tt := range []struct {
		header string
		code   int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer s3cret-toke", http.StatusUnauthorized},
		{"Bearer s3cret-token-and-more", http.StatusUnauthorized},
		{"Basic czNjcmV0LXRva2Vu", http.StatusUnauthorized},
		{"s3cret-token", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Bearer s3cret-token", http.StatusOK},
		{"bearer s3cret-token", http.StatusOK},
	} {
		code, body := scrape(t, h, tt.header)
		if code != tt.code {
			t.Errorf("Authorization %q: %d, want %d", tt.header, code, tt.code)
		}
		if code != http.StatusOK && strings.Contains(body, "go_goroutines") {
			t.Errorf("Authorization %q: metrics served without the token", tt.header)
		}
	}
	open := New()
	open.RequireToken("")
	if code, _ := scrape(t, open.Handler(), ""); code != http.StatusOK {
		t.Fatalf("no token required: %d", code)
	}
}

// TestLedgerCached: the totals are read at most once per ledgerCacheFor,
// a failed read leaves them out and is counted, and the next scrape
// reads again.
func TestLedgerCached(t *testing.T) {
	m := New()
	reads := 0
	var fail error
	c := &ledgerCollector{read: func(ctx context.Context) ([]LedgerTotal, error) {
		reads++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("ledger read without a deadline")
		}
		return []LedgerTotal{{"house", "house", int64(100 * reads)}, {"player", "players", int64(-100 * reads)}}, fail
	}}
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	m.reg.MustRegister(c)
	want := func(line string) {
		t.Helper()
		if _, body := scrape(t, m.Handler(), ""); !strings.Contains(body, line) {
			t.Fatalf("exposition lacks %s:\n%s", line, body)
		}
	}
	want(`pointsbook_ledger_balance_points{account="house",kind="house"} 100`)
	now = now.Add(ledgerCacheFor - time.Millisecond)
	want(`pointsbook_ledger_balance_points{account="players",kind="player"} -100`)
	if reads != 1 {
		t.Fatalf("%d reads within the cache's time", reads)
	}
	now = now.Add(time.Millisecond)
	want(`pointsbook_ledger_balance_points{account="house",kind="house"} 200`)
	fail = errors.New("database down")
	now = now.Add(ledgerCacheFor)
	want("pointsbook_ledger_read_errors_total 1")
	if _, body := scrape(t, m.Handler(), ""); strings.Contains(body, "pointsbook_ledger_balance_points{") || reads != 4 {
		t.Fatalf("after a failed read (%d reads):\n%s", reads, body)
	}
}

// BenchmarkBetPlaced is the cost placement's path pays per bet.
func BenchmarkBetPlaced(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.BetPlaced("football", 1000)
	}
}

// FuzzToken: whatever Authorization header arrives, a scrape is served
// only when the header names the token with the Bearer scheme.
func FuzzToken(f *testing.F) {
	const token = "s3cret-token"
	for _, s := range []string{"", "Bearer " + token, "bearer " + token, "Bearer", "Bearer  " + token + " ", "Basic x", "Bearer \x00", "Bearer s3cret-token\n"} {
		f.Add(s)
	}
	m := New()
	m.RequireToken(token)
	h := m.Handler()
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		scheme, rest, _ := strings.Cut(header, " ")
		valid := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == token
		if (rec.Code == http.StatusOK) != valid {
			t.Fatalf("Authorization %q: %d", header, rec.Code)
		}
		if rec.Code != http.StatusOK && rec.Code != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: %d", header, rec.Code)
		}
	})
}
