package redisbus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/live"
)

// Presence is live.Presence in Redis: a room is a sorted set of its
// members scored by the time (ms) their membership expires. Count first
// drops the expired ones, so a member of a crashed instance, which no one
// refreshes, stops counting once its ttl has passed. The key expires with
// its longest-lived member, so an abandoned room leaves nothing behind.
//
// Expiries are written with the instance's clock: instances' clocks agree
// to well under a second, which is nothing against ttls of a minute.
type Presence struct {
	client redis.Scripter
	prefix string
	now    func() time.Time
}

// NewPresence returns presence over client with keys under prefix ("":
// DefaultPrefix), reading time from now (nil: the wall clock).
func NewPresence(client redis.Scripter, prefix string, now func() time.Time) *Presence {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Presence{client: client, prefix: prefix, now: now}
}

func (p *Presence) key(room string) string { return p.prefix + "presence:" + room }

// joinScript adds or refreshes a member and keeps the key alive at least
// as long as it. ARGV: expiry (ms since the epoch), member, ttl (ms).
var joinScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then
	redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
`)

// countScript drops the expired members and counts the rest, at once.
// ARGV: now (ms since the epoch).
var countScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
`)

// Join counts member in room until ttl passes or it leaves; joining again
// refreshes the expiry.
func (p *Presence) Join(ctx context.Context, room, member string, ttl time.Duration) error {
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	exp := p.now().Add(ttl).UnixMilli()
	err := joinScript.Run(ctx, p.client, []string{p.key(room)},
		strconv.FormatInt(exp, 10), member, ttl.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redisbus: join %s: %w", room, err)
	}
	return nil
}

// Leave stops counting member in room.
func (p *Presence) Leave(ctx context.Context, room, member string) error {
	// ZREM is a plain command: a Scripter cannot send it, so it goes as a
	// one-line script (cached by its SHA like the others).
	if err := leaveScript.Run(ctx, p.client, []string{p.key(room)}, member).Err(); err != nil {
		return fmt.Errorf("redisbus: leave %s: %w", room, err)
	}
	return nil
}

var leaveScript = redis.NewScript(`return redis.call('ZREM', KEYS[1], ARGV[1])`)

// Count is the number of room's members whose expiry has not passed.
func (p *Presence) Count(ctx context.Context, room string) (int, error) {
	n, err := countScript.Run(ctx, p.client, []string{p.key(room)}, strconv.FormatInt(p.now().UnixMilli(), 10)).Int()
	if err != nil {
		return 0, fmt.Errorf("redisbus: count %s: %w", room, err)
	}
	return n, nil
}

var _ live.Presence = (*Presence)(nil)
