package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pointsbook/pointsbook/internal/procstat"
)

// scenario is one kind of measured run.
type scenario struct {
	key  string
	desc string
	pair bool    // two instances (or nodes) sharing the run's Redis
	rate float64 // publishes per second over all rooms; 0: idle
}

func (l *wsload) scenarios() map[string]scenario {
	o := l.opt
	return map[string]scenario{
		"one":  {key: "one", desc: "one instance", rate: o.rate},
		"two":  {key: "two", desc: "two instances + Redis, publish on A, clients on B", pair: true, rate: o.rate},
		"chat": {key: "chat", desc: "one instance, chat-like rate", rate: o.chatRate},
		"idle": {key: "idle", desc: "idle subscribed connections, one instance"},
	}
}

// fanout is one run's figures.
type fanout struct {
	target      string
	published   int64 // publishes the server accepted
	pubErrors   int64
	pubWindow   time.Duration // first publish sent to last publish answered
	pubLate     time.Duration // the latest a publish started after it was due
	pubP99      time.Duration // p99 of a publish request's own time
	expected    int64         // deliveries owed: accepted publishes × their room's clients
	delivered   int64         // distinct events received
	dups        int64
	undelivered int64
	ended       int // clients whose connection ended during the run
	perSec      float64
	offered     float64 // deliveries/s the accepted publishes asked for
	p50, p99    time.Duration
	cpu         time.Duration // the target's server processes
	redisCPU    time.Duration
	selfCPU     time.Duration // this generator's, clients and publishers
	cpuPerM     float64       // CPU seconds per million deliveries
}

// idle is one idle run's figure.
type idle struct {
	target        string
	before, after int64 // RSS bytes
	perConn       float64
}

// runFanout deploys t, subscribes the clients, publishes at the
// scenario's rate for -duration and counts what arrived after the drain.
func (l *wsload) runFanout(ctx context.Context, t target, sc scenario) (*fanout, error) {
	d, err := t.deploy(ctx, sc.pair)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	clients, err := dialAll(ctx, l.opt.clients, d.clientURL, d.proto, d.channels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", t.name(), err, d.logs())
	}
	defer closeAll(clients)
	perRoom := make([]int64, len(d.channels))
	for _, c := range clients {
		perRoom[c.room]++
	}
	// The first events of each subscription and Pointsbook's head-count
	// pushes go out before the measured window.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	run := l.runID.Add(1)
	for _, c := range clients {
		c.start(run)
	}
	cpu0, err := d.cpu()
	if err != nil {
		return nil, err
	}
	rcpu0 := l.redisCPU()
	self0, _ := procstat.CPU(os.Getpid())

	accepted, errs, window, late, pubP99 := l.publish(ctx, d, run, sc.rate)
	var expected int64
	for room, n := range accepted {
		expected += n * perRoom[room]
	}
	// Drain: wait until everything owed has arrived, at most -drain.
	deadline := time.Now().Add(l.opt.drain)
	for time.Now().Before(deadline) {
		var got int64
		for _, c := range clients {
			c.mu.Lock()
			got += c.got
			c.mu.Unlock()
		}
		if got >= expected {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu1, err := d.cpu()
	if err != nil {
		return nil, err
	}
	f := &fanout{target: t.name(), pubErrors: errs, pubWindow: window, pubLate: late, pubP99: pubP99, expected: expected,
		cpu: cpu1 - cpu0, redisCPU: l.redisCPU() - rcpu0}
	if self1, err := procstat.CPU(os.Getpid()); err == nil {
		f.selfCPU = self1 - self0
	}
	for _, n := range accepted {
		f.published += n
	}
	var lat hist
	var last time.Time
	for _, c := range clients {
		tl := c.tally(&lat)
		f.delivered += tl.got
		f.dups += tl.dup
		if tl.ended {
			f.ended++
		}
		if tl.last.After(last) {
			last = tl.last
		}
	}
	f.undelivered = max(expected-f.delivered, 0)
	span := window
	if !last.IsZero() {
		span = max(span, last.Sub(l.pubStart))
	}
	if span > 0 {
		f.perSec = float64(f.delivered) / span.Seconds()
		f.offered = float64(expected) / window.Seconds()
	}
	f.p50, f.p99 = lat.quantile(0.50), lat.quantile(0.99)
	if f.delivered > 0 {
		f.cpuPerM = f.cpu.Seconds() / (float64(f.delivered) / 1e6)
	}
	return f, nil
}

// publish sends rate events a second for -duration from -publishers
// concurrent requests and returns how many each room's server accepted,
// the failures, and the time from the first request to the last answer.
// An event's text carries the time its request was due.
func (l *wsload) publish(ctx context.Context, d *deployment, run uint64, rate float64) (accepted []int64, errs int64, window, late, p99 time.Duration) {
	total := int(rate * l.opt.duration.Seconds())
	rooms := len(d.channels)
	counts := make([]atomic.Int64, rooms)
	var failed atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: l.opt.publishers + 4, DisableCompression: true}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	// Unbuffered: when every publisher is busy the schedule slips, and
	// the achieved rate shows it.
	jobs := make(chan int)
	start := time.Now()
	l.pubStart = start
	interval := time.Duration(float64(time.Second) / rate)
	var maxLate atomic.Int64
	var pubMu sync.Mutex
	var pubHist hist
	var wg sync.WaitGroup
	var errOnce sync.Once
	for range l.opt.publishers {
		wg.Go(func() {
			for i := range jobs {
				room := i % rooms
				// The event is stamped with the time it was due, not the
				// time a publisher got to it: a server whose publishing
				// path holds the publishers back has that wait counted in
				// its latency (no coordinated omission).
				due := start.Add(time.Duration(i) * interval)
				if late := time.Since(due); late > 0 {
					maxLate.Store(max(maxLate.Load(), int64(late)))
				}
				t0 := time.Now()
				err := d.publish(ctx, hc, room, formatMarker(run, uint64(i), due))
				took := time.Since(t0)
				pubMu.Lock()
				pubHist.add(took)
				pubMu.Unlock()
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { l.logf("  publish error (first of the run): %v", err) })
					continue
				}
				counts[room].Add(1)
			}
		})
	}
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	window = time.Since(start)
	accepted = make([]int64, rooms)
	for i := range counts {
		accepted[i] = counts[i].Load()
	}
	return accepted, failed.Load(), window, time.Duration(maxLate.Load()), pubHist.quantile(0.99)
}

// runIdle deploys one instance of t and measures its RSS before and
// after -clients idle subscribed connections.
func (l *wsload) runIdle(ctx context.Context, t target) (*idle, error) {
	d, err := t.deploy(ctx, false)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	pid := d.procs[0].pid()
	settle := func() error {
		select {
		case <-time.After(3 * time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := settle(); err != nil {
		return nil, err
	}
	before, err := procstat.RSS(pid)
	if err != nil {
		return nil, err
	}
	clients, err := dialAll(ctx, l.opt.clients, d.clientURL, d.proto, d.channels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", t.name(), err, d.logs())
	}
	defer closeAll(clients)
	if err := settle(); err != nil {
		return nil, err
	}
	after, err := procstat.RSS(pid)
	if err != nil {
		return nil, err
	}
	return &idle{target: t.name(), before: before, after: after, perConn: float64(after-before) / float64(len(clients))}, nil
}

func (l *wsload) redisCPU() time.Duration {
	if l.redis == nil {
		return 0
	}
	t, _ := procstat.CPU(l.redis.pid())
	return t
}
