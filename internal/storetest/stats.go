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
	create := func(league, home, away string, at time.Time) *betting.Match {
		x, _ := betting.NewMarket(betting.OneXTwo, nil, prices(map[string]string{"home": "2.00", "draw": "3.40", "away": "3.80"}))
		m, err := db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: league, Home: home, Away: away, KickoffAt: at, Markets: []*betting.Market{x}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Seoul beat Busan 2-0, drew Daegu 1-1, lost at Busan 0-3; Busan also
	// beat Daegu. Then Busan beat Seoul 2-1 in the cup, which counts for
	// form and head-to-head but not for the league records.
	played := []struct {
		league, home, away string
		h, a               int
	}{
		{"Stats League", "Seoul", "Busan", 2, 0},
		{"Stats League", "Seoul", "Daegu", 1, 1},
		{"Stats League", "Busan", "Seoul", 3, 0},
		{"Stats League", "Busan", "Daegu", 1, 0},
		{"Stats Cup", "Busan", "Seoul", 2, 1},
	}
	for i, p := range played {
		m := create(p.league, p.home, p.away, start.Add(time.Duration(i+1)*time.Hour))
		c.set(start.Add(time.Duration(i+1)*time.Hour + 2*time.Hour))
		if _, err := db.RecordResult(ctx, m.ID, result(p.h, p.a, p.h, p.a), false, nil); err != nil {
			t.Fatal(err)
		}
	}
	void := create("Stats League", "Seoul", "Busan", start.Add(6*time.Hour))
	if _, err := db.VoidMatch(ctx, void.ID, result(0, 0, 0, 0).Evidence, false); err != nil {
		t.Fatal(err)
	}
	// The next meeting is a cup tie: the season records are still the
	// sides' league seasons, and say so.
	next := create("Stats Cup", "Seoul", "Busan", start.Add(24*time.Hour))
	st, err := db.MatchStats(ctx, next.ID)
	if err != nil {
		t.Fatal(err)
	}
	form := ""
	for _, f := range st.Form.Home {
		form += f.Result
	}
	if form != "LLDW" {
		t.Fatalf("Seoul form = %q, want LLDW (newest first; the void match excluded)", form)
	}
	// Form names the opponent, the ground and the competition.
	if f := st.Form.Home[0]; f.Opponent != "Busan" || f.OpponentID != next.Away.ID || f.Home || f.League.Name != "Stats Cup" || f.For != 1 || f.Against != 2 {
		t.Fatalf("Seoul's last result = %+v, want the 1-2 cup defeat at Busan", f)
	}
	if f := st.Form.Away[1]; f.Opponent != "Daegu" || !f.Home || f.League.Name != "Stats League" {
		t.Fatalf("Busan's second last result = %+v, want the league win at home to Daegu", f)
	}
	year := start.Year()
	if s := st.Season.Home; s.League.Name != "Stats League" || s.League.ID == next.League.ID || s.Season != year ||
		s.Played != 3 || s.Won != 1 || s.Drawn != 1 || s.Lost != 1 || s.For != 3 || s.Against != 4 {
		t.Fatalf("Seoul season = %+v, want the league's %d: 3 played, 1-1-1, 3:4", s, year)
	}
	if s := st.Season.Away; s.League.Name != "Stats League" || s.Season != year || s.Played != 3 || s.Won != 2 || s.Lost != 1 {
		t.Fatalf("Busan season = %+v", s)
	}
	if len(st.HeadToHead) != 3 {
		t.Fatalf("head to head = %+v, want 3 meetings", st.HeadToHead)
	}
	for i, want := range []struct{ league, home, away string }{{"Stats Cup", "Busan", "Seoul"}, {"Stats League", "Busan", "Seoul"}, {"Stats League", "Seoul", "Busan"}} {
		m := st.HeadToHead[i]
		if m.League.Name != want.league || m.Home.Name != want.home || m.Away.Name != want.away || m.Home.ID != m.HomeID || m.Away.ID != m.AwayID || m.KickoffAt.IsZero() {
			t.Fatalf("meeting %d = %+v, want %s v %s in %s", i, m, want.home, want.away, want.league)
		}
	}
	if st.HeadToHead[0].HomeScore != 2 || st.HeadToHead[1].HomeScore != 3 || st.HeadToHead[2].HomeScore != 2 {
		t.Fatalf("head to head = %+v", st.HeadToHead)
	}
	// A league match between them shows the same league records.
	league, err := db.MatchStats(ctx, create("Stats League", "Busan", "Seoul", start.Add(25*time.Hour)).ID)
	if err != nil || league.Season.Away != st.Season.Home || league.Season.Home != st.Season.Away {
		t.Fatalf("league match seasons = %+v, %v; want the cup tie's %+v", league.Season, err, st.Season)
	}
	// Form never includes the match itself or later ones.
	first, _, _ := db.FindMatches(ctx, sport.MatchFilter{State: sport.Finished, Limit: 1}) // the earliest played
	st, err = db.MatchStats(ctx, first[0].ID)
	if err != nil || len(st.Form.Home) != 0 || len(st.HeadToHead) != 0 {
		t.Fatalf("first match stats = %+v, %v", st, err)
	}
}
