package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/worker"
)

// Placements queued before the writers stop are placed, not dropped;
// a placement after the stop is answered Unavailable at once.
func TestWritersPlaceWhatIsQueuedWhenStopped(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, url string }{
		{"sqlite", filepath.Join(t.TempDir(), "pb.db")},
		{"postgres", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := c.url
			if url == "" {
				url = pgtest.NewDatabase(t)
			}
			ctx := context.Background()
			db, err := Connect(ctx, Config{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			mk, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 340, "away": 380})
			if err != nil {
				t.Fatal(err)
			}
			m, err := db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: "League", Home: "Home", Away: "Away",
				KickoffAt: time.Now().UTC().Add(3 * time.Hour), Markets: []*betting.Market{mk}})
			if err != nil {
				t.Fatal(err)
			}
			sel := m.Markets[0].Selections[0]
			place := func(uid string) error {
				_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: uid, Slip: betting.Slip{Stake: 100, OddsPolicy: betting.AcceptAny,
					Legs: []betting.LegRequest{{SelectionID: sel.ID, Odds: sel.Odds}}}})
				return err
			}
			const n = 20
			users := make([]string, n)
			for i := range users {
				name := fmt.Sprintf("drain%d", i)
				u, err := db.CreateUser(ctx, account.NewUser{Username: name, Nickname: name, Email: name + "@example.com",
					PasswordHash: "x", Role: account.Player, Bonus: 10_000})
				if err != nil {
					t.Fatal(err)
				}
				users[i] = u.ID
			}
			// The writers are not running yet: every placement waits in a
			// queue.
			errs := make(chan error, n)
			for _, u := range users {
				go func() { errs <- place(u) }()
			}
			// Polled because a queued placement sends no signal; the
			// deadline bounds a broken run.
			queued := func() (k int) {
				for _, q := range db.placer.queues {
					k += len(q)
				}
				return k
			}
			for deadline := time.Now().Add(10 * time.Second); queued() < n; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d placements queued", queued(), n)
				}
			}
			// Started and asked to stop at once: the queue is still full.
			var g worker.Group
			g.Start(ctx, db.Workers()...)
			if err := g.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			for range n {
				if err := <-errs; err != nil {
					t.Errorf("queued placement: %v", err)
				}
			}
			bets, _, err := db.FindBets(ctx, users[0], betting.BetFilter{})
			if err != nil || len(bets) != 1 {
				t.Fatalf("bets of a queued player = %d, %v; want 1", len(bets), err)
			}
			if err := place(users[1]); !errors.Is(err, fault.ErrUnavailable) {
				t.Fatalf("placement after stop: %v, want Unavailable", err)
			}
		})
	}
}
