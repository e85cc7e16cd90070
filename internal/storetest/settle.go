package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/sport"
)

func result(home, away, regHome, regAway int) sport.Outcome {
	return sport.Outcome{
		Score:    sport.Score{Home: home, Away: away, Regulation: sport.Pair{Home: regHome, Away: regAway}},
		Evidence: sport.Evidence{Source: "simulator", ProviderMatchID: "sim-1", Status: "FT"},
	}
}

func testSettlement(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 50000)
	m := mustMatch(t, db, c.now().Add(time.Hour))
	win := mustPlace(t, db, u, slip(1000, sel(t, m, betting.OneXTwo, "home")))   // 2.00 → 2000
	lose := mustPlace(t, db, u, slip(1000, sel(t, m, betting.OneXTwo, "away")))  // lost
	push := mustPlace(t, db, u, slip(1000, sel(t, m, betting.Handicap, "home"))) // -1, wins by 1 → push
	over := mustPlace(t, db, u, slip(333, sel(t, m, betting.Total, "over")))     // 1.90 → 632 (632.7 down)
	c.advance(2 * time.Hour)
	changed, err := db.RecordResult(ctx, m.ID, result(2, 1, 2, 1), false, nil)
	if err != nil || !changed {
		t.Fatalf("RecordResult = %v, %v", changed, err)
	}
	tests := []struct {
		bet    *betting.Bet
		state  betting.State
		payout int64
		leg    betting.LegState
	}{
		{win, betting.Won, 2000, betting.LegWon},
		{lose, betting.Lost, 0, betting.LegLost},
		{push, betting.Void, 1000, betting.LegPush},
		{over, betting.Won, 632, betting.LegWon},
	}
	for _, tt := range tests {
		b, err := db.FindBet(ctx, u.ID, tt.bet.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.State != tt.state || b.Payout == nil || *b.Payout != tt.payout || b.Legs[0].State != tt.leg || b.SettledAt == nil {
			t.Fatalf("bet %s: state %s payout %v leg %s, want %s %d %s", b.ID, b.State, b.Payout, b.Legs[0].State, tt.state, tt.payout, tt.leg)
		}
		s := b.Settlement
		if s == nil || len(s.Legs) != 1 || s.Legs[0].Source != "simulator" || s.Legs[0].Status != "FT" || s.Legs[0].Score == nil ||
			s.Legs[0].Score.Home != 2 || s.Legs[0].Rule == "" || len(s.History) != 1 || s.History[0].Delta != tt.payout {
			t.Fatalf("bet %s receipt = %+v", b.ID, s)
		}
	}
	want := int64(50000 - 1000 - 1000 - 1000 - 333 + 2000 + 1000 + 632)
	if got := mustBalance(t, db, u); got != want {
		t.Fatalf("balance = %d, want %d", got, want)
	}
	// The same result again is a no-op.
	changed, err = db.RecordResult(ctx, m.ID, result(2, 1, 2, 1), false, nil)
	if err != nil || changed {
		t.Fatalf("same result again: %v, %v", changed, err)
	}
	if err := db.SettleMatch(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if got := mustBalance(t, db, u); got != want {
		t.Fatalf("balance after re-settling = %d, want %d", got, want)
	}
	mm, _ := db.FindMatch(ctx, m.ID)
	if mm.State != sport.Finished || mm.Score == nil || mm.Score.Home != 2 {
		t.Fatalf("match = %+v", mm.Match)
	}
	mustVerify(t, db)
}

func testSettlementRace(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	m := mustMatch(t, db, c.now().Add(time.Hour))
	var users []string
	for i := 0; i < 20; i++ {
		u := mustUser(t, db, 5000)
		mustPlace(t, db, u, slip(1000, sel(t, m, betting.OneXTwo, "home")))
		users = append(users, u.ID)
	}
	c.advance(2 * time.Hour)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.RecordResult(ctx, m.ID, result(1, 0, 1, 0), false, nil); err != nil {
				t.Errorf("RecordResult: %v", err)
			}
			if err := db.SettleMatch(ctx, m.ID); err != nil {
				t.Errorf("SettleMatch: %v", err)
			}
		}()
	}
	wg.Wait()
	house, _ := db.SystemBalance(ctx, ledger.HouseAccount)
	if house != 20*1000-20*2000 {
		t.Fatalf("house = %d, want %d: a bet was paid more than once", house, 20*1000-20*2000)
	}
	for _, id := range users {
		bets, _, _ := db.FindBets(ctx, id, betting.BetFilter{})
		if b, _ := db.FindBet(ctx, id, bets[0].ID); len(b.Settlement.History) != 1 {
			t.Fatalf("bet %s settled %d times", b.ID, len(b.Settlement.History))
		}
	}
	mustVerify(t, db)
}

