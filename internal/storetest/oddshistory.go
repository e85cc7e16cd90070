package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

func testOddsHistory(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	m := mustMatch(t, db, c.now().Add(5*time.Hour))
	other := mustMatch(t, db, c.now().Add(5*time.Hour))
	created := c.now()
	home := sel(t, m, betting.OneXTwo, "home")
	for _, p := range []odds.Odds{210, 195} {
		c.advance(time.Minute)
		if err := db.UpdateOdds(ctx, home.ID, p); err != nil {
			t.Fatal(err)
		}
	}

	all, next, err := db.FindOddsHistory(ctx, m.ID, betting.OddsHistoryFilter{})
	if err != nil || next != "" || len(all) != 7 {
		t.Fatalf("FindOddsHistory = %d selections, next %q, %v; want 7 on one page", len(all), next, err)
	}
	h := all[0]
	if h.SelectionID != home.ID || h.MarketID != m.Markets[0].ID || h.Kind != betting.OneXTwo || h.Line != nil || h.Name != "home" {
		t.Fatalf("first selection %+v", h)
	}
	var got []odds.Odds
	for _, v := range h.Versions {
		got = append(got, v.Odds)
	}
	if !reflect.DeepEqual(got, []odds.Odds{200, 210, 195}) || !h.Versions[0].At.Equal(created) || !h.Versions[2].At.Equal(created.Add(2*time.Minute)) {
		t.Fatalf("home versions %+v", h.Versions)
	}
	// Each version keeps the margin-free probability it had.
	if h.Versions[0].ImpliedPPM != home.ImpliedPPM || h.Versions[1].ImpliedPPM >= h.Versions[0].ImpliedPPM || h.Versions[2].ImpliedPPM <= h.Versions[0].ImpliedPPM {
		t.Fatalf("implied ppm of the versions %+v", h.Versions)
	}
	for _, s := range all[1:] {
		if len(s.Versions) != 1 {
			t.Fatalf("%s %s has %d versions, want 1", s.Kind, s.Name, len(s.Versions))
		}
	}
	if tot := all[3]; tot.Kind != betting.Total || tot.Line == nil || *tot.Line != 250 || tot.Name != "over" || tot.Versions[0].Odds != 190 {
		t.Fatalf("fourth selection %+v", tot)
	}

	// One market only.
	only, _, err := db.FindOddsHistory(ctx, m.ID, betting.OddsHistoryFilter{MarketID: m.Markets[1].ID})
	if err != nil || len(only) != 2 || only[0].Name != "over" || only[1].Name != "under" || only[0].MarketID != m.Markets[1].ID {
		t.Fatalf("total market's history = %+v, %v", only, err)
	}

	// Pages of two versions give the same versions in the same order,
	// a selection split across pages continuing on the next.
	var paged []*betting.SelectionHistory
	cursor, pages := "", 0
	for {
		page, next, err := db.FindOddsHistory(ctx, m.ID, betting.OddsHistoryFilter{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n := 0
		for _, s := range page {
			n += len(s.Versions)
			if k := len(paged) - 1; k >= 0 && paged[k].SelectionID == s.SelectionID {
				paged[k].Versions = append(paged[k].Versions, s.Versions...)
			} else {
				paged = append(paged, s)
			}
		}
		if n > 2 || (next != "" && n != 2) {
			t.Fatalf("page %d has %d versions, next %q", pages, n, next)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 5 || !reflect.DeepEqual(paged, all) {
		t.Fatalf("%d pages of two; joined %+v, want %+v", pages, paged, all)
	}

	// Refusals.
	for _, tc := range []struct {
		id   string
		f    betting.OddsHistoryFilter
		kind fault.Kind
		code string
	}{
		{"m_999999", betting.OddsHistoryFilter{}, fault.NotFound, "match_not_found"},
		{"nope", betting.OddsHistoryFilter{}, fault.NotFound, "match_not_found"},
		{m.ID, betting.OddsHistoryFilter{MarketID: other.Markets[0].ID}, fault.NotFound, "market_not_found"},
		{m.ID, betting.OddsHistoryFilter{MarketID: "mk_x"}, fault.NotFound, "market_not_found"},
		{m.ID, betting.OddsHistoryFilter{Cursor: "12"}, fault.Invalid, "invalid_cursor"},
		{m.ID, betting.OddsHistoryFilter{Cursor: "1.-2"}, fault.Invalid, "invalid_cursor"},
		{m.ID, betting.OddsHistoryFilter{Limit: betting.MaxOddsHistory + 1}, fault.Invalid, "invalid_limit"},
		{m.ID, betting.OddsHistoryFilter{Limit: -1}, fault.Invalid, "invalid_limit"},
	} {
		_, _, err := db.FindOddsHistory(ctx, tc.id, tc.f)
		if fe, ok := fault.As(err); !ok || fe.Kind != tc.kind || fe.Code != tc.code {
			t.Errorf("FindOddsHistory(%s, %+v) = %v; want %s", tc.id, tc.f, err, tc.code)
		}
	}
}

// testStakedBefore sums what is staked on a provider's matches per
// selection, counting only bets placed before the instant asked for.
func testStakedBefore(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	kick := c.now().Add(4 * time.Hour)
	ing, err := db.UpsertFixture(ctx, "simulator", fixture("football:77", kick, sport.Scheduled, 200))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertFixture(ctx, "apisports", fixture("football:77", kick, sport.Scheduled, 200)); err != nil {
		t.Fatal(err)
	}
	m, _ := db.FindMatch(ctx, ing.MatchID)
	u := mustUser(t, db, 100000)
	home, draw := sel(t, m, betting.OneXTwo, "home"), sel(t, m, betting.OneXTwo, "draw")
	mustPlace(t, db, u, slip(1000, home))
	mustPlace(t, db, u, slip(500, home))
	c.advance(10 * time.Minute)
	cut := c.now()
	mustPlace(t, db, u, slip(700, draw)) // at the cut: not before it
	c.advance(time.Minute)
	mustPlace(t, db, u, slip(300, home))

	sum := func(before time.Time) map[string]int64 {
		t.Helper()
		rows, err := db.StakedBefore(ctx, "simulator", []string{"football:77", "football:78"}, before)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range rows {
			if r.Ref != "football:77" || r.Kind != betting.OneXTwo || r.Line != nil {
				t.Fatalf("row %+v", r)
			}
			out[r.Selection] += r.Points
		}
		return out
	}
	if got := sum(cut); !reflect.DeepEqual(got, map[string]int64{"home": 1500}) {
		t.Fatalf("staked before the cut = %v", got)
	}
	if got := sum(c.now().Add(time.Second)); !reflect.DeepEqual(got, map[string]int64{"home": 1800, "draw": 700}) {
		t.Fatalf("staked by now = %v", got)
	}
	if rows, err := db.StakedBefore(ctx, "apisports", []string{"football:77"}, c.now().Add(time.Second)); err != nil || len(rows) != 0 {
		t.Fatalf("another provider's match: %+v, %v", rows, err)
	}
}
