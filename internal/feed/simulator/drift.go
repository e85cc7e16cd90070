package simulator

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Prices move before kick-off as a bookmaker's do. The book reviews each
// match's prices on a fixed grid of reviews (every moveEvery, the same
// instants for every match). At a review its estimate of the sides'
// strength may move (news, line-ups): a random walk of each side's
// scoring rate, capped at a small share of the sport's score noise
// (driftLimit), which is well inside its spread of team strengths: prices
// stay near the model's and the estimate close to the hidden truth the
// match is played on.
// It also leans against the points staked on each selection before the
// review, shortening what players back and lengthening the rest, by a
// bounded amount that grows with the points at stake. Lines stay the ones
// the unmoved estimate gives (a moved line would be another market), and
// the margin is the configured one whatever moves.
//
// Both are a function of the seed, the review's instant and the stakes
// placed before it: the prices of a match at a moment are the same however
// often and in whatever order they are asked for, and a price changes only
// at a review, a few times an hour.
const (
	// moveEvery is the gap between reviews.
	moveEvery = 20 * time.Minute
	// openBefore is how long before kick-off the estimate starts moving
	// (the day before yesterday's fixtures are first polled after that).
	openBefore = 48 * time.Hour
	// moveShare is the chance that a review moves the strength estimate.
	moveShare = 0.6
	// driftShare caps the walk of the estimate where it moves an average
	// match's expected margin, or total, by this share of the margin's
	// standard deviation (driftLimit); stepShare is one move's standard
	// deviation as a share of the cap.
	driftShare = 0.09
	stepShare  = 0.4
	// stakeScale is the points at which the stake reaction reaches half
	// its strength; stakeGain its full strength; stakeCap bounds how far
	// one selection's probability moves (as a log factor) before the
	// market is normalised again.
	stakeScale = 20000
	stakeGain  = 1.0
	stakeCap   = 0.10
)

// Stakes reads the points staked on the simulator's upcoming matches
// (sqlstore.DB.StakedBefore), for the book's reaction to them.
type Stakes interface {
	StakedBefore(ctx context.Context, provider string, refs []string, before time.Time) ([]feed.Staked, error)
}

// review is the latest review at or before t.
func review(t time.Time) time.Time {
	return time.Unix(0, 0).Add(time.Duration(math.Floor(float64(t.Unix())/moveEvery.Seconds())) * moveEvery).UTC()
}

// walk returns the log factors by which the book's estimate of each
// side's scoring rate has moved by the review at.
func (s *Simulator) walk(g game, at time.Time) (dh, da float64) {
	kick := g.kickoff()
	if !at.Before(kick) {
		return 0, 0
	}
	limit := driftLimit()[g.sport]
	step := limit * stepShare
	from := review(kick.Add(-openBefore)).Unix() / int64(moveEvery.Seconds())
	to := review(at).Unix() / int64(moveEvery.Seconds())
	// Every poll within a review asks the same: the walk is kept.
	key := walkKey{g.sport, g.number(), to}
	s.drift.mu.Lock()
	w, ok := s.drift.walks[key]
	s.drift.mu.Unlock()
	if ok {
		return w[0], w[1]
	}
	defer func() {
		s.drift.mu.Lock()
		if s.drift.walks == nil || len(s.drift.walks) >= maxCached {
			s.drift.walks = map[walkKey][2]float64{}
		}
		s.drift.walks[key] = [2]float64{dh, da}
		s.drift.mu.Unlock()
	}()
	for k := from + 1; k <= to; k++ {
		r := newRNG(uint64(s.seed), 6, uint64(g.sport), uint64(g.number()), uint64(k))
		if r.float() >= moveShare {
			continue
		}
		dh = clamp(dh+step*r.norm(), limit)
		da = clamp(da+step*r.norm(), limit)
	}
	return dh, da
}

