package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/ledger"
)

// The balance chart's drawing area, in the SVG's own units; the SVG
// scales to its box (viewBox), so these fix only the proportions.
const (
	balanceW    = 600
	balanceH    = 200
	balancePadL = 8
	balancePadR = 8
	balancePadT = 12
	balancePadB = 12
)

// balanceChart is the balance over time as an inline SVG draws it: a line
// through the balance after each entry, oldest first, with the figures a
// reader without the picture needs (first, last, lowest, highest) for its
// title and description. Every coordinate is worked out here, so the
// template only places strings.
type balanceChart struct {
	// Line is the polyline's points ("x,y x,y …").
	Line string
	// Area is the closed path under the line, for a soft fill.
	Area string
	// ZeroY is the y of the zero line when zero is within the range, else
	// -1 (no zero line).
	ZeroY               int
	From, To            time.Time
	First, Last         int64
	Low, High           int64
	Entries             int
	LowY, HighY, LastY  int
	Width, Height, Left int
	Right               int
}

// newBalanceChart draws entries (newest first, as the statement lists
// them); nil when there are fewer than two points to join.
func newBalanceChart(entries []*ledger.Entry) *balanceChart {
	if len(entries) < 2 {
		return nil
	}
	n := len(entries)
	c := &balanceChart{Entries: n, Width: balanceW, Height: balanceH, Left: balancePadL, Right: balanceW - balancePadR,
		From: entries[n-1].At, To: entries[0].At, First: entries[n-1].BalanceAfter, Last: entries[0].BalanceAfter}
	c.Low, c.High = c.First, c.First
	for _, e := range entries {
		c.Low, c.High = min(c.Low, e.BalanceAfter), max(c.High, e.BalanceAfter)
	}
	span := c.High - c.Low
	y := func(v int64) int {
		if span == 0 {
			return balanceH / 2
		}
		// Integer arithmetic on points: no float rounding surprises, and
		// balances up to 2^40 times the height fit an int64.
		return balancePadT + int((c.High-v)*int64(balanceH-balancePadT-balancePadB)/span)
	}
	// Entries are spaced evenly rather than by time: a day of many bets
	// would otherwise be one vertical smear.
	x := func(i int) int { return balancePadL + i*(balanceW-balancePadL-balancePadR)/(n-1) }
	var line strings.Builder
	for i := range n {
		e := entries[n-1-i]
		if i > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(strconv.Itoa(x(i)) + "," + strconv.Itoa(y(e.BalanceAfter)))
	}
	c.Line = line.String()
	bottom := strconv.Itoa(balanceH - balancePadB)
	c.Area = "M" + strconv.Itoa(x(0)) + "," + bottom + " L" + strings.ReplaceAll(c.Line, " ", " L") + " L" + strconv.Itoa(x(n-1)) + "," + bottom + " Z"
	c.ZeroY = -1
	if c.Low < 0 && c.High > 0 {
		c.ZeroY = y(0)
	}
	c.LowY, c.HighY, c.LastY = y(c.Low), y(c.High), y(c.Last)
	return c
}
