package sqlstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/storetest"
)

// The store contract holds with the list cache on: every catalogue write
// the contract makes through the store must refresh what it reads next.
func TestSQLiteWithListCache(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t testing.TB) *sqlstore.DB {
		return openCachedSQLite(t, filepath.Join(t.TempDir(), "pb.db"))
	})
}

func openCachedSQLite(t testing.TB, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: path, ListCacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// clock is a settable clock for the store's Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestListCache(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "pb.db")
		open := func(ttl time.Duration) *sqlstore.DB {
			db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: path, ListCacheTTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		a := open(5 * time.Second)
		testListCache(t, a, open(0))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		open := func(ttl time.Duration) *sqlstore.DB {
			db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url, ListCacheTTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		a := open(5 * time.Second)
		testListCache(t, a, open(0))
	})
}

// testListCache checks the cache of a (TTL 5 s) against writes made
// through a itself, which it must see at once, and writes made by other,
// another instance on the same database, which it may miss for the TTL
// and no longer.
func testListCache(t *testing.T, a, other *sqlstore.DB) {
	ctx := context.Background()
	day := time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: day.Add(10 * time.Hour)}
	a.Now, other.Now = clk.now, clk.now
	list := func() []*betting.Match {
		t.Helper()
		ms, _, err := a.FindMatches(ctx, sport.MatchFilter{Sport: "football", From: day, To: day.Add(24 * time.Hour), Limit: 200, MainMarketOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	count := func() int {
		t.Helper()
		cs, err := a.CountBySport(ctx, day, day.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Slug == "football" {
				return c.Today
			}
		}
		return -1
	}
	create := func(db *sqlstore.DB, home string, kickoff time.Time) *betting.Match {
		t.Helper()
		x, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 340, "away": 380})
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: "L", Home: home, Away: home + " away", KickoffAt: kickoff, Markets: []*betting.Market{x}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	m1 := create(a, "One", day.Add(20*time.Hour))
	first := list()
	if len(first) != 1 || count() != 1 {
		t.Fatalf("list %d, count %d; want 1 and 1", len(first), count())
	}
	if again := list(); &again[0] != &first[0] {
		t.Error("a second read of the same list read the database again")
	}

	// This instance's writes are seen at once.
	create(a, "Two", day.Add(21*time.Hour))
	if n := len(list()); n != 2 || count() != 2 {
		t.Fatalf("after a create: list %d, count %d; want 2 and 2", n, count())
	}
	home := m1.MainMarket().Selections[0]
	if err := a.UpdateOdds(ctx, home.ID, odds.Odds(215)); err != nil {
		t.Fatal(err)
	}
	if got := list()[0].MainMarket().Selections[0].Odds; got != 215 {
		t.Errorf("after UpdateOdds: odds %v, want 2.15", got)
	}
	if err := a.SetMatchState(ctx, m1.ID, sport.Live); err != nil {
		t.Fatal(err)
	}
	if got := list()[0]; got.ID != m1.ID || got.State != sport.Live {
		t.Errorf("after SetMatchState: first %s %s, want %s live", got.ID, got.State, m1.ID)
	}

	// Another instance's write is seen once the TTL has passed.
	create(other, "Three", day.Add(22*time.Hour))
	if n := len(list()); n != 2 {
		t.Fatalf("within the TTL: %d matches, want the cached 2", n)
	}
	clk.add(5 * time.Second)
	if n := len(list()); n != 3 || count() != 3 {
		t.Fatalf("after the TTL: list %d, count %d; want 3 and 3", n, count())
	}

	// A market closes at kick-off without any write: an entry never
	// outlives the next kick-off among its open markets.
	soon := clk.now().Add(2 * time.Second)
	create(a, "Four", soon)
	open := func() bool {
		for _, m := range list() {
			if m.Home.Name == "Four" {
				return m.MainMarket() != nil && m.MainMarket().Open
			}
		}
		t.Fatal("match Four not listed")
		return false
	}
	if !open() {
		t.Fatal("before kick-off the market is closed")
	}
	clk.add(2 * time.Second)
	if open() {
		t.Error("at kick-off the cached list still shows the market open")
	}
}
