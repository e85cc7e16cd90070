package odds

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/pointsbook/pointsbook/internal/sport"
)

// DefaultMargin is the book's overround when the operator sets none.
const DefaultMargin = 0.05

// The scoring processes below are a contract between the model and the
// simulator: the simulator plays every match with exactly these rules and
// distributions, which is what keeps the model's prices calibrated against
// it. Change one side and the calibration tests of both must still pass.
const (
	// BasketballSD is the spread of one team's regulation points; points
	// are a normal rounded to a whole number (below zero counts as zero).
	BasketballSD = 9.5
	// BasketballOTShare is one overtime's length as a share of regulation
	// (5 of 40 minutes); its points are normal with the mean and variance
	// scaled by this share.
	BasketballOTShare = 5.0 / 40.0
	// BasketballMaxOT overtimes are played at most; a tie after them
	// stands, and a moneyline on it pushes.
	BasketballMaxOT = 8

	// HockeyOTMinutes of sudden-death overtime follow a level regulation.
	HockeyOTMinutes = 5.0
	// HockeyOTPace scales both sides' scoring rates in overtime, which is
	// played with fewer skaters and scores faster than regulation.
	HockeyOTPace = 1.6
	// A shoot-out is a coin flip (both sides shoot equally well) and the
	// winner is credited one goal in the final score, as hockey records it.

	// BaseballInnings is regulation; BaseballMaxInnings is the last extra
	// inning, after which a level game is a tie (as in some Asian leagues).
	BaseballInnings    = 9
	BaseballMaxInnings = 12
	// BaseballMoreRuns is the chance that a half-inning that has scored
	// scores again, so runs in a scoring half-inning are 1 + geometric.
	BaseballMoreRuns = 0.45
	// BaseballMaxRuns caps one half-inning's runs.
	BaseballMaxRuns = 15

	// HandballSD is the spread of one team's goals: goals are a normal
	// rounded to a whole number, like basketball's points, because
	// handball scores are far less dispersed than a Poisson count of the
	// same mean (a side scores on about half of some 50 possessions), and
	// a Poisson spread made 40–16 wins of mere favourites.
	HandballSD = 3.0
)

// levelWeight makes a level regulation score that many times likelier
// than independent scoring makes it, the rest scaled down in proportion
// (a diagonal-inflated model, after Karlis and Ntzoufras). Real leagues
// end level more often than independent scores predict: a side that is
// level late plays for the point or for overtime, and a basketball game
// level in the last seconds is often taken to overtime by a fouling and
// last-shot end. The weights are fitted so that the simulator's leagues
// land on the rates of rates.go. Baseball's innings have no such effect.
var levelWeight = map[string]float64{"football": 1, "hockey": 1.42, "basketball": 1.7, "handball": 1.8}

// LevelWeight is the sport's weight of a level regulation score (1: none).
func LevelWeight(sportSlug string) float64 {
	if w, ok := levelWeight[sportSlug]; ok {
		return w
	}
	return 1
}

// Main market kinds and their selections, by value: betting imports this
// package, so the names are repeated here rather than imported, in the
// order betting.SelectionNames gives them.
const (
	kind1x2       = "1x2"
	kindMoneyline = "moneyline"
	kindTotal     = "total"
	kindHandicap  = "handicap"
)

var selections = map[string][]string{
	kind1x2:       {"home", "draw", "away"},
	kindMoneyline: {"home", "away"},
	kindTotal:     {"over", "under"},
	kindHandicap:  {"home", "away"},
}

// Model prices matches from the sides' expected scoring rates.
type Model struct {
	// Margin is the overround added to every market: 0.05 makes the
	// implied probabilities of a market sum to 1.05.
	Margin float64
}

// NewModel returns a model with the given margin, between 0 and 0.5.
func NewModel(margin float64) (Model, error) {
	if math.IsNaN(margin) || margin < 0 || margin > 0.5 {
		return Model{}, fmt.Errorf("margin %v is outside 0 to 0.5", margin)
	}
	return Model{Margin: margin}, nil
}

// Priced is one market as the model prices it.
type Priced struct {
	// Kind is a betting.MarketKind value: "1x2", "moneyline", "total" or
	// "handicap".
	Kind string
	// Line is the total, or the handicap applied to the home side.
	Line *Line
	// Selections are named and ordered as betting.SelectionNames.
	Selections []string
	// Fair are the margin-free probabilities of the selections. They sum
	// to 1: where a line or a tie can push, they are conditional on no
	// push, because a push returns the stake.
	Fair []float64
	Odds []Odds
}

