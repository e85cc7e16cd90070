package apisports

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// TestOddsChangesAreKept ingests the recorded day into SQLite, then the
// same odds again, then an answer in which the bookmaker moved one
// market: every price it changed becomes a new odds version, and no
// unchanged price does.
func TestOddsChangesAreKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tc := newTestClient(t, 100)
	// Odds rounds hourly rather than the budget's six hours, so that
	// three of them fit before the match kicks off at 11:00 UTC.
	tc.sports["football"].plan.oddsEvery = time.Hour
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = tc.clock.Now
	in := &feed.Ingester{Provider: tc.Client, Store: db, Log: slog.New(slog.DiscardHandler), Holder: "test", Zone: kst, Now: tc.clock.Now}
	cycle := func() feed.CycleStats {
		t.Helper()
		st, err := in.Cycle(ctx)
		if err != nil {
			t.Fatalf("cycle: %v", err)
		}
		return st
	}
	// The first cycle stores the fixtures; the odds fetched during it
	// reach them on the next.
	cycle()
	tc.clock.Advance(10 * time.Second)
	cycle()
	ms, _, err := db.FindMatches(ctx, sport.MatchFilter{Sport: "football", From: tc.clock.Now(), Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, m := range ms {
		if m.Home.Name != "" && len(m.Markets) == 3 && m.State == sport.Scheduled {
			id = m.ID // 1035001, the one match priced in three markets
		}
	}
	if id == "" {
		t.Fatal("the priced match was not stored")
	}
	history := func() string {
		t.Helper()
		hs, _, err := db.FindOddsHistory(ctx, id, betting.OddsHistoryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, h := range hs {
			fmt.Fprintf(&b, "%s %v %s:", h.Kind, h.Line, h.Name)
			for _, v := range h.Versions {
				fmt.Fprintf(&b, " %s", v.Odds)
			}
			b.WriteString("; ")
		}
		return b.String()
	}
	first := history()

	// The same prices reported again are no new version.
	tc.clock.Advance(20 * time.Minute)
	if st := cycle(); st.OddsChanged != 0 {
		t.Fatalf("unchanged odds counted %d changes", st.OddsChanged)
	}
	tc.clock.Advance(time.Hour) // the next odds round
	tc.api.takeHits()
	if st := cycle(); st.OddsChanged != 0 || history() != first {
		t.Fatalf("the same odds again: %d changes, history %s (was %s)", st.OddsChanged, history(), first)
	}
	if hits := strings.Join(tc.api.takeHits(), "\n"); !strings.Contains(hits, "football /odds?date=2026-11-24&page=1") {
		t.Fatalf("no odds call in the next round:\n%s", hits)
	}

	// Bet365 moves its 2.5 total: two new versions, nothing else.
	tc.api.route("football /odds?date=2026-11-24&page=1&timezone=Asia%2FSeoul", "football/odds_fixture_moved.json")
	tc.clock.Advance(time.Hour)
	if st := cycle(); st.OddsChanged != 2 {
		t.Fatalf("a moved total counted %d changes, want 2", st.OddsChanged)
	}
	want := "1x2 <nil> home: 2.05; 1x2 <nil> draw: 3.30; 1x2 <nil> away: 3.60; "
	got := history()
	if !strings.HasPrefix(got, want) || !strings.Contains(got, "over: 1.85 1.80;") || !strings.Contains(got, "under: 1.95 2.00;") || !strings.Contains(got, "handicap -0.50 home: 1.95;") {
		t.Fatalf("history after the move:\n%s", got)
	}
}
