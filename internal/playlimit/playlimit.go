// Package playlimit holds the rules of responsible play: stake periods in
// the player's time zone, self-set daily / weekly / monthly stake limits
// (tighter at once, looser only after a day's wait), cool-off and
// self-exclusion blocks, and the bounds of an activity statement. It is
// pure: sqlstore runs these rules inside its transactions.
package playlimit

import (
	"sync"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

// DefaultTimeZone is the zone of a player who never chose one.
const DefaultTimeZone = "Asia/Seoul"

// Period is the span a stake limit counts over.
type Period string

// The periods, each a calendar span in the player's time zone.
const (
	Daily   Period = "daily"   // calendar day
	Weekly  Period = "weekly"  // ISO week, Monday to Sunday
	Monthly Period = "monthly" // calendar month
)

// Periods lists every period in a fixed order.
var Periods = []Period{Daily, Weekly, Monthly}

// Start returns the first instant of the period that contains t in loc.
func (p Period) Start(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	switch p {
	case Weekly:
		// Go's weekday counts from Sunday; the ISO week starts on Monday.
		back := (int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()) + 6) % 7
		return dayStart(y, m, d-back, loc)
	case Monthly:
		return dayStart(y, m, 1, loc)
	default:
		return dayStart(y, m, d, loc)
	}
}

// End returns the first instant after the period that contains t in loc:
// the moment its stakes stop counting.
func (p Period) End(t time.Time, loc *time.Location) time.Time {
	s := p.Start(t, loc).In(loc)
	y, m, d := s.Date()
	switch p {
	case Weekly:
		return dayStart(y, m, d+7, loc)
	case Monthly:
		return dayStart(y, m+1, 1, loc)
	default:
		return dayStart(y, m, d+1, loc)
	}
}

// Key names the period that contains t in loc: "2026-11-24" for a day,
// the Monday's date for a week, "2026-11" for a month. Keys of one period
// kind sort in time order as plain strings, which is what lets the store
// compare them in SQL.
func (p Period) Key(t time.Time, loc *time.Location) string {
	switch p {
	case Monthly:
		return t.In(loc).Format("2006-01")
	case Weekly:
		return p.Start(t, loc).In(loc).Format("2006-01-02")
	default:
		return t.In(loc).Format("2006-01-02")
	}
}

// dayStart is the first instant of a calendar day in loc. Where a
// daylight-saving change skips midnight (America/Havana, America/Santiago
// and others move their clocks at 00:00), 00:00 does not exist and
// time.Date may resolve it to an instant of the previous day; the day then
// starts at the transition, the first instant whose local date is the day.
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // normalised y, m, d
	if ty, tm, td := t.Date(); ty == want.Year() && tm == want.Month() && td == want.Day() {
		return t
	}
	// Search the few hours after the guess for the first instant whose
	// local date is the wanted day (transitions are at most a few hours).
	lo, hi := t, t.Add(6*time.Hour)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if my, mm, md := mid.In(loc).Date(); time.Date(my, mm, md, 0, 0, 0, 0, time.UTC).Before(want) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.Truncate(time.Second)
}

var zones sync.Map // name → *time.Location

// Location returns the player's time zone, DefaultTimeZone for an empty
// or unknown name or one input.Zone refuses, such as the server's own
// "Local" (a zone removed from the system's database must not stop a
// player from betting). Zones are cached: LoadLocation reads a file.
func Location(name string) *time.Location {
	if name == "" {
		name = DefaultTimeZone
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := input.Zone(name)
	if err != nil {
		if name == DefaultTimeZone {
			return time.UTC
		}
		return Location(DefaultTimeZone)
	}
	zones.Store(name, loc)
	return loc
}

// Refusal codes at placement, top-up and check-in.
const (
	CodeCoolOff        = "cooloff_active"
	CodeSelfExcluded   = "self_excluded"
	CodeDailyCap       = "daily_stake_cap_reached"
	CodeLimitReached   = "stake_limit_reached"
	CodeInvalidLimit   = "invalid_limit"
	CodeInvalidKind    = "invalid_block_kind"
	CodeInvalidSpan    = "invalid_duration"
	CodeBlockActive    = "block_not_shortened"
	CodeInvalidPeriod  = "invalid_period"
	CodeNothingToApply = "invalid_limits"
)

// Blocked is the refusal for a player under a block that ends at end.
func Blocked(kind Kind, end time.Time) *fault.Error {
	end = end.UTC()
	if kind == SelfExclusion {
		return fault.New(fault.Refused, CodeSelfExcluded, "You have excluded yourself from play until %s.", end).
			With("ends_at", end)
	}
	return fault.New(fault.Refused, CodeCoolOff, "You are taking a break from play until %s.", end).
		With("ends_at", end)
}
