// Package redisthrottle is the throttle.Limiter shared by every instance
// of the server through Redis. It is the only package of the attempt
// limits that links the Redis client; cmd/pointsbook puts it in front of
// throttle's in-process limiter with throttle.Fallback.
package redisthrottle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/throttle"
)

// DefaultPrefix starts every key this package writes to Redis, so a Redis
// shared with other uses (or other environments, with their own prefix)
// never collides with it.
const DefaultPrefix = "pb:throttle:"

// Limiter is the throttle.Limiter shared by every instance that uses the
// same Redis and prefix. Each key is a sorted set of attempt ids scored by
// time in milliseconds; it expires one window after its newest attempt, so
// idle keys cost nothing.
//
// All keys of one Take go to one script, so it needs a single Redis (with
// replicas), not Redis Cluster, whose scripts may only touch one slot.
type Limiter struct {
	client redis.Scripter
	prefix string
	now    func() time.Time
}

// New returns a limiter over client with keys under prefix ("":
// DefaultPrefix), reading time from now (nil: the wall clock). Time comes
// from the instance, not from Redis, so tests can drive it; instances'
// clocks agree to well under a second, which is nothing against windows
// of minutes.
func New(client redis.Scripter, prefix string, now func() time.Time) *Limiter {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{client: client, prefix: prefix, now: now}
}

// takeScript is Take, atomically: Redis runs a script with nothing in
// between, so two instances can never both see room for the last attempt.
// KEYS are the limits' keys; ARGV is now (ms), the attempt id, then Max and
// Window (ms) of each key in order. It returns 0 when the attempt was
// recorded and otherwise the milliseconds until every key has room.
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if n >= max then
    local oldest = redis.call('ZRANGE', key, n - max, n - max, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return 0
`)

// Take implements throttle.Limiter.
func (r *Limiter) Take(ctx context.Context, limits ...throttle.Limit) (throttle.Result, error) {
	if err := throttle.CheckLimits(limits); err != nil {
		return throttle.Result{}, err
	}
	id := newID()
	keys := make([]string, len(limits))
	args := make([]any, 0, 2+2*len(limits))
	args = append(args, r.now().UnixMilli(), id)
	for i, l := range limits {
		keys[i] = r.prefix + l.Key
		args = append(args, l.Max, l.Window.Milliseconds())
	}
	wait, err := takeScript.Run(ctx, r.client, keys, args...).Int64()
	if err != nil {
		return throttle.Result{}, fmt.Errorf("throttle: redis: %w", err)
	}
	if wait > 0 {
		return throttle.Result{RetryAfter: time.Duration(wait) * time.Millisecond}, nil
	}
	return throttle.Taken(id, keys), nil
}

// refundScript removes one attempt id from every key.
var refundScript = redis.NewScript(`
for _, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[1]) end
return 0
`)

// Refund implements throttle.Limiter.
func (r *Limiter) Refund(ctx context.Context, res throttle.Result) error {
	if !res.Allowed {
		return nil
	}
	id, keys := res.Attempt()
	if err := refundScript.Run(ctx, r.client, keys, id).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("throttle: redis: %w", err)
	}
	return nil
}

// resetScript deletes every key (a script like the others, so the keys of
// one call go in one round trip whatever their number).
var resetScript = redis.NewScript(`
for _, key in ipairs(KEYS) do redis.call('DEL', key) end
return 0
`)

// Reset implements throttle.Limiter.
func (r *Limiter) Reset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	if err := resetScript.Run(ctx, r.client, full).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("throttle: redis: %w", err)
	}
	return nil
}

// newID is a random attempt id: ids must be unique across instances,
// since two attempts in the same millisecond share a score.
func newID() string {
	b := make([]byte, 12)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
