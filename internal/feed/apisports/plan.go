package apisports

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// The free plan gives each sport's API its own 100 calls per UTC day. The
// ingester asks every few seconds, so most answers come from the cache and
// the calls are spent by a plan, in this order of priority:
//
//  1. schedule: each day's fixtures once when first asked, then today and
//     tomorrow every scheduleEvery (yesterday only while it has matches
//     left unresolved);
//  2. odds: by date (football) or by league (v1) every oddsEvery, at most
//     oddsCalls calls a round, for days that have matches to price;
//  3. live: only while a match of the sport is in play, spread evenly over
//     the play still expected before the reset, never more often than
//     minLiveEvery;
//  4. spare: head-to-head and team statistics, only when live polling
//     every liveTarget would still leave spareFloor calls unused.
//
// Each class may only spend what the higher classes are not expected to
// need before 00:00 UTC, so the day's schedule and odds always fit.

type class int

const (
	clsSchedule class = iota
	clsOdds
	clsLive
	clsSpare
)

// plan is the cadence derived from a daily budget.
type plan struct {
	scheduleEvery time.Duration
	oddsEvery     time.Duration
	oddsCalls     int
	spareFloor    int
	spareMax      int
}

const (
	minLiveEvery = 3 * time.Minute
	// liveTarget is the live cadence spare calls must not push live
	// polling below.
	liveTarget = 10 * time.Minute
	// maxCallsPerSync bounds how long one Fixtures call can take.
	maxCallsPerSync = 6
	// defaultPerMinute is assumed until the provider states its limit.
	defaultPerMinute = 10
)

func newPlan(budget int) plan {
	scheduleRounds := clampInt(budget/16, 1, 6) // 100 → every 4 h
	oddsRounds := clampInt(budget/25, 1, 4)     // 100 → every 6 h
	return plan{
		scheduleEvery: 24 * time.Hour / time.Duration(scheduleRounds),
		oddsEvery:     24 * time.Hour / time.Duration(oddsRounds),
		oddsCalls:     clampInt(budget/25, 1, 4),
		spareFloor:    max(2, budget/5),
		spareMax:      max(1, budget/10),
	}
}

func clampInt(v, lo, hi int) int { return min(max(v, lo), hi) }

// nextReset is the next 00:00 UTC, when every sport's quota renews.
func nextReset(now time.Time) time.Time {
	u := now.UTC()
	return time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC)
}

func ceilDiv(d, every time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + every - 1) / every)
}

// budget is one sport's quota state for the current UTC day.
type budget struct {
	limit int
	day   string
	used  int
	spare int
	// provider's word, -1 until heard today
	hdrRemaining int
	hdrLimit     int

	sent        []time.Time // sends in the last minute
	minuteLimit int
	minuteFull  time.Time // the provider said the minute is used up until then

	stoppedUntil time.Time
	stopKind     string
	stopWhy      string

	backoffUntil time.Time
	backoffKind  string
	backoffWhy   string
	backoffStep  time.Duration
}

func newBudget(limit int) budget {
	return budget{limit: limit, hdrRemaining: -1, minuteLimit: defaultPerMinute}
}

// roll starts a new day's count at 00:00 UTC.
func (b *budget) roll(now time.Time) {
	day := now.UTC().Format(time.DateOnly)
	if day == b.day {
		return
	}
	b.day, b.used, b.spare, b.hdrRemaining, b.hdrLimit = day, 0, 0, -1, 0
}

func (b *budget) remaining() int {
	r := b.limit - b.used
	if b.hdrRemaining >= 0 && b.hdrRemaining < r {
		r = b.hdrRemaining
	}
	return max(r, 0)
}

