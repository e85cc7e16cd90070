package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/sport"
)

func testMatchStats(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	start := c.now()
	create := func(home, away string, at time.Time) *betting.Match {
		x, _ := betting.NewMarket(betting.OneXTwo, nil, prices(map[string]string{"home": "2.00", "draw": "3.40", "away": "3.80"}))
		m, err := db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: "Stats League", Home: home, Away: away, KickoffAt: at, Markets: []*betting.Market{x}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Seoul beat Busan 2-0, drew Daegu 1-1, lost at Busan 0-3; Busan also
	// beat Daegu. A match abroad in another league counts for form only.
	played := []struct {
		home, away string
		h, a       int
	}{
		{"Seoul", "Busan", 2, 0},
		{"Seoul", "Daegu", 1, 1},
		{"Busan", "Seoul", 3, 0},
		{"Busan", "Daegu", 1, 0},
	}
	for i, p := range played {
		m := create(p.home, p.away, start.Add(time.Duration(i+1)*time.Hour))
		c.set(start.Add(time.Duration(i+1)*time.Hour + 2*time.Hour))
		if _, err := db.RecordResult(ctx, m.ID, result(p.h, p.a, p.h, p.a), false); err != nil {
			t.Fatal(err)
		}
	}
	void := create("Seoul", "Busan", start.Add(5*time.Hour))
	if _, err := db.VoidMatch(ctx, void.ID, result(0, 0, 0, 0).Evidence, false); err != nil {
		t.Fatal(err)
	}
	next := create("Seoul", "Busan", start.Add(24*time.Hour))
	st, err := db.MatchStats(ctx, next.ID)
	if err != nil {
		t.Fatal(err)
	}
	form := ""
	for _, f := range st.Form.Home {
		form += f.Result
	}
	if form != "LDW" {
		t.Fatalf("Seoul form = %q, want LDW (newest first; the void match excluded)", form)
	}
	if s := st.Season.Home; s.Played != 3 || s.Won != 1 || s.Drawn != 1 || s.Lost != 1 || s.For != 3 || s.Against != 4 {
		t.Fatalf("Seoul season = %+v", s)
	}
	if s := st.Season.Away; s.Played != 3 || s.Won != 2 || s.Lost != 1 {
		t.Fatalf("Busan season = %+v", s)
	}
	if len(st.HeadToHead) != 2 || st.HeadToHead[0].HomeScore != 3 || st.HeadToHead[1].HomeScore != 2 {
		t.Fatalf("head to head = %+v", st.HeadToHead)
	}
	// Form never includes the match itself or later ones.
	first, _, _ := db.FindMatches(ctx, sport.MatchFilter{State: sport.Finished, Limit: 1}) // the earliest played
	st, err = db.MatchStats(ctx, first[0].ID)
	if err != nil || len(st.Form.Home) != 0 || len(st.HeadToHead) != 0 {
		t.Fatalf("first match stats = %+v, %v", st, err)
	}
}
