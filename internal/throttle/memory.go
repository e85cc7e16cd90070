package throttle

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxKeys bounds the in-process limiter's memory. A key holds at
// most Max timestamps (a few hundred bytes), so 100,000 keys is tens of
// MB at worst, reached only by a flood of distinct usernames or addresses.
const DefaultMaxKeys = 100_000

// sweepEvery is how many Takes pass between sweeps of expired keys: often
// enough that idle keys do not pile up, rarely enough to cost nothing.
const sweepEvery = 1024

// Memory is the in-process Limiter: one instance's budgets, lost at
// restart. Safe for concurrent use.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu   sync.Mutex
	logs map[string]*attempts
	seq  uint64
	ops  int
}

// attempts is the log of one key, oldest first.
type attempts struct {
	hits []hit
	// window is the longest window this key was used with: past
	// newest+window the key holds nothing that counts and can go.
	window time.Duration
}

type hit struct {
	at time.Time
	id string
}

// NewMemory returns an in-process limiter reading time from now (nil:
// the wall clock) and keeping at most maxKeys keys (<= 0: DefaultMaxKeys).
func NewMemory(now func() time.Time, maxKeys int) *Memory {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Memory{now: now, maxKeys: maxKeys, logs: map[string]*attempts{}}
}

// trim drops the hits that are out of window at now.
func (l *attempts) trim(now time.Time, window time.Duration) {
	cut := 0
	for cut < len(l.hits) && !now.Before(l.hits[cut].at.Add(window)) {
		cut++
	}
	l.hits = l.hits[cut:]
}

// Take implements Limiter.
func (m *Memory) Take(_ context.Context, limits ...Limit) (Result, error) {
	if err := CheckLimits(limits); err != nil {
		return Result{}, err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops++
	if m.ops%sweepEvery == 0 || len(m.logs) >= m.maxKeys {
		m.sweep(now)
	}
	var wait time.Duration
	for _, lim := range limits {
		l := m.logs[lim.Key]
		if l == nil {
			continue
		}
		l.trim(now, lim.Window)
		if n := len(l.hits); n >= lim.Max {
			// Room comes back when the (n-Max+1)th oldest hit expires.
			if w := l.hits[n-lim.Max].at.Add(lim.Window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	if wait > 0 {
		return Result{RetryAfter: wait}, nil
	}
	m.seq++
	id := strconv.FormatUint(m.seq, 36)
	keys := make([]string, 0, len(limits))
	for _, lim := range limits {
		l := m.logs[lim.Key]
		if l == nil {
			l = &attempts{}
			m.logs[lim.Key] = l
		}
		l.hits = append(l.hits, hit{at: now, id: id})
		l.window = max(l.window, lim.Window)
		keys = append(keys, lim.Key)
	}
	return Result{Allowed: true, id: id, keys: keys}, nil
}

// sweep deletes keys whose newest hit is out of every window. If that is
// not enough room, the keys that would expire soonest go first: losing
// the nearly-expired counts is the smallest give-away to an attacker who
// floods us with fresh keys to push others out.
func (m *Memory) sweep(now time.Time) {
	type exp struct {
		key string
		at  time.Time
	}
	var live []exp
	for k, l := range m.logs {
		if len(l.hits) == 0 {
			delete(m.logs, k)
			continue
		}
		end := l.hits[len(l.hits)-1].at.Add(l.window)
		if !now.Before(end) {
			delete(m.logs, k)
			continue
		}
		live = append(live, exp{k, end})
	}
	if len(m.logs) < m.maxKeys {
		return
	}
	// Make a tenth of the room at once, so a flood does not sort on
	// every call.
	slices.SortFunc(live, func(a, b exp) int { return a.at.Compare(b.at) })
	for _, e := range live[:len(live)-m.maxKeys*9/10] {
		delete(m.logs, e.key)
	}
}

// Refund implements Limiter.
func (m *Memory) Refund(_ context.Context, r Result) error {
	if !r.Allowed {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range r.keys {
		l := m.logs[k]
		if l == nil {
			continue
		}
		l.hits = slices.DeleteFunc(l.hits, func(h hit) bool { return h.id == r.id })
		if len(l.hits) == 0 {
			delete(m.logs, k)
		}
	}
	return nil
}

// Reset implements Limiter.
func (m *Memory) Reset(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.logs, k)
	}
	return nil
}

// Len is the number of keys held (for tests of the memory bound).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.logs)
}
