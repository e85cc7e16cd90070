package web

import (
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
)

// A long history is sampled, its first and last prices kept; a history
// cut short ends at the current price.
func TestBuildChart(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	var vs []betting.OddsVersion
	for i := range 100 {
		vs = append(vs, betting.OddsVersion{Odds: odds.Odds(200 + i%7), At: t0.Add(time.Duration(i) * time.Minute)})
	}
	vs[99].Odds = 250
	c := buildChart(betting.OneXTwo, &betting.Selection{ID: "s_1", Name: "home", Odds: 250}, vs, t0.Add(2*time.Hour))
	if c.First != 200 || c.Last != 250 || c.Move != 1 || c.Delta != 50 || c.Changes != 99 || c.Low != 200 || c.High != 250 {
		t.Fatalf("chart %+v", c)
	}
	if n := strings.Count(c.Path, " V"); n != chartLine-1 {
		t.Errorf("path has %d steps, want %d", n, chartLine-1)
	}
	if len(c.Marks) != chartMarks || c.Marks[0].Odds != 200 || c.Marks[chartMarks-1].Odds != 250 || c.Marks[0].X != "6.0" {
		t.Errorf("marks %+v", c.Marks)
	}
	// The highest price is at the top of the drawing, the lowest at the
	// bottom.
	if c.Marks[chartMarks-1].Y != "8.0" || c.Marks[0].Y != "64.0" {
		t.Errorf("scale: first y %s, last y %s", c.Marks[0].Y, c.Marks[chartMarks-1].Y)
	}

	short := buildChart(betting.OneXTwo, &betting.Selection{ID: "s_2", Name: "draw", Odds: 310}, vs[:1], t0.Add(time.Hour))
	if short.Last != 310 || short.Move != 1 || short.Delta != 110 || short.Changes != 1 {
		t.Errorf("cut-short chart %+v", short)
	}
	none := buildChart(betting.OneXTwo, &betting.Selection{ID: "s_3", Name: "away", Odds: 300}, nil, t0)
	if none.First != 300 || none.Last != 300 || none.Move != 0 || len(none.Marks) != 1 {
		t.Errorf("chart without history %+v", none)
	}
}
