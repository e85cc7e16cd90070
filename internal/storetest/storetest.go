// Package storetest is the store contract: one suite of behaviours that
// every database the store supports must pass. sqlstore runs it on SQLite
// always and on PostgreSQL when PB_TEST_POSTGRES_URL is set, in the manner
// of testing/fstest.TestFS.
package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// Opener returns a new, empty, migrated store for one test. Each call
// must give a store that shares no rows with any other.
type Opener func(t testing.TB) *sqlstore.DB

// Run runs the whole contract.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"Identities", testIdentities},
		{"EmailCodes", testEmailCodes},
		{"MailThrottle", testMailThrottle},
		{"PasswordReset", testPasswordReset},
		{"PasswordChange", testPasswordChange},
		{"Profile", testProfile},
		{"NicknameFold", testNicknameFold},
		{"DeleteUser", testDeleteUser},
		{"Ledger", testLedger},
		{"Statement", testStatement},
		{"Catalog", testCatalog},
		{"MatchListOrder", testMatchListOrder},
		{"MatchStats", testMatchStats},
		{"MatchResult", testMatchResult},
		{"UpsertFixture", testUpsertFixture},
		{"Lease", testLease},
		{"ImportHistory", testImportHistory},
		{"LiveScore", testLiveScore},
		{"OddsHistory", testOddsHistory},
		{"StakedBefore", testStakedBefore},
		{"PlaceBet", testPlaceBet},
		{"BetLegMatches", testBetLegMatches},
		{"PlaceBetRefusals", testPlaceBetRefusals},
		{"Idempotency", testIdempotency},
		{"MixedBatch", testMixedBatch},
		{"ConcurrentBets", testConcurrentBets},
		{"Settlement", testSettlement},
		{"SettlementRace", testSettlementRace},
		{"VoidAndCorrection", testVoidAndCorrection},
		{"Accumulator", testAccumulator},
		{"Randomized", testRandomized},
		{"StakeLimits", testStakeLimits},
		{"DailyStakeCap", testDailyStakeCap},
		{"StakeLimitRace", testStakeLimitRace},
		{"PlayBlocks", testPlayBlocks},
		{"ActivityStatement", testActivityStatement},
		{"Programmes", testProgrammes},
		{"TopupStatus", testTopupStatus},
		{"Chat", testChat},
		{"Notices", testNotices},
		{"MatchEvents", testMatchEvents},
		{"CreditNotices", testCreditNotices},
		{"Audit", testAudit},
		{"AuditList", testAuditList},
		{"LimitNotices", testLimitNotices},
		{"SessionEvents", testSessionEvents},
		{"Observer", testObserver},
	}
	for _, tt := range tests {
		// Every test opens a store of its own.
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

// clock is a settable clock for a store.
type clock struct{ ns atomic.Int64 }

func newClock(db *sqlstore.DB) *clock {
	c := &clock{}
	c.set(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	db.Now = c.now
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

var userSeq atomic.Int64

func mustUser(t testing.TB, db *sqlstore.DB, bonus int64) *account.User {
	t.Helper()
	n := userSeq.Add(1)
	u, err := db.CreateUser(context.Background(), account.NewUser{
		Username: fmt.Sprintf("player%d", n), Nickname: fmt.Sprintf("nick%d", n), Email: fmt.Sprintf("p%d@example.com", n),
		PasswordHash: "x", Role: account.Player, Bonus: bonus,
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func mustBalance(t testing.TB, db *sqlstore.DB, u *account.User) int64 {
	t.Helper()
	ctx := context.Background()
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

func prices(m map[string]string) map[string]odds.Odds {
	out := map[string]odds.Odds{}
	for k, v := range m {
		o, err := odds.Parse(v)
		if err != nil {
			panic(err)
		}
		out[k] = o
	}
	return out
}

func lineOf(s string) *odds.Line {
	l, err := odds.ParseLine(s)
	if err != nil {
		panic(err)
	}
	return &l
}

var matchSeq atomic.Int64

// mustMatch creates a football match kicking off at kickoff with a 1x2
// (2.00/3.40/3.80), a total 2.5 (1.90/1.90) and a handicap -1 (2.50/1.55).
func mustMatch(t testing.TB, db *sqlstore.DB, kickoff time.Time) *betting.Match {
	t.Helper()
	n := matchSeq.Add(1)
	x, _ := betting.NewMarket(betting.OneXTwo, nil, prices(map[string]string{"home": "2.00", "draw": "3.40", "away": "3.80"}))
	tot, _ := betting.NewMarket(betting.Total, lineOf("2.5"), prices(map[string]string{"over": "1.90", "under": "1.90"}))
	hc, _ := betting.NewMarket(betting.Handicap, lineOf("-1"), prices(map[string]string{"home": "2.50", "away": "1.55"}))
	m, err := db.CreateMatch(context.Background(), betting.NewMatch{
		Sport: "football", League: "Test League", Home: fmt.Sprintf("Home %d", n), Away: fmt.Sprintf("Away %d", n),
		KickoffAt: kickoff, Markets: []*betting.Market{x, tot, hc},
	})
	if err != nil {
		t.Fatalf("CreateMatch: %v", err)
	}
	return m
}

// sel returns the selection of the match's market kind with the name.
func sel(t testing.TB, m *betting.Match, kind betting.MarketKind, name string) *betting.Selection {
	t.Helper()
	for _, mk := range m.Markets {
		if mk.Kind != kind {
			continue
		}
		for _, s := range mk.Selections {
			if s.Name == name {
				return s
			}
		}
	}
	t.Fatalf("no selection %s/%s", kind, name)
	return nil
}

func slip(stake int64, sels ...*betting.Selection) betting.Slip {
	s := betting.Slip{Stake: stake}
	for _, x := range sels {
		s.Legs = append(s.Legs, betting.LegRequest{SelectionID: x.ID, Odds: x.Odds})
	}
	return s
}

func mustPlace(t testing.TB, db *sqlstore.DB, u *account.User, s betting.Slip) *betting.Bet {
	t.Helper()
	b, _, err := db.PlaceBet(context.Background(), &betting.PlaceRequest{UserID: u.ID, Slip: s})
	if err != nil {
		t.Fatalf("PlaceBet: %v", err)
	}
	return b
}

// mustVerify checks the ledger invariants.
func mustVerify(t testing.TB, db *sqlstore.DB) {
	t.Helper()
	d, err := db.VerifyLedger(context.Background())
	if err != nil || len(d) > 0 {
		t.Fatalf("VerifyLedger: %v, discrepancies %+v", err, d)
	}
}
