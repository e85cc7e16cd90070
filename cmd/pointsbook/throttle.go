package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/metrics"
	"github.com/pointsbook/pointsbook/internal/redisbus"
	"github.com/pointsbook/pointsbook/internal/redisthrottle"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// attemptLimiter is the limiter of failed logins and code entries: shared
// by every instance through Redis when PB_REDIS_URL is set, falling back
// to this instance's own counts while Redis fails (see throttle.Fallback
// for why neither failing closed nor open); in process otherwise.
type attemptLimiter struct {
	throttle.Limiter
	client   redis.UniversalClient // nil without PB_REDIS_URL
	fallback *throttle.Fallback    // nil without PB_REDIS_URL
	close    sync.Once
}

// newAttemptLimiter builds the limiter; prefix is the Redis key prefix
// ("": redisthrottle.DefaultPrefix; tests give each server set its own).
func newAttemptLimiter(ctx context.Context, cfg config.Config, prefix string, log *slog.Logger) (*attemptLimiter, error) {
	local := throttle.NewMemory(nil, 0)
	if cfg.RedisURL == "" {
		return &attemptLimiter{Limiter: local}, nil
	}
	// The same client settings as the bus's: 500 ms dial and I/O
	// timeouts (unless the URL sets them) and one retry.
	client, err := redisbus.NewClient(cfg.RedisURL)
	if err != nil {
		// The error may quote the URL, password included: say only which
		// setting is wrong.
		return nil, fmt.Errorf("PB_REDIS_URL does not parse as a Redis URL")
	}
	if redisbus.IsCluster(cfg.RedisURL) {
		// One Take's keys (the account's, the address's) go to one script,
		// which a cluster runs only when they share a slot: the hash tag
		// puts every limiter key in one.
		prefix = "{" + cmp.Or(prefix, redisthrottle.DefaultPrefix) + "}"
	}
	// go-redis logs every failed dial to stderr as plain text; the
	// fallback already logs one structured warning a minute, so the
	// client's own lines go to the JSON log at debug level. The logger is
	// global to go-redis: set once, never while clients may be logging.
	setRedisLogger.Do(func() { redis.SetLogger(redisLog{log}) })
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		// Not fatal: the limits hold per instance until Redis answers.
		log.Warn("redis unreachable at start; login limits are per instance until it answers", "err", err)
	}
	fb := throttle.NewFallback(redisthrottle.New(client, prefix, nil), local, log, nil)
	return &attemptLimiter{Limiter: fb, client: client, fallback: fb}, nil
}

// details is the limiter's part of /readyz: shown, never failing
// readiness, since the fallback keeps logins working without Redis.
func (l *attemptLimiter) details() map[string]any {
	if l.fallback == nil {
		return map[string]any{"store": "in-process"}
	}
	state := "up"
	if !l.fallback.SharedUp() {
		state = "unreachable: per-instance limits"
	}
	return map[string]any{"store": "redis", "redis": state}
}

func (l *attemptLimiter) register(met *metrics.Metrics) {
	if l.fallback == nil {
		return
	}
	met.Gauge("pointsbook_attempt_limiter_redis_up", "1 while the shared attempt limiter (Redis) answers; 0 while each instance counts alone.", nil,
		func() float64 {
			if l.fallback.SharedUp() {
				return 1
			}
			return 0
		})
	met.CounterFunc("pointsbook_attempt_limiter_fallbacks_total", "Login and code-entry attempts counted in process because Redis failed.", nil,
		func() float64 { return float64(l.fallback.Fallbacks()) })
}

// Close closes the Redis client once (Main.Close may run twice).
func (l *attemptLimiter) Close() error {
	var err error
	l.close.Do(func() {
		if l.client != nil {
			err = l.client.Close()
		}
	})
	return err
}

var setRedisLogger sync.Once

// redisLog sends go-redis's internal log lines to our logger.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.DebugContext(ctx, "redis client", "msg", fmt.Sprintf(format, v...))
}
