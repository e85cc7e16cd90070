// Package apisports is the feed provider for API-Sports (api-sports.io):
// football on its v3 API and baseball, basketball, ice hockey and handball
// on their v1 APIs. Each sport's API has its own daily quota, so each
// sport keeps its own cache, budget and call plan (see plan.go); the
// ingester may ask as often as it likes and is answered from the cache
// between planned calls.
package apisports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Config configures a Client.
type Config struct {
	// Key is sent as x-apisports-key. It is never logged.
	Key string
	// DailyBudget is the number of calls each sport may make per UTC day
	// (the free plan's 100 by default).
	DailyBudget int
	// BaseURLs maps sport slugs to API base URLs. When nil the real hosts
	// are used; when set, only the sports it lists are polled, so a test
	// can never reach a real host by leaving a sport out.
	BaseURLs map[string]string
	HTTP     *http.Client
	Now      func() time.Time
	// Bookmakers are bookmaker ids in order of preference (e.g. 8 Bet365,
	// 6 Bwin); any other bookmaker is a fallback.
	Bookmakers []int
	Log        *slog.Logger
}

// DefaultBaseURLs are the provider's hosts.
var DefaultBaseURLs = map[string]string{
	"football":   "https://v3.football.api-sports.io",
	"baseball":   "https://v1.baseball.api-sports.io",
	"basketball": "https://v1.basketball.api-sports.io",
	"hockey":     "https://v1.hockey.api-sports.io",
	"handball":   "https://v1.handball.api-sports.io",
}

// ErrNotFound is returned by Match for a match the provider does not know.
var ErrNotFound = errors.New("apisports: match not found")

// Client is a feed.Provider backed by API-Sports. It is safe for
// concurrent use.
type Client struct {
	key    string
	http   *http.Client
	now    func() time.Time
	prefer []string
	log    *slog.Logger
	sports map[string]*sportClient
}

var _ feed.Provider = (*Client)(nil)

