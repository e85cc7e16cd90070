package apisports

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

func mustLine(t *testing.T, s string) *odds.Line {
	t.Helper()
	l, err := odds.ParseLine(s)
	if err != nil {
		t.Fatal(err)
	}
	return &l
}

func score(h, a, rh, ra int) *sport.Score {
	return &sport.Score{Home: h, Away: a, Regulation: sport.Pair{Home: rh, Away: ra}}
}

func sameScore(a, b *sport.Score) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func TestFixturesOverRecordedDay(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	if _, err := tc.cycle(t); err != nil {
		t.Fatalf("cycle: %v", err)
	}
	today, err := tc.Fixtures(context.Background(), testNow, kst)
	if err != nil {
		t.Fatalf("Fixtures: %v", err)
	}
	got := byRef(today)
	type want struct {
		sport, status string
		state         sport.State
		score         *sport.Score
		kick          time.Time
	}
	wants := map[string]want{
		"football:1035001":   {"football", "NS", sport.Scheduled, nil, time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)},
		"football:1035002":   {"football", "2H", sport.Live, score(1, 0, 1, 0), time.Date(2026, 11, 24, 1, 45, 0, 0, time.UTC)},
		"football:1035003":   {"football", "FT", sport.Finished, score(2, 1, 2, 1), time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)},
		"basketball:4001001": {"basketball", "FT", sport.Finished, score(91, 85, 91, 85), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		"basketball:4001002": {"basketball", "AOT", sport.Finished, score(108, 105, 98, 98), time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC)},
		"basketball:4001003": {"basketball", "NS", sport.Scheduled, nil, time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)},
		"baseball:3001001":   {"baseball", "FT", sport.Finished, score(6, 4, 4, 4), time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)},
		"baseball:3001002":   {"baseball", "IN5", sport.Live, score(3, 2, 3, 2), time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC)},
		"baseball:3001003":   {"baseball", "POST", sport.Postponed, nil, time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)},
		"hockey:2001001":     {"hockey", "FT", sport.Finished, score(3, 2, 3, 2), time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)},
		"hockey:2001002":     {"hockey", "AP", sport.Finished, score(3, 2, 2, 2), time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)},
		"hockey:2001003":     {"hockey", "P2", sport.Live, score(1, 1, 1, 1), time.Date(2026, 11, 24, 2, 10, 0, 0, time.UTC)},
		"handball:6001001":   {"handball", "FT", sport.Finished, score(36, 33, 36, 33), time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC)},
		"handball:6001002":   {"handball", "NS", sport.Scheduled, nil, time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)},
	}
	if len(got) != len(wants) {
		t.Errorf("got %d fixtures, want %d: %v", len(got), len(wants), keys(got))
	}
	for ref, w := range wants {
		f, ok := got[ref]
		if !ok {
			t.Errorf("%s missing", ref)
			continue
		}
		if f.Sport != w.sport || f.Status != w.status || f.State != w.state || !sameScore(f.Score, w.score) || !f.KickoffAt.Equal(w.kick) {
			t.Errorf("%s = %s %s %s %+v %s; want %s %s %s %+v %s", ref, f.Sport, f.Status, f.State, f.Score, f.KickoffAt, w.sport, w.status, w.state, w.score, w.kick)
		}
		if !f.FetchedAt.Equal(testNow) {
			t.Errorf("%s fetched at %s", ref, f.FetchedAt)
		}
		if f.League.Ref == "" || f.League.Name == "" || f.Home.Ref == "" || f.Home.Name == "" || f.Away.Ref == "" || f.Away.Name == "" {
			t.Errorf("%s: incomplete names %+v %+v %+v", ref, f.League, f.Home, f.Away)
		}
	}
	ns := got["football:1035001"]
	if ns.League != (feed.Named{Ref: "901", Name: "Coastal Premier", Country: "Testland"}) || ns.Home != (feed.Named{Ref: "5101", Name: "Harbour City"}) || ns.Away != (feed.Named{Ref: "5102", Name: "Northvale United"}) {
		t.Errorf("names: %+v %+v %+v", ns.League, ns.Home, ns.Away)
	}
	if bb := got["basketball:4001001"]; bb.League.Country != "Testland" {
		t.Errorf("v1 country from the country object: %+v", bb.League)
	}
	// Odds were fetched by date for football and by league for basketball,
	// and attached to scheduled matches only.
	wantMarkets := map[string][]string{
		"football:1035001":   {"1x2 Bwin 2.05/3.30/3.60", "total 2.50 Bet365 1.85/1.95", "handicap -0.50 Bet365 1.95/1.90"},
		"basketball:4001003": {"moneyline Bwin 1.70/2.15", "total 221.50 1xBet 1.90/1.90", "handicap -3.50 Bwin 1.91/1.89"},
	}
	for ref, f := range got {
		if g, w := describe(f.Markets), wantMarkets[ref]; !slices.Equal(g, w) {
			t.Errorf("%s markets = %q, want %q", ref, g, w)
		}
	}
	hits := tc.api.takeHits()
	for _, want := range []string{
		"football /fixtures?date=2026-11-23&timezone=Asia%2FSeoul",
		"football /fixtures?date=2026-11-24&timezone=Asia%2FSeoul",
		"football /fixtures?date=2026-11-25&timezone=Asia%2FSeoul",
		"football /odds?date=2026-11-24&page=1&timezone=Asia%2FSeoul",
		"basketball /odds?league=120&season=2026-2027",
		"hockey /games?date=2026-11-24&timezone=Asia%2FSeoul",
	} {
		if !slices.Contains(hits, want) {
			t.Errorf("no call %s in %q", want, hits)
		}
	}
	for _, h := range hits {
		if strings.Contains(h, "odds?date=2026-11-25") {
			t.Errorf("odds asked for a day without matches: %s", h)
		}
	}
	// The live match is polled once the plan's interval has passed: one
	// live=all call for football, today's games for the v1 sports.
	tc.clock.Advance(20 * time.Minute)
	today, err = tc.Fixtures(context.Background(), testNow, kst)
	if err != nil {
		t.Fatalf("Fixtures: %v", err)
	}
	live := byRef(today)["football:1035002"]
	if !sameScore(live.Score, score(1, 1, 1, 1)) || !live.FetchedAt.Equal(testNow.Add(20*time.Minute)) {
		t.Errorf("live fixture not refreshed: %+v at %s", live.Score, live.FetchedAt)
	}
	hits = tc.api.takeHits()
	if !slices.Contains(hits, "football /fixtures?live=all&timezone=Asia%2FSeoul") || !slices.Contains(hits, "hockey /games?date=2026-11-24&timezone=Asia%2FSeoul") {
		t.Errorf("live polls: %q", hits)
	}
	if strings.Contains(tc.logs.String(), testKey) {
		t.Error("the key was logged")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// describe renders markets compactly for comparison.
func describe(ms []feed.Market) []string {
	var out []string
	for _, m := range ms {
		s := string(m.Kind)
		if m.Line != nil {
			s += " " + m.Line.String()
		}
		var ps []string
		for _, n := range betting.SelectionNames[m.Kind] {
			ps = append(ps, m.Prices[n].String())
		}
		out = append(out, s+" "+m.Source+" "+strings.Join(ps, "/"))
	}
	return out
}

func TestMatchSettlementScores(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	football, _ := sport.Lookup("football")
	cases := []struct {
		ref    string
		status string
		state  sport.State
		score  *sport.Score
		// grade: market, selection, expected leg state
		kind betting.MarketKind
		line string
		sel  string
		leg  betting.LegState
	}{
		// AET: 1-1 after 90 minutes, 2-1 after extra time: a 1x2 Draw wins.
		{"football:1035101", "AET", sport.Finished, score(2, 1, 1, 1), betting.OneXTwo, "", "draw", betting.LegWon},
		{"football:1035101", "AET", sport.Finished, score(2, 1, 1, 1), betting.Total, "2.5", "under", betting.LegWon},
		// PEN: no shoot-out goals in the score; 0-0 after 90 minutes.
		{"football:1035102", "PEN", sport.Finished, score(1, 1, 0, 0), betting.OneXTwo, "", "draw", betting.LegWon},
		{"football:1035103", "PST", sport.Postponed, nil, "", "", "", ""},
		{"football:1035104", "CANC", sport.Cancelled, nil, "", "", "", ""},
	}
	for _, c := range cases {
		f, err := tc.Match(context.Background(), c.ref)
		if err != nil {
			t.Fatalf("Match(%s): %v", c.ref, err)
		}
		if f.Ref != c.ref || f.Status != c.status || f.State != c.state || !sameScore(f.Score, c.score) {
			t.Errorf("%s = %s %s %+v, want %s %s %+v", c.ref, f.Status, f.State, f.Score, c.status, c.state, c.score)
			continue
		}
		if c.kind != "" {
			var line *odds.Line
			if c.line != "" {
				line = mustLine(t, c.line)
			}
			if leg, why := betting.Grade(football, c.kind, line, c.sel, *f.Score); leg != c.leg {
				t.Errorf("%s %s %s: %s (%s), want %s", c.ref, c.kind, c.sel, leg, why, c.leg)
			}
		}
	}
	// A second ask within a minute is answered from the cache.
	tc.api.takeHits()
	if _, err := tc.Match(context.Background(), "football:1035101"); err != nil {
		t.Fatal(err)
	}
	if h := tc.api.takeHits(); len(h) != 0 {
		t.Errorf("cached match fetched again: %q", h)
	}
	if _, err := tc.Match(context.Background(), "football:999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown match: %v", err)
	}
	if _, err := tc.Match(context.Background(), "curling:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown sport: %v", err)
	}
}

