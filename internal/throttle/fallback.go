package throttle

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Fallback is a shared limiter (redisthrottle's) that degrades to an
// in-process one while the shared one fails.
//
// Why not fail closed or open: refusing every login while Redis is down
// would lock every player out over a cache outage, and skipping the limits
// would hand an attacker a window of unlimited guesses that nobody
// notices. Per-instance limits keep the protection (each instance still
// allows only N failures per key, so N times the instance count at worst)
// and the outage is logged and counted. After a failure the shared limiter
// is left alone for a short while, so an outage does not add a connect
// timeout to every request.
type Fallback struct {
	shared, local Limiter
	log           *slog.Logger
	now           func() time.Time

	// pause is how long the shared limiter is skipped after a failure.
	pause time.Duration
	// warnEvery spaces the warnings, so an outage logs a line a minute
	// rather than one per request.
	warnEvery time.Duration

	downUntil atomic.Int64 // unix nanos
	lastWarn  atomic.Int64 // unix nanos
	fallbacks atomic.Uint64
}

// NewFallback returns shared backed by local. now is the clock of the
// pause and the warnings (nil: the wall clock).
func NewFallback(shared, local Limiter, log *slog.Logger, now func() time.Time) *Fallback {
	if now == nil {
		now = time.Now
	}
	return &Fallback{shared: shared, local: local, log: log, now: now, pause: 5 * time.Second, warnEvery: time.Minute}
}

// Take implements Limiter.
func (f *Fallback) Take(ctx context.Context, limits ...Limit) (Result, error) {
	if err := CheckLimits(limits); err != nil {
		return Result{}, err
	}
	if f.sharedUp() {
		r, err := f.shared.Take(ctx, limits...)
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			// The request went away; that says nothing about Redis.
			return Result{}, ctx.Err()
		}
		f.failed(ctx, "take", err)
	}
	f.fallbacks.Add(1)
	r, err := f.local.Take(ctx, limits...)
	r.local = true
	return r, err
}

// Refund implements Limiter: the attempt goes back where it was taken. A
// refund the shared limiter cannot take is logged and dropped: the worst
// outcome is one success counted as a failure.
func (f *Fallback) Refund(ctx context.Context, r Result) error {
	if r.local {
		return f.local.Refund(ctx, r)
	}
	if err := f.shared.Refund(ctx, r); err != nil && ctx.Err() == nil {
		f.failed(ctx, "refund", err)
	}
	return nil
}

// Reset implements Limiter, on both limiters, since attempts may sit in
// either.
func (f *Fallback) Reset(ctx context.Context, keys ...string) error {
	if f.sharedUp() {
		if err := f.shared.Reset(ctx, keys...); err != nil && ctx.Err() == nil {
			f.failed(ctx, "reset", err)
		}
	}
	return f.local.Reset(ctx, keys...)
}

func (f *Fallback) sharedUp() bool {
	return f.now().UnixNano() >= f.downUntil.Load()
}

func (f *Fallback) failed(ctx context.Context, op string, err error) {
	now := f.now()
	f.downUntil.Store(now.Add(f.pause).UnixNano())
	last := f.lastWarn.Load()
	if now.UnixNano()-last >= int64(f.warnEvery) && f.lastWarn.CompareAndSwap(last, now.UnixNano()) {
		f.log.WarnContext(ctx, "shared rate limiter unreachable; using this instance's own limits",
			"op", op, "err", err, "fallbacks_so_far", f.fallbacks.Load())
	}
}

// SharedUp reports whether the shared limiter answered last time (for
// /readyz details).
func (f *Fallback) SharedUp() bool { return f.sharedUp() }

// Fallbacks counts the attempts the in-process limiter took because the
// shared one failed (for metrics).
func (f *Fallback) Fallbacks() uint64 { return f.fallbacks.Load() }