// Prices returns the odds by selection name.
func (p Priced) Prices() map[string]Odds {
	m := make(map[string]Odds, len(p.Odds))
	for i, n := range p.Selections {
		m[n] = p.Odds[i]
	}
	return m
}

// Overround is the sum of the implied probabilities of the rounded odds,
// minus one.
func (p Priced) Overround() float64 {
	s := 0.0
	for _, o := range p.Odds {
		s += 100 / float64(o)
	}
	return s - 1
}

// Price returns the main market (1x2 where the sport can end level after
// regulation, else moneyline), one total line and one handicap line.
// home and away are the sides' expected scoring in regulation time:
// goals, points, or runs per nine innings.
func (m Model) Price(sportSlug string, home, away float64) ([]Priced, error) {
	if math.IsNaN(m.Margin) || m.Margin < 0 || m.Margin > 0.5 {
		return nil, fmt.Errorf("margin %v is outside 0 to 0.5", m.Margin)
	}
	o, err := Distribution(sportSlug, home, away)
	if err != nil {
		return nil, err
	}
	return m.PriceOutcomes(o), nil
}

// PriceOutcomes prices markets from a computed distribution.
func (m Model) PriceOutcomes(o *Outcomes) []Priced {
	out := make([]Priced, 0, 3)
	if o.HasDraw {
		out = append(out, m.market(kind1x2, nil, []float64{o.RegHome, o.RegDraw, o.RegAway}))
	} else {
		out = append(out, m.market(kindMoneyline, nil, []float64{o.Home, o.Away}))
	}
	tl := o.TotalLine()
	over, under, _ := o.Over(tl)
	out = append(out, m.market(kindTotal, &tl, []float64{over, under}))
	hl := o.HandicapLine()
	h, a, _ := o.Cover(hl)
	out = append(out, m.market(kindHandicap, &hl, []float64{h, a}))
	return out
}

func (m Model) market(kind string, line *Line, p []float64) Priced {
	fair := Normalise(p...)
	return Priced{Kind: kind, Line: line, Selections: slices.Clone(selections[kind]), Fair: fair, Odds: WithMargin(fair, m.Margin)}
}

// Normalise scales probabilities to sum to one (equal shares when they
// sum to nothing).
func Normalise(p ...float64) []float64 {
	s := 0.0
	for _, v := range p {
		s += v
	}
	out := make([]float64, len(p))
	for i, v := range p {
		if s > 0 {
			out[i] = v / s
		} else {
			out[i] = 1 / float64(len(p))
		}
	}
	return out
}

// WithMargin turns fair probabilities (summing to 1) into odds in
// hundredths whose implied probabilities sum to 1+margin. Rounding a
// short price to two decimals moves its implied probability a lot, so
// prices are fixed shortest first and each later one absorbs the rounding
// of those before it; the longest price, whose implied probability moves
// least per hundredth, comes last. A price held at Min or Max has its
// lost margin carried by the others the same way.
func WithMargin(fair []float64, margin float64) []Odds {
	n := len(fair)
	out := make([]Odds, n)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	// Insertion sort by probability, highest first: n is 2 or 3.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && fair[order[j]] > fair[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	want := 1 + margin
	for k, i := range order {
		// The fair probability left is summed, not found by subtraction,
		// which cancels to nothing beside a near-certain favourite.
		rest := 0.0
		for _, j := range order[k:] {
			rest += fair[j]
		}
		q := want / float64(n-k) // only impossible outcomes left
		if rest > 0 {
			q = want * fair[i] / rest
		}
		out[i] = clampOdds(q)
		want -= 100 / float64(out[i])
	}
	return out
}

// clampOdds rounds 1/q to hundredths within Min..Max.
func clampOdds(q float64) Odds {
	if !(q > 0) {
		return Max
	}
	v := math.Round(100 / q)
	switch {
	case v < float64(Min):
		return Min
	case v > float64(Max):
		return Max
	}
	return Odds(v)
}

