package simulator

import (
	"math"
	"slices"
	"strconv"

	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// A script is a whole match decided up front: the status codes it passes
// through and every score, timed in match minutes after kick-off at speed
// 1. What a fixture shows at a moment is read off it, so a match is the
// same whenever and however often it is asked for. Scoring follows the
// processes odds.Distribution prices (see the odds package), which is what
// keeps the model's prices calibrated against these results.
type script struct {
	phases []phase // in time order; the last one at or before a moment holds
	events []event // in time order
	end    float64 // the final whistle
	final  string  // the status from end on
}

type phase struct {
	at   float64
	code string
}

type event struct {
	at   float64
	home bool
	pts  int
	reg  bool // scored in regulation time
}

// status is the provider status code at match minute e (e ≥ 0).
func (sc *script) status(e float64) string {
	if e >= sc.end {
		return sc.final
	}
	for i := len(sc.phases) - 1; i >= 0; i-- {
		if sc.phases[i].at <= e {
			return sc.phases[i].code
		}
	}
	return sc.phases[0].code
}

// score is the score at match minute e, with regulation time's part.
func (sc *script) score(e float64) *sport.Score {
	s := &sport.Score{}
	for _, ev := range sc.events {
		if ev.at > e && e < sc.end {
			break
		}
		if ev.home {
			s.Home += ev.pts
			if ev.reg {
				s.Regulation.Home += ev.pts
			}
		} else {
			s.Away += ev.pts
			if ev.reg {
				s.Regulation.Away += ev.pts
			}
		}
	}
	return s
}

func (sc *script) level() bool {
	d := 0
	for _, ev := range sc.events {
		if ev.home {
			d += ev.pts
		} else {
			d -= ev.pts
		}
	}
	return d == 0
}

func (sc *script) sort() {
	slices.SortStableFunc(sc.events, func(a, b event) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
}

// suspend stops play at match minute at for dur minutes; what follows
// happens dur later.
func (sc *script) suspend(at, dur float64) {
	resume := sc.status(at)
	var ph []phase
	for _, p := range sc.phases {
		if p.at <= at {
			ph = append(ph, p)
		}
	}
	ph = append(ph, phase{at, "SUSP"}, phase{at + dur, resume})
	for _, p := range sc.phases {
		if p.at > at {
			ph = append(ph, phase{p.at + dur, p.code})
		}
	}
	sc.phases = ph
	for i := range sc.events {
		if sc.events[i].at > at {
			sc.events[i].at += dur
		}
	}
	sc.end += dur
}

// abandon stops play at match minute at; after dur minutes of suspension
// the match is called off with the score it had.
func (sc *script) abandon(at, dur float64) {
	var ph []phase
	for _, p := range sc.phases {
		if p.at <= at {
			ph = append(ph, p)
		}
	}
	sc.phases = append(ph, phase{at, "SUSP"})
	kept := sc.events[:0]
	for _, ev := range sc.events {
		if ev.at <= at {
			kept = append(kept, ev)
		}
	}
	sc.events = kept
	sc.end, sc.final = at+dur, "ABD"
}

// stateOf maps a status code onto our states.
func stateOf(code string) sport.State {
	switch code {
	case "NS":
		return sport.Scheduled
	case "SUSP":
		return sport.Suspended
	case "PST":
		return sport.Postponed
	case "CANC":
		return sport.Cancelled
	case "ABD":
		return sport.Abandoned
	case "FT", "AET", "PEN", "AOT", "AP":
		return sport.Finished
	}
	return sport.Live
}

// goals adds the goals of a Poisson process with the given mean over
// length game minutes, placed on the match clock.
func goals(r *rng, sc *script, mean, length float64, clock func(float64) float64, home, reg bool) {
	if mean <= 0 {
		return
	}
	gap := length / mean
	for t := r.exp() * gap; t < length; t += r.exp() * gap {
		sc.events = append(sc.events, event{at: clock(t), home: home, pts: 1, reg: reg})
	}
}

// Football: 1H, HT, 2H with stoppage time. A level cup game goes to 30
// minutes of extra time (the same scoring rate) and then penalties, which
// the score leaves out, as football records them.
func playFootball(r *rng, h, a float64, cup bool) *script {
	half1 := 45 + float64(1+r.intn(4))
	second := half1 + 15
	half2 := 45 + float64(2+r.intn(5))
	sc := &script{phases: []phase{{0, "1H"}, {half1, "HT"}, {second, "2H"}}, end: second + half2, final: "FT"}
	clock := func(t float64) float64 {
		if t < 45 {
			return t * half1 / 45
		}
		return second + (t-45)*half2/45
	}
	regulation(r, sc, "football", func() {
		goals(r, sc, h, 90, clock, true, true)
		goals(r, sc, a, 90, clock, false, true)
	})
	if cup && sc.level() {
		et := sc.end + 5
		sc.phases = append(sc.phases, phase{sc.end, "BT"}, phase{et, "ET"})
		etClock := func(t float64) float64 { return et + t*32/30 }
		goals(r, sc, h/3, 30, etClock, true, false)
		goals(r, sc, a/3, 30, etClock, false, false)
		sc.end, sc.final = et+32, "AET"
		if sc.level() {
			sc.phases = append(sc.phases, phase{sc.end, "P"})
			sc.end, sc.final = sc.end+10, "PEN"
		}
	}
	sc.sort()
	return sc
}

// regulation plays regulation time with play, again until it ends level or
// an uneven result is kept with probability 1/odds.LevelWeight: rejection
// sampling of the model's weighted regulation scores.
func regulation(r *rng, sc *script, sport string, play func()) {
	w := odds.LevelWeight(sport)
	for {
		sc.events = sc.events[:0]
		play()
		if w == 1 || sc.level() || r.float()*w < 1 {
			return
		}
	}
}

// Handball: two halves of 30 minutes, each taking 35. Each side's goals
// are round(N(rating, odds.HandballSD²)), as the model prices them, placed
// at uniform times.
func playHandball(r *rng, h, a float64) *script {
	sc := &script{phases: []phase{{0, "1H"}, {35, "HT"}, {50, "2H"}}, end: 85, final: "FT"}
	clock := func(t float64) float64 {
		if t < 30 {
			return t * 35 / 30
		}
		return 50 + (t-30)*35/30
	}
	regulation(r, sc, "handball", func() {
		for _, side := range []struct {
			home   bool
			rating float64
		}{{true, h}, {false, a}} {
			for range points(r, side.rating, odds.HandballSD) {
				sc.events = append(sc.events, event{at: clock(r.float() * 60), home: side.home, pts: 1, reg: true})
			}
		}
	})
	sc.sort()
	return sc
}

// Hockey: three periods of 20 minutes, each taking 35, with 18-minute
// intermissions; a level game has five minutes of sudden-death overtime,
// then a shoot-out whose winner is credited one goal.
func playHockey(r *rng, h, a float64) *script {
	sc := &script{phases: []phase{{0, "P1"}, {35, "BT"}, {53, "P2"}, {88, "BT"}, {106, "P3"}}, end: 141, final: "FT"}
	clock := func(t float64) float64 {
		p := math.Floor(t / 20)
		return p*53 + (t-20*p)*35/20
	}
	regulation(r, sc, "hockey", func() {
		goals(r, sc, h, 60, clock, true, true)
		goals(r, sc, a, 60, clock, false, true)
	})
	if sc.level() {
		ot := sc.end + 3
		sc.phases = append(sc.phases, phase{sc.end, "BT"}, phase{ot, "OT"})
		if g := r.exp() / ((h + a) / 60 * odds.HockeyOTPace); g < odds.HockeyOTMinutes {
			at := ot + g*8/odds.HockeyOTMinutes
			sc.events = append(sc.events, event{at: at, home: r.float() < h/(h+a), pts: 1})
			sc.end, sc.final = at+0.5, "AOT"
		} else {
			so := ot + 8
			sc.phases = append(sc.phases, phase{so, "PT"})
			sc.events = append(sc.events, event{at: so + 6, home: r.float() < 0.5, pts: 1})
			sc.end, sc.final = so+6, "AP"
		}
	}
	sc.sort()
	return sc
}

// Basketball: four 10-minute quarters, each taking 25; a level game plays
// 5-minute overtimes (12 with the break) until one ends with a winner.
func playBasketball(r *rng, h, a float64) *script {
	const quarter = 25
	starts := [4]float64{0, 27, 67, 94}
	sc := &script{phases: []phase{{0, "Q1"}, {25, "BT"}, {27, "Q2"}, {52, "HT"}, {67, "Q3"}, {92, "BT"}, {94, "Q4"}}, end: 119, final: "FT"}
	inQuarter := func() float64 { return starts[r.intn(4)] + r.float()*quarter }
	// The scores are drawn as regulation does (a level one weighted by
	// odds.LevelWeight), before any basket is placed.
	x, y := points(r, h, odds.BasketballSD), points(r, a, odds.BasketballSD)
	for x != y && r.float()*odds.LevelWeight("basketball") >= 1 {
		x, y = points(r, h, odds.BasketballSD), points(r, a, odds.BasketballSD)
	}
	baskets(r, sc, x, true, true, inQuarter)
	baskets(r, sc, y, false, true, inQuarter)
	sd := odds.BasketballSD * math.Sqrt(odds.BasketballOTShare)
	for n := 0; x == y && n < odds.BasketballMaxOT; n++ {
		ot := sc.end + 2
		sc.phases = append(sc.phases, phase{sc.end, "BT"}, phase{ot, "OT"})
		inOT := func() float64 { return ot + r.float()*10 }
		xo, yo := points(r, h*odds.BasketballOTShare, sd), points(r, a*odds.BasketballOTShare, sd)
		baskets(r, sc, xo, true, false, inOT)
		baskets(r, sc, yo, false, false, inOT)
		x, y = x+xo, y+yo
		sc.end, sc.final = ot+10, "AOT"
	}
	sc.sort()
	return sc
}

// points is round(N(mean, sd²)), at least zero, as odds.PointsPMF.
func points(r *rng, mean, sd float64) int {
	return max(0, int(math.Round(mean+sd*r.norm())))
}

// baskets splits a side's points into ones, twos and threes at times
// drawn by when.
func baskets(r *rng, sc *script, pts int, home, reg bool, when func() float64) {
	for pts > 0 {
		v := 2
		switch u := r.float(); {
		case u < 0.15:
			v = 1
		case u < 0.40:
			v = 3
		}
		v = min(v, pts)
		pts -= v
		sc.events = append(sc.events, event{at: when(), home: home, pts: v, reg: reg})
	}
}

// Baseball: innings of two 9-minute halves. The bottom of the ninth is
// not played when the home side leads; a home side taking the lead in the
// ninth or later wins at once (by one run: the winning run ends it); a
// game level after the twelfth is a tie.
func playBaseball(r *rng, h, a float64) *script {
	const half = 9.0
	hp, ap := odds.HalfInningPMF(h, false), odds.HalfInningPMF(a, false)
	hx, ax := odds.HalfInningPMF(h, true), odds.HalfInningPMF(a, true)
	sc := &script{final: "FT"}
	hs, as := 0, 0
	for inning := 1; inning <= odds.BaseballMaxInnings; inning++ {
		top := float64(inning-1) * 2 * half
		sc.phases = append(sc.phases, phase{top, "IN" + strconv.Itoa(inning)})
		reg := inning <= odds.BaseballInnings
		hpmf, apmf := hp, ap
		if !reg {
			hpmf, apmf = hx, ax
		}
		late := inning >= odds.BaseballInnings
		x := r.pick(apmf)
		runs(r, sc, top, half, x, x, false, reg)
		as += x
		if late && hs > as {
			sc.end = top + half
			return sc
		}
		y := r.pick(hpmf)
		if late && hs+y > as {
			need := as - hs + 1
			sc.end = runs(r, sc, top+half, half, y, need, true, reg) + 0.5
			return sc
		}
		runs(r, sc, top+half, half, y, y, true, reg)
		hs += y
		if late && hs != as {
			sc.end = top + 2*half
			return sc
		}
	}
	sc.end = float64(odds.BaseballMaxInnings) * 2 * half
	return sc
}

// runs places n runs in a half-inning starting at start, keeping the
// first keep of them; it returns when the last kept run scored.
func runs(r *rng, sc *script, start, length float64, n, keep int, home, reg bool) float64 {
	if n == 0 {
		return start
	}
	at := make([]float64, n)
	for i := range at {
		at[i] = start + r.float()*length
	}
	slices.Sort(at)
	for _, t := range at[:keep] {
		sc.events = append(sc.events, event{at: t, home: home, pts: 1, reg: reg})
	}
	return at[keep-1]
}
