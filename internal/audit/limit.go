package audit

import (
	"sync"
	"sync/atomic"
	"time"
)

// Limiter bounds the failure rows one client address can cause (denied
// access, wrong passwords, bad codes): at most Per a Window per key, the
// rest counted in Suppressed and not written, so a flood cannot fill the
// table. It remembers at most MaxKeys addresses; beyond that, a new
// address is refused until old windows end, which a flood from many
// addresses cannot turn into unbounded memory.
type Limiter struct {
	Per     int
	Window  time.Duration
	MaxKeys int
	Now     func() time.Time

	mu         sync.Mutex
	keys       map[string]*window
	suppressed atomic.Int64
}

type window struct {
	start time.Time
	n     int
}

// NewLimiter allows per rows a window for each key.
func NewLimiter(per int, every time.Duration) *Limiter {
	return &Limiter{Per: per, Window: every, MaxKeys: 10_000}
}

// DefaultLimiter is the bound the edge and the sign-in flows use: 10 rows
// a minute per address.
func DefaultLimiter() *Limiter { return NewLimiter(10, time.Minute) }

// Allow says whether one more row for key may be written now.
func (l *Limiter) Allow(key string) bool {
	if l == nil {
		return true
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = map[string]*window{}
	}
	w, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.MaxKeys {
			for k, old := range l.keys {
				if now.Sub(old.start) >= l.Window {
					delete(l.keys, k)
				}
			}
			if len(l.keys) >= l.MaxKeys {
				l.suppressed.Add(1)
				return false
			}
		}
		w = &window{start: now}
		l.keys[key] = w
	}
	if now.Sub(w.start) >= l.Window {
		w.start, w.n = now, 0
	}
	if w.n >= l.Per {
		l.suppressed.Add(1)
		return false
	}
	w.n++
	return true
}

// Suppressed is how many rows Allow has refused.
func (l *Limiter) Suppressed() int64 {
	if l == nil {
		return 0
	}
	return l.suppressed.Load()
}
