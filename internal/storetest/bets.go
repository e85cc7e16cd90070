package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/playlimit"
	"github.com/pointsbook/pointsbook/internal/sport"
)

func testCatalog(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	day := c.now().Truncate(24 * time.Hour)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, mustMatch(t, db, day.Add(time.Duration(10+i)*time.Hour)).ID)
	}
	mustMatch(t, db, day.Add(30*time.Hour)) // tomorrow
	var got []string
	cursor := ""
	for {
		ms, next, err := db.FindMatches(ctx, sport.MatchFilter{From: day, To: day.Add(24 * time.Hour), Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, m.ID)
			if m.MainMarket() == nil || len(m.MainMarket().Selections) != 3 || !m.MainMarket().Open {
				t.Fatalf("match %s main market = %+v", m.ID, m.MainMarket())
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("paged matches = %v, want %v", got, ids)
	}
	counts, err := db.CountBySport(ctx, day, day.Add(24*time.Hour))
	if err != nil || counts[0].Slug != "football" || counts[0].Today != 5 || counts[1].Today != 0 {
		t.Fatalf("CountBySport = %+v, %v", counts, err)
	}
	m, err := db.FindMatch(ctx, ids[0])
	if err != nil || len(m.Markets) != 3 || m.Markets[1].Line == nil || *m.Markets[1].Line != 250 {
		t.Fatalf("FindMatch = %+v, %v", m, err)
	}
	if _, err := db.FindMatch(ctx, "m_999999"); fault.Code(err) != "match_not_found" {
		t.Fatalf("missing match: %v", err)
	}
	// Odds changes are versioned and re-derive the margin-free split.
	home := sel(t, m, betting.OneXTwo, "home")
	if err := db.UpdateOdds(ctx, home.ID, 210); err != nil {
		t.Fatal(err)
	}
	h, err := db.OddsHistory(ctx, home.ID)
	if err != nil || len(h) != 2 || h[0].Odds != 200 || h[1].Odds != 210 {
		t.Fatalf("OddsHistory = %+v, %v", h, err)
	}
	m, _ = db.FindMatch(ctx, ids[0])
	var sum int64
	for _, s := range m.Markets[0].Selections {
		sum += s.ImpliedPPM
	}
	if sum < 999_990 || sum > 1_000_010 {
		t.Fatalf("implied probabilities sum to %d ppm", sum)
	}
	// Kick-off closes the market.
	c.set(m.KickoffAt)
	m, _ = db.FindMatch(ctx, ids[0])
	if m.Markets[0].Open {
		t.Fatal("market open at kick-off")
	}
	// Bad market definitions are refused.
	_, err = db.CreateMatch(ctx, betting.NewMatch{Sport: "curling", League: "x", Home: "a", Away: "b", KickoffAt: day})
	if fault.Code(err) != "invalid_match" {
		t.Fatalf("unknown sport: %v", err)
	}
	x, _ := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 300, "away": 400})
	_, err = db.CreateMatch(ctx, betting.NewMatch{Sport: "basketball", League: "x", Home: "a", Away: "b", KickoffAt: day, Markets: []*betting.Market{x}})
	if fault.Code(err) != "invalid_match" {
		t.Fatalf("1x2 in basketball: %v", err)
	}
}