func testVoidAndCorrection(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 10000)
	m := mustMatch(t, db, c.now().Add(time.Hour))
	b := mustPlace(t, db, u, slip(5000, sel(t, m, betting.OneXTwo, "home"))) // 2.00
	c.advance(2 * time.Hour)
	if _, err := db.RecordResult(ctx, m.ID, result(1, 0, 1, 0), true, nil); err != nil {
		t.Fatal(err)
	}
	if got := mustBalance(t, db, u); got != 15000 {
		t.Fatalf("after win = %d", got)
	}
	won, _ := db.FindBet(ctx, u.ID, b.ID)
	if h := won.Settlement.History; len(h) != 1 || h[0].Version != 1 || h[0].State != betting.Won || h[0].Payout != 10000 || h[0].Delta != 10000 || !h[0].At.Equal(*won.SettledAt) {
		t.Fatalf("first settlement's history %+v", h)
	}
	// The feed may not overwrite an operator's result.
	if _, err := db.RecordResult(ctx, m.ID, result(0, 1, 0, 1), false, nil); fault.Code(err) != "match_locked" {
		t.Fatalf("feed over operator: %v", err)
	}
	// A correction needs a reason.
	if _, err := db.RecordResult(ctx, m.ID, result(0, 1, 0, 1), true, nil); fault.Code(err) != "reason_required" {
		t.Fatalf("correction without reason: %v", err)
	}
	// The player spends most of the winnings, then the result is
	// corrected: the reversal leaves a debt, which blocks betting.
	if _, err := db.Credit(ctx, u.ID, ledger.GrantAccount, ledger.Grant, "spend", -14000); err != nil {
		t.Fatal(err)
	}
	o := result(0, 1, 0, 1)
	o.Evidence.Reason = "wrong team recorded"
	o.Evidence.Source = "operator"
	if changed, err := db.RecordResult(ctx, m.ID, o, true, nil); err != nil || !changed {
		t.Fatalf("correction: %v %v", changed, err)
	}
	if got := mustBalance(t, db, u); got != 1000-10000 {
		t.Fatalf("after reversal = %d, want %d", got, 1000-10000)
	}
	got, _ := db.FindBet(ctx, u.ID, b.ID)
	h := got.Settlement.History
	if got.State != betting.Lost || len(h) != 2 || !sameVersion(h[0], won.Settlement.History[0]) || h[1].Version != 2 || h[1].Delta != -10000 || h[1].Reason != "wrong team recorded" {
		t.Fatalf("corrected bet = %s, history %+v; first settlement was %+v", got.State, h, won.Settlement.History)
	}
	m2 := mustMatch(t, db, c.now().Add(time.Hour))
	_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: slip(100, sel(t, m2, betting.OneXTwo, "home"))})
	if fault.Code(err) != "insufficient_points" {
		t.Fatalf("bet while in debt: %v", err)
	}
	if _, err := db.Credit(ctx, u.ID, ledger.GrantAccount, ledger.Grant, "top", 9500); err != nil {
		t.Fatal(err)
	}
	// Voiding after a result is a correction to void: the stake comes back.
	if _, err := db.VoidMatch(ctx, m.ID, sport.Evidence{Source: "operator", Status: "void", Reason: "match fixed"}, true); err != nil {
		t.Fatal(err)
	}
	if got := mustBalance(t, db, u); got != 500+5000 {
		t.Fatalf("after void = %d, want 5500", got)
	}
	got, _ = db.FindBet(ctx, u.ID, b.ID)
	if got.State != betting.Void || *got.Payout != 5000 || len(got.Settlement.History) != 3 {
		t.Fatalf("voided bet = %+v", got)
	}
	// Voiding a match without a result refunds open bets.
	b2 := mustPlace(t, db, u, slip(1000, sel(t, m2, betting.OneXTwo, "draw")))
	if _, err := db.VoidMatch(ctx, m2.ID, sport.Evidence{Source: "operator", Status: "void", Reason: "pitch flooded"}, true); err != nil {
		t.Fatal(err)
	}
	got, _ = db.FindBet(ctx, u.ID, b2.ID)
	if got.State != betting.Void || mustBalance(t, db, u) != 5500 {
		t.Fatalf("void open bet: %s balance %d", got.State, mustBalance(t, db, u))
	}
	mm, _ := db.FindMatch(ctx, m2.ID)
	if mm.State != sport.Cancelled {
		t.Fatalf("voided match state %s", mm.State)
	}
	mustVerify(t, db)
}

