// Package redistest gives tests a real Redis: the server at
// PB_TEST_REDIS_URL, checked up front and gated like PostgreSQL (skip
// locally, fail when PB_TEST_REQUIRE lists "redis"), and a random key
// prefix per test so tests running at once never share a key.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/testgate"
)

// URLEnv names the Redis the tests use, e.g. redis://127.0.0.1:6379/0.
const URLEnv = "PB_TEST_REDIS_URL"

// Client returns a client of the Redis at PB_TEST_REDIS_URL after checking
// that it answers, closed at the end of the test. Without a usable Redis
// the test skips, or fails when Redis is required.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	u := os.Getenv(URLEnv)
	if u == "" {
		testgate.Unavailable(tb, "redis", "%s is not set", URLEnv)
		return nil
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		// A malformed URL is a configuration bug, not a missing server.
		tb.Fatalf("redistest: %s is not a redis:// URL: %v", URLEnv, err)
		return nil
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		testgate.Unavailable(tb, "redis", "cannot reach %s: %v", opt.Addr, err)
		return nil
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a fresh key prefix for one test, and deletes the test's
// keys at cleanup (they would expire anyway; this keeps a shared Redis
// tidy).
func Prefix(tb testing.TB, c *redis.Client) string {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b) // never fails since Go 1.24
	p := "pbtest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, p+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}
