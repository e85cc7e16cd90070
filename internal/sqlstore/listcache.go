package sqlstore

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// listCache keeps the day lists and sport counts for a moment. The main
// page and the JSON list ask for the same few lists (a sport's day) far
// more often than the catalogue changes, and reading 200 matches with
// their markets was most of either request's cost; concurrent askers of
// one list share one read.
//
// An entry is exact for this instance: every catalogue write of this
// store bumps gen after its commit, and an entry read under an older gen
// is never served, nor one read before the next kick-off among its open
// markets (a market closes at kick-off without a write). Writes by other
// instances sharing the database are seen within ttl, as a replica's
// lag already allows.
type listCache struct {
	ttl    time.Duration
	gen    atomic.Uint64
	mu     sync.Mutex
	lists  map[listKey]*listEntry
	counts map[[2]int64]*countEntry
	flight singleflight.Group
}

// maxCachedLists bounds each map; when full it starts over.
const maxCachedLists = 512

type listKey struct {
	sport    string
	from, to int64
	state    sport.State
	cursor   string
	limit    int
	main     bool
}

type listEntry struct {
	gen   uint64
	until time.Time
	ms    []*betting.Match
	next  string
}

type countEntry struct {
	gen    uint64
	until  time.Time
	counts []sport.Count
}

func newListCache(ttl time.Duration) *listCache {
	if ttl <= 0 {
		return nil
	}
	return &listCache{ttl: ttl, lists: map[listKey]*listEntry{}, counts: map[[2]int64]*countEntry{}}
}

// changed marks every entry stale; call it after a catalogue write commits.
func (c *listCache) changed() {
	if c != nil {
		c.gen.Add(1)
	}
}

// matches returns the list f from the cache or from read, which the
// callers asking for f at the same moment share.
func (c *listCache) matches(ctx context.Context, f sport.MatchFilter, now time.Time,
	read func(context.Context, sport.MatchFilter) ([]*betting.Match, string, error)) ([]*betting.Match, string, error) {
	if len(f.Cursor) > 64 {
		return read(ctx, f) // not a cursor this store made; read answers it
	}
	k := listKey{f.Sport, f.From.UnixNano(), f.To.UnixNano(), f.State, f.Cursor, f.Limit, f.MainMarketOnly}
	gen := c.gen.Load()
	c.mu.Lock()
	e := c.lists[k]
	c.mu.Unlock()
	if e != nil && e.gen == gen && now.Before(e.until) {
		return e.ms, e.next, nil
	}
	flight := "m" + strconv.FormatUint(gen, 10) + "|" + f.Sport + "|" + strconv.FormatInt(k.from, 10) + "|" +
		strconv.FormatInt(k.to, 10) + "|" + string(f.State) + "|" + f.Cursor + "|" + strconv.Itoa(f.Limit) + "|" + strconv.FormatBool(f.MainMarketOnly)
	v, err := c.shared(ctx, flight, func(ctx context.Context) (any, error) {
		ms, next, err := read(ctx, f)
		if err != nil {
			return nil, err
		}
		e := &listEntry{gen: gen, until: now.Add(c.ttl), ms: ms, next: next}
		for _, m := range ms {
			if m.KickoffAt.After(now) && m.KickoffAt.Before(e.until) && hasOpenMarket(m) {
				e.until = m.KickoffAt
			}
		}
		c.mu.Lock()
		if len(c.lists) >= maxCachedLists {
			clear(c.lists)
		}
		c.lists[k] = e
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, "", err
	}
	e = v.(*listEntry)
	return e.ms, e.next, nil
}

// countsBySport is matches' counterpart for CountBySport.
func (c *listCache) countsBySport(ctx context.Context, from, to, now time.Time,
	read func(context.Context, time.Time, time.Time) ([]sport.Count, error)) ([]sport.Count, error) {
	k := [2]int64{from.UnixNano(), to.UnixNano()}
	gen := c.gen.Load()
	c.mu.Lock()
	e := c.counts[k]
	c.mu.Unlock()
	if e != nil && e.gen == gen && now.Before(e.until) {
		return e.counts, nil
	}
	flight := "c" + strconv.FormatUint(gen, 10) + "|" + strconv.FormatInt(k[0], 10) + "|" + strconv.FormatInt(k[1], 10)
	v, err := c.shared(ctx, flight, func(ctx context.Context) (any, error) {
		counts, err := read(ctx, from, to)
		if err != nil {
			return nil, err
		}
		e := &countEntry{gen: gen, until: now.Add(c.ttl), counts: counts}
		c.mu.Lock()
		if len(c.counts) >= maxCachedLists {
			clear(c.counts)
		}
		c.counts[k] = e
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*countEntry).counts, nil
}

// shared runs read once for every caller of the same key at the same
// moment. The read is not cancelled by the caller that started it, since
// others wait on it; each caller stops waiting when its own ctx ends.
func (c *listCache) shared(ctx context.Context, key string, read func(context.Context) (any, error)) (any, error) {
	ch := c.flight.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedReadTimeout)
		defer cancel()
		return read(ctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sharedReadTimeout bounds a shared read, which no caller can cancel.
const sharedReadTimeout = 15 * time.Second

func hasOpenMarket(m *betting.Match) bool {
	for _, mk := range m.Markets {
		if mk.Open {
			return true
		}
	}
	return false
}
