package apisports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// simAPI is a provider whose matches move with the test clock: a match
// kicks off every 90 minutes around the clock in every sport, so some
// match is in play all day, the hardest case for the budget.
type simAPI struct {
	t     *testing.T
	clock *clocktest.Clock
	srv   *httptest.Server

	mu    sync.Mutex
	calls map[string]map[string]int // sport → UTC day → calls
	sent  map[string][]time.Time
	live  map[string]int
}

type simMatch struct {
	id   int
	kick time.Time
}

var simLength = map[string]time.Duration{
	"football": 115 * time.Minute, "basketball": 140 * time.Minute, "baseball": 190 * time.Minute,
	"hockey": 150 * time.Minute, "handball": 100 * time.Minute,
}

const (
	simEvery  = 90 * time.Minute
	simPerDay = 16
)

var simLive = map[string]string{"football": "2H", "basketball": "Q3", "baseball": "IN5", "hockey": "P2", "handball": "2H"}

func newSimAPI(t *testing.T, clk *clocktest.Clock) *simAPI {
	s := &simAPI{t: t, clock: clk, calls: map[string]map[string]int{}, sent: map[string][]time.Time{}, live: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// matches of a sport on a KST date.
func simMatches(date string) []simMatch {
	d, err := time.ParseInLocation(time.DateOnly, date, kst)
	if err != nil {
		return nil
	}
	var out []simMatch
	for i := range simPerDay {
		out = append(out, simMatch{id: int(d.Unix()/3600)*100 + i, kick: d.Add(time.Duration(i) * simEvery)})
	}
	return out
}

func simByID(id int) (simMatch, bool) {
	hours := int64(id / 100)
	i := id % 100
	d := time.Unix(hours*3600, 0)
	if i >= simPerDay {
		return simMatch{}, false
	}
	return simMatch{id: id, kick: d.Add(time.Duration(i) * simEvery)}, true
}

func (s *simAPI) item(sp string, m simMatch, now time.Time) map[string]any {
	status, live, done := "NS", false, false
	switch {
	case now.Before(m.kick):
	case now.Before(m.kick.Add(simLength[sp])):
		status, live = simLive[sp], true
	default:
		status, done = "FT", true
	}
	league := map[string]any{"id": 10, "name": "Sim League", "season": 2026, "country": "Simland"}
	teams := map[string]any{"home": map[string]any{"id": 2*(m.id%50) + 1, "name": "Home " + strconv.Itoa(m.id%50)},
		"away": map[string]any{"id": 2*(m.id%50) + 2, "name": "Away " + strconv.Itoa(m.id%50)}}
	nullPair := map[string]any{"home": nil, "away": nil}
	if sp == "football" {
		goals := nullPair
		switch {
		case live:
			goals = map[string]any{"home": 1, "away": 0}
		case done:
			goals = map[string]any{"home": 2, "away": 1}
		}
		return map[string]any{
			"fixture": map[string]any{"id": m.id, "timestamp": m.kick.Unix(), "date": m.kick.In(kst).Format(time.RFC3339), "status": map[string]any{"short": status}},
			"league":  league, "teams": teams, "goals": goals,
			"score": map[string]any{"fulltime": goals, "extratime": nullPair},
		}
	}
	it := map[string]any{"id": m.id, "timestamp": m.kick.Unix(), "date": m.kick.In(kst).Format(time.RFC3339),
		"status": map[string]any{"short": status}, "league": league, "country": map[string]any{"name": "Simland"}, "teams": teams}
	if !live && !done {
		it["scores"] = map[string]any{"home": nil, "away": nil}
		return it
	}
	switch sp {
	case "basketball":
		side := func(q4 int) map[string]any {
			return map[string]any{"quarter_1": 20, "quarter_2": 20, "quarter_3": 20, "quarter_4": q4, "over_time": nil, "total": 60 + q4}
		}
		it["scores"] = map[string]any{"home": side(21), "away": side(20)}
	case "baseball":
		it["scores"] = map[string]any{"home": map[string]any{"innings": map[string]any{"1": 2, "extra": nil}, "total": 2},
			"away": map[string]any{"innings": map[string]any{"1": 1, "extra": nil}, "total": 1}}
	case "hockey":
		it["scores"] = map[string]any{"home": 2, "away": 1}
		it["periods"] = map[string]any{"first": "1-0", "second": "1-1", "third": "0-0"}
	case "handball":
		it["scores"] = map[string]any{"home": 31, "away": 28}
		it["periods"] = map[string]any{"first": map[string]any{"home": 15, "away": 14}, "second": map[string]any{"home": 16, "away": 14}}
	}
	return it
}

func (s *simAPI) oddsItem(sp string, m simMatch) map[string]any {
	key := "fixture"
	bet := map[string]any{"name": "Match Winner", "values": []any{
		map[string]any{"value": "Home", "odd": "2.10"}, map[string]any{"value": "Draw", "odd": "3.30"}, map[string]any{"value": "Away", "odd": "3.40"}}}
	if sp != "football" {
		key = "game"
		if sp != "handball" {
			bet = map[string]any{"name": "Home/Away", "values": []any{map[string]any{"value": "Home", "odd": "1.80"}, map[string]any{"value": "Away", "odd": "2.00"}}}
		}
	}
	return map[string]any{key: map[string]any{"id": m.id}, "bookmakers": []any{map[string]any{"id": 8, "name": "Bet365", "bets": []any{bet}}}}
}

func (s *simAPI) serve(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	sp, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	path = "/" + path
	q := r.URL.Query()
	if r.Header.Get("x-apisports-key") != testKey {
		s.t.Errorf("key header missing")
	}
	s.mu.Lock()
	day := now.UTC().Format(time.DateOnly)
	if s.calls[sp] == nil {
		s.calls[sp] = map[string]int{}
	}
	s.calls[sp][day]++
	s.sent[sp] = append(s.sent[sp], now)
	if q.Get("live") == "all" || (sp != "football" && path == "/games" && q.Get("date") != "") {
		s.live[sp]++
	}
	s.mu.Unlock()
	var items []any
	pg := map[string]any{"current": 1, "total": 1}
	switch {
	case (path == "/fixtures" || path == "/games") && q.Get("date") != "":
		if q.Get("timezone") != "Asia/Seoul" {
			s.t.Errorf("%s without timezone", r.URL)
		}
		for _, m := range simMatches(q.Get("date")) {
			items = append(items, s.item(sp, m, now))
		}
	case path == "/fixtures" && q.Get("live") == "all":
		for _, d := range []int{-1, 0} {
			for _, m := range simMatches(now.In(kst).AddDate(0, 0, d).Format(time.DateOnly)) {
				if !now.Before(m.kick) && now.Before(m.kick.Add(simLength[sp])) {
					items = append(items, s.item(sp, m, now))
				}
			}
		}
	case (path == "/fixtures" || path == "/games") && q.Get("id") != "":
		id, _ := strconv.Atoi(q.Get("id"))
		if m, ok := simByID(id); ok {
			items = append(items, s.item(sp, m, now))
		}
	case path == "/odds":
		var ms []simMatch
		if d := q.Get("date"); d != "" {
			ms = simMatches(d)
		} else {
			for _, d := range []int{0, 1} {
				ms = append(ms, simMatches(now.In(kst).AddDate(0, 0, d).Format(time.DateOnly))...)
			}
		}
		page, _ := strconv.Atoi(q.Get("page"))
		for i, m := range ms {
			if m.kick.After(now) && (sp != "football" || i%3 == page-1) {
				items = append(items, s.oddsItem(sp, m))
			}
		}
		if sp == "football" {
			pg = map[string]any{"current": page, "total": 3}
		}
	}
	if items == nil {
		items = []any{}
	}
	body, _ := json.Marshal(map[string]any{"get": path, "errors": []any{}, "results": len(items), "paging": pg, "response": items})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *simAPI) bases() map[string]string {
	m := map[string]string{}
	for _, sp := range sportSlugs {
		m[sp] = s.srv.URL + "/" + sp
	}
	return m
}

// TestBudgetOverSimulatedDays polls every minute, as an ingester would
// (yesterday, today and tomorrow), over two and a half days with matches
// in play around the clock, plus on-demand Match and HeadToHead calls.
// No sport may ever exceed its daily budget, the budget renews at 00:00
// UTC, no minute carries more than the per-minute allowance, and with the
// default budget every finished match is seen finished.
func TestBudgetOverSimulatedDays(t *testing.T) {
	t.Parallel()
	for _, budget := range []int{100, 30, 12} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			clk := clocktest.New(time.Date(2026, 11, 23, 13, 37, 0, 0, time.UTC))
			api := newSimAPI(t, clk)
			c, err := New(Config{Key: testKey, DailyBudget: budget, BaseURLs: api.bases(), Now: clk.Now, Bookmakers: []int{8}, HTTP: api.srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			end := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
			ctx := context.Background()
			errs := 0
			for ; clk.Now().Before(end); clk.Advance(time.Minute) {
				now := clk.Now().In(kst)
				for _, d := range []int{-1, 0, 1} {
					fs, err := c.Fixtures(ctx, now.AddDate(0, 0, d), kst)
					if err != nil {
						errs++
						if !errors.Is(err, feed.ErrDegraded) {
							t.Fatalf("%s: %v", now, err)
						}
					}
					if d == 0 && now.Minute()%30 == 0 {
						checkFixtures(t, fs)
					}
				}
				if now.Minute() == 0 {
					// On-demand calls compete for the same budget.
					m := simMatches(now.Format(time.DateOnly))[now.Hour()%simPerDay]
					_, _ = c.Match(ctx, "hockey:"+strconv.Itoa(m.id))
					f := feed.Fixture{Ref: "football:" + strconv.Itoa(m.id), Sport: "football", Home: feed.Named{Ref: "1"}, Away: feed.Named{Ref: strconv.Itoa(2 + now.Hour())}}
					_, _ = c.HeadToHead(ctx, &f)
				}
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			for _, sp := range sportSlugs {
				for day, n := range api.calls[sp] {
					if n > budget {
						t.Errorf("%s made %d calls on %s, budget %d", sp, n, day, budget)
					}
				}
				full := api.calls[sp]["2026-11-24"] + api.calls[sp]["2026-11-25"]
				if budget == 100 && full < 100 {
					t.Errorf("%s used only %d calls over two full days: the plan leaves too much unused", sp, full)
				}
				if api.calls[sp]["2026-11-25"] == 0 {
					t.Errorf("%s made no calls after the reset", sp)
				}
				if api.live[sp] == 0 {
					t.Errorf("%s was never polled live", sp)
				}
				sent := api.sent[sp]
				for i := range sent {
					j := i
					for j < len(sent) && sent[j].Sub(sent[i]) < time.Minute {
						j++
					}
					if j-i > defaultPerMinute {
						t.Errorf("%s: %d calls in the minute from %s", sp, j-i, sent[i])
						break
					}
				}
				t.Logf("%s: calls per UTC day %v, live polls %d", sp, api.calls[sp], api.live[sp])
			}
			if budget == 100 && errs > 0 {
				t.Errorf("%d degraded answers with the default budget", errs)
			}
			if budget == 100 {
				// Every match of the 25th (KST) that ended at least five hours
				// before the end is reported finished with its score.
				fs, _ := c.Fixtures(ctx, time.Date(2026, 11, 25, 12, 0, 0, 0, kst), kst)
				checkFixtures(t, fs)
				seen := 0
				for _, f := range fs {
					if f.KickoffAt.Add(simLength[f.Sport]).After(end.Add(-5 * time.Hour)) {
						continue
					}
					seen++
					if f.State != sport.Finished || f.Score == nil {
						t.Errorf("%s (%s) ended at %s but is %s %v", f.Ref, f.Sport, f.KickoffAt.Add(simLength[f.Sport]), f.Status, f.Score)
					}
				}
				if seen < 50 {
					t.Errorf("only %d finished matches checked", seen)
				}
			}
		})
	}
}

// checkFixtures applies the ingester's own sanity rules.
func checkFixtures(t testing.TB, fs []feed.Fixture) {
	t.Helper()
	for _, f := range fs {
		if _, ok := sport.Lookup(f.Sport); !ok || !strings.HasPrefix(f.Ref, f.Sport+":") || f.KickoffAt.IsZero() ||
			f.League.Ref == "" || f.Home.Ref == "" || f.Away.Ref == "" || f.Home.Name == "" || f.Away.Name == "" || f.League.Name == "" {
			t.Fatalf("malformed fixture %+v", f)
		}
		if f.State != "" && !f.State.Valid() {
			t.Fatalf("%s: state %q", f.Ref, f.State)
		}
		if s := f.Score; s != nil && (s.Home < 0 || s.Away < 0 || s.Regulation.Home < 0 || s.Regulation.Away < 0 ||
			s.Regulation.Home > s.Home || s.Regulation.Away > s.Away) {
			t.Fatalf("%s: score %+v", f.Ref, s)
		}
		if len(f.Markets) > 0 && f.State != sport.Scheduled {
			t.Fatalf("%s: markets on a %s match", f.Ref, f.State)
		}
		checkMarkets(t, f.Ref, f.Markets)
	}
}

// footballHits counts the football calls since the last look.
func footballHits(api *fakeAPI) int {
	n := 0
	for _, h := range api.takeHits() {
		if strings.HasPrefix(h, "football ") {
			n++
		}
	}
	return n
}

func TestPerMinuteBackOff(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	if _, err := tc.cycle(t); err != nil {
		t.Fatal(err)
	}
	tc.clock.Advance(5 * time.Hour) // today and tomorrow are due again
	tc.api.takeHits()
	tc.api.setStatus("football", http.StatusTooManyRequests)
	_, err := tc.Fixtures(context.Background(), testNow, kst)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimit || !errors.Is(err, feed.ErrDegraded) {
		t.Fatalf("429: %v", err)
	}
	if n := footballHits(tc.api); n != 1 {
		t.Fatalf("%d calls after a 429", n)
	}
	// Nothing for a minute, then one try; a second limit doubles the pause.
	wait := func(d time.Duration) {
		t.Helper()
		for step := 10 * time.Second; step < d; step += 10 * time.Second {
			tc.clock.Advance(10 * time.Second)
			_, err := tc.Fixtures(context.Background(), testNow, kst)
			if !errors.Is(err, feed.ErrDegraded) {
				t.Errorf("backing off but no degraded error: %v", err)
			}
			if n := footballHits(tc.api); n != 0 {
				t.Fatalf("called %s into a %s back-off", step, d)
			}
		}
		tc.clock.Advance(10 * time.Second)
		_, _ = tc.Fixtures(context.Background(), testNow, kst)
		if n := footballHits(tc.api); n != 1 {
			t.Fatalf("%d calls once the %s back-off ended", n, d)
		}
	}
	wait(time.Minute)
	wait(2 * time.Minute)
	// The limit in the envelope is handled the same way.
	tc.api.setStatus("football", 0)
	tc.api.forceAll("football", "errors/rate_limit.json")
	wait(4 * time.Minute)
	// A success resets the pause.
	tc.api.forceAll("football", "")
	wait(8 * time.Minute)
	if st := tc.Status()["football"]; st.Degraded != "" {
		t.Errorf("still degraded after a success: %+v", st)
	}
	tc.api.forceAll("football", "errors/rate_limit.json")
	tc.clock.Advance(5 * time.Hour)
	_, _ = tc.Fixtures(context.Background(), testNow, kst)
	if n := footballHits(tc.api); n != 1 {
		t.Fatalf("%d calls", n)
	}
	wait(time.Minute)
}

func TestRateLimitHeaders(t *testing.T) {
	t.Parallel()
	// The provider's per-minute word is obeyed without an error.
	tc := newTestClient(t, 100)
	tc.api.header.Set("X-RateLimit-Limit", "2")
	for i := 0; i < 6; i++ {
		if _, err := tc.cycle(t); err != nil {
			t.Fatalf("per-minute pacing reported as an error: %v", err)
		}
		if n := footballHits(tc.api); n > 2 {
			t.Fatalf("%d football calls in a minute with a limit of 2", n)
		}
		tc.clock.Advance(time.Minute)
	}
	tc = newTestClient(t, 100)
	tc.api.header.Set("X-RateLimit-Remaining", "0")
	if _, err := tc.cycle(t); err != nil {
		t.Fatal(err)
	}
	if n := footballHits(tc.api); n != 1 {
		t.Fatalf("%d calls after the minute was used up", n)
	}
	tc.clock.Advance(59 * time.Second)
	_, _ = tc.cycle(t)
	if n := footballHits(tc.api); n != 0 {
		t.Fatalf("%d calls within the minute", n)
	}
	tc.clock.Advance(2 * time.Second)
	_, _ = tc.cycle(t)
	if n := footballHits(tc.api); n != 1 {
		t.Fatalf("%d calls after the minute", n)
	}
	// The provider's daily count wins over ours.
	tc = newTestClient(t, 100)
	tc.api.header.Set("x-ratelimit-requests-remaining", "0")
	_, _ = tc.Fixtures(context.Background(), testNow, kst)
	tc.api.takeHits()
	_, err := tc.Fixtures(context.Background(), testNow.AddDate(0, 0, 1), kst)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindBudget || !errors.Is(err, feed.ErrDegraded) {
		t.Fatalf("after the provider's last call: %v", err)
	}
	if n := footballHits(tc.api); n != 0 {
		t.Errorf("%d calls beyond the provider's remaining count", n)
	}
	st := tc.Status()["football"]
	if st.Remaining != 0 || !strings.Contains(st.Degraded, KindBudget) {
		t.Errorf("status %+v", st)
	}
	// The provider's count is for its day: at 00:00 UTC ours restarts.
	tc.clock.Set(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	if st := tc.Status()["football"]; st.Remaining != 100 || st.CallsToday != 0 {
		t.Errorf("after the reset %+v", st)
	}
}

func TestPlanCadence(t *testing.T) {
	t.Parallel()
	for budget, want := range map[int]plan{
		100: {scheduleEvery: 4 * time.Hour, oddsEvery: 6 * time.Hour, oddsCalls: 4, spareFloor: 20, spareMax: 10},
		30:  {scheduleEvery: 24 * time.Hour, oddsEvery: 24 * time.Hour, oddsCalls: 1, spareFloor: 6, spareMax: 3},
		500: {scheduleEvery: 4 * time.Hour, oddsEvery: 6 * time.Hour, oddsCalls: 4, spareFloor: 100, spareMax: 50},
	} {
		if got := newPlan(budget); got != want {
			t.Errorf("plan(%d) = %+v, want %+v", budget, got, want)
		}
	}
	// The reserves at the start of a UTC day with the default budget.
	s := &sportClient{plan: newPlan(100), b: newBudget(100), fx: map[string]*cached{}, length: time.Hour}
	midnight := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	got := []int{s.reserve(midnight, clsSchedule), s.reserve(midnight, clsOdds), s.reserve(midnight, clsLive), s.reserve(midnight, clsSpare)}
	if want := []int{0, 14, 30, 50}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reserves %v, want %v", got, want)
	}
}