func (b *budget) minuteUsed(now time.Time) bool {
	keep := b.sent[:0]
	for _, t := range b.sent {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	b.sent = keep
	return len(b.sent) >= b.minuteLimit || now.Before(b.minuteFull)
}

// take records a call about to be sent.
func (b *budget) take(now time.Time, cls class) {
	b.roll(now)
	b.used++
	if b.hdrRemaining > 0 {
		b.hdrRemaining--
	}
	if cls == clsSpare {
		b.spare++
	}
	b.sent = append(b.sent, now)
}

// headers reads the quota the provider reports.
func (b *budget) headers(now time.Time, h http.Header) {
	if v, ok := headerInt(h, "x-ratelimit-requests-remaining"); ok {
		b.hdrRemaining = v
	}
	if v, ok := headerInt(h, "x-ratelimit-requests-limit"); ok {
		b.hdrLimit = v
	}
	if v, ok := headerInt(h, "X-RateLimit-Limit"); ok && v > 0 {
		b.minuteLimit = min(v, 600)
	}
	if v, ok := headerInt(h, "X-RateLimit-Remaining"); ok && v <= 0 {
		b.minuteFull = now.Add(time.Minute)
	}
}

func headerInt(h http.Header, name string) (int, bool) {
	s := strings.TrimSpace(h.Get(name))
	if s == "" {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// stop ends the sport's calls until the next reset (the daily quota).
func (b *budget) stop(now time.Time, kind, why string) {
	b.stoppedUntil, b.stopKind, b.stopWhy = nextReset(now), kind, why
}

// backoff pauses the sport's calls. Repeated rate limits double the pause.
func (b *budget) backoff(now time.Time, kind, why string, d time.Duration, doubling bool) {
	if doubling {
		if b.backoffStep == 0 {
			b.backoffStep = d
		} else {
			b.backoffStep = min(2*b.backoffStep, 8*time.Minute)
		}
		d = b.backoffStep
	}
	b.backoffUntil, b.backoffKind, b.backoffWhy = now.Add(d), kind, why
}

// verdict is the plan's answer to "may this call be made now".
type verdict struct {
	ok bool
	// err is set when the call is refused because the provider (or our
	// quota) is degraded, as opposed to the plan simply not needing it yet.
	err *Error
}

func (s *sportClient) gate(now time.Time, cls class) verdict {
	b := &s.b
	b.roll(now)
	switch {
	case now.Before(b.stoppedUntil):
		return verdict{err: &Error{Sport: s.slug, Kind: b.stopKind, Message: b.stopWhy + " (no calls until 00:00 UTC)"}}
	case now.Before(b.backoffUntil):
		return verdict{err: &Error{Sport: s.slug, Kind: b.backoffKind, Message: b.backoffWhy + "; backing off until " + b.backoffUntil.UTC().Format(time.TimeOnly) + " UTC"}}
	case b.remaining() <= 0:
		return verdict{err: &Error{Sport: s.slug, Kind: KindBudget, Message: "the day's calls are spent"}}
	case b.minuteUsed(now):
		return verdict{}
	case b.remaining() <= s.reserve(now, cls):
		return verdict{}
	case cls == clsSpare && b.spare >= s.plan.spareMax:
		return verdict{}
	}
	return verdict{ok: true}
}

// reserve is how many of the remaining calls a class must leave for the
// classes above it until the reset.
func (s *sportClient) reserve(now time.Time, cls class) int {
	ttr := nextReset(now).Sub(now)
	// Today and tomorrow each round, plus a new "tomorrow" at local
	// midnight and a refresh of an unresolved yesterday.
	sched := 2*ceilDiv(ttr, s.plan.scheduleEvery) + 2
	odds := s.plan.oddsCalls * ceilDiv(ttr, s.plan.oddsEvery)
	switch cls {
	case clsSchedule:
		return 0
	case clsOdds:
		return sched
	case clsLive:
		return sched + odds
	}
	avail := max(s.b.remaining()-sched-odds, 0)
	need := ceilDiv(s.playWindow(now), liveTarget)
	return sched + odds + min(need, avail) + s.plan.spareFloor
}

// liveEvery spreads the calls left for live polling over the play still
// expected before the reset; calls is the number a round takes.
func (s *sportClient) liveEvery(now time.Time, calls int) (time.Duration, bool) {
	avail := s.b.remaining() - s.reserve(now, clsLive)
	if avail <= 0 {
		return 0, false
	}
	window := max(s.playWindow(now), minLiveEvery)
	every := window * time.Duration(max(calls, 1)) / time.Duration(avail)
	return max(every, minLiveEvery), true
}

// inPlay says whether a match may be being played now. A match still
// "scheduled" past its kick-off counts for one match length (a late start
// shows up on the next poll); a live one for two (delays, extra time).
func (s *sportClient) inPlay(f *feed.Fixture, now time.Time) bool {
	if f.KickoffAt.After(now) || terminal(f.State) {
		return false
	}
	age := now.Sub(f.KickoffAt)
	if f.State == sport.Scheduled {
		return age < s.length
	}
	return age < 2*s.length
}

// playWindow is how much of the time until the reset has a match of the
// sport in play, by the cached schedule.
func (s *sportClient) playWindow(now time.Time) time.Duration {
	reset := nextReset(now)
	type span struct{ from, to time.Time }
	var spans []span
	for _, c := range s.fx {
		f := &c.f
		if terminal(f.State) {
			continue
		}
		from, to := f.KickoffAt, f.KickoffAt.Add(s.length)
		if s.inPlay(f, now) {
			to = maxTime(to, now.Add(s.length/4)) // a match running late runs on a while yet
		}
		from, to = maxTime(from, now), minTime(to, reset)
		if to.After(from) {
			spans = append(spans, span{from, to})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	var total time.Duration
	var cur span
	for i, sp := range spans {
		switch {
		case i == 0:
			cur = sp
		case !sp.from.After(cur.to):
			cur.to = maxTime(cur.to, sp.to)
		default:
			total += cur.to.Sub(cur.from)
			cur = sp
		}
	}
	if len(spans) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// matchLength is how long a match usually lasts from kick-off to the
// final whistle, breaks and overtime included.
var matchLength = map[string]time.Duration{
	"football":   3 * time.Hour,
	"basketball": 3 * time.Hour,
	"baseball":   5 * time.Hour,
	"hockey":     3*time.Hour + 30*time.Minute,
	"handball":   2*time.Hour + 30*time.Minute,
}
