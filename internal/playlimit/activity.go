package playlimit

import (
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// MaxStatementSpan bounds an activity statement's period (a year and a
// day, so that a leap year's 1 January to 1 January fits).
const MaxStatementSpan = 367 * 24 * time.Hour

// DefaultStatementSpan is the period of a statement asked for without
// from: the 30 days before to.
const DefaultStatementSpan = 30 * 24 * time.Hour

// Range is a half-open period [From, To).
type Range struct{ From, To time.Time }

// ParseRange reads ?from= and ?to= of an activity statement. Each is an
// RFC 3339 time or a date (YYYY-MM-DD) in loc: from a date means the
// start of that day, to a date the end of it (the day is included). to
// defaults to now, from to 30 days before to. The period must be
// non-empty and at most MaxStatementSpan long.
//
// Codes: invalid_period.
func ParseRange(from, to string, now time.Time, loc *time.Location) (Range, error) {
	var r Range
	var err error
	if to == "" {
		r.To = now.UTC()
	} else if r.To, err = parseBound(to, loc, true); err != nil {
		return Range{}, err
	}
	if from == "" {
		r.From = r.To.Add(-DefaultStatementSpan)
	} else if r.From, err = parseBound(from, loc, false); err != nil {
		return Range{}, err
	}
	if !r.From.Before(r.To) {
		return Range{}, fault.New(fault.Invalid, CodeInvalidPeriod, "from must be before to.")
	}
	if r.To.Sub(r.From) > MaxStatementSpan {
		return Range{}, fault.New(fault.Invalid, CodeInvalidPeriod, "A statement covers at most a year; ask for a shorter period.")
	}
	return r, nil
}

func parseBound(s string, loc *time.Location, end bool) (time.Time, error) {
	bad := fault.New(fault.Invalid, CodeInvalidPeriod, "from and to must be RFC 3339 times (2026-11-24T10:30:00Z) or dates (2026-11-24).")
	if len(s) > 40 {
		return time.Time{}, bad
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.Year() < 2000 || t.Year() > 9000 {
			return time.Time{}, bad
		}
		return t.UTC(), nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil || d.Year() < 2000 || d.Year() > 9000 {
		return time.Time{}, bad
	}
	y, m, day := d.Date()
	if end {
		day++
	}
	return dayStart(y, m, day, loc).UTC(), nil
}

// Activity is a player's activity statement for a period. Returns are
// payouts and refunds of voided bets (less any reversal after a result
// correction) posted in the period, whenever their bets were placed; a
// voided bet's stake still counts as staked. The stakes of bets still
// open are pending: neither lost nor won yet, so Net leaves them out.
type Activity struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	TimeZone string    `json:"time_zone"`
	Bets     int64     `json:"bets"`
	Staked   int64     `json:"staked"`
	Returns  int64     `json:"returns"`
	// Pending is the part of Staked on bets not settled yet.
	Pending int64 `json:"pending"`
	// Net is Returns minus the settled stakes (Staked less Pending):
	// negative when the player lost points.
	Net      int64 `json:"net"`
	Sessions int64 `json:"sessions"`
}
