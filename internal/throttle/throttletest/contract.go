// Package throttletest is the behaviour every throttle.Limiter must have,
// as a test any implementation's package runs on its own limiter: throttle
// on the in-process one, redisthrottle on Redis.
package throttletest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// NewClock is a test clock at a fixed start, for the contract and for
// tests of one implementation.
func NewClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
}

// Factory makes a fresh, empty limiter reading time from now.
type Factory func(t *testing.T, now func() time.Time) throttle.Limiter

// RunContract runs the contract on the limiters newLimiter makes, one per
// subtest.
func RunContract(t *testing.T, newLimiter Factory) {
	ctx := context.Background()
	const window = 15 * time.Minute
	lim := func(key string, max int) throttle.Limit {
		return throttle.Limit{Key: key, Max: max, Window: window}
	}
	take := func(t *testing.T, l throttle.Limiter, limits ...throttle.Limit) throttle.Result {
		t.Helper()
		r, err := l.Take(ctx, limits...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("allows Max then refuses with the time until room", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		for i := range 5 {
			if r := take(t, l, lim("a", 5)); !r.Allowed {
				t.Fatalf("attempt %d refused", i+1)
			}
			c.Advance(time.Minute)
		}
		r := take(t, l, lim("a", 5))
		if r.Allowed {
			t.Fatal("6th attempt allowed")
		}
		// The first attempt was 5 minutes ago: room in 10.
		if r.RetryAfter != 10*time.Minute {
			t.Fatalf("RetryAfter = %s, want 10m", r.RetryAfter)
		}
	})

	t.Run("window slides: each attempt frees its slot one window later", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		for range 3 {
			take(t, l, lim("a", 3))
			c.Advance(5 * time.Minute)
		}
		// Attempts at 0, 5m, 10m; now 15m: the first just left the window.
		if r := take(t, l, lim("a", 3)); !r.Allowed {
			t.Fatalf("attempt after the oldest expired refused (RetryAfter %s)", r.RetryAfter)
		}
		// Now 10m... 15m full again: the one at 5m frees at 20m.
		r := take(t, l, lim("a", 3))
		if r.Allowed || r.RetryAfter != 5*time.Minute {
			t.Fatalf("got %+v, want refused for 5m", r)
		}
		c.Advance(5*time.Minute - time.Millisecond)
		if take(t, l, lim("a", 3)).Allowed {
			t.Fatal("allowed a millisecond early")
		}
		c.Advance(time.Millisecond)
		if !take(t, l, lim("a", 3)).Allowed {
			t.Fatal("refused when the slot freed")
		}
	})

	t.Run("refused attempts are not recorded", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		take(t, l, lim("a", 1))
		for range 10 {
			c.Advance(time.Minute)
			take(t, l, lim("a", 1))
		}
		// Hammering while blocked must not push the reopening back.
		c.Advance(5 * time.Minute)
		if !take(t, l, lim("a", 1)).Allowed {
			t.Fatal("refused attempts extended the block")
		}
	})

	t.Run("all or nothing across limits", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		take(t, l, lim("full", 1))
		c.Advance(time.Minute)
		r := take(t, l, lim("free", 2), lim("full", 1))
		if r.Allowed || r.RetryAfter != 14*time.Minute {
			t.Fatalf("got %+v, want refused for 14m", r)
		}
		// "free" was not charged for the refused attempt.
		for i := range 2 {
			if !take(t, l, lim("free", 2)).Allowed {
				t.Fatalf("free attempt %d refused", i+1)
			}
		}
	})

	t.Run("RetryAfter is the longest wait", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		take(t, l, throttle.Limit{Key: "short", Max: 1, Window: time.Minute})
		take(t, l, throttle.Limit{Key: "long", Max: 1, Window: time.Hour})
		r := take(t, l, throttle.Limit{Key: "short", Max: 1, Window: time.Minute}, throttle.Limit{Key: "long", Max: 1, Window: time.Hour})
		if r.Allowed || r.RetryAfter != time.Hour {
			t.Fatalf("got %+v, want refused for 1h", r)
		}
	})

	t.Run("refund gives the attempt back", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		take(t, l, lim("a", 2), lim("b", 2))
		r := take(t, l, lim("a", 2), lim("b", 2))
		if err := l.Refund(ctx, r); err != nil {
			t.Fatal(err)
		}
		if !take(t, l, lim("a", 2)).Allowed || !take(t, l, lim("b", 2)).Allowed {
			t.Fatal("refunded attempt still counted")
		}
		refused := take(t, l, lim("a", 2))
		if refused.Allowed {
			t.Fatal("third attempt allowed")
		}
		if err := l.Refund(ctx, refused); err != nil {
			t.Fatal(err)
		}
		if take(t, l, lim("a", 2)).Allowed {
			t.Fatal("refunding a refused attempt freed a slot")
		}
	})

	t.Run("reset forgets the keys given", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		take(t, l, lim("a", 1))
		take(t, l, lim("b", 1))
		if err := l.Reset(ctx, "a", "never-used"); err != nil {
			t.Fatal(err)
		}
		if !take(t, l, lim("a", 1)).Allowed {
			t.Fatal("reset key still full")
		}
		if take(t, l, lim("b", 1)).Allowed {
			t.Fatal("reset cleared another key")
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		take(t, l, lim("a", 1))
		if !take(t, l, lim("b", 1)).Allowed {
			t.Fatal("key b charged for key a")
		}
	})

	t.Run("concurrent takes never exceed Max", func(t *testing.T) {
		c := NewClock()
		l := newLimiter(t, c.Now)
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := l.Take(ctx, lim("race", 5), lim("race-ip", 20))
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := allowed.Load(); n != 5 {
			t.Fatalf("%d of 40 concurrent attempts allowed, want exactly 5", n)
		}
	})

	t.Run("bad limits are errors", func(t *testing.T) {
		l := newLimiter(t, NewClock().Now)
		for _, bad := range [][]throttle.Limit{
			nil,
			{{Key: "", Max: 1, Window: time.Minute}},
			{{Key: "a", Max: 0, Window: time.Minute}},
			{{Key: "a", Max: 1, Window: 0}},
			{{Key: fmt.Sprintf("%0300d", 1), Max: 1, Window: time.Minute}},
		} {
			if _, err := l.Take(ctx, bad...); err == nil {
				t.Errorf("Take(%v) accepted", bad)
			}
		}
	})
}
