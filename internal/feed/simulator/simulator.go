// Package simulator is the default sports data provider: fictional
// leagues in six countries spread over the world's time zones, whose
// matches kick off at real wall-clock times and play out in real or
// accelerated time, priced by the odds model from the teams' hidden
// strengths.
//
// Everything is a pure function of the seed, the match and the clock:
// nothing is stored, so any number of instances with the same seed agree,
// a restart loses nothing, and a match looks the same however often and
// in whatever order it is asked for.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Config sets up a simulator.
type Config struct {
	// Seed decides teams' strengths, fixtures and every result.
	Seed int64
	// Speed divides how long a match takes (kick-off times stay real):
	// at 60 a football match is over in under two minutes. 0 means 1.
	Speed float64
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Margin is the book's overround, from 0 (fair odds) to 0.5; the
	// operator's default is odds.DefaultMargin (5%). Zero is taken as
	// given, not as "unset", so that an operator's 0% is honoured.
	Margin float64
	// Stakes, when set, lets prices lean against the points staked on
	// upcoming matches (see drift.go).
	Stakes Stakes
}

// Simulator is a feed.Provider and feed.Historian.
type Simulator struct {
	seed  int64
	speed float64
	now   func() time.Time
	model odds.Model

	mu sync.Mutex
	// prices caches the model's markets by sport and ratings: the same
	// pairs are priced on every poll until kick-off.
	prices map[priceKey][]odds.Priced

	stakes Stakes
	drift  driftCache
}

var (
	_ feed.Provider  = (*Simulator)(nil)
	_ feed.Historian = (*Simulator)(nil)
)

type priceKey struct {
	sport      int
	home, away float64
}

// maxCached bounds the price cache; two days of matches fit many times.
const maxCached = 8192

// New returns a simulator.
func New(c Config) (*Simulator, error) {
	if c.Speed == 0 {
		c.Speed = 1
	}
	if math.IsNaN(c.Speed) || math.IsInf(c.Speed, 0) || c.Speed < 0.01 || c.Speed > 10000 {
		return nil, fmt.Errorf("simulator speed %v is outside 0.01 to 10000", c.Speed)
	}
	m, err := odds.NewModel(c.Margin)
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Simulator{seed: c.Seed, speed: c.Speed, now: c.Now, model: m, prices: map[priceKey][]odds.Priced{}, stakes: c.Stakes}, nil
}

// Name is the evidence source of the simulator's results.
func (s *Simulator) Name() string { return "simulator" }

// Fixtures lists the matches kicking off on the calendar day of day in
// loc, as they stand now.
func (s *Simulator) Fixtures(ctx context.Context, day time.Time, loc *time.Location) ([]feed.Fixture, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := day.In(loc).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	now := s.now()
	gs := gamesBetween(start, start.AddDate(0, 0, 1))
	book, err := s.staked(ctx, gs, now)
	if err != nil {
		return nil, err
	}
	out := make([]feed.Fixture, 0, len(gs))
	for _, g := range gs {
		out = append(out, s.fixture(g, now))
	}
	s.react(out, gs, now, book)
	return out, nil
}

// ErrUnknownMatch is returned by Match for a ref the simulator never made.
var ErrUnknownMatch = errors.New("simulator: unknown match")

// Match returns one match as it stands now.
func (s *Simulator) Match(ctx context.Context, ref string) (*feed.Fixture, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, ok := parseRef(ref)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownMatch, ref)
	}
	now := s.now()
	book, err := s.staked(ctx, []game{g}, now)
	if err != nil {
		return nil, err
	}
	fs := []feed.Fixture{s.fixture(g, now)}
	s.react(fs, []game{g}, now, book)
	return &fs[0], nil
}