func testPlaceBet(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 50000)
	m := mustMatch(t, db, c.now().Add(time.Hour))
	b := mustPlace(t, db, u, slip(1000, sel(t, m, betting.OneXTwo, "home")))
	if b.State != betting.Open || b.Stake != 1000 || b.PotentialPayout != 2000 || b.Odds != "2.00" || len(b.Legs) != 1 {
		t.Fatalf("bet = %+v", b)
	}
	if got := mustBalance(t, db, u); got != 49000 {
		t.Fatalf("balance = %d, want 49000", got)
	}
	house, _ := db.SystemBalance(ctx, ledger.HouseAccount)
	if house != 1000 {
		t.Fatalf("house = %d, want 1000", house)
	}
	got, err := db.FindBet(ctx, u.ID, b.ID)
	if err != nil || got.Legs[0].Selection != "home" || got.Legs[0].MarketKind != betting.OneXTwo || got.Legs[0].State != betting.LegOpen {
		t.Fatalf("FindBet = %+v, %v", got, err)
	}
	other := mustUser(t, db, 0)
	if _, err := db.FindBet(ctx, other.ID, b.ID); fault.Code(err) != "bet_not_found" {
		t.Fatalf("someone else's bet: %v", err)
	}
	list, _, err := db.FindBets(ctx, u.ID, betting.BetFilter{State: "open"})
	if err != nil || len(list) != 1 {
		t.Fatalf("FindBets = %v, %v", list, err)
	}
	list, _, _ = db.FindBets(ctx, u.ID, betting.BetFilter{State: "settled"})
	if len(list) != 0 {
		t.Fatalf("settled bets = %d", len(list))
	}
	acct, _ := db.PlayerAccount(ctx, u.ID)
	entries, _, _ := db.Statement(ctx, acct, "", 10)
	if len(entries) != 2 || entries[0].Kind != ledger.Stake || entries[0].Amount != -1000 || entries[0].BalanceAfter != 49000 {
		t.Fatalf("statement = %+v", entries[0])
	}
	mustVerify(t, db)
}

func testPlaceBetRefusals(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 5000)
	m1 := mustMatch(t, db, c.now().Add(time.Hour))
	m2 := mustMatch(t, db, c.now().Add(time.Hour))
	started := mustMatch(t, db, c.now().Add(time.Minute))
	home := sel(t, m1, betting.OneXTwo, "home")
	tests := []struct {
		name string
		slip betting.Slip
		code string
	}{
		{"zero stake", slip(0, home), "invalid_stake"},
		{"negative stake", slip(-100, home), "invalid_stake"},
		{"below minimum", slip(99, home), "stake_out_of_limits"},
		{"above maximum", slip(50001, home), "stake_out_of_limits"},
		{"above balance", slip(5001, home), "insufficient_points"},
		{"odds changed", betting.Slip{Stake: 100, Legs: []betting.LegRequest{{SelectionID: home.ID, Odds: 250}}}, "odds_changed"},
		{"unknown selection", betting.Slip{Stake: 100, Legs: []betting.LegRequest{{SelectionID: "s_999999", Odds: 200}}}, "unknown_selection"},
		{"malformed selection", betting.Slip{Stake: 100, Legs: []betting.LegRequest{{SelectionID: "b_1", Odds: 200}}}, "unknown_selection"},
		{"two legs one match", slip(100, home, sel(t, m1, betting.Total, "over")), "duplicate_match"},
		{"payout over limit", slip(5000, home, sel(t, m2, betting.OneXTwo, "away"), sel(t, started, betting.OneXTwo, "away")), "payout_over_limit"},
	}
	// The payout case needs a big price: raise one.
	if err := db.UpdateOdds(ctx, sel(t, m2, betting.OneXTwo, "away").ID, 99000); err != nil {
		t.Fatal(err)
	}
	tests[len(tests)-1].slip.Legs[1].Odds = 99000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: tt.slip})
			if fault.Code(err) != tt.code {
				t.Fatalf("code=%q (%v), want %q", fault.Code(err), err, tt.code)
			}
		})
	}
	c.advance(time.Minute)
	_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: slip(100, sel(t, started, betting.OneXTwo, "home"))})
	if fault.Code(err) != "market_closed" {
		t.Fatalf("after kick-off: %v", err)
	}
	if err := db.SetMatchState(ctx, m1.ID, sport.Postponed); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: slip(100, home)})
	if fault.Code(err) != "market_closed" {
		t.Fatalf("postponed match: %v", err)
	}
	if got := mustBalance(t, db, u); got != 5000 {
		t.Fatalf("balance after refusals = %d, want 5000", got)
	}
	if n, _ := db.BetCount(ctx); n != 0 {
		t.Fatalf("%d bets written by refusals", n)
	}
	mustVerify(t, db)
}

func render(v any, err error) (int, []byte) {
	if err != nil {
		return 422, []byte(fault.Code(err))
	}
	b, _ := json.Marshal(v)
	return 201, b
}

