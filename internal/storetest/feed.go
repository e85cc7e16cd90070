package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

func fixture(ref string, kickoff time.Time, state sport.State, home odds.Odds) *feed.Fixture {
	return &feed.Fixture{
		Ref: ref, Sport: "football", Status: "NS", State: state, KickoffAt: kickoff,
		League: feed.Named{Ref: "39", Name: "Premier"}, Home: feed.Named{Ref: "1", Name: "Reds"}, Away: feed.Named{Ref: "2", Name: "Blues"},
		Markets: []feed.Market{{Kind: betting.OneXTwo, Source: "Bet365", Prices: map[string]odds.Odds{"home": home, "draw": 340, "away": 380}}},
	}
}

func testUpsertFixture(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	kick := c.now().Add(3 * time.Hour)
	ing, err := db.UpsertFixture(ctx, "apisports", fixture("football:1", kick, sport.Scheduled, 200))
	if err != nil || !ing.Created || ing.State != sport.Scheduled {
		t.Fatalf("first upsert = %+v, %v", ing, err)
	}
	// The same fixture again changes nothing; a new price is a new version.
	again, err := db.UpsertFixture(ctx, "apisports", fixture("football:1", kick, sport.Scheduled, 200))
	if err != nil || again.Created || again.MatchID != ing.MatchID || again.OddsChanged != 0 {
		t.Fatalf("repeat upsert = %+v, %v", again, err)
	}
	moved, _ := db.UpsertFixture(ctx, "apisports", fixture("football:1", kick.Add(time.Hour), sport.Scheduled, 210))
	if moved.OddsChanged != 1 {
		t.Fatalf("price change counted %d", moved.OddsChanged)
	}
	m, _ := db.FindMatch(ctx, ing.MatchID)
	if !m.KickoffAt.Equal(kick.Add(time.Hour)) || m.Markets[0].Selections[0].Odds != 210 || m.Home.Name != "Reds" {
		t.Fatalf("match after update = %+v / %+v", m.Match, m.Markets[0].Selections[0])
	}
	h, _ := db.OddsHistory(ctx, m.Markets[0].Selections[0].ID)
	if len(h) != 2 {
		t.Fatalf("odds versions = %d, want 2", len(h))
	}
	// Another provider's id 1 is another match; teams are per provider.
	other, _ := db.UpsertFixture(ctx, "simulator", fixture("football:1", kick, sport.Scheduled, 200))
	if other.MatchID == ing.MatchID {
		t.Fatal("providers share match ids")
	}
	// Live closes the markets; a malformed market is skipped.
	live := fixture("football:1", kick, sport.Live, 200)
	live.Markets = append(live.Markets, feed.Market{Kind: betting.Total, Prices: map[string]odds.Odds{"over": 190}})
	if _, err := db.UpsertFixture(ctx, "apisports", live); err != nil {
		t.Fatal(err)
	}
	m, _ = db.FindMatch(ctx, ing.MatchID)
	if m.State != sport.Live || m.Markets[0].Open || len(m.Markets) != 1 {
		t.Fatalf("live match = %s, open %v, %d markets", m.State, m.Markets[0].Open, len(m.Markets))
	}
	// After a result, the feed's pre-match states no longer apply.
	if _, err := db.RecordResult(ctx, ing.MatchID, result(1, 0, 1, 0), true, nil); err != nil {
		t.Fatal(err)
	}
	back, _ := db.UpsertFixture(ctx, "apisports", fixture("football:1", kick, sport.Scheduled, 150))
	m, _ = db.FindMatch(ctx, ing.MatchID)
	if !back.HasResult || !back.Locked || m.State != sport.Finished || m.Markets[0].Selections[0].Odds != 210 {
		t.Fatalf("upsert after result: %+v, state %s", back, m.State)
	}
}

func testLease(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	got := func(holder string) bool {
		ok, err := db.AcquireLease(ctx, "feed", holder, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !got("a") || got("b") || !got("a") {
		t.Fatal("a should hold the lease and renew it; b should not get it")
	}
	c.advance(16 * time.Second)
	if !got("b") || got("a") {
		t.Fatal("b should take over an expired lease")
	}
	if err := db.ReleaseLease(ctx, "feed", "b"); err != nil {
		t.Fatal(err)
	}
	if !got("a") {
		t.Fatal("a released lease should be free at once")
	}
}

func testImportHistory(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	var past []feed.Fixture
	for i := 0; i < 30; i++ {
		f := fixture(fmt.Sprintf("football:h%d", i), c.now().Add(-time.Duration(30-i)*24*time.Hour), sport.Finished, 200)
		f.Status, f.Markets = "FT", nil
		f.Score = &sport.Score{Home: i % 3, Away: 1, Regulation: sport.Pair{Home: i % 3, Away: 1}}
		past = append(past, *f)
	}
	past = append(past, *fixture("football:future", c.now().Add(time.Hour), sport.Scheduled, 200))
	n, err := db.ImportHistory(ctx, "simulator", past)
	if err != nil || n != 30 {
		t.Fatalf("ImportHistory = %d, %v; want 30", n, err)
	}
	if n, _ := db.ImportHistory(ctx, "simulator", past); n != 0 {
		t.Fatalf("second import added %d", n)
	}
	next, err := db.UpsertFixture(ctx, "simulator", fixture("football:next", c.now().Add(time.Hour), sport.Scheduled, 200))
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.MatchStats(ctx, next.MatchID)
	if err != nil || len(st.Form.Home) != 5 || len(st.HeadToHead) != 5 || st.Season.Home.Played == 0 {
		t.Fatalf("stats after import = %+v, %v", st, err)
	}
	mustVerify(t, db)
}

func testLiveScore(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	f := fixture("football:9", c.now().Add(-30*time.Minute), sport.Live, 200)
	f.Status, f.Score = "1H", &sport.Score{Home: 1, Away: 0, Regulation: sport.Pair{Home: 1, Away: 0}}
	ing, err := db.UpsertFixture(ctx, "apisports", f)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := db.FindMatch(ctx, ing.MatchID)
	if m.Score == nil || m.Score.Home != 1 {
		t.Fatalf("created live without its score: %+v", m.Score)
	}
	f.Score = &sport.Score{Home: 2, Away: 0, Regulation: sport.Pair{Home: 2, Away: 0}}
	if _, err := db.UpsertFixture(ctx, "apisports", f); err != nil {
		t.Fatal(err)
	}
	m, _ = db.FindMatch(ctx, ing.MatchID)
	if m.State != sport.Live || m.Score == nil || m.Score.Home != 2 || m.Score.Away != 0 {
		t.Fatalf("live match = %s %+v", m.State, m.Score)
	}
}
