package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// replayTimeout bounds every wait for the replica to catch up.
const replayTimeout = 10 * time.Second

// callTimeout bounds each store call, so a read that hangs on a stopped
// server fails the test instead of stalling it.
const callTimeout = 5 * time.Second

// TestReplicaRouting proves which server each store method uses by
// stopping one server at a time: catalogue reads go to the replica, a
// player's own reads and every write go to the primary.
func TestReplicaRouting(t *testing.T) {
	t.Parallel()
	primary := pgtest.StartCluster(t)
	replica := primary.StartReplica(t)

	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: primary.URL(), ReplicaURL: replica.URL(), MaxConns: 4})
	if err != nil {
		t.Fatalf("Open with replica: %v", err)
	}
	// Registered after the clusters' cleanups, so it runs before they stop.
	t.Cleanup(func() { db.Close() })

	// A settable clock: bets go on before kick-off, the result after.
	clock := clocktest.New(time.Now().UTC().Truncate(time.Microsecond))
	db.Now = clock.Now
	advance := clock.Advance
	start := db.Now()

	// Seed: two players, two meetings of the same teams (the first gets
	// a result, so the second has head-to-head stats), bets on both.
	kim := newPlayer(t, db, "kim", 50_000)
	lee := newPlayer(t, db, "lee", 50_000)
	first := newMatch(t, db, "Seoul FC", "Busan United", start.Add(time.Hour))
	second := newMatch(t, db, "Seoul FC", "Busan United", start.Add(6*time.Hour))

	won := placeBet(t, db, kim, 1000, selection(t, first, betting.OneXTwo, "home")) // 2.00
	lost := placeBet(t, db, lee, 500, selection(t, first, betting.OneXTwo, "away"))
	open := placeBet(t, db, kim, 200, selection(t, second, betting.OneXTwo, "draw"))
	// A price change, so the odds history read from the replica has two
	// versions.
	home := selection(t, second, betting.OneXTwo, "home")
	if err := db.UpdateOdds(ctx, home.ID, 210); err != nil {
		t.Fatalf("UpdateOdds: %v", err)
	}

	advance(2 * time.Hour)
	changed, err := db.RecordResult(ctx, first.ID, sport.Outcome{
		Score:    sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}},
		Evidence: sport.Evidence{Source: "simulator", ProviderMatchID: "sim-1", Status: "FT"},
	}, false, nil)

	if err != nil || !changed {
		t.Fatalf("RecordResult = %v, %v", changed, err)
	}
	kimAcct := playerAccount(t, db, kim)

	primary.WaitReplayed(t, replica, replayTimeout)

	// Everything is up: the catalogue (from the replica) shows the seed.
	day0, day1 := start.Add(-time.Hour), start.Add(24*time.Hour)
	ids := catalogueIDs{first: first.ID, second: second.ID, home: home.ID, from: day0, to: day1}
	matches := 2 // in the window [day0, day1)
	checkCatalogue(t, db, ids, matches)

	t.Run("replica eventually shows primary writes", func(t *testing.T) {
		third := newMatch(t, db, "Daegu Stars", "Incheon Port", start.Add(8*time.Hour))
		matches++
		primary.WaitReplayed(t, replica, replayTimeout)
		ms := findMatches(t, db, day0, day1)
		if !containsMatch(ms, third.ID) {
			t.Fatalf("after WaitReplayed FindMatches = %v, want it to include %s", matchIDs(ms), third.ID)
		}
		m, err := call1(func(ctx context.Context) (*betting.Match, error) { return db.FindMatch(ctx, third.ID) })
		if err != nil || len(m.Markets) != 1 {
			t.Fatalf("FindMatch(%s) on the replica = %+v, %v", third.ID, m, err)
		}
	})

	t.Run("replica down", func(t *testing.T) {
		replica.Stop(t)
		for name, err := range catalogueErrors(db, ids) {
			if code := fault.Code(err); code != "database_unavailable" {
				t.Errorf("%s with the replica down: code %q (err %v), want database_unavailable", name, code, err)
			}
		}

		// The player's own reads and every write still use the primary.
		acct, err := call1(func(ctx context.Context) (int64, error) { return db.PlayerAccount(ctx, kim.ID) })
		if err != nil || acct != kimAcct {
			t.Fatalf("PlayerAccount = %d, %v; want %d", acct, err, kimAcct)
		}
		// 50,000 − 1,000 − 200 + 2,000 (the settled win).
		wantBalance := int64(50_000 - 1000 - 200 + 2000)
		if bal, err := call1(func(ctx context.Context) (int64, error) { return db.Balance(ctx, acct) }); err != nil || bal != wantBalance {
			t.Fatalf("Balance = %d, %v; want %d", bal, err, wantBalance)
		}
		b, err := call1(func(ctx context.Context) (*betting.Bet, error) { return db.FindBet(ctx, kim.ID, won.ID) })
		if err != nil || b.State != betting.Won || b.Payout == nil || *b.Payout != 2000 || b.Settlement == nil {
			t.Fatalf("FindBet(settled) = %+v, %v", b, err)
		}
		if b, err := call1(func(ctx context.Context) (*betting.Bet, error) { return db.FindBet(ctx, lee.ID, lost.ID) }); err != nil || b.State != betting.Lost {
			t.Fatalf("FindBet(lost) = %+v, %v", b, err)
		}
		bets, err := call1(func(ctx context.Context) ([]*betting.Bet, error) {
			bets, _, err := db.FindBets(ctx, kim.ID, betting.BetFilter{})
			return bets, err
		})
		if err != nil || len(bets) != 2 || bets[0].ID != open.ID || bets[1].ID != won.ID {
			t.Fatalf("FindBets = %v, %v; want [%s %s]", betIDs(bets), err, open.ID, won.ID)
		}
		entries, err := call1(func(ctx context.Context) ([]*ledger.Entry, error) {
			entries, _, err := db.Statement(ctx, acct, "", 10)
			return entries, err
		})
		// Sign-up bonus, two stakes, one payout.
		if err != nil || len(entries) != 4 || entries[0].BalanceAfter != wantBalance {
			t.Fatalf("Statement = %d entries (%v), want 4 ending at %d", len(entries), err, wantBalance)
		}
		nb, err := call1(func(ctx context.Context) (*betting.Bet, error) {
			b, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: kim.ID, Slip: slip(300, selection(t, second, betting.OneXTwo, "away"))})
			return b, err
		})
		if err != nil || nb.State != betting.Open {
			t.Fatalf("PlaceBet with the replica down = %+v, %v", nb, err)
		}
		if posted, err := call1(func(ctx context.Context) (bool, error) {
			return db.Credit(ctx, kim.ID, ledger.GrantAccount, ledger.Grant, "replica-down", 700)
		}); err != nil || !posted {
			t.Fatalf("Credit with the replica down = %v, %v", posted, err)
		}
		wantBalance += -300 + 700
		if bal, err := call1(func(ctx context.Context) (int64, error) { return db.Balance(ctx, acct) }); err != nil || bal != wantBalance {
			t.Fatalf("Balance after bet and credit = %d, %v; want %d", bal, err, wantBalance)
		}
		// /readyz must notice a missing replica too.
		if err := call0(db.Ping); fault.Code(err) != "database_unavailable" {
			t.Errorf("Ping with the replica down = %v, want database_unavailable", err)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("primary down", func(t *testing.T) {
		replica.Start(t)
		primary.WaitReplayed(t, replica, replayTimeout) // the bet and credit of the last step
		primary.Stop(t)

		// The catalogue is served by the replica alone, including the
		// result and settled odds history written before the outage.
		checkCatalogue(t, db, ids, matches)

		if _, err := call1(func(ctx context.Context) (int64, error) { return db.Balance(ctx, kimAcct) }); fault.Code(err) != "database_unavailable" {
			t.Errorf("Balance with the primary down: %v, want database_unavailable", err)
		}
		if _, err := call1(func(ctx context.Context) (int64, error) { return db.PlayerAccount(ctx, kim.ID) }); fault.Code(err) != "database_unavailable" {
			t.Errorf("PlayerAccount with the primary down: %v, want database_unavailable", err)
		}
		if _, err := call1(func(ctx context.Context) (*betting.Bet, error) { return db.FindBet(ctx, kim.ID, won.ID) }); fault.Code(err) != "database_unavailable" {
			t.Errorf("FindBet with the primary down: %v, want database_unavailable", err)
		}
		if _, err := call1(func(ctx context.Context) (*betting.Bet, error) {
			b, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: lee.ID, Slip: slip(100, selection(t, second, betting.OneXTwo, "away"))})
			return b, err
		}); fault.Code(err) != "database_unavailable" {
			t.Errorf("PlaceBet with the primary down: %v, want database_unavailable", err)
		}
	})
}