func TestV1SettlementScores(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	fs, err := tc.Fixtures(context.Background(), testNow, kst)
	if err != nil {
		t.Fatal(err)
	}
	got := byRef(fs)
	cases := []struct {
		ref  string
		kind betting.MarketKind
		line string
		sel  string
		leg  betting.LegState
	}{
		// Hockey after penalties: regulation 2-2 settles the 3-way as a
		// draw; the moneyline includes the shoot-out.
		{"hockey:2001002", betting.OneXTwo, "", "draw", betting.LegWon},
		{"hockey:2001002", betting.Moneyline, "", "home", betting.LegWon},
		{"hockey:2001002", betting.Total, "4.5", "over", betting.LegWon},
		// Basketball after overtime: the moneyline and totals include it,
		// the 3-way is the four quarters.
		{"basketball:4001002", betting.Moneyline, "", "home", betting.LegWon},
		{"basketball:4001002", betting.OneXTwo, "", "draw", betting.LegWon},
		{"basketball:4001002", betting.Total, "210.5", "over", betting.LegWon},
		// Baseball extra innings: 4-4 after nine, 6-4 final.
		{"baseball:3001001", betting.Moneyline, "", "home", betting.LegWon},
		{"baseball:3001001", betting.OneXTwo, "", "draw", betting.LegWon},
		{"baseball:3001001", betting.Total, "9.5", "over", betting.LegWon},
		// Handball totals settle on the two halves.
		{"handball:6001001", betting.Handicap, "-2.5", "home", betting.LegWon},
		{"handball:6001001", betting.Total, "68.5", "under", betting.LegLost},
		{"handball:6001001", betting.Total, "69", "under", betting.LegPush},
	}
	for _, c := range cases {
		f := got[c.ref]
		if f.Score == nil {
			t.Errorf("%s has no score", c.ref)
			continue
		}
		sp, _ := sport.Lookup(f.Sport)
		var line *odds.Line
		if c.line != "" {
			line = mustLine(t, c.line)
		}
		if leg, why := betting.Grade(sp, c.kind, line, c.sel, *f.Score); leg != c.leg {
			t.Errorf("%s %s %s: %s (%s), want %s", c.ref, c.kind, c.sel, leg, why, c.leg)
		}
	}
}

