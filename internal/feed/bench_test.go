package feed_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// BenchmarkIngestCycle measures one ingestion cycle of 1,000 matches with
// three priced markets each: "new" creates them all; "changed" is a
// steady-state poll in which every price moved (a new odds version for
// every selection). It runs on SQLite, and on PostgreSQL too when
// PB_TEST_POSTGRES_URL is set:
//
//	go test -run=^$ -bench=IngestCycle -benchtime=5x ./internal/feed/
func BenchmarkIngestCycle(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchIngest(b, func() string { return filepath.Join(b.TempDir(), "pb.db") })
	})
	if base := os.Getenv("PB_TEST_POSTGRES_URL"); base != "" {
		b.Run("postgres", func(b *testing.B) {
			benchIngest(b, func() string { return newBenchDatabase(b, base) })
		})
	}
}

func benchIngest(b *testing.B, url func() string) {
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	mkFixtures := func(shift odds.Odds) []feed.Fixture {
		fs := make([]feed.Fixture, 1000)
		for i := range fs {
			l, _ := odds.ParseLine("2.5")
			h, _ := odds.ParseLine("-0.5")
			fs[i] = feed.Fixture{Ref: fmt.Sprintf("football:%d", i), Sport: "football", Status: "NS", State: sport.Scheduled,
				KickoffAt: day.Add(time.Duration(i%600) * time.Minute), League: feed.Named{Ref: fmt.Sprint(i % 20), Name: fmt.Sprintf("League %d", i%20)},
				Home: feed.Named{Ref: fmt.Sprint(2 * i), Name: fmt.Sprintf("Team %d", 2*i)}, Away: feed.Named{Ref: fmt.Sprint(2*i + 1), Name: fmt.Sprintf("Team %d", 2*i+1)},
				Markets: []feed.Market{
					{Kind: betting.OneXTwo, Source: "bench", Prices: map[string]odds.Odds{"home": 200 + shift, "draw": 340 + shift, "away": 380 + shift}},
					{Kind: betting.Total, Line: &l, Source: "bench", Prices: map[string]odds.Odds{"over": 190 + shift, "under": 190 - shift}},
					{Kind: betting.Handicap, Line: &h, Source: "bench", Prices: map[string]odds.Odds{"home": 195 + shift, "away": 185 - shift}},
				}}
		}
		return fs
	}
	for _, phase := range []string{"new", "changed"} {
		b.Run(phase, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url()})
				if err != nil {
					b.Fatal(err)
				}
				p := &scripted{}
				in := &feed.Ingester{Provider: p, Store: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Holder: "bench", Zone: time.UTC,
					Now: clocktest.New(day.Add(-6 * time.Hour)).Now}
				p.set(mkFixtures(0)...)
				if phase == "changed" {
					if _, err := in.Cycle(context.Background()); err != nil {
						b.Fatal(err)
					}
					p.set(mkFixtures(5)...)
				}
				b.StartTimer()
				st, err := in.Cycle(context.Background())
				b.StopTimer()
				if err != nil || st.Fixtures != 1000 || (phase == "new" && st.Created != 1000) || (phase == "changed" && st.OddsChanged != 7000) {
					b.Fatalf("cycle = %+v, %v", st, err)
				}
				db.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/cycle")
		})
	}
}

func newBenchDatabase(b *testing.B, _ string) string {
	return pgtest.NewDatabase(b)
}