type catalogueIDs struct {
	first, second string // matches: first has a result, second is open
	home          string // a selection of second whose price changed once
	from, to      time.Time
}

// catalogueErrors calls every replica-routed read once.
func catalogueErrors(db *sqlstore.DB, ids catalogueIDs) map[string]error {
	errs := map[string]error{}
	_, errs["FindMatches"] = call1(func(ctx context.Context) ([]*betting.Match, error) {
		ms, _, err := db.FindMatches(ctx, sport.MatchFilter{From: ids.from, To: ids.to})
		return ms, err
	})
	_, errs["FindMatch"] = call1(func(ctx context.Context) (*betting.Match, error) { return db.FindMatch(ctx, ids.first) })
	_, errs["CountBySport"] = call1(func(ctx context.Context) ([]sport.Count, error) {
		return db.CountBySport(ctx, ids.from, ids.to)
	})
	_, errs["MatchStats"] = call1(func(ctx context.Context) (*sport.MatchStats, error) { return db.MatchStats(ctx, ids.second) })
	_, errs["OddsHistory"] = call1(func(ctx context.Context) ([]sqlstore.OddsVersion, error) { return db.OddsHistory(ctx, ids.home) })
	return errs
}

// checkCatalogue runs every catalogue read and checks what it returns
// against the seed; wantMatches is how many matches the window holds.
func checkCatalogue(t *testing.T, db *sqlstore.DB, ids catalogueIDs, wantMatches int) {
	t.Helper()
	ms := findMatches(t, db, ids.from, ids.to)
	// The second match is still to play and comes before the finished
	// first (sport.ListGroup).
	if len(ms) != wantMatches || ms[0].ID != ids.second || ms[len(ms)-1].ID != ids.first {
		t.Errorf("FindMatches = %v, want %d matches starting %s and ending %s", matchIDs(ms), wantMatches, ids.second, ids.first)
	}
	m, err := call1(func(ctx context.Context) (*betting.Match, error) { return db.FindMatch(ctx, ids.first) })
	if err != nil {
		t.Errorf("FindMatch: %v", err)
	} else if m.State != sport.Finished || m.Score == nil || m.Score.Home != 2 || m.Score.Away != 1 || len(m.Markets) != 1 {
		t.Errorf("FindMatch(%s) = state %s score %+v, %d markets; want finished 2-1 with 1 market", ids.first, m.State, m.Score, len(m.Markets))
	}
	counts, err := call1(func(ctx context.Context) ([]sport.Count, error) {
		return db.CountBySport(ctx, ids.from, ids.to)
	})
	football := -1
	for _, c := range counts {
		if c.Slug == "football" {
			football = c.Today
		}
	}
	if err != nil || football != wantMatches {
		t.Errorf("CountBySport = %+v, %v; want football %d", counts, err, wantMatches)
	}
	st, err := call1(func(ctx context.Context) (*sport.MatchStats, error) { return db.MatchStats(ctx, ids.second) })
	if err != nil {
		t.Errorf("MatchStats: %v", err)
	} else if len(st.HeadToHead) != 1 || st.HeadToHead[0].MatchID != ids.first || st.HeadToHead[0].HomeScore != 2 ||
		len(st.Form.Home) != 1 || st.Form.Home[0].Result != "W" || len(st.Form.Away) != 1 || st.Form.Away[0].Result != "L" {
		t.Errorf("MatchStats(%s) = %+v, want the 2-1 home win of %s", ids.second, st, ids.first)
	}
	h, err := call1(func(ctx context.Context) ([]sqlstore.OddsVersion, error) { return db.OddsHistory(ctx, ids.home) })
	if err != nil || len(h) != 2 || h[0].Odds != 200 || h[1].Odds != 210 {
		t.Errorf("OddsHistory(%s) = %+v, %v; want versions 2.00 then 2.10", ids.home, h, err)
	}
}

