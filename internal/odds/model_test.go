package odds

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/pointsbook/pointsbook/internal/odds/oddstest"

	"github.com/pointsbook/pointsbook/internal/sport"
)

// ratings spans weak to strong sides of each sport, beyond what the
// simulator's leagues produce.
var ratings = map[string][]float64{
	"football":   {0.4, 0.9, 1.3, 1.8, 2.6, 3.5},
	"hockey":     {1.6, 2.3, 2.9, 3.6, 4.5},
	"handball":   {20, 25, 28, 31, 36},
	"basketball": {62, 72, 80, 88, 98},
	"baseball":   {2.5, 3.6, 4.4, 5.3, 7},
}

func TestMarketsSumToOne(t *testing.T) {
	m := Model{Margin: DefaultMargin}
	for _, sp := range sport.Sports {
		for _, h := range ratings[sp.Slug] {
			for _, a := range ratings[sp.Slug] {
				o, err := Distribution(sp.Slug, h, a)
				if err != nil {
					t.Fatal(err)
				}
				for what, sum := range map[string]float64{
					"regulation": o.RegHome + o.RegDraw + o.RegAway,
					"final":      o.Home + o.Away + o.Tie,
					"totals":     o.Total.Sum(),
					"margins":    o.Margin.Sum(),
				} {
					if math.Abs(sum-1) > 1e-9 {
						t.Errorf("%s %v-%v: %s sum to %v", sp.Slug, h, a, what, sum)
					}
				}
				for _, p := range m.PriceOutcomes(o) {
					sum := 0.0
					for _, f := range p.Fair {
						sum += f
					}
					if math.Abs(sum-1) > 1e-9 {
						t.Errorf("%s %v-%v %s: fair probabilities sum to %v", sp.Slug, h, a, p.Kind, sum)
					}
				}
			}
		}
	}
}

func TestOverroundMatchesMargin(t *testing.T) {
	var models []Model
	for _, margin := range []float64{0, 0.02, DefaultMargin, 0.08, 0.12} {
		m, err := NewModel(margin)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, m)
	}
	worst := 0.0
	for _, sp := range sport.Sports {
		rs := append(ratings[sp.Slug], ratings[sp.Slug][0]/2, ratings[sp.Slug][len(ratings[sp.Slug])-1]*1.4)
		for _, h := range rs {
			for _, a := range rs {
				o, err := Distribution(sp.Slug, h, a)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range models {
					for _, p := range m.PriceOutcomes(o) {
						for _, o := range p.Odds {
							if o < Min || o > Max {
								t.Fatalf("%s %v-%v %s: odds %s out of bounds", sp.Slug, h, a, p.Kind, o)
							}
						}
						gap := math.Abs(p.Overround() - m.Margin)
						worst = max(worst, gap)
						if gap > 0.005 {
							t.Errorf("%s %v-%v %s %v: overround %.4f, margin %.2f", sp.Slug, h, a, p.Kind, p.Odds, p.Overround(), m.Margin)
						}
					}
				}
			}
		}
	}
	t.Logf("largest gap between overround and margin: %.3f percentage points", worst*100)
}

func TestWithMargin(t *testing.T) {
	for _, c := range []struct {
		fair   []float64
		margin float64
		want   []Odds
	}{
		{[]float64{0.5, 0.5}, 0.05, []Odds{190, 191}},
		{[]float64{0.5, 0.5}, 0, []Odds{200, 200}},
		{[]float64{0.25, 0.25, 0.5}, 0, []Odds{400, 400, 200}},
		// A favourite held at the minimum price: the outsider carries the
		// margin instead.
		{[]float64{0.999, 0.001}, 0.05, []Odds{101, 1669}},
		{[]float64{0.9999, 0.0001, 0}, 0.05, []Odds{101, 1669, Max}},
	} {
		got := WithMargin(c.fair, c.margin)
		if !slices.Equal(got, c.want) {
			t.Errorf("WithMargin(%v, %v) = %v, want %v", c.fair, c.margin, got, c.want)
		}
	}
}

