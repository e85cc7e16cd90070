// Package worker runs the process's background work as named workers
// with one lifecycle: a Group starts them in order, stops them in the
// reverse order within a deadline, logs each start and stop by name and
// reports a worker that ends before it was asked to.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Worker is one piece of background work.
type Worker interface {
	// Name identifies the worker in logs and errors.
	Name() string
	// Run does the work until ctx is cancelled, then returns nil. A
	// return before that is an unexpected exit, with or without an error.
	Run(ctx context.Context) error
}

// Stopper is a Worker that needs more than the cancellation of Run's
// context to stop (an HTTP server finishing its requests). Stop is given
// the group's stop deadline; Run's context is cancelled after Stop
// returns.
type Stopper interface {
	Stop(ctx context.Context) error
}

// Func is a Worker made of a name and a run function.
func Func(name string, run func(ctx context.Context) error) Worker {
	return funcWorker{name: name, run: run}
}

type funcWorker struct {
	name string
	run  func(ctx context.Context) error
}

func (w funcWorker) Name() string                  { return w.name }
func (w funcWorker) Run(ctx context.Context) error { return w.run(ctx) }

// ExitError reports a worker whose Run returned before the group stopped
// it.
type ExitError struct {
	Name string
	Err  error // what Run returned; nil when it returned nothing
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("worker %s exited unexpectedly", e.Name)
	}
	return fmt.Sprintf("worker %s exited unexpectedly: %v", e.Name, e.Err)
}

func (e *ExitError) Unwrap() error { return e.Err }

// Group runs workers. The zero value is ready; a nil Log logs nothing.
type Group struct {
	Log *slog.Logger

	mu      sync.Mutex
	running []*running
	failed  chan *ExitError
}

type running struct {
	w      Worker
	cancel context.CancelFunc
	done   chan struct{}
	err    error // what Run returned, read after done is closed
	asked  bool  // the group asked it to stop (under Group.mu)
}

// Start starts each worker, in the order given, after those of earlier
// calls. Workers run on contexts of their own, not ctx's cancellation
// (ctx gives them its values): they end when the group stops them.
func (g *Group) Start(ctx context.Context, ws ...Worker) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed == nil {
		g.failed = make(chan *ExitError, 16)
	}
	for _, w := range ws {
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r := &running{w: w, cancel: cancel, done: make(chan struct{})}
		g.running = append(g.running, r)
		g.logger().Info("worker started", "worker", w.Name())
		go g.run(rctx, r)
	}
}

func (g *Group) run(ctx context.Context, r *running) {
	err := r.w.Run(ctx)
	r.err = err
	g.mu.Lock()
	asked := r.asked
	g.mu.Unlock()
	if !asked {
		e := &ExitError{Name: r.w.Name(), Err: err}
		g.logger().Error("worker exited unexpectedly", "worker", r.w.Name(), "err", err)
		select {
		case g.failed <- e:
		default: // a full channel: the log line is the report
		}
	}
	close(r.done)
}

// Failed receives each worker that ends before the group stops it.
func (g *Group) Failed() <-chan *ExitError {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed == nil {
		g.failed = make(chan *ExitError, 16)
	}
	return g.failed
}

// Stop stops the workers in the reverse of their start order, each
// before the next: a Stopper's Stop first, then the cancellation of its
// Run, then the wait for Run to return. It returns when all have
// returned or ctx ends; workers not stopped by then are cancelled
// without waiting and named in the error, as are workers that exited
// unexpectedly or whose Run or Stop failed. Stop is safe to call more
// than once; later calls only wait again.
func (g *Group) Stop(ctx context.Context) error {
	g.mu.Lock()
	rs := append([]*running(nil), g.running...)
	g.mu.Unlock()
	var errs []error
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		name := r.w.Name()
		g.mu.Lock()
		first := !r.asked
		r.asked = true
		g.mu.Unlock()
		select {
		case <-r.done:
			// It already ended: unexpectedly unless an earlier Stop did it.
			if first {
				errs = append(errs, &ExitError{Name: name, Err: r.err})
			}
			r.cancel()
			continue
		default:
		}
		if ctx.Err() != nil {
			r.cancel()
			g.logger().Error("worker not stopped: shutdown deadline passed", "worker", name)
			errs = append(errs, fmt.Errorf("worker %s: not stopped before the deadline: %w", name, ctx.Err()))
			continue
		}
		g.logger().Info("worker stopping", "worker", name)
		if s, ok := r.w.(Stopper); ok && first {
			if err := s.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("worker %s: stop: %w", name, err))
			}
		}
		r.cancel()
		select {
		case <-r.done:
			if r.err != nil && first {
				errs = append(errs, fmt.Errorf("worker %s: %w", name, r.err))
			}
			g.logger().Info("worker stopped", "worker", name)
		case <-ctx.Done():
			g.logger().Error("worker did not stop before the shutdown deadline", "worker", name)
			errs = append(errs, fmt.Errorf("worker %s: not stopped before the deadline: %w", name, ctx.Err()))
		}
	}
	return errors.Join(errs...)
}

func (g *Group) logger() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}