// driftLimit is each sport's cap on the walk of a side's log scoring
// rate: the move of both rates that shifts an average match's expected
// margin, or total, by driftShare of the model's standard deviation of
// its margin. A share of the score's noise moves every sport's prices by
// about as much (TestDriftWithinModel).
//
// A share of the sport's spread of team strengths, as the cap was, does
// not: what a rate's move does to a price depends on how dispersed scores
// are beside it, and handball's goals (odds.HandballSD, a level score
// weighted by odds.LevelWeight) spread little beside its teams'
// strengths, so a quarter of that spread moved a near-even handball
// handicap by 0.17 of probability where basketball's moved by 0.07.
// Computed from the model, the cap follows a recalibration.
var driftLimit = sync.OnceValue(func() [sportsCount]float64 {
	var out [sportsCount]float64
	for sp, d := range sports {
		home, away := d.base*d.home, d.base*d.away
		o, err := odds.Distribution(d.slug, home, away)
		if err != nil {
			panic(fmt.Sprintf("simulator: the average %s match has no model: %v", d.slug, err))
		}
		mean, sq := 0.0, 0.0
		for i, p := range o.Margin.P {
			k := float64(o.Margin.Lo + i)
			mean += k * p
			sq += k * k * p
		}
		out[sp] = driftShare * math.Sqrt(sq-mean*mean) / (home + away)
	}
	return out
})

func clamp(v, limit float64) float64 { return max(-limit, min(limit, v)) }

// stakeKey names a market of a match in the stakes read.
type stakeKey struct {
	ref     string
	kind    betting.MarketKind
	line    odds.Line
	hasLine bool
}

func keyOf(ref string, kind betting.MarketKind, line *odds.Line) stakeKey {
	k := stakeKey{ref: ref, kind: kind}
	if line != nil {
		k.line, k.hasLine = *line, true
	}
	return k
}

// stakeBook is the points staked per selection name, by market.
type stakeBook map[stakeKey]map[string]int64