// Outcomes is a match's outcome distribution under the model.
type Outcomes struct {
	Sport string
	// HasDraw is the sport's: a 1x2 market rather than a moneyline.
	HasDraw bool
	// Regulation result.
	RegHome, RegDraw, RegAway float64
	// Final result including overtime, extra innings and shoot-outs; Tie
	// is a final tie (a moneyline on it pushes). Football and handball are
	// priced as league matches, whose final result is the regulation one.
	Home, Away, Tie float64
	// Total and margin (home minus away) of the score that totals and
	// handicaps settle on for the sport: regulation for football and
	// handball, final for the others.
	Total  Dist
	Margin Dist
}

// Dist is a probability mass function over consecutive integers: P(Lo+i)
// is P[i].
type Dist struct {
	Lo int
	P  []float64
}

// At returns P(k).
func (d Dist) At(k int) float64 {
	if k < d.Lo || k >= d.Lo+len(d.P) {
		return 0
	}
	return d.P[k-d.Lo]
}

// Sum returns the total mass.
func (d Dist) Sum() float64 {
	s := 0.0
	for _, v := range d.P {
		s += v
	}
	return s
}

// Over returns the probabilities that the settled total goes over, under
// or exactly onto the line.
func (o *Outcomes) Over(line Line) (over, under, push float64) {
	for i, p := range o.Total.P {
		switch v := int64(o.Total.Lo+i) * 100; {
		case v > int64(line):
			over += p
		case v < int64(line):
			under += p
		default:
			push += p
		}
	}
	return
}

// Cover returns the probabilities that the home side covers the handicap
// line (margin + line > 0), the away side does, or it pushes.
func (o *Outcomes) Cover(line Line) (home, away, push float64) {
	for i, p := range o.Margin.P {
		switch v := int64(o.Margin.Lo+i)*100 + int64(line); {
		case v > 0:
			home += p
		case v < 0:
			away += p
		default:
			push += p
		}
	}
	return
}

// TotalLine is the half line nearest the median of the settled total, so
// that over and under are as close to even as the sport allows.
func (o *Outcomes) TotalLine() Line {
	best, bestGap := Line(50), 2.0
	cum := 0.0
	for i, p := range o.Total.P {
		cum += p // P(total ≤ k): the under of line k+0.5
		if gap := math.Abs(cum - 0.5); gap < bestGap {
			best, bestGap = Line((o.Total.Lo+i)*100+50), gap
		}
	}
	return best
}

