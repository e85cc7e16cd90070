package redisthrottle_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/redistest"
	"github.com/pointsbook/pointsbook/internal/redisthrottle"
	"github.com/pointsbook/pointsbook/internal/throttle"
	"github.com/pointsbook/pointsbook/internal/throttle/throttletest"
)

// TestContract runs the behaviour every throttle.Limiter must have on
// Redis, when PB_TEST_REDIS_URL is set (and required when PB_TEST_REQUIRE
// lists redis).
func TestContract(t *testing.T) {
	throttletest.RunContract(t, func(t *testing.T, now func() time.Time) throttle.Limiter {
		c := redistest.Client(t)
		return redisthrottle.New(c, redistest.Prefix(t, c), now)
	})
}

func TestRedisKeysArePrefixedAndExpire(t *testing.T) {
	ctx := context.Background()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	l := redisthrottle.New(c, prefix, nil)
	if _, err := l.Take(ctx, throttle.Limit{Key: "login:ip:198.51.100.1", Max: 5, Window: 15 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != prefix+"login:ip:198.51.100.1" {
		t.Fatalf("keys = %v", keys)
	}
	ttl, err := c.PTTL(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 14*time.Minute || ttl > 15*time.Minute {
		t.Fatalf("PTTL = %s, want just under 15m", ttl)
	}
}

// Two limiters on one Redis are two instances of the server: they share
// one budget.
func TestRedisSharedBetweenInstances(t *testing.T) {
	ctx := context.Background()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	other := redis.NewClient(c.Options())
	defer other.Close()
	a := redisthrottle.New(c, prefix, nil)
	b := redisthrottle.New(other, prefix, nil)
	lim := throttle.Limit{Key: "acct", Max: 5, Window: 15 * time.Minute}
	for i, l := range []throttle.Limiter{a, a, a, b, b} {
		if r, err := l.Take(ctx, lim); err != nil || !r.Allowed {
			t.Fatalf("attempt %d: %+v %v", i+1, r, err)
		}
	}
	for name, l := range map[string]throttle.Limiter{"a": a, "b": b} {
		if r, _ := l.Take(ctx, lim); r.Allowed {
			t.Fatalf("6th attempt allowed on %s", name)
		}
	}
}

// unreachableRedis is a client of a port nobody listens on.
func unreachableRedis(t *testing.T) *redis.Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFallbackWhenRedisIsDown(t *testing.T) {
	ctx := context.Background()
	clk := throttletest.NewClock()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	local := throttle.NewMemory(clk.Now, 0)
	f := throttle.NewFallback(redisthrottle.New(unreachableRedis(t), "", clk.Now), local, log, clk.Now)
	lim := throttle.Limit{Key: "acct", Max: 2, Window: 15 * time.Minute}

	// The limits still hold, now per instance.
	for i := range 2 {
		r, err := f.Take(ctx, lim)
		if err != nil || !r.Allowed {
			t.Fatalf("attempt %d: %+v %v", i+1, r, err)
		}
	}
	if r, err := f.Take(ctx, lim); err != nil || r.Allowed {
		t.Fatalf("3rd attempt during the outage: %+v %v", r, err)
	}
	if f.SharedUp() {
		t.Fatal("SharedUp during the outage")
	}
	if f.Fallbacks() != 3 {
		t.Fatalf("Fallbacks = %d, want 3", f.Fallbacks())
	}
	if n := strings.Count(logs.String(), "shared rate limiter unreachable"); n != 1 {
		t.Fatalf("%d warnings for one outage, want 1: %s", n, logs.String())
	}
	// A refund goes back to where the attempt was taken. Past the pause
	// Redis is tried again; it still fails, but within the minute that
	// logs nothing more.
	clk.Advance(10 * time.Second)
	r, _ := f.Take(ctx, throttle.Limit{Key: "other", Max: 1, Window: time.Minute})
	if err := f.Refund(ctx, r); err != nil {
		t.Fatal(err)
	}
	if f.Fallbacks() != 4 {
		t.Fatalf("Fallbacks = %d, want 4", f.Fallbacks())
	}
	if r, _ := local.Take(ctx, throttle.Limit{Key: "other", Max: 1, Window: time.Minute}); !r.Allowed {
		t.Fatal("refund during the outage did not reach the local limiter")
	}
	// A minute on, a still failing Redis is worth one more warning.
	clk.Advance(time.Minute)
	if !f.SharedUp() {
		t.Fatal("shared limiter not retried after the pause")
	}
	f.Take(ctx, lim)
	if n := strings.Count(logs.String(), "shared rate limiter unreachable"); n != 2 {
		t.Fatalf("%d warnings, want 2", n)
	}
}

func TestFallbackUsesRedisWhenUp(t *testing.T) {
	ctx := context.Background()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	local := throttle.NewMemory(nil, 0)
	f := throttle.NewFallback(redisthrottle.New(c, prefix, nil), local, slog.New(slog.DiscardHandler), nil)
	lim := throttle.Limit{Key: "acct", Max: 1, Window: time.Minute}
	if r, err := f.Take(ctx, lim); err != nil || !r.Allowed {
		t.Fatalf("%+v %v", r, err)
	}
	if n, _ := c.Exists(ctx, prefix+"acct").Result(); n != 1 {
		t.Fatal("attempt not recorded in Redis")
	}
	if local.Len() != 0 || f.Fallbacks() != 0 {
		t.Fatal("local limiter used while Redis is up")
	}
	if err := f.Reset(ctx, "acct"); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, prefix+"acct").Result(); n != 0 {
		t.Fatal("Reset did not reach Redis")
	}
}