// historyDays of finished matches before until's day are history: five
// times the 19 rounds in which every pair of a league's teams meets once
// (a double round robin is two of them), so that every pair has the five
// past meetings head-to-head shows (some 94 % have all five played: a few
// matches are postponed, cancelled or abandoned), and a day more, as a
// country's local rounds straddle UTC days. No choice of fewer rounds would do: a round
// is ten of a league's 190 pairs, so five meetings of each take 95
// rounds, and any 95 consecutive ones are such a choice that also gives
// form and season records their recent results.
const historyDays = 5*(teamsPerLeague-1) + 1

// History replays the schedule before until, so that form, season records
// and head-to-head exist from the first start: every finished match of the
// last historyDays days and of until's day so far (some 300 matches a
// day), and one matchday (1 May, UTC) of each of the three seasons before.
// They are the very matches Fixtures reports for those days.
func (s *Simulator) History(ctx context.Context, until time.Time) ([]feed.Fixture, error) {
	until = until.UTC()
	today := time.Date(until.Year(), until.Month(), until.Day(), 0, 0, 0, 0, time.UTC)
	var days []time.Time
	for y := until.Year() - 3; y < until.Year(); y++ {
		if d := time.Date(y, time.May, 1, 0, 0, 0, 0, time.UTC); d.Before(today.AddDate(0, 0, -historyDays)) {
			days = append(days, d)
		}
	}
	for d := -historyDays; d <= 0; d++ {
		days = append(days, today.AddDate(0, 0, d))
	}
	var out []feed.Fixture
	for _, day := range days {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, g := range gamesBetween(day, day.AddDate(0, 0, 1)) {
			if !g.kickoff().Before(until) {
				break // in kick-off order
			}
			if f := s.fixture(g, until); f.State == sport.Finished {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// gamesBetween lists the matches kicking off in [from, to), in kick-off
// order (then sport, then number).
func gamesBetween(from, to time.Time) []game {
	var gs []game
	for r := range regions {
		for round := localRound(from, r); round <= localRound(to.Add(-time.Second), r); round++ {
			for sp := range sports {
				for k := range matchesPerDay {
					g := game{sport: sp, region: r, round: round, k: k}
					if t := g.kickoff(); !t.Before(from) && t.Before(to) {
						gs = append(gs, g)
					}
				}
			}
		}
	}
	slices.SortFunc(gs, func(a, b game) int {
		if c := a.kickoff().Compare(b.kickoff()); c != 0 {
			return c
		}
		if a.sport != b.sport {
			return a.sport - b.sport
		}
		return int(a.number() - b.number())
	})
	return gs
}

func (g game) ref() string {
	return sports[g.sport].slug + ":" + strconv.FormatInt(g.number(), 10)
}

func parseRef(ref string) (game, bool) {
	slug, num, ok := strings.Cut(ref, ":")
	sp := sportIndex(slug)
	if !ok || sp < 0 {
		return game{}, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != num || n < -1e15 || n > 1e15 {
		return game{}, false
	}
	return gameOf(sp, n), true
}

// fate is what happens to a match besides being played: most are simply
// played; a few are postponed or cancelled before kick-off, suspended and
// resumed, or abandoned.
type fate struct {
	kind   sport.State // Scheduled for a match played normally
	notice time.Duration
	at     float64 // share of the match played when play stops
	dur    float64 // minutes stopped
}

// Rates of the rarer fates, per match.
const (
	postponeRate = 0.008
	cancelRate   = 0.004
	abandonRate  = 0.004
	suspendRate  = 0.025
)

func (s *Simulator) fate(g game) fate {
	r := newRNG(uint64(s.seed), 4, uint64(g.sport), uint64(g.number()))
	u := r.float()
	f := fate{kind: sport.Scheduled, notice: time.Hour + time.Duration(r.float()*5*float64(time.Hour)).Truncate(time.Minute),
		at: 0.1 + 0.8*r.float(), dur: 5 + 15*r.float()}
	switch {
	case u < postponeRate:
		f.kind = sport.Postponed
	case u < postponeRate+cancelRate:
		f.kind = sport.Cancelled
	case u < postponeRate+cancelRate+abandonRate:
		f.kind = sport.Abandoned
	case u < postponeRate+cancelRate+abandonRate+suspendRate:
		f.kind = sport.Suspended
	}
	return f
}

// play returns the match's script with its fate applied.
func (s *Simulator) play(g game, home, away float64, f fate) *script {
	r := newRNG(uint64(s.seed), 5, uint64(g.sport), uint64(g.number()))
	var sc *script
	switch sports[g.sport].slug {
	case "football":
		sc = playFootball(r, home, away, g.cup())
	case "baseball":
		sc = playBaseball(r, home, away)
	case "basketball":
		sc = playBasketball(r, home, away)
	case "hockey":
		sc = playHockey(r, home, away)
	default:
		sc = playHandball(r, home, away)
	}
	switch f.kind {
	case sport.Suspended:
		sc.suspend(f.at*sc.end, f.dur)
	case sport.Abandoned:
		sc.abandon(f.at*sc.end, f.dur)
	}
	return sc
}

func (s *Simulator) fixture(g game, now time.Time) feed.Fixture {
	d, reg := sports[g.sport], regions[g.region]
	home, away := s.pairing(g)
	rh, ra := s.ratings(g, home, away)
	kick := g.kickoff()
	f := feed.Fixture{
		Ref:       g.ref(),
		Sport:     d.slug,
		League:    feed.Named{Ref: "L" + strconv.Itoa(g.region), Name: fmt.Sprintf(d.league, reg.country), Country: reg.country},
		Home:      s.team(g, home),
		Away:      s.team(g, away),
		KickoffAt: kick,
		Ratings:   &feed.Ratings{Home: rh, Away: ra},
		FetchedAt: now,
	}
	if g.cup() {
		f.League = feed.Named{Ref: "C" + strconv.Itoa(g.region), Name: reg.country + " Cup", Country: reg.country}
	}
	ft := s.fate(g)
	called := !now.Before(kick.Add(-ft.notice)) // off, if it is to be
	switch {
	case ft.kind == sport.Postponed && called:
		f.Status = "PST"
	case ft.kind == sport.Cancelled && called:
		f.Status = "CANC"
	case now.Before(kick):
		f.Status = "NS"
		f.Markets = s.prematch(g, rh, ra, now, nil)
	default:
		sc := s.play(g, rh, ra, ft)
		e := now.Sub(kick).Minutes() * s.speed
		f.Status, f.Score = sc.status(e), sc.score(e)
	}
	f.State = stateOf(f.Status)
	return f
}

func (s *Simulator) team(g game, i int) feed.Named {
	reg := regions[g.region]
	return feed.Named{
		Ref:     fmt.Sprintf("%d-%02d", g.region, i),
		Name:    sports[g.sport].team(reg.cities[i], i, g.region),
		Country: reg.country,
	}
}

// markets prices a match; the cached markets are copied, so no caller
// shares a line or a price map.
func (s *Simulator) markets(sp int, home, away float64) []feed.Market {
	key := priceKey{sp, home, away}
	s.mu.Lock()
	ps, ok := s.prices[key]
	s.mu.Unlock()
	if !ok {
		var err error
		ps, err = s.model.Price(sports[sp].slug, home, away)
		if err != nil {
			return nil // ratings the model refuses: offered without odds
		}
		s.mu.Lock()
		if len(s.prices) >= maxCached {
			clear(s.prices)
		}
		s.prices[key] = ps
		s.mu.Unlock()
	}
	out := make([]feed.Market, len(ps))
	for i, p := range ps {
		out[i] = feed.Market{Kind: betting.MarketKind(p.Kind), Prices: p.Prices(), Source: "model"}
		if p.Line != nil {
			l := *p.Line
			out[i].Line = &l
		}
	}
	return out
}
