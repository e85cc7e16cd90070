package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

func TestPlaceDirect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	user := func(name string, bonus int64) *account.User {
		u, err := db.CreateUser(ctx, account.NewUser{Username: name, Nickname: name, Email: name + "@example.com",
			PasswordHash: "x", Role: account.Player, Bonus: bonus})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	rich, poor := user("rich", 1000), user("poor", 100)

	mk, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 340, "away": 380})
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: "Direct League", Home: "Home", Away: "Away",
		KickoffAt: time.Now().UTC().Add(3 * time.Hour), Markets: []*betting.Market{mk}})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Markets[0].Selections[0]
	req := func(u *account.User, stake int64) *betting.PlaceRequest {
		return &betting.PlaceRequest{UserID: u.ID, Slip: betting.Slip{Stake: stake, OddsPolicy: betting.AcceptAny,
			Legs: []betting.LegRequest{{SelectionID: s.ID, Odds: s.Odds}}}}
	}

	bets, errs, err := db.PlaceDirect(ctx, []*betting.PlaceRequest{req(rich, 500), req(poor, 200), req(rich, 300)})
	if err != nil {
		t.Fatal(err)
	}
	if len(bets) != 3 || len(errs) != 3 {
		t.Fatalf("got %d bets and %d errors, want 3 and 3", len(bets), len(errs))
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil || bets[i] == nil || bets[i].State != betting.Open {
			t.Fatalf("bet %d: %+v, %v", i, bets[i], errs[i])
		}
	}
	if bets[0].Stake != 500 || bets[2].Stake != 300 {
		t.Fatalf("answers out of order: stakes %d and %d", bets[0].Stake, bets[2].Stake)
	}
	if bets[1] != nil || fault.Code(errs[1]) != "insufficient_points" {
		t.Fatalf("poor player's bet: %+v, %v; want insufficient_points", bets[1], errs[1])
	}

	balance := func(u *account.User) int64 {
		acct, err := db.PlayerAccount(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.Balance(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got := balance(rich); got != 200 {
		t.Errorf("rich balance = %d, want 200", got)
	}
	if got := balance(poor); got != 100 {
		t.Errorf("poor balance = %d, want 100", got)
	}
	if got, err := db.SystemBalance(ctx, ledger.HouseAccount); err != nil || got != 800 {
		t.Errorf("house balance = %d, %v; want 800", got, err)
	}
	if n, err := db.BetCount(ctx); err != nil || n != 2 {
		t.Errorf("BetCount = %d, %v; want 2", n, err)
	}
	if d, err := db.VerifyLedger(ctx); err != nil || len(d) > 0 {
		t.Errorf("VerifyLedger: %v, %+v", err, d)
	}
}
