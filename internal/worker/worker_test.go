package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pointsbook/pointsbook/internal/worker"
)

// journal records what the workers did, in the order they did it.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.events, " ")
}

// loop is a worker that runs until cancelled, then records its stop.
func loop(j *journal, name string, running *sync.WaitGroup) worker.Worker {
	running.Add(1)
	return worker.Func(name, func(ctx context.Context) error {
		running.Done()
		<-ctx.Done()
		j.add("stop:" + name)
		return nil
	})
}

// logged is the sequence of (message worker) pairs in a JSON log.
func logged(t *testing.T, buf *bytes.Buffer) string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct {
			Msg    string `json:"msg"`
			Worker string `json:"worker"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec.Msg+":"+rec.Worker)
	}
	return strings.Join(out, " | ")
}

func TestStartsInOrderStopsInReverse(t *testing.T) {
	t.Parallel()
	var j journal
	var logs bytes.Buffer
	g := &worker.Group{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	var running sync.WaitGroup
	g.Start(context.Background(), loop(&j, "writers", &running), loop(&j, "checkpointer", &running))
	g.Start(context.Background(), loop(&j, "sweeper", &running))
	running.Wait()
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := j.String(), "stop:sweeper stop:checkpointer stop:writers"; got != want {
		t.Fatalf("stopped %q, want %q", got, want)
	}
	want := "worker started:writers | worker started:checkpointer | worker started:sweeper | " +
		"worker stopping:sweeper | worker stopped:sweeper | worker stopping:checkpointer | worker stopped:checkpointer | " +
		"worker stopping:writers | worker stopped:writers"
	if got := logged(t, &logs); got != want {
		t.Fatalf("log:\n%s\nwant:\n%s", got, want)
	}
	// A second Stop has nothing left to do and reports nothing.
	if err := g.Stop(context.Background()); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

// server is a Stopper: its Run ends only when Stop tells it to, as an
// HTTP server's Serve does.
type server struct {
	j    *journal
	quit chan struct{}
}

func (s *server) Name() string { return "http" }

func (s *server) Run(ctx context.Context) error {
	<-s.quit
	s.j.add("run-returned:http")
	return nil
}

func (s *server) Stop(ctx context.Context) error {
	s.j.add("stop:http")
	close(s.quit)
	return nil
}

func TestStopperStoppedBeforeCancellation(t *testing.T) {
	t.Parallel()
	var j journal
	var g worker.Group
	var running sync.WaitGroup
	g.Start(context.Background(), loop(&j, "feed", &running), &server{j: &j, quit: make(chan struct{})})
	running.Wait()
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := j.String(), "stop:http run-returned:http stop:feed"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A worker that ignores its cancellation holds the stop no longer than
// the deadline; the workers after it are still cancelled, and the error
// names it.
func TestStopIsBoundedByTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var j journal
		var g worker.Group
		release := make(chan struct{})
		defer close(release)
		var running sync.WaitGroup
		g.Start(context.Background(), loop(&j, "writers", &running))
		g.Start(context.Background(), worker.Func("stuck", func(ctx context.Context) error {
			<-release
			return nil
		}))
		running.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := g.Stop(ctx)
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("stop took %v, want the 5s deadline", took)
		}
		if err == nil || !strings.Contains(err.Error(), "worker stuck: not stopped before the deadline") {
			t.Fatalf("err = %v", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want it to wrap the deadline", err)
		}
		// The writers were cancelled without being waited for.
		synctest.Wait()
		if got := j.String(); got != "stop:writers" {
			t.Fatalf("journal %q: writers not cancelled", got)
		}
	})
}

func TestUnexpectedExitIsReported(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	g := &worker.Group{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	boom := errors.New("listener closed")
	var j journal
	var running sync.WaitGroup
	g.Start(context.Background(), loop(&j, "sweeper", &running), worker.Func("http", func(ctx context.Context) error { return boom }))
	e := <-g.Failed()
	if e.Name != "http" || !errors.Is(e, boom) {
		t.Fatalf("failed = %+v", e)
	}
	running.Wait()
	err := g.Stop(context.Background())
	var exit *worker.ExitError
	if !errors.As(err, &exit) || exit.Name != "http" || !errors.Is(err, boom) {
		t.Fatalf("stop err = %v, want the http worker's exit", err)
	}
	if got := j.String(); got != "stop:sweeper" {
		t.Fatalf("journal %q: the other worker was not stopped", got)
	}
	if !strings.Contains(logs.String(), `"msg":"worker exited unexpectedly","worker":"http","err":"listener closed"`) {
		t.Fatalf("log has no report of the exit:\n%s", logs.String())
	}
}

// A worker that returns with nothing to say before it is stopped is an
// unexpected exit too.
func TestQuietExitIsReported(t *testing.T) {
	t.Parallel()
	var g worker.Group
	g.Start(context.Background(), worker.Func("feed", func(ctx context.Context) error { return nil }))
	if e := <-g.Failed(); e.Name != "feed" || e.Err != nil || e.Error() != "worker feed exited unexpectedly" {
		t.Fatalf("failed = %v", e)
	}
	if err := g.Stop(context.Background()); err == nil {
		t.Fatal("stop reported nothing")
	}
}