func TestMarketShapes(t *testing.T) {
	m := Model{Margin: DefaultMargin}
	want := map[bool][]string{true: {"1x2", "total", "handicap"}, false: {"moneyline", "total", "handicap"}}
	for _, sp := range sport.Sports {
		r := ratings[sp.Slug]
		ps, err := m.Price(sp.Slug, r[2], r[1])
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, p := range ps {
			kinds = append(kinds, p.Kind)
			if !slices.Equal(p.Selections, selections[p.Kind]) || len(p.Odds) != len(p.Selections) || len(p.Fair) != len(p.Selections) {
				t.Errorf("%s %s: selections %v, %d odds, %d probabilities", sp.Slug, p.Kind, p.Selections, len(p.Odds), len(p.Fair))
			}
			switch {
			case p.Kind == "total" && (p.Line == nil || *p.Line%100 != 50):
				t.Errorf("%s total line %v is not a half line", sp.Slug, p.Line)
			case p.Kind == "handicap" && (p.Line == nil || *p.Line%50 != 0):
				t.Errorf("%s handicap line %v is not whole or half", sp.Slug, p.Line)
			case (p.Kind == "1x2" || p.Kind == "moneyline") && p.Line != nil:
				t.Errorf("%s %s has a line", sp.Slug, p.Kind)
			}
		}
		if !slices.Equal(kinds, want[sp.HasDraw]) {
			t.Errorf("%s markets %v, want %v", sp.Slug, kinds, want[sp.HasDraw])
		}
	}
	if _, err := m.Price("curling", 1, 1); err == nil {
		t.Error("priced an unknown sport")
	}
	if _, err := m.Price("football", -1, 1); err == nil {
		t.Error("priced a negative rating")
	}
	if _, err := NewModel(0.7); err == nil {
		t.Error("accepted a 70% margin")
	}
}

func TestStrongerSideShorter(t *testing.T) {
	m := Model{Margin: DefaultMargin}
	for _, sp := range sport.Sports {
		rs := ratings[sp.Slug]
		away := rs[len(rs)/2]
		var prevHome, prevAway Odds
		var prevLine Line
		for i, h := range rs {
			ps, err := m.Price(sp.Slug, h, away)
			if err != nil {
				t.Fatal(err)
			}
			main := ps[0].Prices()
			if i > 0 && (main["home"] >= prevHome || main["away"] <= prevAway) {
				t.Errorf("%s home %v v %v: home %s away %s after %s / %s", sp.Slug, h, away, main["home"], main["away"], prevHome, prevAway)
			}
			if line := *ps[1].Line; i > 0 && line < prevLine {
				t.Errorf("%s home %v: total line %s fell from %s", sp.Slug, h, line, prevLine)
			}
			prevHome, prevAway, prevLine = main["home"], main["away"], *ps[1].Line
		}
	}
}

// TestCalibratedOnSimulatedMatches plays 10,000 matches per sport with an
// implementation of the scoring rules written apart from the model's
// exact sums, and compares the model's probabilities, bucketed, with how
// often each thing happened.
func TestCalibratedOnSimulatedMatches(t *testing.T) {
	const matches = 10000
	rnd := rand.New(rand.NewPCG(7, 11))
	m := Model{Margin: DefaultMargin}
	for _, sp := range sport.Sports {
		rs := ratings[sp.Slug]
		var cal oddstest.Calibration
		type priced struct {
			o  *Outcomes
			ps []Priced
		}
		cache := map[[2]float64]priced{}
		for range matches {
			// Ratings between the listed ones, from a fixed grid so the
			// distributions can be reused.
			h := rs[0] + float64(rnd.IntN(9))/8*(rs[len(rs)-1]-rs[0])
			a := rs[0] + float64(rnd.IntN(9))/8*(rs[len(rs)-1]-rs[0])
			p, ok := cache[[2]float64{h, a}]
			if !ok {
				o, err := Distribution(sp.Slug, h, a)
				if err != nil {
					t.Fatal(err)
				}
				p = priced{o, m.PriceOutcomes(o)}
				cache[[2]float64{h, a}] = p
			}
			reg, fin := playMatch(rnd, sp.Slug, h, a)
			basis := fin
			if sp.RegulationTotals {
				basis = reg
			}
			if sp.HasDraw {
				cal.Add("home (1x2)", p.o.RegHome, reg[0] > reg[1])
				cal.Add("draw (1x2)", p.o.RegDraw, reg[0] == reg[1])
				cal.Add("away (1x2)", p.o.RegAway, reg[0] < reg[1])
			} else if fin[0] != fin[1] { // a tie pushes
				cal.Add("home (moneyline)", p.ps[0].Fair[0], fin[0] > fin[1])
			}
			total := (basis[0] + basis[1]) * 100
			cal.Add("over", p.ps[1].Fair[0], total > int(*p.ps[1].Line))
			if d := (basis[0]-basis[1])*100 + int(*p.ps[2].Line); d != 0 {
				cal.Add("handicap home", p.ps[2].Fair[0], d > 0)
			}
		}
		cal.Check(t, sp.Slug, 0.03)
	}
}

