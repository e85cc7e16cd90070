package logship

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/logtest"
)

// running is a sink shipping to a fake cluster, with the process log
// teed to it and to out.
type running struct {
	sink *Sink
	log  *slog.Logger
	out  *logtest.Buffer
	done chan error
}

func start(t testing.TB, f *fakeOpenSearch, mod func(*Config)) *running {
	t.Helper()
	cfg := Config{
		URL: f.srv.URL, FlushInterval: 20 * time.Millisecond, FlushBytes: 64 << 10,
		RequestTimeout: 2 * time.Second, FlushTimeout: 5 * time.Second,
		RetryBackoff: func(int) time.Duration { return time.Millisecond },
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{sink: s, out: &logtest.Buffer{}, done: make(chan error, 1)}
	r.log = slog.New(NewHandler(r.out, slog.LevelInfo, s))
	s.SetLogger(r.log)
	go func() { r.done <- s.Run(context.Background()) }()
	t.Cleanup(func() { r.stop(t, time.Second) })
	return r
}

// stop stops the sink within d and waits for Run to return.
func (r *running) stop(t testing.TB, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = r.sink.Stop(ctx)
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		r.done <- nil // a second stop returns at once
	case <-time.After(d + 5*time.Second):
		t.Fatal("Run did not return after Stop")
	}
}

func totals(st Stats) (sent, shipped, failed, dropped uint64) {
	for _, x := range st.Index {
		sent += x.Sent
		shipped += x.Shipped
		failed += x.Failed
		dropped += x.Dropped
	}
	return
}

// checkAccounting is the sink's promise: every document logged is
// received, or counted failed or dropped.
func checkAccounting(t *testing.T, r *running, f *fakeOpenSearch) (sent, failed, dropped uint64) {
	t.Helper()
	st := r.sink.Stats()
	sent, shipped, failed, dropped := totals(st)
	if st.Queued != 0 {
		t.Errorf("%d documents still queued after Stop", st.Queued)
	}
	if got := uint64(f.accepted.Load()); got != shipped {
		t.Errorf("the cluster accepted %d documents, the sink counted %d shipped", got, shipped)
	}
	if sent-shipped != failed+dropped {
		t.Errorf("sent %d − received %d = %d, but failed %d + dropped %d = %d", sent, shipped, sent-shipped, failed, dropped, failed+dropped)
	}
	return sent, failed, dropped
}

