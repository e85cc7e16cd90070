// Package programme holds the rules of the points programmes: the
// sign-up bonus, the top-up, the daily check-in, partner mileage
// conversion and operator grants. Each programme pays a player from its
// own ledger account (ledger.SystemAccounts), once per cause: the store
// runs these rules inside the transaction that posts the credit, and a
// unique ledger reference per cause makes a repeat impossible.
//
// The rules here are pure: no storage, no HTTP. Times are passed in so
// tests control the clock.
package programme

import (
	"fmt"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

// DefaultZone is the calendar of players who have not chosen one, and of
// partner daily caps.
const DefaultZone = "Asia/Seoul"

// Rules are the configurable parameters of the programmes.
type Rules struct {
	// TopupTarget is the balance a top-up refills to.
	TopupTarget int64
	// TopupInterval is the least time between two top-ups of a player.
	TopupInterval time.Duration
	// CheckinBase is the bonus of the first day of a streak; each further
	// consecutive day adds CheckinStep, up to day CheckinCapDay.
	CheckinBase   int64
	CheckinStep   int64
	CheckinCapDay int
	// GrantMax is the largest operator grant.
	GrantMax int64
}

// DefaultRules are the product's defaults: refill to 50,000 once per
// 24 h; check-in 500, 750, … 2,000 points from day 7 on; grants up to
// 1,000,000.
var DefaultRules = Rules{
	TopupTarget: 50_000, TopupInterval: 24 * time.Hour,
	CheckinBase: 500, CheckinStep: 250, CheckinCapDay: 7,
	GrantMax: 1_000_000,
}

// Check reports rules that make no sense.
func (r Rules) Check() error {
	switch {
	case r.TopupTarget < 1 || r.TopupTarget > 1<<40:
		return fmt.Errorf("top-up target must be 1 to %d points", int64(1<<40))
	case r.TopupInterval < time.Minute:
		return fmt.Errorf("top-up interval must be at least 1m")
	case r.CheckinBase < 1 || r.CheckinStep < 0 || r.CheckinBase+r.CheckinStep*int64(max(r.CheckinCapDay-1, 0)) > 1<<30:
		return fmt.Errorf("check-in base must be at least 1, the step not negative, and the day-%d bonus at most %d", r.CheckinCapDay, 1<<30)
	case r.CheckinCapDay < 1 || r.CheckinCapDay > 366:
		return fmt.Errorf("check-in cap day must be 1 to 366")
	case r.GrantMax < 1 || r.GrantMax > 1<<40:
		return fmt.Errorf("grant maximum must be 1 to %d points", int64(1<<40))
	}
	return nil
}

// TopupAmount decides a top-up. balance is the player's balance (it may
// be negative: a debt left by a corrected result); last is the time of
// the previous top-up, if any. The top-up refills to the target, so it
// covers a debt too: it is a free programme, and a player in debt cannot
// bet, so refusing them would leave the account stuck.
//
// It returns the amount to credit and when the next top-up may happen
// after this one.
//
// Codes: topup_not_allowed (details: reason at_target, balance_too_high
// or too_soon, balance, target, next_allowed_at).
func (r Rules) TopupAmount(balance int64, last *time.Time, now time.Time) (amount int64, next time.Time, err error) {
	if last != nil {
		if next := last.Add(r.TopupInterval); now.Before(next) {
			return 0, next, fault.New(fault.Refused, "topup_not_allowed",
				"You can top up once every %s; the next top-up is possible on %s.", human(r.TopupInterval), next.UTC()).
				With("reason", "too_soon").With("balance", balance).With("target", r.TopupTarget).With("next_allowed_at", next.UTC())
		}
	}
	if balance == r.TopupTarget {
		return 0, time.Time{}, fault.New(fault.Refused, "topup_not_allowed",
			"Your balance is already at the top-up target of %s points.", ledger.FormatPoints(r.TopupTarget)).
			With("reason", "at_target").With("balance", balance).With("target", r.TopupTarget)
	}
	if balance > r.TopupTarget {
		return 0, time.Time{}, fault.New(fault.Refused, "topup_not_allowed",
			"Your balance is %s points; a top-up is only possible below %s.", ledger.FormatPoints(balance), ledger.FormatPoints(r.TopupTarget)).
			With("reason", "balance_too_high").With("balance", balance).With("target", r.TopupTarget)
	}
	return r.TopupTarget - balance, now.Add(r.TopupInterval), nil
}

// human writes a duration as people do: "24h", "90m", "1h30m".
func human(d time.Duration) string {
	s := d.Round(time.Second).String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	return s
}

// Day is a calendar day "YYYY-MM-DD" in some time zone.
type Day string

// DayIn returns the calendar day of t in loc.
func DayIn(t time.Time, loc *time.Location) Day { return Day(t.In(loc).Format(time.DateOnly)) }

// next returns the day after d.
func (d Day) next() Day {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return ""
	}
	return Day(t.AddDate(0, 0, 1).Format(time.DateOnly))
}

// Location loads a player's time zone, falling back to DefaultZone for
// an empty or unknown name or one input.Zone refuses (a zone removed from the tz database must not
// lock a player out of the check-in).
func Location(name string) *time.Location {
	if name == "" {
		name = DefaultZone
	}
	loc, err := input.Zone(name)
	if err != nil {
		loc, _ = time.LoadLocation(DefaultZone)
	}
	if loc == nil {
		return time.UTC
	}
	return loc
}

