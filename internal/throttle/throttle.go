// Package throttle counts attempts against budgets such as "5 failed
// logins per account per 15 minutes": the Limiter interface, the
// in-process Memory limiter, and Fallback, which puts a shared limiter
// (package redisthrottle: every instance through Redis) in front of an
// in-process one. It depends on no driver, so the domain and the HTTP
// edge can hold a Limiter without linking a Redis client.
//
// The model is take-then-refund: a caller takes one attempt from every
// budget that applies BEFORE it checks the secret (password, code), and
// gives the attempt back when the secret turned out to be right. Taking
// first is what makes the limit hold under concurrency: a hundred
// parallel guesses cannot all pass a "still under the limit?" check and
// only then be counted, because the check and the count are one atomic
// step. A success refunds its attempt, so only failures use the budget.
//
// Windows are sliding logs: a budget of N per W holds the times of at
// most N attempts, and an attempt is allowed when fewer than N happened
// in the last W. Fixed windows would be cheaper but let 2N attempts
// through around a window boundary, and with budgets as small as 5 the
// log costs nothing: at most N entries per key, since a refused attempt
// is not recorded.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit is one budget: at most Max attempts per Window under Key.
type Limit struct {
	Key    string
	Max    int
	Window time.Duration
}

// maxKeyLen bounds keys, which callers build from user input.
const maxKeyLen = 200

func (l Limit) check() error {
	switch {
	case l.Key == "" || len(l.Key) > maxKeyLen:
		return fmt.Errorf("throttle: key must have 1 to %d bytes", maxKeyLen)
	case l.Max < 1:
		return fmt.Errorf("throttle: %s: Max must be at least 1", l.Key)
	case l.Window < time.Millisecond:
		// The shared limiter keeps times in milliseconds.
		return fmt.Errorf("throttle: %s: Window must be at least 1ms", l.Key)
	}
	return nil
}

// CheckLimits is the validation every Limiter's Take starts with: at least
// one limit, each with a key of 1 to 200 bytes, Max at least 1 and a
// Window of at least a millisecond.
func CheckLimits(limits []Limit) error {
	if len(limits) == 0 {
		return errors.New("throttle: no limits")
	}
	for _, l := range limits {
		if err := l.check(); err != nil {
			return err
		}
	}
	return nil
}

// Result is the outcome of Take.
type Result struct {
	// Allowed is true when the attempt was recorded against every limit.
	Allowed bool
	// RetryAfter, when not Allowed, is how long until every limit has
	// room again.
	RetryAfter time.Duration

	// The recorded attempt, for Refund.
	id   string
	keys []string
	// local is set by Fallback when the in-process limiter took the
	// attempt, so the refund goes to the same place.
	local bool
}

// Taken is the Result of an allowed Take, for limiters outside this
// package: id names the attempt among the limiter's own (unique across
// instances when the limiter is shared) and keys are where it was recorded.
func Taken(id string, keys []string) Result {
	return Result{Allowed: true, id: id, keys: keys}
}

// Attempt returns the id and keys given to Taken, which the limiter that
// took the attempt needs to refund it.
func (r Result) Attempt() (id string, keys []string) { return r.id, r.keys }

// Limiter is what handlers need.
type Limiter interface {
	// Take records one attempt against every limit, all or nothing: when
	// any limit is already full, nothing is recorded and the Result says
	// how long to wait.
	Take(ctx context.Context, limits ...Limit) (Result, error)
	// Refund removes the attempt recorded by an allowed Take (the attempt
	// succeeded and must not count). Refunding a refused Result does
	// nothing.
	Refund(ctx context.Context, r Result) error
	// Reset forgets every attempt under keys.
	Reset(ctx context.Context, keys ...string) error
}