func TestShipsEachRecordToItsDailyIndexAsTheStdoutLine(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	r := start(t, f, nil)
	r.log.Info("access", "event.dataset", "pointsbook.access", "http.request.method", "GET", "url.path", "/api/v1/matches")
	r.log.With("event.dataset", "pointsbook.audit").Warn("audit", "event.action", "login", "event.outcome", "failure")
	r.log.Info("started", "addr", ":8080")
	r.log.Info("bet", "event.dataset", "pointsbook.app", "event.action", "bet.placed")
	r.log.Error("weird", "event.dataset", "pointsbook.accessory")
	r.stop(t, 5*time.Second)

	day := time.Now().UTC().Format("2006.01.02")
	lines := strings.Split(strings.TrimSpace(r.out.String()), "\n")
	want := map[string][]string{
		"pointsbook-access-" + day: {lines[0]},
		"pointsbook-audit-" + day:  {lines[1]},
		"pointsbook-app-" + day:    {lines[2], lines[3], lines[4]},
	}
	for index, docs := range want {
		var got []string
		for _, d := range f.docsIn(index) {
			got = append(got, string(d))
		}
		// Batches of the two senders may arrive in either order.
		slices.Sort(got)
		slices.Sort(docs)
		if !slices.Equal(got, docs) {
			t.Errorf("%s holds\n%q\nwant the stdout lines\n%q", index, got, docs)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{TimeKey, LevelKey, MessageKey, "event.dataset", "http.request.method"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("document lacks %s: %s", k, lines[0])
		}
	}
	if ts, _ := doc[TimeKey].(string); !strings.HasSuffix(ts, "Z") {
		t.Errorf("@timestamp %q is not UTC", ts)
	}
	sent, failed, dropped := checkAccounting(t, r, f)
	if sent != 5 || failed != 0 || dropped != 0 {
		t.Errorf("sent %d failed %d dropped %d, want 5 0 0", sent, failed, dropped)
	}
	if st := r.sink.Stats(); st.Index[Access].Shipped != 1 || st.Index[Audit].Shipped != 1 || st.Index[App].Shipped != 3 {
		t.Errorf("shipped by index %+v", st.Index)
	}
}

func TestPerItemFailures(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	throttled := map[string]bool{}
	itemRule := func(_ string, doc []byte, _ int) (int, string) {
		switch {
		case strings.Contains(string(doc), `"bad":true`):
			return http.StatusBadRequest, "mapper_parsing_exception"
		case strings.Contains(string(doc), `"busy":true`):
			// Refused for load once: the sink sends it again.
			mu.Lock()
			defer mu.Unlock()
			if !throttled[string(doc)] {
				throttled[string(doc)] = true
				return http.StatusTooManyRequests, "es_rejected_execution_exception"
			}
		}
		return http.StatusCreated, ""
	}
	f := newFake(t, func(f *fakeOpenSearch) { f.item = itemRule })
	r := start(t, f, func(c *Config) { c.ReportInterval = time.Hour })
	const n = 300
	for i := range n {
		switch i % 3 {
		case 0:
			r.log.Info("refused", "bad", true, "password_hint", "hunter2-secret", "i", i)
		case 1:
			r.log.Info("throttled", "busy", true, "i", i)
		default:
			r.log.Info("fine", "i", i)
		}
	}
	// Retries happen while the sink runs (the last batches at a stop
	// are sent once): wait until every document has its answer.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, shipped, failed, _ := totals(r.sink.Stats())
		if shipped+failed == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shipped %d + failed %d never reached %d", shipped, failed, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.stop(t, 5*time.Second)
	sent, failed, dropped := checkAccounting(t, r, f)
	// The lines logged after the stop (the sink's last report) are
	// dropped, and counted.
	if failed != n/3 || sent-dropped != n {
		t.Errorf("sent %d failed %d dropped %d, want %d sent before the stop, %d failed", sent, failed, dropped, n, n/3)
	}
	if got := r.sink.Stats().Retries; got != n/3 {
		t.Errorf("retries %d, want %d (each throttled document once)", got, n/3)
	}
	// The refusals are logged by index, status and type, never with the
	// document.
	out := r.out.String()
	if !strings.Contains(out, "400 mapper_parsing_exception ×100") {
		t.Errorf("refusals not reported:\n%s", tail(out))
	}
	report := out[strings.LastIndex(out, "\n{")+1:]
	if strings.Contains(report, "hunter2") {
		t.Errorf("a report quotes a document: %s", report)
	}
	if d := r.sink.Details(); !strings.Contains(d["last_error"].(string), "mapper_parsing_exception") || strings.Contains(d["last_error"].(string), "hunter2") {
		t.Errorf("last_error %q", d["last_error"])
	}
}

func tail(s string) string { return s[max(0, len(s)-2000):] }

// TestRequestFailures: a _bulk request answered 429 or 5xx, or cut off,
// is sent again with back-off; what keeps failing is counted failed.
func TestRequestFailures(t *testing.T) {
	t.Parallel()
	closeConn := func(w http.ResponseWriter) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	tests := []struct {
		name       string
		bulk       func(w http.ResponseWriter, r *http.Request, call int) bool
		wantFailed bool
	}{
		{"429 twice", func(w http.ResponseWriter, _ *http.Request, call int) bool {
			if call <= 2 {
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"error":{"type":"es_rejected_execution_exception"},"status":429}`)
				return true
			}
			return false
		}, false},
		{"503 then 500", func(w http.ResponseWriter, _ *http.Request, call int) bool {
			if call <= 2 {
				w.WriteHeader(map[int]int{1: 503, 2: 500}[call])
				return true
			}
			return false
		}, false},
		{"connection closed once", func(w http.ResponseWriter, _ *http.Request, call int) bool {
			if call == 1 {
				closeConn(w)
				return true
			}
			return false
		}, false},
		{"always 500", func(w http.ResponseWriter, _ *http.Request, _ int) bool {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"type":"internal_error"},"status":500}`)
			return true
		}, true},
		{"always closes", func(w http.ResponseWriter, _ *http.Request, _ int) bool {
			closeConn(w)
			return true
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(f *fakeOpenSearch) { f.bulk = tt.bulk })
			r := start(t, f, func(c *Config) {
				c.FlushInterval = time.Hour // one batch, sent at Stop
				c.Workers = 1
				c.ReportInterval = time.Hour
			})
			for i := range 50 {
				r.log.Info("event", "i", i)
			}
			r.stop(t, 5*time.Second)
			sent, failed, dropped := checkAccounting(t, r, f)
			if sent != 50 || dropped != 0 {
				t.Errorf("sent %d dropped %d, want 50 0", sent, dropped)
			}
			if tt.wantFailed {
				if failed != 50 {
					t.Errorf("failed %d, want 50", failed)
				}
				d := r.sink.Details()
				if d["state"] != "failing" || d["last_error"] == nil {
					t.Errorf("details %v, want failing with an error", d)
				}
				if calls := f.bulkCalls.Load(); calls != 4 {
					t.Errorf("%d _bulk requests, want 4 (1 + 3 retries)", calls)
				}
			} else if failed != 0 {
				t.Errorf("failed %d, want 0", failed)
			}
		})
	}
}