func testIdempotency(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 5000)
	m := mustMatch(t, db, c.now().Add(time.Hour))
	s := slip(1000, sel(t, m, betting.OneXTwo, "home"))
	key := func(hash string) *idempotency.Key {
		return &idempotency.Key{Owner: "user:" + u.ID, Key: "k1", Hash: hash, Render: render}
	}
	b, replay, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s, Idempotency: key("h1")})
	if err != nil || replay != nil {
		t.Fatalf("first: %v %v", replay, err)
	}
	first, _ := json.Marshal(b)
	for i := 0; i < 3; i++ {
		_, replay, err = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s, Idempotency: key("h1")})
		if err != nil || replay == nil || replay.Status != 201 || string(replay.Body) != string(first) {
			t.Fatalf("replay %d: %+v %v", i, replay, err)
		}
	}
	_, _, err = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s, Idempotency: key("h2")})
	if fault.Code(err) != "idempotency_key_reused" {
		t.Fatalf("other body: %v", err)
	}
	if got := mustBalance(t, db, u); got != 4000 {
		t.Fatalf("balance = %d, want 4000 (one bet)", got)
	}
	// A refusal is stored and replayed as well.
	big := slip(9000, sel(t, m, betting.OneXTwo, "away"))
	k2 := &idempotency.Key{Owner: "user:" + u.ID, Key: "k2", Hash: "h3", Render: render}
	if _, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: big, Idempotency: k2}); fault.Code(err) != "insufficient_points" {
		t.Fatalf("refusal: %v", err)
	}
	_, replay, _ = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: big, Idempotency: k2})
	if replay == nil || replay.Status != 422 || string(replay.Body) != "insufficient_points" {
		t.Fatalf("refusal replay: %+v", replay)
	}
	// Keys are scoped to their owner.
	v := mustUser(t, db, 5000)
	_, replay, err = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: v.ID, Slip: s, Idempotency: &idempotency.Key{Owner: "user:" + v.ID, Key: "k1", Hash: "h1", Render: render}})
	if err != nil || replay != nil {
		t.Fatalf("other owner's key: %v %v", replay, err)
	}
	// Twenty concurrent requests with one key place one bet.
	w := mustUser(t, db, 50000)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: w.ID, Slip: s, Idempotency: &idempotency.Key{Owner: "user:" + w.ID, Key: "same", Hash: "h", Render: render}})
			if err != nil {
				t.Errorf("concurrent same key: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := mustBalance(t, db, w); got != 49000 {
		t.Fatalf("balance = %d after 20 identical requests, want 49000", got)
	}
	// A replay answers what was stored even when the request would now be
	// refused: the market has closed since.
	c.advance(2 * time.Hour)
	_, replay, err = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s, Idempotency: key("h1")})
	if err != nil || replay == nil || replay.Status != 201 || string(replay.Body) != string(first) {
		t.Fatalf("replay after kick-off: %+v %v", replay, err)
	}
	k3 := &idempotency.Key{Owner: "user:" + u.ID, Key: "k3", Hash: "h4", Render: render}
	for i := 0; i < 2; i++ {
		_, replay, err = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s, Idempotency: k3})
		if i == 0 && fault.Code(err) != "market_closed" || i == 1 && (replay == nil || string(replay.Body) != "market_closed") {
			t.Fatalf("closed market, try %d: %+v %v", i, replay, err)
		}
	}
	// Old keys are purged.
	c.advance(49 * time.Hour)
	if n, err := db.PurgeIdempotencyKeys(ctx, 48*time.Hour); err != nil || n != 5 {
		t.Fatalf("purged %d, %v; want 5", n, err)
	}
	mustVerify(t, db)
}

func testConcurrentBets(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 17_000) // covers 17 of 50 bets of 1,000
	m := mustMatch(t, db, c.now().Add(time.Hour))
	s := slip(1000, sel(t, m, betting.OneXTwo, "draw"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s})
			mu.Lock()
			defer mu.Unlock()
			switch fault.Code(err) {
			case "":
				accepted++
			case "insufficient_points":
				refused++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if accepted != 17 || refused != 33 {
		t.Fatalf("accepted %d refused %d, want 17 and 33", accepted, refused)
	}
	if got := mustBalance(t, db, u); got != 0 {
		t.Fatalf("balance = %d, want 0", got)
	}
	if n, _ := db.BetCount(ctx); n != 17 {
		t.Fatalf("bets = %d, want 17", n)
	}
	house, _ := db.SystemBalance(ctx, ledger.HouseAccount)
	if house != 17000 {
		t.Fatalf("house = %d, want 17000", house)
	}
	mustVerify(t, db)
}

