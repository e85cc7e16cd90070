package simulator

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// TestPricesMoveThroughADay polls a simulated day review by review, from
// noon the day before, and follows every match kicking off that day until
// its kick-off: every market moves at least once, a few times an hour at
// most, its line stays, its prices stay within the model's odds and the
// configured margin, and its fair probabilities stay near the unmoved
// model's.
func TestPricesMoveThroughADay(t *testing.T) {
	t.Parallel()
	const margin = odds.DefaultMargin
	start := day.Add(-12 * time.Hour)
	s, clock := newSim(t, 11, 1, start)
	type seen struct {
		first   []feed.Market
		last    []feed.Market
		moves   []int  // per market
		floored []bool // per market: a price at odds.Min at every review
		offered int    // reviews at which it was priced
	}
	byRef := map[string]*seen{}
	sports := map[string]int{}
	for at := start; at.Before(day.AddDate(0, 0, 1)); at = at.Add(moveEvery) {
		clock.Set(at)
		for _, f := range fixtures(t, s, day, time.UTC) {
			if f.State != sport.Scheduled || len(f.Markets) == 0 {
				continue
			}
			checkBook(t, f, margin)
			sn := byRef[f.Ref]
			if sn == nil {
				sn = &seen{first: f.Markets, moves: make([]int, len(f.Markets)), floored: make([]bool, len(f.Markets))}
				for i := range sn.floored {
					sn.floored[i] = true
				}
				byRef[f.Ref] = sn
				sports[f.Sport]++
			} else {
				for i, m := range f.Markets {
					if m.Kind != sn.last[i].Kind || !sameLine(m.Line, sn.first[i].Line) {
						t.Fatalf("%s market %d became %s %v (was %s %v)", f.Ref, i, m.Kind, m.Line, sn.first[i].Kind, sn.first[i].Line)
					}
					if fmt.Sprint(m.Prices) != fmt.Sprint(sn.last[i].Prices) {
						sn.moves[i]++
					}
				}
			}
			for i, m := range f.Markets {
				sn.floored[i] = sn.floored[i] && slices.Contains(slices.Collect(maps.Values(m.Prices)), odds.Min)
			}
			sn.last = f.Markets
			sn.offered++
		}
	}
	if len(sports) != len(sport.Sports) || len(byRef) < 250 {
		t.Fatalf("followed %d matches of %d sports", len(byRef), len(sports))
	}
	total, reviews, floored := 0, 0, 0
	for ref, sn := range byRef {
		hours := float64(sn.offered) * moveEvery.Hours()
		for i, n := range sn.moves {
			// A market whose favourite is held at odds.Min shows the same
			// prices whatever its fair probabilities, because
			// odds.WithMargin gives the margin the favourite cannot take
			// to the other selections: a basketball favourite of fair
			// probability 0.947 stays at 1.01 (its opponent at 16.69)
			// until its probability falls below 0.938 (1.02 at a 5 %
			// margin), which only the walk's corner reaches. Such a
			// market need not move in a day, but only a few may be held.
			if n == 0 && sn.floored[i] {
				floored++
				continue
			}
			if n == 0 {
				t.Errorf("%s %s never moved in %.1f h", ref, sn.first[i].Kind, hours)
			}
			if n > sn.offered-1 {
				t.Errorf("%s %s moved %d times at %d reviews", ref, sn.first[i].Kind, n, sn.offered)
			}
			total += n
		}
		reviews += (sn.offered - 1) * len(sn.moves)
	}
	if floored > len(byRef)/100 {
		t.Errorf("%d of %d matches have a market held at %s that never moved", floored, len(byRef), odds.Min)
	}
	perHour := float64(total) / (float64(reviews) * moveEvery.Hours())
	t.Logf("%d matches, %.2f moves per market and hour, %d unmoved markets held at %s", len(byRef), perHour, floored, odds.Min)
	if perHour < 0.5 || perHour > 3 {
		t.Errorf("%.2f moves per market and hour; a few are wanted", perHour)
	}
}

// checkBook checks one fixture's markets against the model: odds within
// its bounds, the configured margin, and fair probabilities near those
// of the unmoved estimate.
func checkBook(t *testing.T, f feed.Fixture, margin float64) {
	t.Helper()
	m, _ := odds.NewModel(margin)
	unmoved, err := m.Price(f.Sport, f.Ratings.Home, f.Ratings.Away)
	if err != nil {
		t.Fatal(err)
	}
	for i, mk := range f.Markets {
		if _, err := betting.NewMarket(mk.Kind, mk.Line, mk.Prices); err != nil {
			t.Fatalf("%s %s: %v", f.Ref, mk.Kind, err)
		}
		names := betting.SelectionNames[mk.Kind]
		ps := make([]odds.Odds, len(names))
		implied := 0.0
		for j, n := range names {
			ps[j] = mk.Prices[n]
			implied += 100 / float64(ps[j])
		}
		atMax := false
		for _, p := range ps {
			atMax = atMax || p == odds.Max || p == odds.Min
		}
		if math.Abs(implied-1-margin) > 0.006 && !atMax {
			t.Fatalf("%s %s %v: overround %.4f, want %.2f", f.Ref, mk.Kind, mk.Prices, implied-1, margin)
		}
		was := odds.FairPPM(unmoved[i].Odds)
		now := odds.FairPPM(ps)
		for j := range now {
			if d := math.Abs(float64(now[j]-was[j])) / 1e6; d > 0.08 {
				t.Fatalf("%s %s %s: fair probability %.3f, unmoved %.3f", f.Ref, mk.Kind, names[j], float64(now[j])/1e6, float64(was[j])/1e6)
			}
		}
	}
}

