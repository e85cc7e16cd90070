package simulator

import (
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/sport"
)

// What the README says of a simulated day: at the default speed a match
// is in play at every moment; at PB_SIM_SPEED=60 a match lasts a couple of
// minutes, so one is in play about half the time and never more than ten
// minutes away. Checked minute by minute over a day.
func TestAMatchInPlayAtTheREADMEsSpeeds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		speed float64
		gap   int // the longest run of minutes allowed without a match in play
		idle  int // the most minutes of the day allowed without one
	}{{1, 0, 0}, {60, 10, 900}} {
		s, c := newSim(t, 1, tt.speed, day)
		run, longest, idle := 0, 0, 0
		for m := 0; m < 24*60; m++ {
			at := day.Add(time.Duration(m) * time.Minute)
			c.Set(at)
			all := fixtures(t, s, at, time.UTC)
			if at.Hour() < 4 { // matches from before midnight are still playing
				all = append(all, fixtures(t, s, at.AddDate(0, 0, -1), time.UTC)...)
			}
			live := false
			for _, f := range all {
				live = live || f.State == sport.Live
			}
			if live {
				run = 0
				continue
			}
			idle++
			run++
			longest = max(longest, run)
		}
		if longest > tt.gap || idle > tt.idle {
			t.Errorf("speed %v: %d minutes in a row without a match in play (%d idle minutes in the day), want at most %d and %d", tt.speed, longest, idle, tt.gap, tt.idle)
		}
		t.Logf("speed %v: %d of 1440 minutes without a match in play, at most %d in a row", tt.speed, idle, longest)
	}
}