// New builds a client.
func New(cfg Config) (*Client, error) {
	c := &Client{key: cfg.Key, http: cfg.HTTP, now: cfg.Now, log: cfg.Log, sports: map[string]*sportClient{}}
	if c.http == nil {
		c.http = &http.Client{Timeout: 20 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, id := range cfg.Bookmakers {
		c.prefer = append(c.prefer, fmt.Sprint(id))
	}
	budget := cfg.DailyBudget
	if budget <= 0 {
		budget = 100
	}
	bases := cfg.BaseURLs
	if bases == nil {
		bases = DefaultBaseURLs
	}
	for slug, base := range bases {
		if _, ok := statusTable[slug]; !ok {
			return nil, fmt.Errorf("apisports: unknown sport %q", slug)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("apisports: bad base URL for %s", slug)
		}
		c.sports[slug] = &sportClient{
			slug: slug, base: strings.TrimRight(base, "/"), plan: newPlan(budget), length: matchLength[slug],
			b: newBudget(budget), fx: map[string]*cached{}, days: map[string]*dayState{}, odds: map[string]oddsEntry{},
			leagueOddsAt: map[string]time.Time{}, oddsPage: map[string]int{}, notBefore: map[string]time.Time{},
			h2h: map[string]h2hEntry{}, stats: map[string]statsEntry{},
		}
	}
	return c, nil
}

// Name is the evidence source of settlements.
func (c *Client) Name() string { return "apisports" }

type cached struct {
	f    feed.Fixture
	meta fxMeta
	// The kick-off's local date, kept because every poll asks it of every
	// cached match.
	date    string
	dateLoc *time.Location
}

// day returns the local date of the match's kick-off in loc.
func (c *cached) day(loc *time.Location) string {
	if c.dateLoc != loc || c.date == "" {
		c.date, c.dateLoc = dayOf(c.f.KickoffAt, loc), loc
	}
	return c.date
}

type dayState struct {
	date      string
	fetchedAt time.Time
	// dirty: a match of the day left the live list, so the day is
	// fetched again for its result.
	dirty bool
}

type oddsEntry struct {
	markets []feed.Market
	at      time.Time
}

type oddsRound struct {
	started time.Time
	queue   []*action
	calls   int
	done    map[string]int // pages fetched this round, per day
}

type h2hEntry struct {
	fixtures []feed.Fixture
	at       time.Time
}

type statsEntry struct {
	stats *TeamStats
	at    time.Time
}

// sportClient is one sport's API: its cache, budget and plan.
type sportClient struct {
	slug   string
	base   string
	plan   plan
	length time.Duration

	fetch sync.Mutex // one sport's calls are made one at a time
	mu    sync.Mutex // guards the fields below; never held during a call

	b            budget
	fx           map[string]*cached
	days         map[string]*dayState // by zone|date
	odds         map[string]oddsEntry
	round        oddsRound
	leagueOddsAt map[string]time.Time
	oddsPage     map[string]int
	liveAt       time.Time
	notBefore    map[string]time.Time // by call; plan refusals and failures
	h2h          map[string]h2hEntry
	stats        map[string]statsEntry
	lastSuccess  time.Time
	lastError    string
	lastErrorAt  time.Time
	prunedAt     time.Time
}

type actKind int

const (
	actDate actKind = iota
	actLive
	actOdds
)

// action is one planned call.
type action struct {
	kind   actKind
	class  class
	path   string
	query  url.Values
	date   string // the day a date or football odds call is for
	page   int
	league string // v1 odds: league|season
}

func (a *action) key() string { return a.path + "?" + a.query.Encode() }

// zone returns the location and the timezone name to send. A zone
// without an IANA name (Local, a fixed offset) cannot be sent, so UTC is
// used for both.
func zone(loc *time.Location) (*time.Location, string) {
	if loc == nil {
		return time.UTC, "UTC"
	}
	name := loc.String()
	if name == "UTC" || strings.Contains(name, "/") {
		return loc, name
	}
	return time.UTC, "UTC"
}

// Fixtures returns every sport's matches on the day that contains day in
// loc, from the cache, after whatever calls the plan allows now. When a
// sport's provider is degraded the error wraps feed.ErrDegraded and the
// last good fixtures are still returned, each with the time it was
// fetched.
func (c *Client) Fixtures(ctx context.Context, day time.Time, loc *time.Location) ([]feed.Fixture, error) {
	loc, tz := zone(loc)
	date := day.In(loc).Format(time.DateOnly)
	now := c.now()
	results := make([][]feed.Fixture, len(sportSlugs))
	errs := make([]error, len(sportSlugs))
	var wg sync.WaitGroup
	for i, slug := range sportSlugs {
		s := c.sports[slug]
		if s == nil {
			continue
		}
		wg.Go(func() {
			errs[i] = c.sync(ctx, s, now, loc, tz, date)
			results[i] = s.snapshot(loc, date)
		})
	}
	wg.Wait()
	var out []feed.Fixture
	for _, r := range results {
		out = append(out, r...)
	}
	return out, errors.Join(errs...)
}

// sync makes the calls the plan wants for this request.
func (c *Client) sync(ctx context.Context, s *sportClient, now time.Time, loc *time.Location, tz, date string) error {
	s.fetch.Lock()
	defer s.fetch.Unlock()
	s.mu.Lock()
	if now.Sub(s.prunedAt) >= time.Hour || now.Before(s.prunedAt) {
		s.prune(now)
		s.prunedAt = now
	}
	s.mu.Unlock()
	var errs []error
	for range maxCallsPerSync {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		s.mu.Lock()
		a, blocked := s.next(now, loc, tz, date)
		if a != nil {
			s.b.take(now, a.class)
		}
		s.mu.Unlock()
		if a == nil {
			if blocked != nil && len(errs) == 0 {
				errs = append(errs, blocked)
			}
			break
		}
		if err := c.run(ctx, s, a, now, loc, tz); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// next picks the most urgent call the plan allows now. blocked is set
// when a call that was due could not be made because the provider or
// the quota is degraded.
func (s *sportClient) next(now time.Time, loc *time.Location, tz, date string) (*action, *Error) {
	var blocked *Error
	try := func(a *action) bool {
		if a == nil || now.Before(s.notBefore[a.key()]) {
			return false
		}
		v := s.gate(now, a.class)
		if !v.ok && v.err != nil && blocked == nil {
			blocked = v.err
		}
		return v.ok
	}
	ds := s.days[tz+"|"+date]
	fetched := ds != nil && !ds.fetchedAt.IsZero()
	if !fetched {
		if a := s.dateAction(tz, date, clsSchedule); try(a) {
			return a, nil
		}
	}
	for _, a := range s.liveActions(now, loc, tz) {
		if try(a) {
			return a, nil
		}
	}
	for _, d := range s.dirtyDays(tz) {
		if a := s.dateAction(tz, d, clsLive); try(a) {
			return a, nil
		}
	}
	if fetched && s.refreshDue(now, loc, date, ds) {
		if a := s.dateAction(tz, date, clsSchedule); try(a) {
			return a, nil
		}
	}
	if a := s.oddsAction(now, loc, tz); a != nil && try(a) {
		s.round.queue = s.round.queue[1:]
		s.round.calls++
		return a, nil
	}
	return nil, blocked
}

func (s *sportClient) dateAction(tz, date string, cls class) *action {
	path := "/games"
	if s.slug == "football" {
		path = "/fixtures"
	}
	return &action{kind: actDate, class: cls, path: path, date: date, query: url.Values{"date": {date}, "timezone": {tz}}}
}

func (s *sportClient) day(tz, date string) *dayState {
	ds := s.days[tz+"|"+date]
	if ds == nil {
		ds = &dayState{date: date}
		s.days[tz+"|"+date] = ds
	}
	return ds
}

func (s *sportClient) fetchedAt(tz, date string) time.Time {
	if ds := s.days[tz+"|"+date]; ds != nil {
		return ds.fetchedAt
	}
	return time.Time{}
}

func dayOf(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

// dayDiff is date minus today in days, or a large number if unreadable.
func dayDiff(today, date string) int {
	t0, err0 := time.Parse(time.DateOnly, today)
	t1, err1 := time.Parse(time.DateOnly, date)
	if err0 != nil || err1 != nil {
		return 1 << 20
	}
	return int(t1.Sub(t0).Hours() / 24)
}

// refreshDue says whether a fetched day is due again: today and tomorrow
// on the schedule cadence, yesterday only while a match of it is overdue
// without a result; other days never (they were fetched once).
func (s *sportClient) refreshDue(now time.Time, loc *time.Location, date string, ds *dayState) bool {
	if now.Sub(ds.fetchedAt) < s.plan.scheduleEvery {
		return false
	}
	switch dayDiff(now.In(loc).Format(time.DateOnly), date) {
	case 0, 1:
		return true
	case -1:
		for _, c := range s.fx {
			f := &c.f
			if c.day(loc) == date && !terminal(f.State) && f.KickoffAt.Before(now) && !s.inPlay(f, now) {
				return true
			}
		}
	}
	return false
}

// liveActions are the calls due for matches in play: football asks for
// all live fixtures at once; v1 APIs have no live filter, so the days
// with matches in play are fetched again.
func (s *sportClient) liveActions(now time.Time, loc *time.Location, tz string) []*action {
	dates := map[string]bool{}
	for _, c := range s.fx {
		if s.inPlay(&c.f, now) {
			dates[c.day(loc)] = true
		}
	}
	if len(dates) == 0 {
		return nil
	}
	days := make([]string, 0, len(dates))
	for d := range dates {
		days = append(days, d)
	}
	sort.Strings(days)
	if s.slug == "football" {
		every, ok := s.liveEvery(now, 1)
		if !ok {
			return nil
		}
		// The last time every match in play was seen: the live call, or a
		// later fetch of all their days.
		seen := s.liveAt
		oldest := time.Time{}
		for i, d := range days {
			if t := s.fetchedAt(tz, d); i == 0 || t.Before(oldest) {
				oldest = t
			}
		}
		if oldest.After(seen) {
			seen = oldest
		}
		if now.Sub(seen) < every {
			return nil
		}
		return []*action{{kind: actLive, class: clsLive, path: "/fixtures", query: url.Values{"live": {"all"}, "timezone": {tz}}}}
	}
	every, ok := s.liveEvery(now, len(days))
	if !ok {
		return nil
	}
	var out []*action
	for _, d := range days {
		if now.Sub(s.fetchedAt(tz, d)) >= every {
			out = append(out, s.dateAction(tz, d, clsLive))
		}
	}
	return out
}

func (s *sportClient) dirtyDays(tz string) []string {
	var out []string
	for k, ds := range s.days {
		if ds.dirty && strings.HasPrefix(k, tz+"|") {
			out = append(out, ds.date)
		}
	}
	sort.Strings(out)
	return out
}

// oddsAction returns the next odds call of the current round, starting a
// round when one is due. A round waits until today and tomorrow have been
// fetched, since it only asks for days (or leagues) with matches to price.
func (s *sportClient) oddsAction(now time.Time, loc *time.Location, tz string) *action {
	// A call the provider refused (say, a date outside the plan) must not
	// hold up the rest of the round.
	for len(s.round.queue) > 0 && now.Before(s.notBefore[s.round.queue[0].key()]) {
		s.round.queue = s.round.queue[1:]
	}
	if len(s.round.queue) == 0 {
		if !s.round.started.IsZero() && now.Sub(s.round.started) < s.plan.oddsEvery {
			return nil
		}
		q := s.buildOdds(now, loc, tz)
		if len(q) == 0 {
			return nil
		}
		s.round = oddsRound{started: now, queue: q, done: map[string]int{}}
	}
	return s.round.queue[0]
}

func (s *sportClient) buildOdds(now time.Time, loc *time.Location, tz string) []*action {
	local := now.In(loc)
	days := []string{local.Format(time.DateOnly), local.AddDate(0, 0, 1).Format(time.DateOnly)}
	for _, d := range days {
		if s.fetchedAt(tz, d).IsZero() && !now.Before(s.notBefore[s.dateAction(tz, d, clsSchedule).key()]) {
			return nil // its schedule is still to come
		}
	}
	open := map[string]int{} // day or league|season → matches to price
	leagues := map[string][2]string{}
	for _, c := range s.fx {
		f := &c.f
		if f.State != sport.Scheduled || !f.KickoffAt.After(now) {
			continue
		}
		d := c.day(loc)
		if d != days[0] && d != days[1] {
			continue
		}
		if s.slug == "football" {
			open[d]++
			continue
		}
		if c.meta.League == "" || c.meta.Season == "" {
			continue
		}
		k := c.meta.League + "|" + c.meta.Season
		open[k]++
		leagues[k] = [2]string{c.meta.League, c.meta.Season}
	}
	var q []*action
	if s.slug == "football" {
		for _, d := range days {
			if open[d] == 0 {
				continue
			}
			q = append(q, s.footballOdds(tz, d, max(s.oddsPage[tz+"|"+d], 1)))
		}
	} else {
		keys := make([]string, 0, len(open))
		for k := range open {
			keys = append(keys, k)
		}
		// Least recently priced first, then the busiest league.
		sort.Slice(keys, func(i, j int) bool {
			ti, tj := s.leagueOddsAt[keys[i]], s.leagueOddsAt[keys[j]]
			if !ti.Equal(tj) {
				return ti.Before(tj)
			}
			if open[keys[i]] != open[keys[j]] {
				return open[keys[i]] > open[keys[j]]
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys {
			l := leagues[k]
			q = append(q, &action{kind: actOdds, class: clsOdds, path: "/odds", league: k, query: url.Values{"league": {l[0]}, "season": {l[1]}}})
		}
	}
	if len(q) > s.plan.oddsCalls {
		q = q[:s.plan.oddsCalls]
	}
	return q
}

func (s *sportClient) footballOdds(tz, date string, page int) *action {
	return &action{kind: actOdds, class: clsOdds, path: "/odds", date: date, page: page,
		query: url.Values{"date": {date}, "timezone": {tz}, "page": {fmt.Sprint(page)}}}
}

// run makes one planned call and applies its answer.
func (c *Client) run(ctx context.Context, s *sportClient, a *action, now time.Time, loc *time.Location, tz string) error {
	env, err := c.get(ctx, s, a.path, a.query)
	if err == nil {
		switch a.kind {
		case actDate, actLive:
			var d *decoded
			if d, err = parseFixtureItems(s.slug, env, now, c.log); err == nil {
				s.mu.Lock()
				if a.kind == actDate {
					s.applyDay(c.log, d, now, loc, tz, a.date)
				} else {
					s.applyLive(d, now, loc, tz)
				}
				s.succeeded(now)
				s.mu.Unlock()
			}
		case actOdds:
			var po *parsedOdds
			if po, err = parseOddsItems(s.slug, env, c.prefer, c.log); err == nil {
				s.mu.Lock()
				s.applyOdds(po, a, now, tz)
				s.succeeded(now)
				s.mu.Unlock()
			}
		}
	}
	if err != nil {
		c.failed(s, a.key(), err, now)
	}
	return err
}

// maxBody bounds an answer; a day of football fixtures is well under it.
const maxBody = 16 << 20

// get makes one call (already counted against the budget) and returns
// its envelope. Failures are *Error, or the context's error.
func (c *Client) get(ctx context.Context, s *sportClient, path string, q url.Values) (*envelope, error) {
	u := s.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &Error{Sport: s.slug, Kind: KindTransport, Message: "bad request URL"}
	}
	req.Header.Set("x-apisports-key", c.key)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Sport: s.slug, Kind: KindTransport, Message: err.Error()}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	s.mu.Lock()
	s.b.headers(c.now(), resp.Header)
	s.mu.Unlock()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &Error{Sport: s.slug, Kind: KindRateLimit, Status: resp.StatusCode, Message: "too many requests"}
	case resp.StatusCode == http.StatusNoContent:
		return &envelope{}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, &Error{Sport: s.slug, Kind: KindHTTP, Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	case readErr != nil:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Sport: s.slug, Kind: KindTransport, Status: resp.StatusCode, Message: "reading the answer: " + readErr.Error()}
	case len(body) > maxBody:
		return nil, &Error{Sport: s.slug, Kind: KindMalformed, Status: resp.StatusCode, Message: "answer too large"}
	}
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, &Error{Sport: s.slug, Kind: KindMalformed, Status: resp.StatusCode, Message: shortErr(err).Error()}
	}
	if perr := env.providerError(s.slug); perr != nil {
		perr.Status = resp.StatusCode
		return nil, perr
	}
	return env, nil
}

// failed applies a failed call to the plan: the daily quota stops the
// sport until the reset, rate limits and outages pause it, a plan refusal
// or an unreadable answer stops asking that same call for a while.
func (c *Client) failed(s *sportClient, key string, err error, now time.Time) {
	var e *Error
	if !errors.As(err, &e) {
		return
	}
	c.log.Warn("apisports: call failed; serving cached data", "sport", s.slug, "call", key, "kind", e.Kind, "status", e.Status, "err", e.Message)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastError, s.lastErrorAt = e.Error(), now
	switch e.Kind {
	case KindRequests:
		s.b.stop(now, e.Kind, "daily request limit reached")
	case KindRateLimit:
		s.b.backoff(now, e.Kind, "per-minute rate limit", time.Minute, true)
	case KindToken:
		s.b.backoff(now, e.Kind, "key refused", 10*time.Minute, false)
	case KindPlan:
		// The plan's date window moves at the reset; the season window
		// does not move at all, so asking again before it is wasted.
		s.notBefore[key] = nextReset(now)
	case KindHTTP, KindTransport:
		s.b.backoff(now, e.Kind, "provider unavailable", time.Minute, false)
		s.notBefore[key] = now.Add(2 * time.Minute)
	default:
		s.notBefore[key] = now.Add(15 * time.Minute)
	}
}

func (s *sportClient) succeeded(now time.Time) {
	s.lastSuccess = now
	s.b.backoffStep = 0
}

// applyDay stores a day's fixtures. A match the day no longer lists is
// dropped from the cache (it moved or was withdrawn), unless the answer
// was partial or had items we could not read.
func (s *sportClient) applyDay(log *slog.Logger, d *decoded, now time.Time, loc *time.Location, tz, date string) {
	listed := map[string]bool{}
	for _, f := range d.fixtures {
		s.fx[f.Ref] = &cached{f: f, meta: d.meta[f.Ref]}
		listed[f.Ref] = true
	}
	if d.pages.Total > 1 {
		log.Warn("apisports: a day's fixtures came in pages; only the first was read", "sport", s.slug, "date", date, "pages", d.pages.Total)
	} else if d.skipped == len(d.skippedRefs) {
		for ref, c := range s.fx {
			if !listed[ref] && !d.skippedRefs[ref] && c.day(loc) == date {
				delete(s.fx, ref)
			}
		}
	}
	ds := s.day(tz, date)
	ds.fetchedAt, ds.dirty = now, false
}

// applyLive stores football's live list. A match we had in play that is
// no longer listed has ended (or stopped): its day is fetched again for
// the result.
func (s *sportClient) applyLive(d *decoded, now time.Time, loc *time.Location, tz string) {
	listed := map[string]bool{}
	for _, f := range d.fixtures {
		prev := s.fx[f.Ref]
		meta := d.meta[f.Ref]
		if prev != nil && meta.Season == "" {
			meta = prev.meta
		}
		s.fx[f.Ref] = &cached{f: f, meta: meta}
		listed[f.Ref] = true
	}
	for ref, c := range s.fx {
		f := &c.f
		if listed[ref] || d.skippedRefs[ref] || !s.inPlay(f, now) {
			continue
		}
		ds := s.day(tz, c.day(loc))
		// A match still "not started" well after kick-off and not live has
		// been called off or played out unseen; look once.
		late := f.State == sport.Scheduled && now.Sub(f.KickoffAt) > 45*time.Minute && ds.fetchedAt.Before(f.KickoffAt.Add(45*time.Minute))
		if f.State != sport.Scheduled || late {
			ds.dirty = true
		}
	}
	s.liveAt = now
}

func (s *sportClient) applyOdds(po *parsedOdds, a *action, now time.Time, tz string) {
	for ref, ms := range po.markets {
		s.odds[ref] = oddsEntry{markets: ms, at: now}
	}
	if a.league != "" {
		s.leagueOddsAt[a.league] = now
		return
	}
	if a.date == "" || s.round.done == nil {
		return
	}
	total := po.pages.Total
	nextPage := a.page%total + 1
	s.oddsPage[tz+"|"+a.date] = nextPage
	s.round.done[a.date]++
	if total > 1 && s.round.done[a.date] < total && s.round.calls+len(s.round.queue) < s.plan.oddsCalls {
		s.round.queue = append(s.round.queue, s.footballOdds(tz, a.date, nextPage))
	}
}

// prune forgets what no poll asks for any more.
func (s *sportClient) prune(now time.Time) {
	old := now.Add(-4 * 24 * time.Hour)
	for ref, c := range s.fx {
		if c.f.KickoffAt.Before(old) {
			delete(s.fx, ref)
		}
	}
	oldDay := old.UTC().Format(time.DateOnly)
	for k, ds := range s.days {
		if ds.date < oldDay {
			delete(s.days, k)
		}
	}
	for ref, o := range s.odds {
		if now.Sub(o.at) > 72*time.Hour {
			delete(s.odds, ref)
		}
	}
	for k, t := range s.leagueOddsAt {
		if now.Sub(t) > 72*time.Hour {
			delete(s.leagueOddsAt, k)
		}
	}
	for k, t := range s.notBefore {
		if !now.Before(t) {
			delete(s.notBefore, k)
		}
	}
	for k, h := range s.h2h {
		if now.Sub(h.at) > 24*time.Hour {
			delete(s.h2h, k)
		}
	}
	for k, st := range s.stats {
		if now.Sub(st.at) > 24*time.Hour {
			delete(s.stats, k)
		}
	}
}

// snapshot copies the cached fixtures of a day. Odds are attached only
// to matches still scheduled: they are pre-match prices.
func (s *sportClient) snapshot(loc *time.Location, date string) []feed.Fixture {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []feed.Fixture
	for _, c := range s.fx {
		if c.day(loc) != date {
			continue
		}
		out = append(out, s.copyFixture(c))
	}
	sortFixtures(out)
	return out
}

func (s *sportClient) copyFixture(c *cached) feed.Fixture {
	f := c.f
	if f.Score != nil {
		sc := *f.Score
		f.Score = &sc
	}
	f.Markets = nil
	if f.State == sport.Scheduled {
		f.Markets = copyMarkets(s.odds[f.Ref].markets)
	}
	return f
}

func sortFixtures(fs []feed.Fixture) {
	sort.Slice(fs, func(i, j int) bool {
		if !fs[i].KickoffAt.Equal(fs[j].KickoffAt) {
			return fs[i].KickoffAt.Before(fs[j].KickoffAt)
		}
		return fs[i].Ref < fs[j].Ref
	})
}

func copyMarkets(ms []feed.Market) []feed.Market {
	if len(ms) == 0 {
		return nil
	}
	out := make([]feed.Market, len(ms))
	for i, m := range ms {
		out[i] = m
		if m.Line != nil {
			l := *m.Line
			out[i].Line = &l
		}
		out[i].Prices = make(map[string]odds.Odds, len(m.Prices))
		for k, v := range m.Prices {
			out[i].Prices[k] = v
		}
	}
	return out
}

// parseRef splits "sport:id".
func (c *Client) parseRef(ref string) (*sportClient, string, error) {
	sp, id, ok := strings.Cut(ref, ":")
	s := c.sports[sp]
	if !ok || s == nil || !validID(id) {
		return nil, "", fmt.Errorf("%w: %q is not a match of this provider", ErrNotFound, ref)
	}
	return s, id, nil
}

// matchFresh is how old a cached match may be for Match to answer it
// without a call.
const matchFresh = time.Minute

// Match returns one match's latest state, calling the provider unless the
// cached copy is under a minute old or the plan has no call to spare (then
// the cached copy is returned, with a degraded error if the provider is
// degraded).
func (c *Client) Match(ctx context.Context, ref string) (*feed.Fixture, error) {
	s, id, err := c.parseRef(ref)
	if err != nil {
		return nil, err
	}
	now := c.now()
	s.fetch.Lock()
	defer s.fetch.Unlock()
	s.mu.Lock()
	prev := s.fx[ref]
	var cachedCopy *feed.Fixture
	if prev != nil {
		f := s.copyFixture(prev)
		cachedCopy = &f
		if now.Sub(prev.f.FetchedAt) < matchFresh {
			s.mu.Unlock()
			return cachedCopy, nil
		}
	}
	v := s.gate(now, clsOdds)
	if !v.ok {
		s.mu.Unlock()
		switch {
		case v.err != nil:
			return cachedCopy, v.err
		case cachedCopy != nil:
			return cachedCopy, nil
		}
		return nil, &Error{Sport: s.slug, Kind: KindBudget, Message: "no call to spare for a single match now"}
	}
	s.b.take(now, clsOdds)
	s.mu.Unlock()
	path := "/games"
	if s.slug == "football" {
		path = "/fixtures"
	}
	// No timezone: an id needs none, and kick-offs are read from the
	// epoch timestamp.
	q := url.Values{"id": {id}}
	env, err := c.get(ctx, s, path, q)
	var d *decoded
	if err == nil {
		d, err = parseFixtureItems(s.slug, env, now, c.log)
	}
	if err != nil {
		c.failed(s, path+"?"+q.Encode(), err, now)
		return cachedCopy, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.succeeded(now)
	for _, f := range d.fixtures {
		if f.Ref != ref {
			continue
		}
		meta := d.meta[ref]
		s.fx[ref] = &cached{f: f, meta: meta}
		out := s.copyFixture(s.fx[ref])
		return &out, nil
	}
	if d.skippedRefs[ref] {
		return cachedCopy, &Error{Sport: s.slug, Kind: KindMalformed, Message: "match " + ref + " could not be read"}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
}

// h2hKeep is how many past meetings HeadToHead returns.
const h2hKeep = 5

// HeadToHead returns the last meetings of a fixture's two teams as
// finished fixtures, so the ingester can store them and form and
// head-to-head come from stored results. It calls the provider only with
// spare budget (once per pair per day); otherwise the error is a degraded
// KindBudget error.
func (c *Client) HeadToHead(ctx context.Context, f *feed.Fixture) ([]feed.Fixture, error) {
	if f == nil {
		return nil, errors.New("apisports: no fixture")
	}
	s := c.sports[f.Sport]
	if s == nil || !validID(f.Home.Ref) || !validID(f.Away.Ref) || f.Home.Ref == f.Away.Ref {
		return nil, fmt.Errorf("apisports: no head-to-head for %q", f.Ref)
	}
	a, b := f.Home.Ref, f.Away.Ref
	key := a + "-" + b
	if b < a {
		key = b + "-" + a
	}
	path, q := "/games/h2h", url.Values{"h2h": {a + "-" + b}}
	if s.slug == "football" {
		path = "/fixtures/headtohead"
		q.Set("last", fmt.Sprint(h2hKeep))
	}
	now := c.now()
	s.fetch.Lock()
	defer s.fetch.Unlock()
	s.mu.Lock()
	if h, ok := s.h2h[key]; ok && now.Sub(h.at) < 24*time.Hour {
		s.mu.Unlock()
		return without(h.fixtures, f.Ref), nil
	}
	if err := s.spare(now); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Unlock()
	env, err := c.get(ctx, s, path, q)
	var d *decoded
	if err == nil {
		d, err = parseFixtureItems(s.slug, env, now, c.log)
	}
	if err != nil {
		c.failed(s, path+"?"+q.Encode(), err, now)
		return nil, err
	}
	var past []feed.Fixture
	for _, m := range d.fixtures {
		if m.State == sport.Finished && m.Score != nil && m.KickoffAt.Before(now) {
			m.Markets = nil
			past = append(past, m)
		}
	}
	sort.Slice(past, func(i, j int) bool { return past[i].KickoffAt.After(past[j].KickoffAt) })
	if len(past) > h2hKeep+1 {
		past = past[:h2hKeep+1] // one more in case the fixture itself is listed
	}
	s.mu.Lock()
	s.succeeded(now)
	s.h2h[key] = h2hEntry{fixtures: past, at: now}
	s.mu.Unlock()
	return without(past, f.Ref), nil
}

// spare takes a spare call or says why there is none. It holds s.mu.
func (s *sportClient) spare(now time.Time) error {
	v := s.gate(now, clsSpare)
	if v.err != nil {
		return v.err
	}
	if !v.ok {
		return &Error{Sport: s.slug, Kind: KindBudget, Message: "no spare calls today"}
	}
	s.b.take(now, clsSpare)
	return nil
}

// without copies fs, leaving out ref, up to h2hKeep.
func without(fs []feed.Fixture, ref string) []feed.Fixture {
	out := []feed.Fixture{}
	for _, f := range fs {
		if f.Ref == ref || len(out) == h2hKeep {
			continue
		}
		if f.Score != nil {
			sc := *f.Score
			f.Score = &sc
		}
		out = append(out, f)
	}
	return out
}

// SportStatus is one sport's provider state, for /readyz details and
// metrics.
type SportStatus struct {
	// Limit is the daily budget; Remaining the calls left today (the lower
	// of our count and the provider's x-ratelimit-requests-remaining).
	Limit      int `json:"limit"`
	Remaining  int `json:"remaining"`
	CallsToday int `json:"calls_today"`
	// Degraded is why the sport is degraded now, empty when it is not.
	Degraded    string    `json:"degraded,omitempty"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// Fixtures is the number of matches cached.
	Fixtures int `json:"fixtures"`
}

// Status reports each polled sport's budget and health.
func (c *Client) Status() map[string]SportStatus {
	now := c.now()
	out := map[string]SportStatus{}
	for slug, s := range c.sports {
		s.mu.Lock()
		s.b.roll(now)
		st := SportStatus{Limit: s.b.limit, Remaining: s.b.remaining(), CallsToday: s.b.used,
			LastSuccess: s.lastSuccess, LastError: s.lastError, Fixtures: len(s.fx)}
		switch {
		case now.Before(s.b.stoppedUntil):
			st.Degraded = s.b.stopKind + ": " + s.b.stopWhy + " (until 00:00 UTC)"
		case now.Before(s.b.backoffUntil):
			st.Degraded = s.b.backoffKind + ": " + s.b.backoffWhy
		case st.Remaining <= 0:
			st.Degraded = KindBudget + ": the day's calls are spent"
		case s.lastErrorAt.After(s.lastSuccess) || (!s.lastErrorAt.IsZero() && s.lastSuccess.IsZero()):
			st.Degraded = s.lastError
		}
		s.mu.Unlock()
		out[slug] = st
	}
	return out
}
