package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// testMatchListOrder: a day's list comes in the order a fan reads it (in
// play, still to play, finished, then postponed, cancelled and abandoned;
// by kick-off then id within each), every page size walks it without
// skipping or repeating a match across the groups' boundaries, a state
// filter keeps working, and the sport counts leave cancelled matches out.
func testMatchListOrder(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	day := c.now().Truncate(24 * time.Hour)
	// Kick-offs interleave the states, and two matches share a kick-off
	// in each group, so that the order and the cursor are both tested
	// on ties.
	plan := []sport.State{
		sport.Finished, sport.Live, sport.Scheduled, sport.Cancelled, sport.Finished, sport.Suspended,
		sport.Postponed, sport.Scheduled, sport.Live, sport.Finished, sport.Scheduled, sport.Cancelled,
	}
	type made struct {
		id    string
		state sport.State
		at    time.Time
	}
	var all []made
	for i, st := range plan {
		at := day.Add(time.Duration(10+i/2) * time.Hour) // pairs share a kick-off
		m := mustMatch(t, db, at)
		all = append(all, made{m.ID, st, at})
	}
	mustMatch(t, db, day.Add(30*time.Hour)) // tomorrow
	c.set(day.Add(23 * time.Hour))
	for _, m := range all {
		var err error
		switch m.state {
		case sport.Finished:
			_, err = db.RecordResult(ctx, m.id, result(1, 0, 1, 0), false, nil)
		case sport.Cancelled:
			_, err = db.VoidMatch(ctx, m.id, sport.Evidence{Source: "simulator", Status: "CANC"}, false)
		case sport.Live, sport.Suspended, sport.Postponed:
			err = db.SetMatchState(ctx, m.id, m.state)
		}
		if err != nil {
			t.Fatalf("%s to %s: %v", m.id, m.state, err)
		}
	}
	want := slices.Clone(all)
	slices.SortStableFunc(want, func(a, b made) int {
		if d := sport.ListGroup(a.state) - sport.ListGroup(b.state); d != 0 {
			return d
		}
		return a.at.Compare(b.at) // made in id order, and the sort is stable
	})
	ids := func(ms []made) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.id)
		}
		return out
	}
	walk := func(f sport.MatchFilter) []string {
		t.Helper()
		var got []string
		for pages := 0; ; pages++ {
			ms, next, err := db.FindMatches(ctx, f)
			if err != nil {
				t.Fatalf("FindMatches(%+v): %v", f, err)
			}
			if len(ms) > f.Limit || pages > len(all) {
				t.Fatalf("FindMatches(%+v): %d matches on page %d", f, len(ms), pages)
			}
			for _, m := range ms {
				got = append(got, m.ID)
			}
			if next == "" {
				return got
			}
			f.Cursor = next
		}
	}
	for limit := 1; limit <= len(all)+1; limit++ {
		got := walk(sport.MatchFilter{From: day, To: day.Add(24 * time.Hour), Limit: limit})
		if fmt.Sprint(got) != fmt.Sprint(ids(want)) {
			t.Fatalf("pages of %d = %v, want %v", limit, got, ids(want))
		}
	}
	var scheduled []made
	for _, m := range want {
		if m.state == sport.Scheduled {
			scheduled = append(scheduled, m)
		}
	}
	got := walk(sport.MatchFilter{From: day, To: day.Add(24 * time.Hour), State: sport.Scheduled, Limit: 2})
	if fmt.Sprint(got) != fmt.Sprint(ids(scheduled)) {
		t.Fatalf("scheduled = %v, want %v", got, ids(scheduled))
	}
	for _, bad := range []string{"1764000000000000.5", "9.1764000000000000.5", "x.1.1", "1.1.1.1"} {
		if _, _, err := db.FindMatches(ctx, sport.MatchFilter{Cursor: bad}); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
	counts, err := db.CountBySport(ctx, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// 12 matches, 2 cancelled; 3 scheduled; 2 live and 1 suspended.
	if c := counts[0]; c.Slug != "football" || c.Today != 10 || c.Upcoming != 3 || c.Live != 3 {
		t.Fatalf("football count = %+v, want today 10, upcoming 3, live 3", c)
	}
	if c := counts[1]; c.Today != 0 || c.Upcoming != 0 || c.Live != 0 {
		t.Fatalf("baseball count = %+v, want zeros", c)
	}
}

// testBetLegMatches: every leg of a read bet carries its match as it
// stands (teams, league, sport, kick-off, state, the current score) and
// the implied probability it was taken at; a bet's odds are the exact
// product of its legs; the list walks every page without skipping or
// repeating a bet however many legs each has.
func testBetLegMatches(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 50000)
	m1, m2, m3 := mustMatch(t, db, c.now().Add(time.Hour)), mustMatch(t, db, c.now().Add(2*time.Hour)), mustMatch(t, db, c.now().Add(3*time.Hour))
	home, over, draw := sel(t, m1, betting.OneXTwo, "home"), sel(t, m2, betting.Total, "over"), sel(t, m3, betting.OneXTwo, "draw")
	single := mustPlace(t, db, u, slip(1000, home))
	// 2.00 × 1.90 × 3.40 = 12.92 exactly; 1.90 × 3.40 = 6.46; 2.50 ×
	// 1.55 = 3.875, which rounded to hundredths would not pay 3,875.
	acca := mustPlace(t, db, u, slip(1000, home, over, draw))
	pair := mustPlace(t, db, u, slip(1000, over, draw))
	hc := mustPlace(t, db, u, slip(1000, sel(t, m1, betting.Handicap, "home"), sel(t, m2, betting.Handicap, "away")))
	if acca.Odds != "12.92" || pair.Odds != "6.46" || hc.Odds != "3.875" || hc.PotentialPayout != 3875 || single.Odds != "2.00" {
		t.Fatalf("placed odds %s %s %s %s (payout %d)", single.Odds, acca.Odds, pair.Odds, hc.Odds, hc.PotentialPayout)
	}
	// m1 finishes 2-1, m2 is in play, m3 is still to come.
	c.advance(90 * time.Minute)
	if _, err := db.RecordResult(ctx, m1.ID, result(2, 1, 2, 1), false, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMatchState(ctx, m2.ID, sport.Live); err != nil {
		t.Fatal(err)
	}
	b, err := db.FindBet(ctx, u.ID, acca.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Odds != "12.92" || len(b.Legs) != 3 {
		t.Fatalf("FindBet odds %s, %d legs", b.Odds, len(b.Legs))
	}
	checkLeg := func(l *betting.Leg, m *betting.Match, s *betting.Selection, st sport.State, score *sport.Score) {
		t.Helper()
		lm := l.Match
		if lm == nil {
			t.Fatalf("leg on %s has no match", l.MatchID)
		}
		if l.MatchID != m.ID || lm.Sport != "football" || lm.League != m.League || lm.Home != m.Home || lm.Away != m.Away ||
			!lm.KickoffAt.Equal(m.KickoffAt) || lm.State != st || fmt.Sprint(lm.Score) != fmt.Sprint(score) {
			t.Fatalf("leg match = %+v (score %v), want %s %v %v at %s, %s, score %v", lm, lm.Score, m.ID, m.Home, m.Away, m.KickoffAt, st, score)
		}
		if l.ImpliedPPM == 0 || int64(l.ImpliedPPM) != s.ImpliedPPM {
			t.Fatalf("leg implied %d ppm, want the selection's %d", l.ImpliedPPM, s.ImpliedPPM)
		}
	}
	checkLeg(b.Legs[0], m1, home, sport.Finished, &sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}})
	checkLeg(b.Legs[1], m2, over, sport.Live, nil)
	checkLeg(b.Legs[2], m3, draw, sport.Scheduled, nil)
	if m1.Home.Name == "" || m1.League.ID == "" {
		t.Fatalf("match refs not filled: %+v", m1.Match)
	}
	// Pages of every size hold whole bets, newest first.
	want := []string{hc.ID, pair.ID, acca.ID, single.ID}
	legs := map[string]int{hc.ID: 2, pair.ID: 2, acca.ID: 3, single.ID: 1}
	for limit := 1; limit <= 5; limit++ {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			bets, next, err := db.FindBets(ctx, u.ID, betting.BetFilter{Cursor: cursor, Limit: limit})
			if err != nil || len(bets) > limit || pages > 4 {
				t.Fatalf("FindBets limit %d: %d bets, %v", limit, len(bets), err)
			}
			for _, b := range bets {
				got = append(got, b.ID)
				if len(b.Legs) != legs[b.ID] || b.UserID != u.ID {
					t.Fatalf("bet %s has %d legs, user %s", b.ID, len(b.Legs), b.UserID)
				}
				for _, l := range b.Legs {
					if l.Match == nil || l.Match.Home.Name == "" || l.ImpliedPPM == 0 {
						t.Fatalf("bet %s leg %+v lacks its match or probability", b.ID, l)
					}
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages of %d = %v, want %v", limit, got, want)
		}
	}
	list, _, err := db.FindBets(ctx, u.ID, betting.BetFilter{State: "settled"})
	if err != nil || len(list) != 1 || list[0].ID != single.ID || list[0].State != betting.Won || *list[0].Payout != 2000 {
		t.Fatalf("settled bets = %v, %v", list, err)
	}
	if l := list[0].Legs[0]; l.Match.State != sport.Finished || l.Match.Score == nil || l.Match.Score.Home != 2 {
		t.Fatalf("settled leg match = %+v", l.Match)
	}
}