// TestStalledClusterNeverBlocksLogging: the cluster accepts connections
// and never answers. Logging goes on at full speed: every call returns
// (a Handle that waited would hang this test), the buffer fills, and the
// overflow is dropped and counted; at the shutdown deadline what was in
// flight is counted too, so nothing is lost uncounted.
func TestStalledClusterNeverBlocksLogging(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeOpenSearch) {
		f.bulk = func(w http.ResponseWriter, r *http.Request, _ int) bool {
			f.stall(r)
			return true
		}
	})
	r := start(t, f, func(c *Config) {
		c.QueueEvents = 100
		c.FlushBytes = 4 << 10
		c.RequestTimeout = time.Hour // stalled longer than the test lasts
		c.FlushTimeout = time.Hour
		c.ReportInterval = 5 * time.Millisecond
	})
	const n = 5_000
	for i := range n {
		r.log.Info("event", "event.dataset", "pointsbook.access", "i", i)
	}
	if st := r.sink.Stats(); st.Index[Access].Dropped == 0 {
		t.Errorf("nothing dropped while the cluster stalls: %+v", st)
	}
	r.stop(t, 200*time.Millisecond)
	sent, failed, dropped := checkAccounting(t, r, f)
	if sent < n || f.accepted.Load() != 0 {
		t.Errorf("sent %d (want ≥ %d), accepted %d (want 0)", sent, n, f.accepted.Load())
	}
	t.Logf("sent %d, failed %d, dropped %d", sent, failed, dropped)
	if !strings.Contains(r.out.String(), "documents dropped") {
		t.Error("drops were not reported in the log")
	}
}

func TestClusterDown(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.srv.Close() // nothing listens
	r := start(t, f, func(c *Config) { c.ReportInterval = time.Hour })
	for i := range 500 {
		r.log.Info("event", "i", i)
	}
	r.stop(t, 5*time.Second)
	sent, failed, dropped := checkAccounting(t, r, f)
	if sent != 500 || failed+dropped != 500 {
		t.Errorf("sent %d failed %d dropped %d", sent, failed, dropped)
	}
	if d := r.sink.Details(); d["state"] != "failing" {
		t.Errorf("state %v, want failing", d["state"])
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(c *Config, base string)
		want string
	}{
		{"in the URL", func(c *Config, base string) {
			c.URL = strings.Replace(base, "http://", "http://shipper:s3cret-pw@", 1)
		}, "Basic c2hpcHBlcjpzM2NyZXQtcHc="},
		{"user and password", func(c *Config, _ string) { c.Username, c.Password = "shipper", "s3cret-pw" }, "Basic c2hpcHBlcjpzM2NyZXQtcHc="},
		{"API key over the URL's", func(c *Config, base string) {
			c.URL = strings.Replace(base, "http://", "http://shipper:s3cret-pw@", 1)
			c.APIKey = "a2V5OnNlY3JldA=="
		}, "ApiKey a2V5OnNlY3JldA=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			r := start(t, f, func(c *Config) { tt.mod(c, f.srv.URL); c.Setup = true })
			r.log.Info("hello")
			r.stop(t, 5*time.Second)
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.auth) == 0 {
				t.Fatal("no requests")
			}
			for _, a := range f.auth {
				if a != tt.want {
					t.Errorf("Authorization %q, want %q", a, tt.want)
				}
			}
			if strings.Contains(r.out.String(), "s3cret") {
				t.Error("the password is in the log")
			}
		})
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{URL: "ftp://example.com"},
		{URL: "opensearch:9200"},
		{URL: "http://localhost:9200", CACert: []byte("not PEM")},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestStopWithoutRunAndTwice(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	r := start(t, f, nil)
	r.stop(t, time.Second)
	r.stop(t, time.Second)
	r.log.Info("after the stop") // counted dropped, never blocks
	if st := r.sink.Stats(); st.Index[App].Dropped != 1 {
		t.Errorf("a record after Stop: %+v", st.Index[App])
	}
	if err := r.sink.Run(context.Background()); err == nil {
		t.Error("a second Run started")
	}
	s, _ := New(Config{URL: f.srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop of a sink never run: %v", err)
	}
}

func TestSafeText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb\x00c", "a b c"},
		{"bad \xff utf8", "bad ? utf8"},
		{strings.Repeat("é", 10), "éé…"},
	} {
		n := 20
		if strings.HasPrefix(tt.in, "é") {
			n = 5
		}
		if got := safeText(tt.in, n); got != tt.want {
			t.Errorf("safeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