// testMixedBatch places, in one transaction, bets that meet every outcome
// at once (PlaceDirect: the group commit's path without its queue):
// players with several bets, refusals found before the write and by it,
// and one idempotency key sent twice. PostgreSQL writes the bets a round
// at a time, one statement per round, so each row of a round must get its
// own answer and a player's later bets must see their earlier debits.
func testMixedBatch(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	home := sel(t, mustMatch(t, db, c.now().Add(time.Hour)), betting.OneXTwo, "home")
	a, b, l, k := mustUser(t, db, 1000), mustUser(t, db, 100), mustUser(t, db, 5000), mustUser(t, db, 5000)
	mustLimits(t, db, l, playlimit.Update{playlimit.Daily: i64(700)})
	key := func(u *account.User, k string) *idempotency.Key {
		return &idempotency.Key{Owner: "user:" + u.ID, Key: k, Hash: "h", Render: render}
	}
	req := func(u *account.User, stake int64, idem *idempotency.Key) *betting.PlaceRequest {
		return &betting.PlaceRequest{UserID: u.ID, Slip: slip(stake, home), Idempotency: idem}
	}
	unknown := req(k, 100, key(k, "bad"))
	unknown.Slip.Legs[0].SelectionID = "s_999999999"
	reqs := []*betting.PlaceRequest{
		req(a, 500, key(a, "a1")), // placed
		req(b, 200, nil),          // the balance does not cover it
		req(a, 300, nil),          // placed, after a's first debit
		req(a, 300, key(a, "a2")), // a has 200 left
		req(l, 500, nil),          // placed
		req(l, 300, nil),          // over l's own daily limit of 700
		req(k, 400, key(k, "k1")), // placed
		req(k, 400, key(k, "k1")), // the same request again: no second bet
		unknown,                   // refused before any write
	}
	want := []string{"", "insufficient_points", "", "insufficient_points", "", playlimit.CodeLimitReached, "", "replay", "unknown_selection"}
	bets, errs, err := db.PlaceDirect(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		got := fault.Code(errs[i])
		switch {
		case errs[i] == nil && bets[i] == nil:
			got = "replay"
		case errs[i] == nil && (bets[i].Stake != reqs[i].Slip.Stake || bets[i].UserID != reqs[i].UserID):
			t.Errorf("request %d answered with another's bet: %+v", i, bets[i])
		}
		if got != w {
			t.Errorf("request %d: %q (%v), want %q", i, got, errs[i], w)
		}
	}
	for u, w := range map[*account.User]int64{a: 200, b: 100, l: 4500, k: 4600} {
		if got := mustBalance(t, db, u); got != w {
			t.Errorf("%s's balance = %d, want %d", u.Username, got, w)
		}
	}
	if n, err := db.BetCount(ctx); err != nil || n != 4 {
		t.Errorf("BetCount = %d, %v; want 4", n, err)
	}
	// The stored answers are the ones given, bet ids included.
	stored := map[*idempotency.Key]string{key(a, "a1"): mustJSON(t, bets[0]), key(k, "k1"): mustJSON(t, bets[6]),
		key(a, "a2"): "insufficient_points", key(k, "bad"): "unknown_selection"}
	for idem, body := range stored {
		_, replay, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: idem.Owner[len("user:"):], Slip: slip(100, home), Idempotency: idem})
		if err != nil || replay == nil || string(replay.Body) != body {
			t.Errorf("replay of %s: %+v, %v; want %s", idem.Key, replay, err, body)
		}
	}
	for _, i := range []int{0, 2, 4, 6} {
		got, err := db.FindBet(ctx, reqs[i].UserID, bets[i].ID)
		if err != nil || got.State != betting.Open || got.Stake != bets[i].Stake || len(got.Legs) != 1 || got.Legs[0].SelectionID != home.ID {
			t.Errorf("bet %s as stored: %+v, %v", bets[i].ID, got, err)
		}
	}
	mustVerify(t, db)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
