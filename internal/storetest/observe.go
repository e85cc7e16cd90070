package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	settled []sqlstore.SettledBet
	credits []string
}

func (r *recorder) BetsSettled(bets []sqlstore.SettledBet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled = append(r.settled, bets...)
}

func (r *recorder) Credited(kind ledger.Kind, points int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.credits = append(r.credits, fmt.Sprintf("%s:%d", kind, points))
}

func (r *recorder) take() ([]sqlstore.SettledBet, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, c := r.settled, r.credits
	r.settled, r.credits = nil, nil
	return s, c
}

// mustMoneylineMatch creates a match of a sport without draws with a
// moneyline at 1.80 / 2.00.
func mustMoneylineMatch(t testing.TB, db *sqlstore.DB, sp string, kickoff time.Time) *betting.Match {
	t.Helper()
	n := matchSeq.Add(1)
	ml, _ := betting.NewMarket(betting.Moneyline, nil, prices(map[string]string{"home": "1.80", "away": "2.00"}))
	m, err := db.CreateMatch(context.Background(), betting.NewMatch{
		Sport: sp, League: "Test League", Home: fmt.Sprintf("Home %d", n), Away: fmt.Sprintf("Away %d", n),
		KickoffAt: kickoff, Markets: []*betting.Market{ml},
	})
	if err != nil {
		t.Fatalf("CreateMatch: %v", err)
	}
	return m
}

// totals is LedgerTotals by account, checked to sum to zero.
func totals(t testing.TB, db *sqlstore.DB) map[string]int64 {
	t.Helper()
	ts, err := db.LedgerTotals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	var sum int64
	for _, x := range ts {
		want := ledger.SystemAccounts[x.Account]
		if x.Account == "players" {
			want = ledger.Player
		}
		if x.Kind != want {
			t.Errorf("%s has kind %q, want %q", x.Account, x.Kind, want)
		}
		out[x.Account] = x.Points
		sum += x.Points
	}
	if sum != 0 {
		t.Errorf("ledger totals %v sum to %d", out, sum)
	}
	return out
}

// testObserver: placement gives a bet its sport (mixed for an
// accumulator over several); the observer hears of each committed
// settlement with its sport, outcome and the points it moved, and of
// each programme credit, and of nothing refused or replayed; the ledger
// totals are the operator accounts' balances and the players' total.
func testObserver(t *testing.T, open Opener) {
	db := open(t)
	rec := &recorder{}
	db.SetObserver(rec)
	c := newClock(db)
	ctx := context.Background()

	u := mustUser(t, db, 50000)
	if _, credits := rec.take(); !slices.Equal(credits, []string{"signup_bonus:50000"}) {
		t.Fatalf("credits after sign-up = %v", credits)
	}
	foot := mustMatch(t, db, c.now().Add(time.Hour))
	bask := mustMoneylineMatch(t, db, "basketball", c.now().Add(time.Hour))
	single := mustPlace(t, db, u, slip(1000, sel(t, foot, betting.OneXTwo, "home"))) // 2.00
	other := mustPlace(t, db, u, slip(500, sel(t, bask, betting.Moneyline, "home"))) // 1.80
	acca := mustPlace(t, db, u, slip(200, sel(t, foot, betting.OneXTwo, "home"), sel(t, bask, betting.Moneyline, "away")))
	for _, tt := range []struct {
		bet  *betting.Bet
		want string
	}{{single, "football"}, {other, "basketball"}, {acca, betting.Mixed}} {
		if tt.bet.Sport != tt.want {
			t.Errorf("bet %s sport = %q, want %q", tt.bet.ID, tt.bet.Sport, tt.want)
		}
	}
	if got := totals(t, db); got[ledger.HouseAccount] != 1700 || got[ledger.SignupBonusAccount] != -50000 || got["players"] != 48300 {
		t.Fatalf("totals after placing = %v", got)
	}

	c.advance(2 * time.Hour)
	if _, err := db.RecordResult(ctx, foot.ID, result(2, 0, 2, 0), false, nil); err != nil {
		t.Fatal(err)
	}
	settled, _ := rec.take()
	// The accumulator still waits for its basketball leg.
	if len(settled) != 1 || settled[0] != (sqlstore.SettledBet{ID: single.ID, Sport: "football", State: betting.Won, Paid: 2000, Version: 1}) {
		t.Fatalf("settled after football = %+v", settled)
	}
	if _, err := db.RecordResult(ctx, bask.ID, result(90, 100, 90, 100), false, nil); err != nil {
		t.Fatal(err)
	}
	settled, _ = rec.take()
	byID := map[string]sqlstore.SettledBet{}
	for _, s := range settled {
		byID[s.ID] = s
	}
	if s := byID[other.ID]; len(settled) != 2 || s != (sqlstore.SettledBet{ID: other.ID, Sport: "basketball", State: betting.Lost, Version: 1}) {
		t.Fatalf("settled after basketball = %+v", settled)
	}
	if s := byID[acca.ID]; s.Sport != betting.Mixed || s.State != betting.Won || s.Paid != acca.PotentialPayout || s.Version != 1 {
		t.Fatalf("accumulator settled as %+v, want won paying %d", s, acca.PotentialPayout)
	}

	// A correction reports the difference it moved.
	corrected := result(0, 1, 0, 1)
	corrected.Evidence.Reason = "wrong team recorded"
	if _, err := db.RecordResult(ctx, foot.ID, corrected, true, nil); err != nil {
		t.Fatal(err)
	}
	settled, _ = rec.take()
	byID = map[string]sqlstore.SettledBet{}
	for _, s := range settled {
		byID[s.ID] = s
	}
	if s := byID[single.ID]; s.State != betting.Lost || s.Paid != -2000 || s.Version != 2 {
		t.Fatalf("corrected single = %+v (all: %+v)", s, settled)
	}
	if s := byID[acca.ID]; s.State != betting.Lost || s.Paid != -acca.PotentialPayout || s.Version != 2 {
		t.Fatalf("corrected accumulator = %+v", s)
	}

	// A credit is heard of once; its refusal is not.
	if _, _, err := db.Checkin(ctx, programme.CheckinRequest{UserID: u.ID, Rules: rules}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Checkin(ctx, programme.CheckinRequest{UserID: u.ID, Rules: rules}); err == nil {
		t.Fatal("second check-in of the day was accepted")
	}
	if _, credits := rec.take(); !slices.Equal(credits, []string{"checkin:500"}) {
		t.Fatalf("credits after check-ins = %v", credits)
	}
	got := totals(t, db)
	if got["players"] != mustBalance(t, db, u) || got[ledger.CheckinAccount] != -500 {
		t.Fatalf("totals at the end = %v, wallet %d", got, mustBalance(t, db, u))
	}
	mustVerify(t, db)
}
