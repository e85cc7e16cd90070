package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// testRandomized runs a long random mix of grants, bets, results, voids
// and corrections from several goroutines, then checks that every
// balance equals the sum of its postings, every transaction balances,
// points are conserved, and only reversals ever left a wallet negative.
// PB_TEST_RANDOM_OPS overrides the 10,000 operations.
func testRandomized(t *testing.T, open Opener) {
	ops := 10_000
	if v, err := strconv.Atoi(os.Getenv("PB_TEST_RANDOM_OPS")); err == nil && v > 0 {
		ops = v
	}
	if testing.Short() {
		ops = 1000
	}
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	var users []*account.User
	for i := 0; i < 24; i++ {
		users = append(users, mustUser(t, db, 20000))
	}
	var mu sync.Mutex
	var matches []*betting.Match
	for i := 0; i < 6; i++ {
		matches = append(matches, mustMatch(t, db, c.now().Add(time.Duration(1+i)*time.Hour)))
	}
	var counts [6]atomic.Int64
	const workers = 8
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for i := 0; i < ops/workers; i++ {
				u := users[r.IntN(len(users))]
				mu.Lock()
				m := matches[r.IntN(len(matches))]
				m2 := matches[r.IntN(len(matches))]
				mu.Unlock()
				switch p := r.IntN(100); {
				case p < 25: // grant or clawback
					amt := int64(r.IntN(2000) - 500)
					if amt == 0 {
						amt = 1
					}
					_, err := db.Credit(ctx, u.ID, ledger.GrantAccount, ledger.Grant, fmt.Sprintf("rnd:%d:%d", w, i), amt)
					if err != nil && fault.Code(err) != "insufficient_points" {
						t.Errorf("grant: %v", err)
						return
					}
					counts[0].Add(1)
				case p < 80: // bet: single, or a double on two matches
					kinds := []betting.MarketKind{betting.OneXTwo, betting.Total, betting.Handicap}
					pick := func(m *betting.Match) *betting.Selection {
						mk := m.Markets[r.IntN(len(m.Markets))]
						if mk.Kind != kinds[r.IntN(3)] {
							mk = m.Markets[0]
						}
						return mk.Selections[r.IntN(len(mk.Selections))]
					}
					s := slip(int64(100+r.IntN(3000)), pick(m))
					if m2.ID != m.ID && r.IntN(3) == 0 {
						s = slip(int64(100+r.IntN(1000)), pick(m), pick(m2))
					}
					s.OddsPolicy = betting.AcceptAny
					_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s})
					switch fault.Code(err) {
					case "", "insufficient_points", "market_closed", "payout_over_limit":
					default:
						t.Errorf("bet: %v", err)
						return
					}
					counts[1].Add(1)
				case p < 90: // result, or a correction if it has one
					o := result(r.IntN(4), r.IntN(4), 0, 0)
					o.Score.Regulation = sport.Pair{Home: r.IntN(o.Score.Home + 1), Away: r.IntN(o.Score.Away + 1)}
					o.Evidence.Reason = "random correction"
					if _, err := db.RecordResult(ctx, m.ID, o, true, nil); err != nil {
						t.Errorf("result: %v", err)
						return
					}
					counts[2].Add(1)
				case p < 94:
					if _, err := db.VoidMatch(ctx, m.ID, sport.Evidence{Source: "operator", Status: "void", Reason: "random void"}, true); err != nil {
						t.Errorf("void: %v", err)
						return
					}
					counts[3].Add(1)
				default: // a new match replaces a random one in the pool
					nm := mustMatch(t, db, c.now().Add(time.Duration(1+r.IntN(48))*time.Hour))
					mu.Lock()
					matches[r.IntN(len(matches))] = nm
					mu.Unlock()
					counts[4].Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	t.Logf("ops: %d grants, %d bets, %d results, %d voids, %d matches", counts[0].Load(), counts[1].Load(), counts[2].Load(), counts[3].Load(), counts[4].Load())
	mustVerify(t, db)
	for _, u := range users {
		if bal := mustBalance(t, db, u); bal < 0 {
			acct, _ := db.PlayerAccount(ctx, u.ID)
			entries, _, _ := db.Statement(ctx, acct, "", 100000)
			reversed := false
			for _, e := range entries {
				reversed = reversed || e.Kind == ledger.Reversal
			}
			if !reversed {
				t.Fatalf("user %s is at %d without any reversal", u.ID, bal)
			}
		}
	}
}
