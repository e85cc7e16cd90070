package web

import (
	"strconv"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
)

// The odds chart's drawing area, in the SVG's own units (it scales to
// its box).
const (
	chartW, chartH = 300, 72
	chartPadX      = 6
	chartPadY      = 8
	// chartLine and chartMarks bound what one chart draws: a long
	// history is sampled evenly, its first and last versions always kept.
	chartLine  = 60
	chartSpan  = odds.Odds(20) // the scale's least height: 0.20
	chartMarks = 12
)

// chartPoint is one drawn price, its place already worked out.
type chartPoint struct {
	X, Y string
	Odds odds.Odds
	At   time.Time
}

// chart is a selection's price over time, drawn as a step line (a price
// holds until the next one) from its first version to the close of the
// market or now. The template draws it; every figure is also printed, so
// nothing depends on seeing the line or on script.
type chart struct {
	SelectionID string
	Kind        betting.MarketKind
	Name        string
	Path        string
	Marks       []chartPoint
	First, Last odds.Odds
	Low, High   odds.Odds
	// Move is 1 when the price lengthened since the first version, -1
	// when it shortened, 0 when it is where it began; Delta its size.
	Move    int
	Delta   odds.Odds
	Changes int
	From    time.Time
}

// buildChart draws a selection's versions up to end. A history cut short
// (or missing) ends at the selection's current price.
func buildChart(kind betting.MarketKind, sel *betting.Selection, versions []betting.OddsVersion, end time.Time) *chart {
	if n := len(versions); n == 0 || versions[n-1].Odds != sel.Odds {
		at := end
		if n > 0 && versions[n-1].At.After(at) {
			at = versions[n-1].At
		}
		versions = append(versions[:n:n], betting.OddsVersion{Odds: sel.Odds, At: at})
	}
	c := &chart{SelectionID: sel.ID, Kind: kind, Name: sel.Name, First: versions[0].Odds, Last: versions[len(versions)-1].Odds,
		Changes: len(versions) - 1, From: versions[0].At}
	c.Low, c.High = c.First, c.First
	for _, v := range versions {
		c.Low, c.High = min(c.Low, v.Odds), max(c.High, v.Odds)
	}
	switch {
	case c.Last > c.First:
		c.Move, c.Delta = 1, c.Last-c.First
	case c.Last < c.First:
		c.Move, c.Delta = -1, c.First-c.Last
	}
	t0, t1 := versions[0].At, versions[len(versions)-1].At
	if end.After(t1) {
		t1 = end
	}
	// A small move is drawn small: the scale spans at least chartSpan,
	// around the prices, and a flat line sits in the middle.
	low, high := c.Low, c.High
	if gap := chartSpan - (high - low); gap > 0 {
		low, high = low-gap/2, high+gap-gap/2
	}
	x := func(at time.Time) float64 {
		if !t1.After(t0) {
			return chartPadX
		}
		return chartPadX + float64(at.Sub(t0))/float64(t1.Sub(t0))*(chartW-2*chartPadX)
	}
	y := func(o odds.Odds) float64 {
		return chartH - chartPadY - float64(o-low)/float64(high-low)*(chartH-2*chartPadY)
	}
	line := sample(versions, chartLine)
	path := "M" + coord(x(line[0].At)) + " " + coord(y(line[0].Odds))
	for _, v := range line[1:] {
		path += " H" + coord(x(v.At)) + " V" + coord(y(v.Odds))
	}
	c.Path = path + " H" + coord(x(t1))
	for _, v := range sample(versions, chartMarks) {
		c.Marks = append(c.Marks, chartPoint{X: coord(x(v.At)), Y: coord(y(v.Odds)), Odds: v.Odds, At: v.At})
	}
	return c
}

// sample keeps at most n versions spread evenly, the first and last
// included.
func sample(vs []betting.OddsVersion, n int) []betting.OddsVersion {
	if len(vs) <= n {
		return vs
	}
	out := make([]betting.OddsVersion, 0, n)
	for i := range n {
		out = append(out, vs[i*(len(vs)-1)/(n-1)])
	}
	return out
}

// coord writes a coordinate with one decimal, enough at this size.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
