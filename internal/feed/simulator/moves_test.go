package simulator_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/feed/simulator"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// moveEnv is one simulator match ingested into SQLite, the simulator
// reading the stakes placed on it.
type moveEnv struct {
	t     *testing.T
	db    *sqlstore.DB
	clock *clocktest.Clock
	sim   *simulator.Simulator
	in    *feed.Ingester
	ref   string
	id    string
}

func newMoveEnv(t *testing.T) *moveEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := clocktest.New(time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	db.Now = clock.Now
	sim, err := simulator.New(simulator.Config{Seed: 5, Now: clock.Now, Margin: odds.DefaultMargin, Stakes: db})
	if err != nil {
		t.Fatal(err)
	}
	e := &moveEnv{t: t, db: db, clock: clock, sim: sim}
	e.in = &feed.Ingester{Provider: sim, Store: db, Log: slog.New(slog.DiscardHandler), Holder: "test", Now: clock.Now}
	// A football match kicking off about ten hours from now.
	fs, err := sim.Fixtures(ctx, clock.Now().Add(10*time.Hour), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Sport == "football" && f.State == sport.Scheduled && f.KickoffAt.After(clock.Now().Add(8*time.Hour)) {
			e.ref = f.Ref
			break
		}
	}
	if e.ref == "" {
		t.Fatal("no football match to bet on")
	}
	e.poll()
	ms, _, err := db.FindMatches(ctx, sport.MatchFilter{Sport: "football", From: clock.Now(), Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("%d matches stored, want 1", len(ms))
	}
	e.id = ms[0].ID
	return e
}

// poll applies the match as the simulator reports it now.
func (e *moveEnv) poll() {
	e.t.Helper()
	f, err := e.sim.Match(context.Background(), e.ref)
	if err != nil {
		e.t.Fatal(err)
	}
	var st feed.CycleStats
	if err := e.in.Apply(context.Background(), f, &st); err != nil || st.Skipped > 0 {
		e.t.Fatalf("apply %s: %v %+v", e.ref, err, st)
	}
}

func (e *moveEnv) main() *betting.Market {
	e.t.Helper()
	m, err := e.db.FindMatch(context.Background(), e.id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.MainMarket()
}

// nextMove polls review by review until the main market's prices differ
// from before, and returns the market as it was and as it is.
func (e *moveEnv) nextMove() (before, after *betting.Market) {
	e.t.Helper()
	before = e.main()
	for range 30 {
		e.clock.Advance(20 * time.Minute)
		e.poll()
		after = e.main()
		for i := range after.Selections {
			if after.Selections[i].Odds != before.Selections[i].Odds {
				return before, after
			}
		}
	}
	e.t.Fatal("the main market did not move in ten hours")
	return nil, nil
}

func (e *moveEnv) player(points int64) *account.User {
	e.t.Helper()
	u, err := e.db.CreateUser(context.Background(), account.NewUser{Username: "p" + e.clock.Now().Format("150405"), Nickname: "n" + e.clock.Now().Format("150405"),
		Email: e.clock.Now().Format("150405") + "@example.com", PasswordHash: "x", Role: account.Player, Bonus: points})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *moveEnv) place(u *account.User, s *betting.Selection, price odds.Odds, policy betting.OddsPolicy) (*betting.Bet, error) {
	b, _, err := e.db.PlaceBet(context.Background(), &betting.PlaceRequest{UserID: u.ID,
		Slip: betting.Slip{Stake: 100, OddsPolicy: policy, Legs: []betting.LegRequest{{SelectionID: s.ID, Odds: price}}}})
	return b, err
}

// TestOddsPolicyOnRealMoves places bets at the odds a player saw before
// the simulator moved them: reject refuses with the new odds;
// accept_higher takes a rise at the new price and refuses a fall.
func TestOddsPolicyOnRealMoves(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	before, after := e.nextMove()
	u := e.player(10000)
	var rose, fell int
	for i, old := range before.Selections {
		cur := after.Selections[i]
		if cur.Odds == old.Odds {
			continue
		}
		_, err := e.place(u, cur, old.Odds, betting.Reject)
		fe, _ := fault.As(err)
		if fe == nil || fe.Code != "odds_changed" {
			t.Fatalf("%s at the old %s under reject: %v", cur.Name, old.Odds, err)
		}
		legs, _ := fe.Details["legs"].([]map[string]any)
		if len(legs) != 1 || legs[0]["selection_id"] != cur.ID || legs[0]["odds"] != cur.Odds {
			t.Fatalf("odds_changed details %+v; want %s at %s", fe.Details, cur.ID, cur.Odds)
		}
		b, err := e.place(u, cur, old.Odds, betting.AcceptHigher)
		switch {
		case cur.Odds > old.Odds:
			rose++
			if err != nil || b.Legs[0].Odds != cur.Odds || b.PotentialPayout != 100*int64(cur.Odds)/100 {
				t.Fatalf("%s rose %s → %s; accept_higher gave %+v, %v", cur.Name, old.Odds, cur.Odds, b, err)
			}
		default:
			fell++
			if fault.Code(err) != "odds_changed" {
				t.Fatalf("%s fell %s → %s; accept_higher gave %+v, %v", cur.Name, old.Odds, cur.Odds, b, err)
			}
		}
	}
	if rose == 0 || fell == 0 {
		t.Fatalf("a move of %v → %v should raise one price and lower another", before.Selections, after.Selections)
	}
	if h, _, err := e.db.FindOddsHistory(context.Background(), e.id, betting.OddsHistoryFilter{MarketID: after.ID}); err != nil || len(h) == 0 || len(h[0].Versions) < 2 {
		t.Fatalf("history of the moved market = %+v, %v", h, err)
	}
}

// TestPricesLeanAgainstStakes backs the draw with the largest stake: from the next
// review on, the simulator prices it shorter than a simulator that sees
// no stakes, and the other selections longer.
func TestPricesLeanAgainstStakes(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	blind, err := simulator.New(simulator.Config{Seed: 5, Now: e.clock.Now, Margin: odds.DefaultMargin})
	if err != nil {
		t.Fatal(err)
	}
	mk := e.main()
	draw := mk.Selections[1]
	u := e.player(1_000_000)
	if _, _, err := e.db.PlaceBet(context.Background(), &betting.PlaceRequest{UserID: u.ID,
		Slip: betting.Slip{Stake: 50_000, Legs: []betting.LegRequest{{SelectionID: draw.ID, Odds: draw.Odds}}}}); err != nil {
		t.Fatal(err)
	}
	prices := func(s *simulator.Simulator) map[string]odds.Odds {
		f, err := s.Match(context.Background(), e.ref)
		if err != nil {
			t.Fatal(err)
		}
		return f.Markets[0].Prices
	}
	// Until the next review the stake is not seen.
	if a, b := prices(e.sim), prices(blind); a["draw"] != b["draw"] {
		t.Fatalf("the stake moved the draw before the next review: %v vs %v", a, b)
	}
	e.clock.Advance(20 * time.Minute)
	a, b := prices(e.sim), prices(blind)
	if !(a["draw"] < b["draw"] && a["home"] > b["home"] && a["away"] > b["away"]) {
		t.Fatalf("with 50,000 points on the draw: %v; without: %v", a, b)
	}
	implied := 0.0
	for _, o := range a {
		implied += 100 / float64(o)
	}
	if implied < 1.045 || implied > 1.055 {
		t.Fatalf("overround %.4f after the lean", implied-1)
	}
	// The ingested price follows, as a new version.
	e.poll()
	if got := e.main().Selections[1].Odds; got != a["draw"] {
		t.Fatalf("stored draw %s, simulator %s", got, a["draw"])
	}
}