func TestHeadToHead(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	fs, err := tc.Fixtures(context.Background(), testNow, kst)
	if err != nil {
		t.Fatal(err)
	}
	f := byRef(fs)["football:1035001"]
	past, err := tc.HeadToHead(context.Background(), &f)
	if err != nil {
		t.Fatalf("HeadToHead: %v", err)
	}
	var refs []string
	for _, p := range past {
		refs = append(refs, p.Ref)
		if p.State != sport.Finished || p.Score == nil || !p.KickoffAt.Before(testNow) || len(p.Markets) != 0 {
			t.Errorf("%s is not a finished past meeting: %+v", p.Ref, p)
		}
	}
	want := []string{"football:1020011", "football:1010522", "football:1007310", "football:1001877", "football:998120"}
	if !slices.Equal(refs, want) {
		t.Errorf("meetings %q, want %q (most recent first)", refs, want)
	}
	pen := byRef(past)["football:1007310"]
	if !sameScore(pen.Score, score(2, 2, 2, 2)) {
		t.Errorf("PEN meeting score %+v", pen.Score)
	}
	tc.api.takeHits()
	if _, err := tc.HeadToHead(context.Background(), &f); err != nil {
		t.Fatal(err)
	}
	if h := tc.api.takeHits(); len(h) != 0 {
		t.Errorf("head-to-head asked twice in a day: %q", h)
	}
	// v1 answers the same list shape from /games/h2h.
	tc.api.route("basketball /games/h2h?h2h=802-803", "basketball/games_date.json")
	g := byRef(fs)["basketball:4001003"]
	past, err = tc.HeadToHead(context.Background(), &g)
	if err != nil {
		t.Fatalf("v1 HeadToHead: %v", err)
	}
	if len(past) != 2 || past[0].Ref != "basketball:4001001" || past[1].Ref != "basketball:4001002" {
		t.Errorf("v1 meetings: %v", describeFixtures(past))
	}
}

