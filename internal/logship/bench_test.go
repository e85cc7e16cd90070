package logship

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// accessLine logs a record shaped like an access line (the most common
// document: 16 fields, about 600 bytes).
func accessLine(log *slog.Logger, i int) {
	log.LogAttrs(context.Background(), slog.LevelInfo, "request",
		slog.String("event.dataset", "pointsbook.access"),
		slog.String("http.request.method", "GET"),
		slog.String("http.route", "GET /api/v1/matches/{id}"),
		slog.String("url.path", "/api/v1/matches/12345"),
		slog.String("url.query", "sport=football&page=2"),
		slog.Int("http.response.status_code", 200),
		slog.Int("http.response.body.bytes", 5123),
		slog.Int64("event.duration", 1_234_567),
		slog.String("user.id", "4711"),
		slog.String("user.name", "player4711"),
		slog.String("client.ip", "203.0.113.7"),
		slog.String("client.geo.country_iso_code", "KR"),
		slog.String("client.geo.city_name", "Seoul"),
		slog.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
		slog.String("http.request.id", "01JEXAMPLE0000000000000000"),
		slog.Int("i", i),
	)
}

// BenchmarkShipping is the shipping throughput to the fake _bulk server
// (the whole path: slog's encoding, the tee, the buffer, the bulk
// indexer, HTTP and the server's parsing, all on this machine): b.N
// access lines are logged as fast as one goroutine can, then the sink
// is stopped, which sends the rest. events/s counts documents the
// server accepted per second of the whole run; dropped/op shows whether
// logging outran shipping.
//
//	go test -run '^$' -bench BenchmarkShipping -benchtime 500000x ./internal/logship/
func BenchmarkShipping(b *testing.B) {
	f := newFake(b, func(f *fakeOpenSearch) { f.keepDocs, f.validateEvery = false, 64 })
	s, err := New(Config{URL: f.srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(NewHandler(io.Discard, slog.LevelInfo, s))
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := range b.N {
		accessLine(log, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	<-done
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	st := s.Stats().Index[Access]
	if st.Failed != 0 || uint64(f.accepted.Load()) != st.Shipped {
		b.Fatalf("failed %d, accepted %d of %d shipped", st.Failed, f.accepted.Load(), st.Shipped)
	}
	b.ReportMetric(float64(st.Shipped)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
	// The whole process's CPU per shipped document (logging, shipping
	// and the fake server): on a shared machine, where wall-clock
	// throughput depends on the neighbours, 1e6 / this is the events/s
	// one free core sustains.
	b.ReportMetric(float64(cpu.Microseconds())/float64(st.Shipped), "cpu-µs/event")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLog is the cost of one log call to the caller (a request
// logging its access line), in parallel as requests do: to stdout only,
// teed to a sink that ships, and teed to a sink whose cluster stalls
// (every call still returns at once; the documents are dropped).
//
//	go test -run '^$' -bench BenchmarkLog$ ./internal/logship/
func BenchmarkLog(b *testing.B) {
	stall := func(f *fakeOpenSearch) {
		f.bulk = func(_ http.ResponseWriter, r *http.Request, _ int) bool {
			f.stall(r)
			return true
		}
	}
	for _, bc := range []struct {
		name string
		fake func(*fakeOpenSearch)
	}{
		{"stdout-only", nil},
		{"shipping", func(f *fakeOpenSearch) { f.keepDocs = false }},
		{"stalled", stall},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var s *Sink
			if bc.fake != nil {
				f := newFake(b, bc.fake)
				var err error
				if s, err = New(Config{URL: f.srv.URL, RequestTimeout: time.Hour, FlushTimeout: time.Hour}); err != nil {
					b.Fatal(err)
				}
				go s.Run(context.Background())
				b.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
					defer cancel()
					s.Stop(ctx)
				})
			}
			log := slog.New(NewHandler(io.Discard, slog.LevelInfo, s))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					accessLine(log, i)
					i++
				}
			})
			b.StopTimer()
			if s != nil {
				st := s.Stats().Index[Access]
				b.ReportMetric(float64(st.Dropped)/float64(st.Sent), "dropped/op")
			}
		})
	}
}