// HandicapLine is the home line, whole or half, that splits the settled
// margin nearest to even (pushes set aside). Ties prefer a half line, then
// the smaller line.
func (o *Outcomes) HandicapLine() Line {
	d := o.Margin
	best, bestGap := Line(0), 2.0
	// below[i] = P(margin < Lo+i)
	below := make([]float64, len(d.P)+1)
	for i, p := range d.P {
		below[i+1] = below[i] + p
	}
	total := below[len(d.P)]
	consider := func(l Line, home, push float64) {
		if total-push <= 0 {
			return
		}
		gap := math.Abs(home/(total-push) - 0.5)
		better := gap < bestGap-1e-12
		if !better && math.Abs(gap-bestGap) <= 1e-12 {
			half := func(x Line) bool { return x%100 != 0 }
			better = (half(l) && !half(best)) || (half(l) == half(best) && abs64(int64(l)) < abs64(int64(best)))
		}
		if better {
			best, bestGap = l, gap
		}
	}
	for i := range d.P {
		k := d.Lo + i // a margin the home side might end on
		// Whole line -k: home covers above k, pushes on k.
		consider(Line(-k*100), total-below[i+1], d.P[i])
		// Half line -k+0.5: home covers on k or above.
		consider(Line(-k*100+50), total-below[i], 0)
	}
	return best
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// rating caps keep the distributions small enough to compute; a provider
// rating beyond them is a data error rather than a match to price.
var ratingCap = map[string]float64{"football": 12, "hockey": 15, "handball": 60, "basketball": 200, "baseball": 25}

// Distribution computes a match's outcome distribution. home and away
// are the sides' expected regulation scoring: goals (football, hockey,
// handball), points (basketball) or runs per nine innings (baseball).
func Distribution(sportSlug string, home, away float64) (*Outcomes, error) {
	sp, ok := sport.Lookup(sportSlug)
	if !ok {
		return nil, fmt.Errorf("unknown sport %q", sportSlug)
	}
	limit := ratingCap[sp.Slug]
	for _, v := range []float64{home, away} {
		if !(v > 0) || v > limit {
			return nil, fmt.Errorf("%s rating %v is outside 0 to %v", sp.Slug, v, limit)
		}
	}
	var o *Outcomes
	switch sp.Slug {
	case "football":
		o = league(regulationOf(dist(PoissonPMF(home)), dist(PoissonPMF(away)), LevelWeight(sp.Slug)))
	case "handball":
		o = league(regulationOf(dist(PointsPMF(home, HandballSD)), dist(PointsPMF(away, HandballSD)), LevelWeight(sp.Slug)))
	case "hockey":
		o = hockey(home, away)
	case "basketball":
		o = basketball(home, away)
	case "baseball":
		o = baseball(home, away)
	default:
		return nil, errors.New("no model for " + sp.Slug)
	}
	o.Sport, o.HasDraw = sp.Slug, sp.HasDraw
	return o, nil
}

// PoissonPMF is P(k) of a Poisson count with the given mean, for k from 0
// until the tail is negligible.
func PoissonPMF(mean float64) []float64 {
	var out []float64
	p := math.Exp(-mean)
	if p == 0 { // too large a mean to start from P(0); never our ratings
		return []float64{1}
	}
	cum := 0.0
	for k := 0; ; k++ {
		if k > 0 {
			p *= mean / float64(k)
		}
		out = append(out, p)
		cum += p
		// Past the mean the terms shrink geometrically; the second test
		// ends the loop should rounding keep cum a hair short of one.
		if float64(k) > mean && (1-cum < 1e-13 || p < 1e-17) {
			return out
		}
	}
}

// PointsPMF is P(k) of round(N(mean, sd²)) with everything below zero
// counted as zero, for k from 0 until the upper tail is negligible.
func PointsPMF(mean, sd float64) []float64 {
	hi := int(math.Ceil(mean + 9*sd))
	if hi < 0 {
		return []float64{1}
	}
	cdf := func(x float64) float64 { return 0.5 * math.Erfc(-(x-mean)/(sd*math.Sqrt2)) }
	out := make([]float64, hi+1)
	// Below nine deviations the mass is nil; each boundary's CDF is
	// computed once, as the next point's lower edge.
	k := max(0, int(mean-9*sd))
	prev := 0.0
	if k > 0 {
		prev = cdf(float64(k) - 0.5)
	}
	for ; k <= hi; k++ {
		c := cdf(float64(k) + 0.5)
		out[k] = c - prev
		prev = c
	}
	return out
}

// HalfInningPMF is the distribution of one half-inning's runs for a side
// expected to score perNine runs over nine innings. A half-inning scores
// with probability q, and then 1 + geometric runs (each further run with
// probability BaseballMoreRuns), capped at BaseballMaxRuns. In extra
// innings a runner starts on second base, which makes scoring likelier.
func HalfInningPMF(perNine float64, extra bool) []float64 {
	// Runs given a scoring half-inning, capped: the capped mean sets q.
	given := make([]float64, BaseballMaxRuns+1)
	mean, norm := 0.0, 0.0
	for k := 1; k <= BaseballMaxRuns; k++ {
		given[k] = (1 - BaseballMoreRuns) * math.Pow(BaseballMoreRuns, float64(k-1))
		norm += given[k]
	}
	for k := 1; k <= BaseballMaxRuns; k++ {
		given[k] /= norm
		mean += float64(k) * given[k]
	}
	q := math.Min(perNine/BaseballInnings/mean, 0.95)
	if extra {
		q = 1 - math.Pow(1-q, 2.5)
	}
	out := make([]float64, BaseballMaxRuns+1)
	out[0] = 1 - q
	for k := 1; k <= BaseballMaxRuns; k++ {
		out[k] = q * given[k]
	}
	return out
}

// tiny is the mass below which a distribution's tail is dropped.
const tiny = 1e-14

func dist(p []float64) Dist { return Dist{P: p}.trim() }

func (d Dist) trim() Dist {
	lo, hi := 0, len(d.P)
	for lo < hi && d.P[lo] < tiny {
		lo++
	}
	for hi > lo && d.P[hi-1] < tiny {
		hi--
	}
	return Dist{Lo: d.Lo + lo, P: d.P[lo:hi]}
}

// add is the distribution of X+Y for independent X and Y.
func (d Dist) add(e Dist) Dist {
	if len(d.P) == 0 || len(e.P) == 0 {
		return Dist{}
	}
	out := make([]float64, len(d.P)+len(e.P)-1)
	for i, p := range d.P {
		if p == 0 {
			continue
		}
		o := out[i : i+len(e.P)]
		for j, q := range e.P {
			o[j] += p * q
		}
	}
	return Dist{Lo: d.Lo + e.Lo, P: out}.trim()
}

// sub is the distribution of X−Y for independent X and Y.
func (d Dist) sub(e Dist) Dist {
	if len(d.P) == 0 || len(e.P) == 0 {
		return Dist{}
	}
	rev := make([]float64, len(e.P)) // P(−Y)
	for j, q := range e.P {
		rev[len(e.P)-1-j] = q
	}
	return d.add(Dist{Lo: -(e.Lo + len(e.P) - 1), P: rev})
}

// scale multiplies every mass by f.
func (d Dist) scale(f float64) Dist {
	out := make([]float64, len(d.P))
	for i, p := range d.P {
		out[i] = p * f
	}
	return Dist{Lo: d.Lo, P: out}
}

// plus adds two (possibly partial) mass functions pointwise.
func (d Dist) plus(e Dist) Dist {
	switch {
	case len(d.P) == 0:
		return e
	case len(e.P) == 0:
		return d
	}
	lo := min(d.Lo, e.Lo)
	hi := max(d.Lo+len(d.P), e.Lo+len(e.P))
	out := make([]float64, hi-lo)
	for i, p := range d.P {
		out[d.Lo-lo+i] += p
	}
	for i, p := range e.P {
		out[e.Lo-lo+i] += p
	}
	return Dist{Lo: lo, P: out}
}

// acc accumulates a mass function over integers that grows as needed.
// It is a slice rather than a map so that sums are always added in the
// same order: prices must not differ between runs in the last bit.
type acc struct {
	lo int
	p  []float64
}

func (a *acc) add(k int, v float64) {
	if i := k - a.lo; i >= 0 && i < len(a.p) {
		a.p[i] += v
		return
	}
	a.grow(k)
	a.p[k-a.lo] += v
}

func (a *acc) grow(k int) {
	switch {
	case len(a.p) == 0:
		a.lo, a.p = k, []float64{0}
	case k < a.lo:
		grown := make([]float64, a.lo-k+len(a.p))
		copy(grown[a.lo-k:], a.p)
		a.lo, a.p = k, grown
	default:
		a.p = append(a.p, make([]float64, k-a.lo-len(a.p)+1)...)
	}
}

// sized returns an accumulator covering lo..hi without growing.
func sized(lo, hi int) acc { return acc{lo: lo, p: make([]float64, hi-lo+1)} }

func (a *acc) dist() Dist { return Dist{Lo: a.lo, P: a.p} }

// regulation splits independent regulation scores into the result, the
// margin, the total of undecided (level) games and the rest.
type regulation struct {
	home, draw, away float64
	margin           Dist // all outcomes
	total            Dist // all outcomes
	levelTotal       Dist // P(level and total = t)
}

// regulationOf is the regulation result of independent scores h and a,
// with a level score weighted by w (see levelWeight).
func regulationOf(h, a Dist, w float64) regulation {
	r := regulation{margin: h.sub(a), total: h.add(a)}
	for i, p := range r.margin.P {
		switch k := r.margin.Lo + i; {
		case k > 0:
			r.home += p
		case k < 0:
			r.away += p
		default:
			r.draw += p
		}
	}
	var lvl acc
	for i, p := range h.P {
		if q := a.At(h.Lo + i); q > 0 {
			lvl.add(2*(h.Lo+i), p*q)
		}
	}
	r.levelTotal = lvl.dist()
	if w == 1 {
		return r
	}
	// Weighting the level scores by w and renormalising by z: the level
	// part of every distribution grows by w, the rest shrinks by 1/z.
	z := 1 + (w-1)*r.draw
	r.total = r.total.plus(r.levelTotal.scale(w - 1)).scale(1 / z)
	r.margin = r.margin.scale(1 / z)
	if i := -r.margin.Lo; i >= 0 && i < len(r.margin.P) {
		r.margin.P[i] *= w
	}
	r.levelTotal = r.levelTotal.scale(w / z)
	r.home, r.away, r.draw = r.home/z, r.away/z, r.draw*w/z
	return r
}

// decided returns the regulation margin and total with level games taken out.
func (r regulation) decided() (margin, total Dist) {
	margin = Dist{Lo: r.margin.Lo, P: append([]float64(nil), r.margin.P...)}
	if i := -margin.Lo; i >= 0 && i < len(margin.P) {
		margin.P[i] = 0
	}
	total = r.total.plus(r.levelTotal.scale(-1))
	for i, p := range total.P {
		if p < 0 { // rounding
			total.P[i] = 0
		}
	}
	return margin, total
}

// league is a league match's outcome: the final result is the regulation one.
func league(r regulation) *Outcomes {
	return &Outcomes{
		RegHome: r.home, RegDraw: r.draw, RegAway: r.away,
		Home: r.home, Away: r.away, Tie: r.draw,
		Total: r.total, Margin: r.margin,
	}
}

// resolved builds the final distribution of a sport that breaks level
// regulation games with more play: extraTotal and extraMargin are what
// the extra play adds to a level game's total and makes its margin.
func resolved(r regulation, extraTotal, extraMargin Dist) *Outcomes {
	margin, total := r.decided()
	return resolvedFrom(r, total, margin, extraTotal, extraMargin)
}

// HockeyOvertime returns the probabilities that a level hockey game is
// won by the home side, in overtime or the shoot-out.
func HockeyOvertime(home, away float64) (otHome, otAway, shootout float64) {
	goal := 1 - math.Exp(-(home+away)/60*HockeyOTPace*HockeyOTMinutes)
	return goal * home / (home + away), goal * away / (home + away), 1 - goal
}

func hockey(home, away float64) *Outcomes {
	r := regulationOf(dist(PoissonPMF(home)), dist(PoissonPMF(away)), LevelWeight("hockey"))
	oh, oa, so := HockeyOvertime(home, away)
	// The overtime or shoot-out winner is credited one goal.
	extraTotal := Dist{Lo: 1, P: []float64{1}}
	extraMargin := Dist{Lo: -1, P: []float64{oa + so/2, 0, oh + so/2}}
	return resolved(r, extraTotal, extraMargin)
}

// period is one period of play after a level regulation (an overtime, an
// extra inning): the total and margin it ends the game on when decided,
// and the points both sides add when it ends level.
type period struct {
	total, margin Dist
	level         Dist // total added by a level period
	pLevel        float64
}

// afterRegulation returns what up to n periods add to a level game's total
// and the margin it ends on; a game still level after n is a tie. Totals
// follow the first exact level periods exactly and past them let the next
// period decide (exact < n only where that mass is negligible), because
// each period followed widens the convolutions.
func afterRegulation(p period, n, exact int) (extraTotal, extraMargin Dist) {
	reach, series := 1.0, 0.0
	for range n {
		series += reach
		reach *= p.pLevel
	}
	extraMargin = p.margin.scale(series).plus(Dist{Lo: 0, P: []float64{reach}})
	carried := Dist{Lo: 0, P: []float64{1}} // points added by level periods so far
	for range exact {
		extraTotal = extraTotal.plus(carried.add(p.total))
		carried = carried.add(p.level)
	}
	if exact < n {
		return extraTotal.plus(carried.add(p.total).scale(1 / (1 - p.pLevel))), extraMargin
	}
	return extraTotal.plus(carried), extraMargin
}

// basketballModelOT is how many level overtimes the model follows exactly
// for totals; past them (a chance near one in a million) it lets the next
// overtime decide. Results and margins follow all BasketballMaxOT.
const basketballModelOT = 4

func basketball(home, away float64) *Outcomes {
	r := regulationOf(dist(PointsPMF(home, BasketballSD)), dist(PointsPMF(away, BasketballSD)), LevelWeight("basketball"))
	sd := BasketballSD * math.Sqrt(BasketballOTShare)
	xh := dist(PointsPMF(home*BasketballOTShare, sd))
	xa := dist(PointsPMF(away*BasketballOTShare, sd))
	maxH, maxA := xh.Lo+len(xh.P)-1, xa.Lo+len(xa.P)-1
	total, margin, level := sized(0, maxH+maxA), sized(-maxA, maxH), sized(0, 2*max(maxH, maxA))
	pLevel := 0.0
	for i, p := range xh.P {
		for j, q := range xa.P {
			x, y := xh.Lo+i, xa.Lo+j
			if x == y {
				level.add(2*x, p*q)
				pLevel += p * q
				continue
			}
			total.add(x+y, p*q)
			margin.add(x-y, p*q)
		}
	}
	ot := period{total: total.dist(), margin: margin.dist(), level: level.dist(), pLevel: pLevel}
	extraTotal, extraMargin := afterRegulation(ot, BasketballMaxOT, basketballModelOT)
	return resolved(r, extraTotal, extraMargin)
}

func baseball(home, away float64) *Outcomes {
	// Half-inning distributions start at zero runs, never trimmed: the
	// loops below index them by runs.
	hi, ai := Dist{P: HalfInningPMF(home, false)}, Dist{P: HalfInningPMF(away, false)}
	hx, ax := Dist{P: HalfInningPMF(home, true)}, Dist{P: HalfInningPMF(away, true)}
	h8 := power(hi, BaseballInnings-1)
	a9 := power(ai, BaseballInnings)
	// above[r] = P(home's ninth-inning runs > r)
	above := make([]float64, len(hi.P))
	for r := len(hi.P) - 2; r >= 0; r-- {
		above[r] = above[r+1] + hi.P[r+1]
	}
	maxH, maxA := h8.Lo+len(h8.P)-1, a9.Lo+len(a9.P)-1
	total := sized(0, 2*max(maxH, maxA)+1)
	margin := sized(-maxA, maxH)
	level := sized(0, 2*maxA) // P(level after nine with this total)
	var regHome, regAway, regDraw float64
	for i, ph := range h8.P {
		h := h8.Lo + i
		for j, pa := range a9.P {
			a := a9.Lo + j
			w := ph * pa
			if w < tiny*tiny {
				continue
			}
			if h > a { // the bottom of the ninth is not played
				total.add(h+a, w)
				margin.add(h-a, w)
				regHome += w
				continue
			}
			need := a - h // runs the home side needs to draw level
			if need < len(hi.P) {
				// A walk-off: the game ends as the winning run scores.
				if p := above[need]; p > 0 {
					total.add(2*a+1, w*p)
					margin.add(1, w*p)
					regHome += w * p
				}
				level.add(2*a, w*hi.P[need])
				regDraw += w * hi.P[need]
			}
			n := min(need, len(hi.P))
			tot := total.p[h+a-total.lo:][:n]
			mar := margin.p[h-a-margin.lo:][:n]
			for r, q := range hi.P[:n] {
				p := w * q
				tot[r] += p
				mar[r] += p
				regAway += p
			}
		}
	}
	// One extra inning, whatever the level score it starts from.
	var xt, xm, xl acc
	pLevel := 0.0
	for x, px := range ax.P {
		for y, py := range hx.P {
			p := px * py
			switch {
			case y > x: // a walk-off by one run
				xt.add(2*x+1, p)
				xm.add(1, p)
			case y == x:
				xl.add(2*x, p)
				pLevel += p
			default:
				xt.add(x+y, p)
				xm.add(y-x, p)
			}
		}
	}
	extra := period{total: xt.dist(), margin: xm.dist(), level: xl.dist().trim(), pLevel: pLevel}
	n := BaseballMaxInnings - BaseballInnings
	extraTotal, extraMargin := afterRegulation(extra, n, n)
	r := regulation{home: regHome, draw: regDraw, away: regAway, levelTotal: level.dist()}
	return resolvedFrom(r, total.dist().trim(), margin.dist().trim(), extraTotal, extraMargin)
}

// resolvedFrom is resolved for a sport whose decided regulation games
// were accumulated directly.
func resolvedFrom(r regulation, decTotal, decMargin, extraTotal, extraMargin Dist) *Outcomes {
	o := &Outcomes{RegHome: r.home, RegDraw: r.draw, RegAway: r.away}
	o.Total = decTotal.plus(r.levelTotal.add(extraTotal))
	o.Margin = decMargin.plus(extraMargin.scale(r.draw))
	o.Home, o.Away = r.home, r.away
	for i, p := range extraMargin.P {
		switch k := extraMargin.Lo + i; {
		case k > 0:
			o.Home += r.draw * p
		case k < 0:
			o.Away += r.draw * p
		default:
			o.Tie += r.draw * p
		}
	}
	return o
}

// power is the distribution of the sum of n independent copies.
func power(d Dist, n int) Dist {
	out := Dist{Lo: 0, P: []float64{1}}
	for range n {
		out = out.add(d)
	}
	return out
}
