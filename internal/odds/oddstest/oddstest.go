// Package oddstest checks that predicted probabilities match observed
// frequencies, for the calibration tests of the odds model and of the
// simulator that plays on its rules.
package oddstest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// Calibration collects predicted probabilities with what happened.
type Calibration struct {
	order []string
	by    map[string][]prediction
}

type prediction struct {
	p   float64
	hit bool
}

// Add records one prediction of the named event and whether it happened.
func (c *Calibration) Add(what string, p float64, hit bool) {
	if c.by == nil {
		c.by = map[string][]prediction{}
	}
	if _, ok := c.by[what]; !ok {
		c.order = append(c.order, what)
	}
	c.by[what] = append(c.by[what], prediction{p, hit})
}

// Check compares predicted and observed frequencies overall and in three
// buckets by predicted probability (some 3,000 matches each at 10,000
// matches, where chance moves an observed frequency by about one point),
// and fails when any differs by more than tolerance (0.03 = 3 points).
func (c *Calibration) Check(t testing.TB, sport string, tolerance float64) {
	t.Helper()
	for _, what := range c.order {
		ps := c.by[what]
		slices.SortStableFunc(ps, func(a, b prediction) int {
			switch {
			case a.p < b.p:
				return -1
			case a.p > b.p:
				return 1
			}
			return 0
		})
		var gaps []string
		worst := 0.0
		for b := range 4 {
			lo, hi := b*len(ps)/3, (b+1)*len(ps)/3
			if b == 3 {
				lo, hi = 0, len(ps) // overall
			}
			var pred, seen float64
			for _, x := range ps[lo:hi] {
				pred += x.p
				if x.hit {
					seen++
				}
			}
			n := float64(hi - lo)
			gap := pred/n - seen/n
			worst = max(worst, math.Abs(gap))
			gaps = append(gaps, fmt.Sprintf("%.1f/%.1f", 100*pred/n, 100*seen/n))
			if math.Abs(gap) > tolerance {
				t.Errorf("%s %s, bucket %d of %d matches: predicted %.3f, observed %.3f", sport, what, b, hi-lo, pred/n, seen/n)
			}
		}
		t.Logf("%-10s %-14s %5d matches; predicted/observed %% by tercile and overall: %s; largest gap %.2f points",
			sport, what, len(ps), strings.Join(gaps, "  "), worst*100)
	}
}
