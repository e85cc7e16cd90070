package redisbus

import (
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts of the clients NewClient makes: a publisher waits for Redis, and
// while Redis is down nothing is gained by waiting long.
const (
	dialTimeout = 500 * time.Millisecond
	ioTimeout   = 500 * time.Millisecond
)

// IsCluster reports whether rawURL names a Redis Cluster:
// redis+cluster:// or rediss+cluster://.
func IsCluster(rawURL string) bool {
	scheme, _, _ := strings.Cut(rawURL, "://")
	return scheme == "redis+cluster" || scheme == "rediss+cluster"
}

// NewClient returns a client of the Redis named by rawURL:
//
//   - redis://[user:password@]host:port[/db] or rediss:// (TLS): one Redis
//     (with replicas if wanted);
//   - redis+cluster://[user:password@]host:port?addr=host:port&addr=… or
//     rediss+cluster:// (TLS): a Redis Cluster, reached through any of the
//     listed nodes; the bus then uses sharded pub/sub.
//
// Query parameters are go-redis's (dial_timeout, read_timeout, …). The
// client honours context deadlines, which is how a Publish is bounded.
// Errors never quote the URL, which may hold a password.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	if IsCluster(rawURL) {
		u := strings.Replace(rawURL, "+cluster://", "://", 1)
		opt, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, errors.New("redisbus: not a redis+cluster:// URL")
		}
		if opt.DialTimeout == 0 {
			opt.DialTimeout = dialTimeout
		}
		if opt.ReadTimeout == 0 {
			opt.ReadTimeout = ioTimeout
		}
		if opt.WriteTimeout == 0 {
			opt.WriteTimeout = ioTimeout
		}
		opt.ContextTimeoutEnabled = true
		return redis.NewClusterClient(opt), nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, errors.New("redisbus: not a redis:// or rediss:// URL")
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = dialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = ioTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = ioTimeout
	}
	opt.MaxRetries = 1
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}
