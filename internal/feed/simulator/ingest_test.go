package simulator_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/feed/simulator"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// narrowed is the simulator with its fixtures limited to one league once
// keep is set. Each full poll upserts some 900 matches, which SQLite under
// the race detector takes seconds over; after the first full cycle the
// clock-stepping cycles need only the league of the match bet on.
type narrowed struct {
	*simulator.Simulator
	mu   sync.Mutex
	keep string
}

func (p *narrowed) Fixtures(ctx context.Context, day time.Time, loc *time.Location) ([]feed.Fixture, error) {
	fs, err := p.Simulator.Fixtures(ctx, day, loc)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keep == "" || err != nil {
		return fs, err
	}
	return slices.DeleteFunc(fs, func(f feed.Fixture) bool { return f.League.Name != p.keep }), nil
}

// TestIngestAndSettle runs the ingester on the simulator at speed 60 into
// SQLite: today's matches of every sport arrive priced, and a bet on the
// next kick-off is settled from the simulator's result within five
// minutes.
func TestIngestAndSettle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := clocktest.New(time.Date(2026, 11, 24, 3, 3, 40, 0, time.UTC)) // 12:03:40 KST
	now := clock.Now
	db.Now = now
	sim, err := simulator.New(simulator.Config{Seed: 1, Speed: 60, Now: now, Margin: odds.DefaultMargin})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	kst, _ := time.LoadLocation("Asia/Seoul")
	provider := &narrowed{Simulator: sim}
	in := &feed.Ingester{Provider: provider, Store: db, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Holder: "test", Zone: kst,
		Interval: time.Second, VoidPostponedAfter: 48 * time.Hour, Now: now}

	st, err := in.Cycle(ctx)
	if err != nil || st.Created < 600 || st.Skipped > 0 || st.Held > 0 {
		t.Fatalf("first cycle = %+v, %v\n%s", st, err, logs.String())
	}
	today := time.Date(2026, 11, 24, 0, 0, 0, 0, kst)
	for _, sp := range sport.Sports {
		ms, _, err := db.FindMatches(ctx, sport.MatchFilter{Sport: sp.Slug, From: now(), To: today.AddDate(0, 0, 1), State: sport.Scheduled, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		priced := 0
		for _, m := range ms {
			if mk := m.MainMarket(); mk != nil && len(mk.Selections) == map[bool]int{true: 3, false: 2}[sp.HasDraw] && len(m.Markets) == 3 {
				priced++
			}
		}
		if priced < 10 {
			t.Errorf("%s: %d of %d scheduled matches today priced", sp.Slug, priced, len(ms))
		}
	}

	// A player backs the favourite of the next match to kick off.
	next, _, err := db.FindMatches(ctx, sport.MatchFilter{From: now(), State: sport.Scheduled, Limit: 1})
	if err != nil || len(next) == 0 {
		t.Fatalf("no next match: %v", err)
	}
	m := next[0]
	sel := slices.MinFunc(m.MainMarket().Selections, func(a, b *betting.Selection) int { return int(a.Odds - b.Odds) })
	u, err := db.CreateUser(ctx, account.NewUser{Username: "kim", Nickname: "kim", Email: "k@example.com", PasswordHash: "x", Role: "player", Bonus: 5000})
	if err != nil {
		t.Fatal(err)
	}
	bet, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: betting.Slip{Stake: 1000, Legs: []betting.LegRequest{{SelectionID: sel.ID, Odds: sel.Odds}}}})
	if err != nil {
		t.Fatal(err)
	}

	// The clock runs on in 20-second steps, one poll each.
	provider.mu.Lock()
	provider.keep = m.League.Name
	provider.mu.Unlock()
	var settled *betting.Bet
	for now().Before(m.KickoffAt.Add(5 * time.Minute)) {
		clock.Advance(20 * time.Second)
		if _, err := in.Cycle(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := db.FindBet(ctx, u.ID, bet.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.State != betting.Open {
			settled = b
			break
		}
	}
	if settled == nil {
		t.Fatalf("bet on %s %s v %s (kick-off %s) still open five minutes after kick-off", m.Sport, m.Home.Name, m.Away.Name, m.KickoffAt.Format("15:04"))
	}
	ev := settled.Settlement.Legs[0]
	if ev.Source != "simulator" || !strings.Contains(ev.ProviderMatchID, ":") || !slices.Contains([]string{"FT", "AET", "PEN", "AOT", "AP"}, ev.Status) || ev.Score == nil {
		t.Fatalf("settlement evidence = %+v", ev)
	}
	t.Logf("%s %s v %s kicked off %s; bet on %s at %s %s at %s: %s %d-%d (regulation %d-%d)",
		m.Sport, m.Home.Name, m.Away.Name, m.KickoffAt.Format("15:04:05"), sel.Name, sel.Odds, settled.State, now().Format("15:04:05"),
		ev.Status, ev.Score.Home, ev.Score.Away, ev.Score.Regulation.Home, ev.Score.Regulation.Away)
	if d, err := db.VerifyLedger(ctx); err != nil || len(d) > 0 {
		t.Fatalf("ledger %v %v", d, err)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("errors logged:\n%s", logs.String())
	}
}

// BenchmarkFirstStartHistory is what a first start does before its first
// poll: the simulator's history, imported into a fresh SQLite database,
// and into a fresh PostgreSQL one when PB_TEST_POSTGRES_URL is set.
func BenchmarkFirstStartHistory(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		firstStartHistory(b, func(i int) string { return filepath.Join(b.TempDir(), fmt.Sprintf("pb%d.db", i)) })
	})
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv("PB_TEST_POSTGRES_URL") == "" {
			b.Skip("PB_TEST_POSTGRES_URL is not set")
		}
		firstStartHistory(b, func(int) string { return pgtest.NewDatabase(b) })
	})
}

func firstStartHistory(b *testing.B, newURL func(i int) string) {
	ctx := context.Background()
	until := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	var generate time.Duration // of the op, the simulator's share
	for i := range b.N {
		b.StopTimer()
		db, err := sqlstore.Open(ctx, sqlstore.Config{URL: newURL(i)})
		if err != nil {
			b.Fatal(err)
		}
		sim, err := simulator.New(simulator.Config{Seed: 1, Now: func() time.Time { return until }, Margin: odds.DefaultMargin})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		past, err := sim.History(ctx, until)
		if err != nil {
			b.Fatal(err)
		}
		made := time.Now()
		n, err := db.ImportHistory(ctx, sim.Name(), past)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		generate += made.Sub(start)
		b.ReportMetric(float64(n), "matches")
		b.ReportMetric(generate.Seconds()/float64(i+1), "s-generate/op")
		db.Close()
		b.StartTimer()
	}
}