func sameLine(a, b *odds.Line) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// TestWalkBounded follows the estimate of many matches over their two
// days before kick-off: it never leaves the cap, and reaches near it.
func TestWalkBounded(t *testing.T) {
	t.Parallel()
	s, _ := newSim(t, 3, 1, day)
	for sp := range sports {
		limit := driftLimit()[sp]
		// The book's estimate stays close to the hidden truth: well
		// inside the spread of the teams' strengths.
		if limit > sports[sp].attack/2 {
			t.Errorf("%s: the walk's cap %.4f is beyond half the attack spread %.2f", sports[sp].slug, limit, sports[sp].attack)
		}
		widest := 0.0
		for n := int64(0); n < 40; n++ {
			g := gameOf(sp, 300000+n*37)
			kick := g.kickoff()
			for at := kick.Add(-openBefore); at.Before(kick); at = at.Add(moveEvery) {
				dh, da := s.walk(g, at)
				if math.Abs(dh) > limit+1e-12 || math.Abs(da) > limit+1e-12 {
					t.Fatalf("%s: walk %.4f/%.4f beyond %.4f", g.ref(), dh, da, limit)
				}
				widest = max(widest, math.Abs(dh), math.Abs(da))
			}
			if dh, da := s.walk(g, kick); dh != 0 || da != 0 {
				t.Fatalf("%s moves after kick-off", g.ref())
			}
		}
		if widest < limit/2 {
			t.Errorf("%s: the walk reached only %.4f of %.4f", sports[sp].slug, widest, limit)
		}
	}
}

// TestLean moves a market towards what is staked, within bounds, and
// leaves it alone when nothing is.
func TestLean(t *testing.T) {
	t.Parallel()
	fair := []float64{0.5, 0.3, 0.2}
	names := betting.SelectionNames[betting.OneXTwo]
	if got := lean(fair, names, nil); fmt.Sprint(got) != fmt.Sprint(fair) {
		t.Fatalf("no stakes moved %v to %v", fair, got)
	}
	small := lean(fair, names, map[string]int64{"away": 1000})
	big := lean(fair, names, map[string]int64{"away": 10_000_000})
	if !(small[2] > fair[2] && big[2] > small[2] && big[0] < fair[0] && big[1] < fair[1]) {
		t.Fatalf("backing away: %v, then %v (from %v)", small, big, fair)
	}
	if big[2] > fair[2]*math.Exp(2*stakeCap) {
		t.Fatalf("a huge stake moved away from %.3f to %.3f", fair[2], big[2])
	}
	// Stakes in proportion to the probabilities move nothing.
	even := lean(fair, names, map[string]int64{"home": 50000, "draw": 30000, "away": 20000})
	for i := range fair {
		if math.Abs(even[i]-fair[i]) > 1e-12 {
			t.Fatalf("balanced stakes moved %v to %v", fair, even)
		}
	}
}

// TestDriftWithinModel prices 400 matches of every sport with the walk at
// each of its four corners, both estimates at the cap: no fair
// probability of any market moves by more than 0.07 from the unmoved
// model's (TestPricesMoveThroughADay allows 0.08 on rounded odds, and
// only meets the corners a day's walks reach).
func TestDriftWithinModel(t *testing.T) {
	t.Parallel()
	s, _ := newSim(t, 3, 1, day)
	for sp := range sports {
		slug, limit := sports[sp].slug, driftLimit()[sp]
		worst := 0.0
		for n := int64(0); n < 400; n++ {
			g := gameOf(sp, 300000+n*37)
			home, away := s.pairing(g)
			rh, ra := s.ratings(g, home, away)
			base := s.markets(sp, rh, ra)
			unmoved, err := s.model.Price(slug, rh, ra)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range [][2]float64{{limit, limit}, {limit, -limit}, {-limit, limit}, {-limit, -limit}} {
				fair, err := s.movedFair(sp, round4(rh*math.Exp(c[0])), round4(ra*math.Exp(c[1])), base)
				if err != nil {
					t.Fatal(err)
				}
				for i, m := range unmoved {
					for j, p := range m.Fair {
						if d := math.Abs(fair[i][j] - p); d > 0.07 {
							t.Fatalf("%s %s %s at %+.4f/%+.4f: fair %.3f, unmoved %.3f", g.ref(), m.Kind, m.Selections[j], c[0], c[1], fair[i][j], p)
						}
						worst = max(worst, math.Abs(fair[i][j]-p))
					}
				}
			}
		}
		t.Logf("%s: cap %.4f, widest move of a fair probability %.3f", slug, limit, worst)
	}
}
