package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// TestPlacementSpans places three bets that share one group commit (the
// writer waits until the batch is full) and reads the spans: each call is
// a span of its caller's trace; the batch is one span, parented by one
// call and linked to the two others; its COMMIT is a child of it; a
// refusal is an answer, not a failed span.
func TestPlacementSpans(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := filepath.Join(t.TempDir(), "pb.db")
			if dialect == "postgres" {
				url = pgtest.NewDatabase(t)
			}
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
			// One writer, and a batch that commits when three bets are in
			// it (the wait is only a bound).
			db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url, Tracer: tp, Writers: 1, GroupCommitMax: 3, GroupCommitWait: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			ctx := context.Background()
			mk, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 340, "away": 380})
			if err != nil {
				t.Fatal(err)
			}
			m, err := db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: "Trace League", Home: "Home", Away: "Away",
				KickoffAt: time.Now().UTC().Add(3 * time.Hour), Markets: []*betting.Market{mk}})
			if err != nil {
				t.Fatal(err)
			}
			sel := m.Markets[0].Selections[0]
			if len(exp.GetSpans()) != 0 {
				t.Fatalf("untraced calls made spans: %v", exp.GetSpans())
			}
			tracer := tp.Tracer("test")
			stakes := []int64{100, 200, 1} // the last is under the smallest stake
			callers := make([]trace.SpanContext, len(stakes))
			errs := make([]error, len(stakes))
			var wg sync.WaitGroup
			for i, stake := range stakes {
				name := fmt.Sprintf("tracer%d", i)
				u, err := db.CreateUser(ctx, account.NewUser{Username: name, Nickname: name, Email: name + "@example.com", PasswordHash: "x", Role: account.Player, Bonus: 10_000})
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, caller := tracer.Start(ctx, "request")
					defer caller.End()
					callers[i] = caller.SpanContext()
					_, _, errs[i] = db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: betting.Slip{Stake: stake, OddsPolicy: betting.AcceptAny,
						Legs: []betting.LegRequest{{SelectionID: sel.ID, Odds: sel.Odds}}}})
				}()
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil || errs[2] == nil {
				t.Fatalf("placements: %v", errs)
			}

			byName := map[string][]tracetest.SpanStub{}
			for _, s := range exp.GetSpans() {
				byName[s.Name] = append(byName[s.Name], s)
			}
			calls, batches, commits := byName["sqlstore.PlaceBet"], byName["bet batch"], byName["COMMIT"]
			if len(calls) != 3 || len(batches) != 1 || len(commits) != 1 {
				t.Fatalf("spans: %d calls, %d batches, %d commits; want 3, 1, 1", len(calls), len(batches), len(commits))
			}
			callOf := map[trace.SpanID]tracetest.SpanStub{} // by the call's own id
			for _, c := range calls {
				found := false
				for _, sc := range callers {
					if c.Parent.SpanID() == sc.SpanID() && c.SpanContext.TraceID() == sc.TraceID() {
						found = true
					}
				}
				if !found {
					t.Errorf("call span %s is in no caller's trace", c.SpanContext.SpanID())
				}
				callOf[c.SpanContext.SpanID()] = c
			}
			batch := batches[0]
			parent, ok := callOf[batch.Parent.SpanID()]
			if !ok || batch.SpanContext.TraceID() != parent.SpanContext.TraceID() {
				t.Fatalf("the batch span's parent %s is not a placement call", batch.Parent.SpanID())
			}
			linked := map[trace.SpanID]bool{}
			for _, l := range batch.Links {
				linked[l.SpanContext.SpanID()] = true
			}
			for id := range callOf {
				if id != parent.SpanContext.SpanID() && !linked[id] {
					t.Errorf("call %s is neither the batch's parent nor linked to it (links %v)", id, batch.Links)
				}
			}
			if c := commits[0]; c.Parent.SpanID() != batch.SpanContext.SpanID() || c.SpanKind != trace.SpanKindClient {
				t.Errorf("COMMIT parent %s kind %v; want the batch %s, client", c.Parent.SpanID(), c.SpanKind, batch.SpanContext.SpanID())
			}
			want := map[string]string{"postgres": "postgresql", "sqlite": "sqlite"}[dialect]
			for _, s := range []tracetest.SpanStub{batch, commits[0]} {
				if got := attr(s, "db.system.name"); got != want {
					t.Errorf("%s: db.system.name = %q, want %q", s.Name, got, want)
				}
			}
			if got := attr(batch, "pointsbook.batch.size"); got != "3" {
				t.Errorf("batch size = %s", got)
			}
			refusals := 0
			for _, c := range calls {
				if c.Status.Code == codes.Error {
					t.Errorf("call %s failed: %v", c.SpanContext.SpanID(), c.Status)
				}
				if attr(c, "pointsbook.refusal") == "stake_out_of_limits" {
					refusals++
				}
			}
			if refusals != 1 {
				t.Errorf("%d calls carry the refusal, want 1", refusals)
			}

			// Any other transaction commits as a span of a traced caller
			// only.
			exp.Reset()
			tctx, caller := tracer.Start(ctx, "request")
			if _, err := db.CreateUser(tctx, account.NewUser{Username: "traced", Nickname: "traced", Email: "traced@example.com", PasswordHash: "x", Role: account.Player}); err != nil {
				t.Fatal(err)
			}
			caller.End()
			spans := exp.GetSpans()
			if len(spans) != 2 || spans[0].Name != "COMMIT" || spans[0].Parent.SpanID() != caller.SpanContext().SpanID() {
				t.Errorf("traced sign-up: spans %v, want its COMMIT under the caller", names(spans))
			}
		})
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// BenchmarkPlaceBetTracing is a placement through the group-commit writer
// on SQLite, from 16 goroutines, with tracing off (no tracer: the store
// makes no span) and on (every bet's caller in a sampled trace, its
// spans handed to a batch processor whose exporter drops them): the
// store's share of tracing's cost, per bet, in the process's CPU time
// (cpu-µs/bet) as well as the wall clock.
//
//	go test -run='^$' -bench=PlaceBetTracing -benchtime=3000x ./internal/sqlstore/
func BenchmarkPlaceBetTracing(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		b.Run(name, func(b *testing.B) {
			cfg := sqlstore.Config{URL: filepath.Join(b.TempDir(), "pb.db")}
			var tracer trace.Tracer
			if on {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
				b.Cleanup(func() { tp.Shutdown(context.Background()) }) //nolint:errcheck // dropped
				cfg.Tracer, tracer = tp, tp.Tracer("bench")
			}
			db, err := sqlstore.Open(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			users := benchPlayers(b, db, "tracing", 64)
			sels := benchMatch(b, db, "Away").Markets[0].Selections
			var next atomic.Int64
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ResetTimer()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					ctx := context.Background()
					var span trace.Span
					if tracer != nil {
						ctx, span = tracer.Start(ctx, "request")
					}
					s := sels[n%int64(len(sels))]
					_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: users[n%int64(len(users))], Slip: betting.Slip{Stake: 100,
						OddsPolicy: betting.AcceptAny, Legs: []betting.LegRequest{{SelectionID: s.ID, Odds: s.Odds}}}})
					if span != nil {
						span.End()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			// The wall clock counts time spent waiting for a core on a
			// shared machine; the process's CPU time per bet is the cost.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/bet")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// dropSpans is an exporter that drops what it is handed.
type dropSpans struct{}

func (dropSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (dropSpans) Shutdown(context.Context) error                             { return nil }