var pmfs sync.Map // cached distributions for the sampler, by arguments

func cachedPoisson(mean float64) []float64 {
	type key struct{ mean float64 }
	if p, ok := pmfs.Load(key{mean}); ok {
		return p.([]float64)
	}
	p := PoissonPMF(mean)
	pmfs.Store(key{mean}, p)
	return p
}

func cachedHalfInning(perNine float64, extra bool) []float64 {
	type key struct {
		perNine float64
		extra   bool
	}
	if p, ok := pmfs.Load(key{perNine, extra}); ok {
		return p.([]float64)
	}
	p := HalfInningPMF(perNine, extra)
	pmfs.Store(key{perNine, extra}, p)
	return p
}

// playMatch plays one match by the rules the model prices, sampling the
// published scoring distributions; it returns the regulation and final
// scores.
func playMatch(r *rand.Rand, sp string, h, a float64) (reg, fin [2]int) {
	PoissonPMF, HalfInningPMF := cachedPoisson, cachedHalfInning
	pick := func(pmf []float64) int {
		u := r.Float64()
		for i, p := range pmf {
			if u < p {
				return i
			}
			u -= p
		}
		return len(pmf) - 1
	}
	normal := func(mean, sd float64) int { return max(0, int(math.Round(mean+sd*r.NormFloat64()))) }
	// regulation draws independent scores until a level one, or an
	// uneven one kept with probability 1/LevelWeight: rejection sampling
	// of the weighted distribution.
	regulation := func(side func(mean float64) int) [2]int {
		for {
			s := [2]int{side(h), side(a)}
			if s[0] == s[1] || r.Float64()*LevelWeight(sp) < 1 {
				return s
			}
		}
	}
	switch sp {
	case "football":
		reg = regulation(func(m float64) int { return pick(PoissonPMF(m)) })
		return reg, reg
	case "handball":
		reg = regulation(func(m float64) int { return normal(m, HandballSD) })
		return reg, reg
	case "hockey":
		reg = regulation(func(m float64) int { return pick(PoissonPMF(m)) })
		fin = reg
		if reg[0] == reg[1] {
			minute := r.ExpFloat64() / ((h + a) / 60 * HockeyOTPace)
			home := r.Float64() < h/(h+a)
			if minute >= HockeyOTMinutes {
				home = r.Float64() < 0.5
			}
			if home {
				fin[0]++
			} else {
				fin[1]++
			}
		}
		return reg, fin
	case "basketball":
		reg = regulation(func(m float64) int { return normal(m, BasketballSD) })
		fin = reg
		sd := BasketballSD * math.Sqrt(BasketballOTShare)
		for n := 0; fin[0] == fin[1] && n < BasketballMaxOT; n++ {
			fin[0] += normal(h*BasketballOTShare, sd)
			fin[1] += normal(a*BasketballOTShare, sd)
		}
		return reg, fin
	}
	// Baseball, inning by inning.
	var score [2]int
	for inning := 1; inning <= BaseballMaxInnings; inning++ {
		extra := inning > BaseballInnings
		score[1] += pick(HalfInningPMF(a, extra))
		if inning == BaseballInnings && score[0] > score[1] {
			return score, score
		}
		runs := pick(HalfInningPMF(h, extra))
		if inning >= BaseballInnings && score[0]+runs > score[1] {
			runs = score[1] - score[0] + 1
		}
		score[0] += runs
		if inning == BaseballInnings {
			reg = score
		}
		if inning >= BaseballInnings && score[0] != score[1] {
			break
		}
	}
	return reg, score
}
