package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Settlement reads and grades a batch before its transaction (see
// settleBets), so another settlement can change what a plan was made
// from before it is written. These tests stop settlements at that moment
// through the planned hook, to make the interleavings that matter happen
// every time rather than by luck, on both databases.

// raceStores opens a store on each database the run has, with a clock
// that the test moves.
func raceStores(t *testing.T, run func(t *testing.T, db *DB, clock *clocktest.Clock)) {
	open := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "pb.db") },
		"postgres": func(t *testing.T) string { return pgtest.NewDatabase(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, err := Open(context.Background(), Config{URL: open[name](t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			clock := clocktest.New(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
			db.Now = clock.Now
			run(t, db, clock)
		})
	}
}

type raceFixture struct {
	t  *testing.T
	db *DB
	n  int
}

func (f *raceFixture) user() *account.User {
	f.t.Helper()
	f.n++
	name := fmt.Sprintf("racer%d", f.n)
	u, err := f.db.CreateUser(context.Background(), account.NewUser{Username: name, Nickname: name, Email: name + "@example.com",
		PasswordHash: "x", Role: account.Player, Bonus: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// match is a football match with a 1x2 market at 2.00 / 3.40 / 3.80.
func (f *raceFixture) match(kickoff time.Time) *betting.Match {
	f.t.Helper()
	f.n++
	mk, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 340, "away": 380})
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := f.db.CreateMatch(context.Background(), betting.NewMatch{Sport: "football", League: "Race League",
		Home: fmt.Sprintf("Home %d", f.n), Away: fmt.Sprintf("Away %d", f.n), KickoffAt: kickoff, Markets: []*betting.Market{mk}})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *raceFixture) place(u *account.User, stake int64, picks ...string) *betting.Bet {
	f.t.Helper()
	var s betting.Slip
	s.Stake = stake
	for _, p := range picks {
		match, name, _ := strings.Cut(p, "/")
		var found bool
		for _, sel := range f.matchByID(match).Markets[0].Selections {
			if sel.Name == name {
				s.Legs = append(s.Legs, betting.LegRequest{SelectionID: sel.ID, Odds: sel.Odds})
				found = true
			}
		}
		if !found {
			f.t.Fatalf("no selection %s", p)
		}
	}
	b, _, err := f.db.PlaceBet(context.Background(), &betting.PlaceRequest{UserID: u.ID, Slip: s})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *raceFixture) matchByID(id string) *betting.Match {
	f.t.Helper()
	m, err := f.db.FindMatch(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *raceFixture) verify() {
	f.t.Helper()
	if d, err := f.db.VerifyLedger(context.Background()); err != nil || len(d) > 0 {
		f.t.Fatalf("verify-ledger: %v %v", d, err)
	}
}

func score(home, away int) sport.Outcome {
	return sport.Outcome{Score: sport.Score{Home: home, Away: away, Regulation: sport.Pair{Home: home, Away: away}},
		Evidence: sport.Evidence{Source: "simulator", Status: "FT"}}
}

// Two matches carrying the legs of the same accumulators settle at once:
// the first plans its batch before the second match has a result, the
// second plans its batch, and only then do both write, the first first. Each grades its
// own legs; had the plans been written as read, each would judge the
// accumulators on the other leg still open, and an accumulator with both
// legs won would stay open.
func TestAccumulatorSettledByTwoMatchesAtOnce(t *testing.T) {
	t.Parallel()
	raceStores(t, func(t *testing.T, db *DB, clock *clocktest.Clock) {
		f := &raceFixture{t: t, db: db}
		kickoff := db.Now().Add(time.Hour)
		m1, m2 := f.match(kickoff), f.match(kickoff)
		type holding struct {
			u                   *account.User
			acca, single, loser *betting.Bet
		}
		var hs []holding
		for i := 0; i < 20; i++ {
			u := f.user()
			hs = append(hs, holding{u: u,
				acca:   f.place(u, 100, m1.ID+"/home", m2.ID+"/home"), // 2.00 × 2.00
				single: f.place(u, 100, m1.ID+"/home"),
				loser:  f.place(u, 100, m2.ID+"/away"),
			})
		}
		clock.Advance(2 * time.Hour)
		firstPlanned, secondPlanned, firstWritten := make(chan struct{}), make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		db.hooks.planned = func() {
			switch calls.Add(1) {
			case 1:
				close(firstPlanned)
				<-secondPlanned
			case 2:
				// The first plan goes on to write, and the second waits
				// until it has: the order in which the later, fuller plan
				// finds some of its legs already graded.
				close(secondPlanned)
				<-firstWritten
			}
		}
		var wrote sync.Once
		db.hooks.written = func() { wrote.Do(func() { close(firstWritten) }) }
		var wg sync.WaitGroup
		settle := func(m *betting.Match) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.RecordResult(context.Background(), m.ID, score(1, 0), false, nil); err != nil {
					t.Errorf("RecordResult: %v", err)
				}
			}()
		}
		settle(m1)
		<-firstPlanned
		settle(m2)
		wg.Wait()
		for _, h := range hs {
			for _, want := range []struct {
				bet    *betting.Bet
				state  betting.State
				payout int64
			}{{h.acca, betting.Won, 400}, {h.single, betting.Won, 200}, {h.loser, betting.Lost, 0}} {
				got, err := db.FindBet(context.Background(), h.u.ID, want.bet.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != want.state || got.Payout == nil || *got.Payout != want.payout {
					t.Fatalf("bet %s (%d legs) is %s paying %v, want %s paying %d",
						got.ID, len(got.Legs), got.State, got.Payout, want.state, want.payout)
				}
			}
		}
		f.verify()
	})
}

// sides places n stake-100 single bets on m, one player each, alternately
// on the home and the away side.
func (f *raceFixture) sides(m *betting.Match, n int) ([]*account.User, []*betting.Bet) {
	f.t.Helper()
	var us []*account.User
	var bets []*betting.Bet
	for i := 0; i < n; i++ {
		u := f.user()
		us = append(us, u)
		bets = append(bets, f.place(u, 100, m.ID+"/"+[]string{"home", "away"}[i%2]))
	}
	return us, bets
}

// pausedAfterPlanning starts settle, which must plan a settlement batch,
// and returns once that batch is planned and held there. The returned
// function releases it and waits for settle's error.
func (f *raceFixture) pausedAfterPlanning(settle func() error) (release func() error) {
	f.t.Helper()
	paused, resume := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	f.db.hooks.planned = func() {
		if calls.Add(1) == 1 {
			close(paused)
			<-resume
		}
	}
	first := make(chan error, 1)
	go func() { first <- settle() }()
	select {
	case <-paused:
	case err := <-first:
		f.t.Fatalf("the first settlement did not stop after planning: %v", err)
	}
	return func() error {
		close(resume)
		return <-first
	}
}

// graded checks the bets of sides: those on the winning side won payout,
// the others lost, and every leg was graded with a rule naming score.
func (f *raceFixture) graded(us []*account.User, bets []*betting.Bet, homeWins bool, payout int64, score string) {
	f.t.Helper()
	for i, b := range bets {
		got, err := f.db.FindBet(context.Background(), us[i].ID, b.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		want, pays := betting.Lost, int64(0)
		if (i%2 == 0) == homeWins {
			want, pays = betting.Won, payout
		}
		leg, paid := got.Legs[0], int64(-1)
		if got.Payout != nil {
			paid = *got.Payout
		}
		if got.State != want || paid != pays || leg.State != betting.LegState(want) || !strings.Contains(leg.Rule, score) {
			f.t.Fatalf("bet %d is %s paying %d, its leg %s (%q); want %s paying %d graded on %s",
				i, got.State, paid, leg.State, leg.Rule, want, pays, score)
		}
	}
}

// A settlement has read and graded its batch on the first result when a
// correction arrives and is settled in full. The stale plan, written
// after, must change nothing: not the bets (their version moved) and not
// the legs, whose grade on the correction would otherwise be replaced by
// one on the result it corrects.
func TestStalePlanAfterCorrection(t *testing.T) {
	t.Parallel()
	raceStores(t, func(t *testing.T, db *DB, clock *clocktest.Clock) {
		f := &raceFixture{t: t, db: db}
		m := f.match(db.Now().Add(time.Hour))
		us, bets := f.sides(m, 20)
		clock.Advance(2 * time.Hour)
		release := f.pausedAfterPlanning(func() error {
			_, err := db.RecordResult(context.Background(), m.ID, score(1, 0), false, nil)
			return err
		})
		corrected := score(0, 1)
		corrected.Evidence.Source, corrected.Evidence.Reason = "operator", "own goal credited to the wrong side"
		if changed, err := db.RecordResult(context.Background(), m.ID, corrected, true, nil); err != nil || !changed {
			t.Fatalf("correction: changed=%v, %v", changed, err)
		}
		if err := release(); err != nil {
			t.Fatalf("first settlement: %v", err)
		}
		f.graded(us, bets, false, 380, "0-1")
		f.verify()
	})
}

// A settlement has planned its batch when a later result is recorded and
// some of the batch's bets, not all, are settled on it by another
// settlement. The plan is stale, so the batch is settled again, read
// inside its transaction: when the first settlement returns, every bet
// of its batch is graded on the latest result, the ones the other
// settlement had not reached included. Written as planned, those would
// keep the older result; given up on, they would stay as they were.
//
// Either part of the plan can go stale. When the later result moves the
// bets, their versions show it; when it only regrades their legs (2-0
// corrected to 3-0 leaves a bet on the home side won), the legs' results
// do.
func TestPartlyStalePlanSettledAgain(t *testing.T) {
	t.Parallel()
	correction := func(home, away int) sport.Outcome {
		o := score(home, away)
		o.Evidence.Source, o.Evidence.Reason = "operator", "score corrected"
		return o
	}
	for _, c := range []struct {
		name         string
		settled      []sport.Outcome // in full, before the race
		first, later sport.Outcome
		homeWins     bool  // else the away side wins
		payout       int64 // of a winning bet
		rule         string
	}{
		{name: "the later result moves the bets", first: score(1, 0), later: correction(0, 1), payout: 380, rule: "0-1"},
		{name: "the later result regrades the legs only", settled: []sport.Outcome{score(1, 0)}, first: correction(2, 0),
			later: correction(3, 0), homeWins: true, payout: 200, rule: "3-0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			raceStores(t, func(t *testing.T, db *DB, clock *clocktest.Clock) {
				ctx := context.Background()
				f := &raceFixture{t: t, db: db}
				m := f.match(db.Now().Add(time.Hour))
				us, bets := f.sides(m, 20)
				clock.Advance(2 * time.Hour)
				for _, o := range c.settled {
					if _, err := db.RecordResult(ctx, m.ID, o, false, nil); err != nil {
						t.Fatal(err)
					}
				}
				release := f.pausedAfterPlanning(func() error {
					_, err := db.RecordResult(ctx, m.ID, c.first, c.first.Evidence.Reason != "", nil)
					return err
				})
				// The later result is recorded, and the first five bets
				// only are settled on it.
				mid, _ := parseID(pMatch, m.ID)
				if changed, err := db.recordOutcome(ctx, mid, c.later, true, nil); err != nil || !changed {
					t.Fatalf("later result: changed=%v, %v", changed, err)
				}
				var some []int64
				for _, b := range bets[:5] {
					id, _ := parseID(pBet, b.ID)
					some = append(some, id)
				}
				direct := func(fn func() error) error { return fn() }
				if err := db.settleBets(ctx, some, c.later.Evidence.Reason, direct); err != nil {
					t.Fatalf("settling five bets on the later result: %v", err)
				}
				if err := release(); err != nil {
					t.Fatalf("first settlement: %v", err)
				}
				f.graded(us, bets, c.homeWins, c.payout, c.rule)
				f.verify()
			})
		})
	}
}