func describeFixtures(fs []feed.Fixture) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Ref+" "+f.Status)
	}
	return out
}

func TestHeadToHeadNeedsSpareBudget(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 12)
	if _, err := tc.cycle(t); err != nil {
		t.Fatal(err)
	}
	f := feed.Fixture{Ref: "football:1035001", Sport: "football", Home: feed.Named{Ref: "5101"}, Away: feed.Named{Ref: "5102"}}
	_, err := tc.HeadToHead(context.Background(), &f)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindBudget || !errors.Is(err, feed.ErrDegraded) {
		t.Fatalf("want a budget error, got %v", err)
	}
	for _, h := range tc.api.takeHits() {
		if strings.Contains(h, "headtohead") {
			t.Errorf("head-to-head called without spare budget")
		}
	}
}

func TestTeamStatistics(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	ts, err := tc.TeamStatistics(context.Background(), "football", "901", "2026", "5101")
	if err != nil {
		t.Fatal(err)
	}
	want := sport.SeasonRecord{Played: 13, Won: 7, Drawn: 3, Lost: 3, For: 22, Against: 14}
	if ts.Record != want || ts.Form != "WWDLWDW" || ts.Team.Ref != "5101" || ts.Team.Name != "Harbour City" || ts.Season != "2026" || ts.League.Ref != "901" {
		t.Errorf("stats = %+v", ts)
	}
	tc.api.route("football /teams/statistics?league=901&season=2026&team=5102", "errors/plan_season.json")
	_, err = tc.TeamStatistics(context.Background(), "football", "901", "2026", "5102")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindPlan || !errors.Is(err, feed.ErrDegraded) {
		t.Errorf("plan error: %v", err)
	}
}