// CheckinResult is the outcome of a check-in, and the player's check-in
// status.
type CheckinResult struct {
	Day    Day   `json:"day"`
	Streak int   `json:"streak"`
	Points int64 `json:"points"`
	// Balance is the player's balance after the credit.
	Balance int64 `json:"balance"`
	// NextAt is the start of the next calendar day in the player's zone,
	// when the next check-in opens.
	NextAt time.Time `json:"next_at"`
	// Reference is the ledger reference of the credit.
	Reference string `json:"reference"`
}

// CheckinStatus is what a player sees before checking in.
type CheckinStatus struct {
	Today          Day       `json:"today"`
	TimeZone       string    `json:"time_zone"`
	CheckedInToday bool      `json:"checked_in_today"`
	Streak         int       `json:"streak"`
	NextStreak     int       `json:"next_streak"`
	NextBonus      int64     `json:"next_bonus"`
	NextAt         time.Time `json:"next_at"`
}

// Checkin decides a check-in on day today, given the last day checked in
// (empty for none) and the streak then. A check-in the day after the last
// one continues the streak; a gap starts again at 1.
//
// Codes: already_checked_in (details: day, next_at).
func (r Rules) Checkin(last Day, streak int, today Day, nextAt time.Time) (newStreak int, points int64, err error) {
	switch {
	case last == today:
		return streak, 0, fault.New(fault.Conflict, "already_checked_in",
			"You have already checked in today (%s); the next check-in opens on %s.", today, nextAt.UTC()).
			With("day", string(today)).With("streak", streak).With("next_at", nextAt.UTC())
	case last != "" && last > today:
		// The player moved to a zone where it is still "yesterday"
		// compared with the last check-in: that day is done too.
		return streak, 0, fault.New(fault.Conflict, "already_checked_in",
			"You have already checked in for %s; the next check-in opens on %s.", last, nextAt.UTC()).
			With("day", string(last)).With("streak", streak).With("next_at", nextAt.UTC())
	case last != "" && last.next() == today:
		newStreak = streak + 1
	default:
		newStreak = 1
	}
	return newStreak, r.CheckinBonus(newStreak), nil
}

// CheckinBonus is the bonus of the given day of a streak: base, then one
// step more per consecutive day, no more from CheckinCapDay on.
func (r Rules) CheckinBonus(streakDay int) int64 {
	d := min(max(streakDay, 1), r.CheckinCapDay)
	return r.CheckinBase + r.CheckinStep*int64(d-1)
}

// Status is the check-in status on day today.
func (r Rules) Status(last Day, streak int, today Day, zone string, nextAt time.Time) CheckinStatus {
	s := CheckinStatus{Today: today, TimeZone: zone, NextAt: nextAt}
	switch {
	case last != "" && last >= today:
		s.CheckedInToday, s.Streak, s.NextStreak = true, streak, streak+1
	case last != "" && last.next() == today:
		s.Streak, s.NextStreak = streak, streak+1
	default:
		s.Streak, s.NextStreak = 0, 1
	}
	s.NextBonus = r.CheckinBonus(s.NextStreak)
	return s
}

// NextDayStart is the first instant of the calendar day after t's, in
// loc (not always 24 h away: days around a DST change are 23 or 25 h).
func NextDayStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc).UTC()
}

// TopupResult is a top-up credit.
type TopupResult struct {
	Amount        int64     `json:"amount"`
	Balance       int64     `json:"balance"`
	NextAllowedAt time.Time `json:"next_allowed_at"`
	Reference     string    `json:"reference"`
}

// TopupRequest asks for a top-up.
type TopupRequest struct {
	UserID      string
	Rules       Rules
	Idempotency *idempotency.Key
}

// CheckinRequest asks for a check-in.
type CheckinRequest struct {
	UserID      string
	Rules       Rules
	Idempotency *idempotency.Key
}

// GrantRequest is an operator's grant of points to a player.
type GrantRequest struct {
	// AdminID is the operator's user id.
	AdminID     string
	Username    string
	Points      int64
	Reason      string
	Idempotency *idempotency.Key
	// Audit, when set, is written in the grant's transaction with the
	// player as its target.
	Audit *audit.Event
}

// Grant is a recorded grant.
type Grant struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Points    int64     `json:"points"`
	Reason    string    `json:"reason"`
	Balance   int64     `json:"balance"`
	GrantedBy string    `json:"granted_by"`
	GrantedAt time.Time `json:"granted_at"`
	Reference string    `json:"reference"`
}

// MaxReason bounds a grant's reason.
const MaxReason = 500

// Check validates a grant request against the rules.
//
// Codes: reason_required, invalid_points, invalid_username.
func (g *GrantRequest) Check(r Rules) error {
	g.Reason = strings.TrimSpace(g.Reason)
	g.Username = strings.TrimSpace(g.Username)
	if g.Username == "" || len(g.Username) > 64 {
		return fault.New(fault.Invalid, "invalid_username", "username is required (at most 64 characters).")
	}
	if g.Reason == "" || len(g.Reason) > MaxReason {
		return fault.New(fault.Invalid, "reason_required", "A grant needs a reason (at most %d characters).", MaxReason)
	}
	if g.Points < 1 || g.Points > r.GrantMax {
		return fault.New(fault.Invalid, "invalid_points", "points must be 1 to %s.", ledger.FormatPoints(r.GrantMax))
	}
	return nil
}