func testAccumulator(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 10000)
	m1, m2, m3 := mustMatch(t, db, c.now().Add(time.Hour)), mustMatch(t, db, c.now().Add(2*time.Hour)), mustMatch(t, db, c.now().Add(3*time.Hour))
	// 2.00 × 1.90 × 3.40 = 12.92
	b := mustPlace(t, db, u, slip(1000, sel(t, m1, betting.OneXTwo, "home"), sel(t, m2, betting.Total, "over"), sel(t, m3, betting.OneXTwo, "draw")))
	if b.Odds != "12.92" || b.PotentialPayout != 12920 {
		t.Fatalf("acca odds %s payout %d", b.Odds, b.PotentialPayout)
	}
	lost := mustPlace(t, db, u, slip(1000, sel(t, m1, betting.OneXTwo, "away"), sel(t, m2, betting.Total, "over")))
	c.advance(4 * time.Hour)
	if _, err := db.RecordResult(ctx, m1.ID, result(1, 0, 1, 0), false, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := db.FindBet(ctx, u.ID, lost.ID)
	if got.State != betting.Lost {
		t.Fatalf("acca with a lost leg is %s, want lost at once", got.State)
	}
	got, _ = db.FindBet(ctx, u.ID, b.ID)
	if got.State != betting.Open || got.Legs[0].State != betting.LegWon {
		t.Fatalf("acca after one leg: %s %s", got.State, got.Legs[0].State)
	}
	if _, err := db.VoidMatch(ctx, m2.ID, sport.Evidence{Source: "simulator", Status: "CANC"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordResult(ctx, m3.ID, result(2, 2, 2, 2), false, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = db.FindBet(ctx, u.ID, b.ID)
	// 1000 × 2.00 × 1.00 × 3.40
	if got.State != betting.Won || *got.Payout != 6800 || len(got.Settlement.Legs) != 3 {
		t.Fatalf("acca = %s %v", got.State, got.Payout)
	}
	if bal := mustBalance(t, db, u); bal != 10000-2000+6800 {
		t.Fatalf("balance = %d", bal)
	}
	mustVerify(t, db)
}

func sameVersion(a, b betting.SettlementVersion) bool {
	return a.Version == b.Version && a.State == b.State && a.Payout == b.Payout && a.Delta == b.Delta && a.Reason == b.Reason && a.At.Equal(b.At)
}