func findMatches(t *testing.T, db *sqlstore.DB, from, to time.Time) []*betting.Match {
	t.Helper()
	ms, err := call1(func(ctx context.Context) ([]*betting.Match, error) {
		ms, _, err := db.FindMatches(ctx, sport.MatchFilter{From: from, To: to})
		return ms, err
	})
	if err != nil {
		t.Fatalf("FindMatches: %v", err)
	}
	return ms
}

// call1 runs one store call under callTimeout.
func call1[T any](fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return fn(ctx)
}

func call0(fn func(context.Context) error) error {
	_, err := call1(func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

func newPlayer(t *testing.T, db *sqlstore.DB, name string, bonus int64) *account.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), account.NewUser{
		Username: name, Nickname: name + "_nick", Email: name + "@example.com",
		PasswordHash: "x", Role: account.Player, Bonus: bonus,
	})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func playerAccount(t *testing.T, db *sqlstore.DB, u *account.User) int64 {
	t.Helper()
	id, err := db.PlayerAccount(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("PlayerAccount: %v", err)
	}
	return id
}

// newMatch creates a football match with one 1x2 market at 2.00/3.40/3.80.
func newMatch(t *testing.T, db *sqlstore.DB, home, away string, kickoff time.Time) *betting.Match {
	t.Helper()
	x, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 340, "away": 380})
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.CreateMatch(context.Background(), betting.NewMatch{
		Sport: "football", League: "K League 1", Home: home, Away: away, KickoffAt: kickoff, Markets: []*betting.Market{x},
	})
	if err != nil {
		t.Fatalf("CreateMatch: %v", err)
	}
	return m
}

func selection(t *testing.T, m *betting.Match, kind betting.MarketKind, name string) *betting.Selection {
	t.Helper()
	for _, mk := range m.Markets {
		for _, s := range mk.Selections {
			if mk.Kind == kind && s.Name == name {
				return s
			}
		}
	}
	t.Fatalf("match %s has no selection %s/%s", m.ID, kind, name)
	return nil
}

func slip(stake int64, s *betting.Selection) betting.Slip {
	return betting.Slip{Stake: stake, Legs: []betting.LegRequest{{SelectionID: s.ID, Odds: s.Odds}}}
}

func placeBet(t *testing.T, db *sqlstore.DB, u *account.User, stake int64, s *betting.Selection) *betting.Bet {
	t.Helper()
	b, _, err := db.PlaceBet(context.Background(), &betting.PlaceRequest{UserID: u.ID, Slip: slip(stake, s)})
	if err != nil {
		t.Fatalf("PlaceBet: %v", err)
	}
	return b
}

func containsMatch(ms []*betting.Match, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

func matchIDs(ms []*betting.Match) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func betIDs(bs []*betting.Bet) []string {
	var ids []string
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	return ids
}