// staked reads the stakes on the games still to kick off at now, placed
// before the latest review. Without a Stakes reader there are none.
func (s *Simulator) staked(ctx context.Context, gs []game, now time.Time) (stakeBook, error) {
	if s.stakes == nil {
		return nil, nil
	}
	var refs []string
	for _, g := range gs {
		if now.Before(g.kickoff()) {
			refs = append(refs, g.ref())
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	rows, err := s.stakes.StakedBefore(ctx, s.Name(), refs, review(now))
	if err != nil {
		// Without the stakes the prices would jump back and forth:
		// better no fixtures this poll than wrong moves.
		return nil, fmt.Errorf("simulator: stakes: %w", err)
	}
	book := stakeBook{}
	for _, r := range rows {
		k := keyOf(r.Ref, r.Kind, r.Line)
		if book[k] == nil {
			book[k] = map[string]int64{}
		}
		book[k][r.Selection] += r.Points
	}
	return book, nil
}

// driftKey caches the fair probabilities of moved estimates: within a
// review they are the same on every poll.
type driftKey struct {
	sport            int
	home, away       float64
	total, handicap  odds.Line
	hasTotal, hasHcp bool
}

type driftCache struct {
	mu    sync.Mutex
	fair  map[driftKey][][]float64
	walks map[walkKey][2]float64
}

// walkKey is a match at a review.
type walkKey struct {
	sport  int
	number int64
	review int64
}

// prematch prices a match that has not kicked off as the book stands at
// now: the model's markets for its moved estimate, leaning against the
// stakes in book, at the unmoved estimate's lines.
func (s *Simulator) prematch(g game, rh, ra float64, now time.Time, book stakeBook) []feed.Market {
	base := s.markets(g.sport, rh, ra)
	dh, da := s.walk(g, now)
	ref := g.ref()
	staked := false
	for _, m := range base {
		if len(book[keyOf(ref, m.Kind, m.Line)]) > 0 {
			staked = true
		}
	}
	if (dh == 0 && da == 0 && !staked) || len(base) == 0 {
		return base
	}
	fair, err := s.movedFair(g.sport, round4(rh*math.Exp(dh)), round4(ra*math.Exp(da)), base)
	if err != nil {
		return base
	}
	for i := range base {
		m := &base[i]
		names := betting.SelectionNames[m.Kind]
		p := lean(fair[i], names, book[keyOf(ref, m.Kind, m.Line)])
		prices := odds.WithMargin(p, s.model.Margin)
		for j, n := range names {
			m.Prices[n] = prices[j]
		}
	}
	return base
}

// movedFair returns the margin-free probabilities of base's markets (in
// its order, selections in betting.SelectionNames order) for the moved
// ratings home and away.
func (s *Simulator) movedFair(sp int, home, away float64, base []feed.Market) ([][]float64, error) {
	key := driftKey{sport: sp, home: home, away: away}
	for _, m := range base {
		switch m.Kind {
		case betting.Total:
			key.total, key.hasTotal = *m.Line, true
		case betting.Handicap:
			key.handicap, key.hasHcp = *m.Line, true
		}
	}
	s.drift.mu.Lock()
	f, ok := s.drift.fair[key]
	s.drift.mu.Unlock()
	if ok {
		return f, nil
	}
	o, err := odds.Distribution(sports[sp].slug, home, away)
	if err != nil {
		return nil, err
	}
	f = make([][]float64, len(base))
	for i, m := range base {
		if f[i], err = fairOf(o, m.Kind, m.Line); err != nil {
			return nil, err
		}
	}
	s.drift.mu.Lock()
	if s.drift.fair == nil || len(s.drift.fair) >= maxCached {
		s.drift.fair = map[driftKey][][]float64{}
	}
	s.drift.fair[key] = f
	s.drift.mu.Unlock()
	return f, nil
}

// fairOf is the margin-free probabilities of a market of o, selections
// in betting.SelectionNames order.
func fairOf(o *odds.Outcomes, kind betting.MarketKind, line *odds.Line) ([]float64, error) {
	switch kind {
	case betting.OneXTwo:
		return odds.Normalise(o.RegHome, o.RegDraw, o.RegAway), nil
	case betting.Moneyline:
		return odds.Normalise(o.Home, o.Away), nil
	case betting.Total:
		over, under, _ := o.Over(*line)
		return odds.Normalise(over, under), nil
	case betting.Handicap:
		h, a, _ := o.Cover(*line)
		return odds.Normalise(h, a), nil
	}
	return nil, fmt.Errorf("simulator: cannot move a %s market", kind)
}

// lean moves fair probabilities towards the shares of the points staked
// on each selection: a selection backed beyond its probability becomes
// more likely in the book's eyes (a shorter price), the others less. The
// strength grows with the points at stake, up to stakeGain, and no
// selection's probability moves by more than a factor of e^stakeCap
// before the market is normalised again. The result sums to one.
func lean(fair []float64, names []string, staked map[string]int64) []float64 {
	var total int64
	for _, n := range names {
		total += max(0, staked[n])
	}
	if total == 0 {
		return fair
	}
	gain := stakeGain * float64(total) / float64(total+stakeScale)
	out := make([]float64, len(fair))
	for i, n := range names {
		share := float64(max(0, staked[n])) / float64(total)
		out[i] = fair[i] * math.Exp(clamp(gain*(share-fair[i]), stakeCap))
	}
	return odds.Normalise(out...)
}

// react prices again the scheduled fixtures that have stakes on them.
func (s *Simulator) react(fs []feed.Fixture, gs []game, now time.Time, book stakeBook) {
	if len(book) == 0 {
		return
	}
	refs := make(map[string]bool, len(book))
	for k := range book {
		refs[k.ref] = true
	}
	for i := range fs {
		f := &fs[i]
		if !refs[f.Ref] || f.State != sport.Scheduled || len(f.Markets) == 0 || f.Ratings == nil {
			continue
		}
		f.Markets = s.prematch(gs[i], f.Ratings.Home, f.Ratings.Away, now, book)
	}
}