func TestErrorEnvelopes(t *testing.T) {
	t.Parallel()
	for file, kind := range map[string]string{
		"errors/requests_daily.json": KindRequests,
		"errors/rate_limit.json":     KindRateLimit,
		"errors/plan_season.json":    KindPlan,
		"errors/token.json":          KindToken,
	} {
		t.Run(kind, func(t *testing.T) {
			tc := newTestClient(t, 100)
			tc.api.forceAll("football", file)
			fs, err := tc.Fixtures(context.Background(), testNow, kst)
			if !errors.Is(err, feed.ErrDegraded) {
				t.Fatalf("err = %v, want ErrDegraded", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != kind || e.Sport != "football" {
				t.Errorf("err = %v, want kind %s", err, kind)
			}
			// The other sports are unaffected.
			if n := len(byRef(fs)); n != 11 {
				t.Errorf("%d fixtures from the other sports, want 11", n)
			}
			st := tc.Status()["football"]
			if !strings.Contains(st.Degraded, kind) || st.CallsToday != 1 {
				t.Errorf("status = %+v", st)
			}
			if strings.Contains(tc.logs.String(), testKey) {
				t.Error("the key was logged")
			}
		})
	}
}

func TestCachedDataServedAfterError(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	first, err := tc.Fixtures(context.Background(), testNow, kst)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(filterSport(first, "football")); n != 3 {
		t.Fatalf("%d football fixtures", n)
	}
	tc.api.forceAll("football", "errors/requests_daily.json")
	tc.clock.Advance(5 * time.Hour) // the day is due for a refresh
	tc.api.takeHits()
	fs, err := tc.Fixtures(context.Background(), testNow, kst)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRequests || !errors.Is(err, feed.ErrDegraded) {
		t.Fatalf("err = %v", err)
	}
	football := filterSport(fs, "football")
	if len(football) != 3 {
		t.Fatalf("cached fixtures not served: %v", describeFixtures(football))
	}
	for _, f := range football {
		if !f.FetchedAt.Equal(testNow) {
			t.Errorf("%s FetchedAt = %s, want the original fetch %s", f.Ref, f.FetchedAt, testNow)
		}
	}
	// The day's quota is spent: no more calls until 00:00 UTC, and the
	// cache keeps being served with a degraded error.
	tc.api.takeHits()
	tc.clock.Advance(time.Hour)
	fs, err = tc.Fixtures(context.Background(), testNow, kst)
	if !errors.Is(err, feed.ErrDegraded) || len(filterSport(fs, "football")) != 3 {
		t.Errorf("after the stop: %v, %d fixtures", err, len(filterSport(fs, "football")))
	}
	for _, h := range tc.api.takeHits() {
		if strings.HasPrefix(h, "football ") {
			t.Errorf("called after the daily quota error: %s", h)
		}
	}
	if st := tc.Status()["football"]; !strings.Contains(st.Degraded, KindRequests) {
		t.Errorf("status %+v", st)
	}
	// After the reset calls resume.
	tc.api.forceAll("football", "")
	tc.clock.Set(time.Date(2026, 11, 25, 0, 0, 30, 0, time.UTC))
	if _, err := tc.Fixtures(context.Background(), testNow, kst); err != nil {
		t.Errorf("after the reset: %v", err)
	}
	if st := tc.Status()["football"]; st.Degraded != "" || st.CallsToday == 0 {
		t.Errorf("status after reset %+v", st)
	}
}

func filterSport(fs []feed.Fixture, sp string) []feed.Fixture {
	var out []feed.Fixture
	for _, f := range fs {
		if f.Sport == sp {
			out = append(out, f)
		}
	}
	return out
}

func TestEmptyDay(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	tc.api.routes = map[string]string{}
	fs, err := tc.Fixtures(context.Background(), testNow, kst)
	if err != nil || len(fs) != 0 {
		t.Fatalf("empty day: %d fixtures, %v", len(fs), err)
	}
	for sp, st := range tc.Status() {
		if st.Degraded != "" || st.CallsToday != 1 {
			t.Errorf("%s: %+v", sp, st)
		}
	}
}

func TestBadAnswersAreDegradedAndKeepTheCache(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]func(*fakeAPI){
		"500":       func(a *fakeAPI) { a.setStatus("football", 500) },
		"499":       func(a *fakeAPI) { a.setStatus("football", 499) },
		"429":       func(a *fakeAPI) { a.setStatus("football", 429) },
		"truncated": func(a *fakeAPI) { a.setRaw("football", `{"get":"fixtures","errors":[],"response":[{"fixture":{"id":1`) },
		"html":      func(a *fakeAPI) { a.setRaw("football", `<html>bad gateway</html>`) },
		"array":     func(a *fakeAPI) { a.setRaw("football", `[]`) },
		"object":    func(a *fakeAPI) { a.setRaw("football", `{"errors":[],"response":{"fixture":1}}`) },
		"errarray":  func(a *fakeAPI) { a.setRaw("football", `{"errors":["Something went wrong"],"response":[]}`) },
	} {
		t.Run(name, func(t *testing.T) {
			tc := newTestClient(t, 100)
			if _, err := tc.Fixtures(context.Background(), testNow, kst); err != nil {
				t.Fatal(err)
			}
			set(tc.api)
			tc.clock.Advance(5 * time.Hour)
			fs, err := tc.Fixtures(context.Background(), testNow, kst)
			if !errors.Is(err, feed.ErrDegraded) {
				t.Fatalf("err = %v", err)
			}
			if n := len(filterSport(fs, "football")); n != 3 {
				t.Errorf("%d cached football fixtures served", n)
			}
		})
	}
}

func TestMalformedItemsAreSkipped(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	tc.api.setRaw("football", `{"errors":[],"results":4,"response":[
		{"fixture":{"id":77,"timestamp":1795518000,"status":{"short":"NS"}},"league":{"id":1,"name":"L"},"teams":{"home":{"id":2,"name":"A"},"away":{"id":3,"name":"B"}},"goals":{"home":null,"away":null}},
		{"fixture":{"id":78,"timestamp":1795518000,"status":"NS"},"league":{"id":1,"name":"L"}},
		{"fixture":{"id":79,"timestamp":1795518000,"status":{"short":"FT"}},"league":{"id":1,"name":"L"},"teams":{"home":{"id":2,"name":"A"},"away":{"id":3,"name":"B"}},"goals":{"home":-1,"away":0}},
		{"fixture":{"id":80,"timestamp":1795518000,"status":{"short":"ZZ"}},"league":{"id":1,"name":"L"},"teams":{"home":{"id":4,"name":"C"},"away":{"id":5,"name":"D"}},"goals":{"home":0,"away":0}},
		"garbage"
	]}`)
	fs, err := tc.Fixtures(context.Background(), testNow, kst)
	if err != nil {
		t.Fatal(err)
	}
	got := byRef(filterSport(fs, "football"))
	if len(got) != 3 || got["football:77"].State != sport.Scheduled {
		t.Fatalf("got %v", describeFixtures(filterSport(fs, "football")))
	}
	if f := got["football:79"]; f.State != sport.Finished || f.Score != nil {
		t.Errorf("negative goals should leave the match without a score (held): %+v", f)
	}
	if f := got["football:80"]; f.State != "" || f.Status != "ZZ" {
		t.Errorf("unknown code should map to an empty state: %+v", f)
	}
	logs := tc.logs.String()
	if !strings.Contains(logs, "football:78") || !strings.Contains(logs, "football:79") {
		t.Errorf("skipped items not logged with their match id:\n%s", logs)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{BaseURLs: map[string]string{"curling": "http://127.0.0.1"}}); err == nil {
		t.Error("unknown sport accepted")
	}
	if _, err := New(Config{BaseURLs: map[string]string{"football": "ftp://x"}}); err == nil {
		t.Error("bad URL accepted")
	}
	c, err := New(Config{})
	if err != nil || len(c.sports) != 5 || c.Name() != "apisports" {
		t.Fatalf("defaults: %v", err)
	}
	for sp, s := range c.sports {
		if s.base != DefaultBaseURLs[sp] || s.b.limit != 100 {
			t.Errorf("%s: %s %d", sp, s.base, s.b.limit)
		}
	}
}

func TestZoneWithoutName(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	tc.api.routes = map[string]string{}
	tc.api.route("football /fixtures?date=2026-11-24&timezone=UTC", "errors/empty_ok.json")
	// A fixed zone has no IANA name to send; UTC is used.
	tc.api.tz = "UTC"
	_, _ = tc.Fixtures(context.Background(), testNow, time.FixedZone("KST", 9*3600))
	hits := tc.api.takeHits()
	if !slices.Contains(hits, "football /fixtures?date=2026-11-24&timezone=UTC") {
		t.Errorf("calls: %q", hits)
	}
}

func TestPlanRefusedDateIsNotRetried(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	// The free plan's date window: tomorrow refused.
	tc.api.route("football /fixtures?date=2026-11-25&timezone=Asia%2FSeoul", "errors/plan_season.json")
	_, err := tc.cycle(t)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindPlan {
		t.Fatalf("first cycle: %v", err)
	}
	hits := tc.api.takeHits()
	if !slices.Contains(hits, "football /odds?date=2026-11-24&page=1&timezone=Asia%2FSeoul") {
		t.Errorf("today's odds held up by tomorrow's refusal: %q", hits)
	}
	for range 3 {
		tc.clock.Advance(5 * time.Hour)
		if tc.clock.Now().Day() != 24 {
			break
		}
		if _, err := tc.cycle(t); err != nil {
			t.Errorf("a refused date is reported again: %v", err)
		}
		for _, h := range tc.api.takeHits() {
			if strings.Contains(h, "fixtures?date=2026-11-25") {
				t.Errorf("refused date asked again the same day: %s", h)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			_, _ = tc.Match(context.Background(), "football:1035101")
			_ = tc.Status()
		}
	}()
	for range 20 {
		if _, err := tc.cycle(t); err != nil {
			t.Error(err)
		}
		tc.clock.Advance(time.Minute)
	}
	<-done
}
