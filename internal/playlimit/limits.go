package playlimit

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

// MaxLimit bounds a self-set limit: far above anything a player can stake
// (PB_BET_MAX_STAKE is 50,000 by default), yet small enough that sums of
// stakes and limits never come near int64 overflow.
const MaxLimit = 1_000_000_000_000

// IncreaseDelay is how long a looser limit (a higher one, or none) waits
// before it applies: a player cannot undo a limit in the heat of a session.
const IncreaseDelay = 24 * time.Hour

// Setting is one period's self-set limit. Amount nil means no limit.
type Setting struct {
	Amount *int64
	// Pending is a looser limit waiting for its time, or nil.
	Pending *Pending
}

// Pending is a change that applies at EffectiveAt. Amount nil removes the
// limit.
type Pending struct {
	Amount      *int64
	EffectiveAt time.Time
}

// Limits are a player's three self-set limits.
type Limits map[Period]Setting

// At returns the settings in force at now: a pending change whose time
// has come replaces the amount.
func (l Limits) At(now time.Time) Limits {
	out := Limits{}
	for _, p := range Periods {
		s := l[p]
		if s.Pending != nil && !now.Before(s.Pending.EffectiveAt) {
			s = Setting{Amount: s.Pending.Amount}
		}
		out[p] = s
	}
	return out
}

// Apply returns the settings after a player asks for requested (nil:
// remove the limit) in period's place, at now. A new limit or a lower one
// applies at once and cancels any pending change; a higher one, or a
// removal, waits IncreaseDelay as a pending change. Asking for the limit
// already in force cancels a pending change; asking again for the pending
// value keeps its original time, so a retried request does not restart
// the wait.
func (s Setting) Apply(requested *int64, now time.Time) Setting {
	switch {
	case equal(requested, s.Amount):
		return Setting{Amount: s.Amount}
	case s.Amount == nil, requested != nil && *requested < *s.Amount:
		return Setting{Amount: requested}
	case s.Pending != nil && equal(requested, s.Pending.Amount):
		return s
	default:
		return Setting{Amount: s.Amount, Pending: &Pending{Amount: requested, EffectiveAt: now.Add(IncreaseDelay)}}
	}
}

func equal(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// Update is a request to change some limits: a period present with a nil
// value removes that limit; an absent period is left as it is.
type Update map[Period]*int64

// ParseUpdate reads {"daily"?, "weekly"?, "monthly"?} where each value is
// a whole number of points from 1 to MaxLimit, or null to remove the
// limit. It is strict: anything else is a 400 and nothing changes.
//
// Codes: invalid_json, unknown_field, invalid_limit, invalid_limits,
// invalid_text, duplicate_key.
func ParseUpdate(body []byte) (Update, error) {
	// A map would keep the last of two equal keys: refused first, with
	// text that is not UTF-8 or holds a NUL, as every other body is.
	if err := input.CheckJSON(body); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, fault.New(fault.Invalid, "invalid_json", "The body must be a JSON object like {\"daily\": 10000}.")
	}
	if dec.More() {
		return nil, fault.New(fault.Invalid, "invalid_json", "The body has data after the JSON value.")
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad field named is the same every time
	u := Update{}
	for _, k := range keys {
		p := Period(k)
		if p != Daily && p != Weekly && p != Monthly {
			return nil, fault.New(fault.Invalid, "unknown_field", "The body has an unknown field: %q (use daily, weekly or monthly).", truncate(k, 40))
		}
		v := bytes.TrimSpace(raw[k])
		if string(v) == "null" {
			u[p] = nil
			continue
		}
		n, err := parseAmount(v)
		if err != nil {
			return nil, fault.New(fault.Invalid, CodeInvalidLimit, "%s must be a whole number of points from 1 to %d, or null to remove it.", k, int64(MaxLimit)).
				With("field", k)
		}
		u[p] = &n
	}
	if len(u) == 0 {
		return nil, fault.New(fault.Invalid, CodeNothingToApply, "Give at least one of daily, weekly and monthly.")
	}
	return u, nil
}

// parseAmount accepts a JSON integer (1e3 and 1000.0 are whole numbers
// too, but are refused: a limit is written as digits).
func parseAmount(v []byte) (int64, error) {
	s := string(v)
	if s == "" || strings.ContainsAny(s, ".eE+") || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > MaxLimit || strconv.FormatInt(n, 10) != s {
		return 0, strconv.ErrRange
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// NoCap stands for "no limit" where the store compares sums with a cap:
// large enough never to bind, small enough that sum + stake cannot
// overflow.
const NoCap = math.MaxInt64 / 4

// Caps are the stake ceilings of the current periods: the operator's
// daily cap (PB_DAILY_STAKE_CAP, 0 = off) combined with the player's own
// limits in force. A period without a ceiling has NoCap.
type Caps struct {
	Day, Week, Month int64
	// DayFromOperator is true when the operator's cap is the binding
	// daily ceiling (the refusal says so).
	DayFromOperator bool
}

// CapsFor combines the operator's daily cap with limits in force.
func CapsFor(operatorDaily int64, inForce Limits) Caps {
	c := Caps{Day: NoCap, Week: NoCap, Month: NoCap}
	if operatorDaily > 0 {
		c.Day, c.DayFromOperator = operatorDaily, true
	}
	if a := inForce[Daily].Amount; a != nil && *a <= c.Day {
		c.Day, c.DayFromOperator = *a, false
	}
	if a := inForce[Weekly].Amount; a != nil {
		c.Week = *a
	}
	if a := inForce[Monthly].Amount; a != nil {
		c.Month = *a
	}
	return c
}

// Tally is what a player has staked in the current periods.
type Tally struct{ Day, Week, Month int64 }

// Allows reports whether stake fits under every cap on top of t.
func (c Caps) Allows(t Tally, stake int64) bool {
	return t.Day+stake <= c.Day && t.Week+stake <= c.Week && t.Month+stake <= c.Month
}

// Refusal explains why stake does not fit on top of t. Call it only when
// Allows is false.
func (c Caps) Refusal(t Tally, stake int64) *fault.Error {
	type check struct {
		p          Period
		cap, spent int64
	}
	for _, k := range []check{{Daily, c.Day, t.Day}, {Weekly, c.Week, t.Week}, {Monthly, c.Month, t.Month}} {
		if k.spent+stake <= k.cap {
			continue
		}
		left := max(k.cap-k.spent, 0)
		if k.p == Daily && c.DayFromOperator {
			return fault.New(fault.Refused, CodeDailyCap, "Stakes are capped at %d points a day; %d remain today.", k.cap, left).
				With("period", string(k.p)).With("limit", k.cap).With("remaining", left)
		}
		return fault.New(fault.Refused, CodeLimitReached, "Your %s stake limit is %d points; %d remain in this period.", k.p, k.cap, left).
			With("period", string(k.p)).With("limit", k.cap).With("remaining", left)
	}
	return fault.New(fault.Refused, CodeLimitReached, "The stake is over your limit.")
}

// Status is a player's limits as GET /api/v1/me/limits shows them.
type Status struct {
	TimeZone string `json:"time_zone"`
	// OperatorDailyCap is PB_DAILY_STAKE_CAP (0: no operator cap).
	OperatorDailyCap int64         `json:"operator_daily_cap"`
	Daily            *PeriodStatus `json:"daily"`
	Weekly           *PeriodStatus `json:"weekly"`
	Monthly          *PeriodStatus `json:"monthly"`
}

// PeriodStatus is one period: the player's own limit in force (null for
// none), what was staked in the current period, what may still be staked
// under every ceiling (the operator's daily cap included; null when
// nothing caps it), when the period ends, and a looser limit waiting for
// its time.
type PeriodStatus struct {
	Limit     *int64         `json:"limit"`
	Staked    int64          `json:"staked"`
	Remaining *int64         `json:"remaining"`
	ResetsAt  time.Time      `json:"resets_at"`
	Pending   *PendingStatus `json:"pending,omitempty"`
}

// PendingStatus is a change waiting for EffectiveAt; Limit null removes
// the limit.
type PendingStatus struct {
	Limit       *int64    `json:"limit"`
	EffectiveAt time.Time `json:"effective_at"`
}

// NewStatus describes limits (as stored, pending changes included) with
// the tally of the current periods, at now in the zone tz.
func NewStatus(tz string, limits Limits, tally Tally, operatorDaily int64, now time.Time) *Status {
	loc := Location(tz)
	inForce := limits.At(now)
	caps := CapsFor(operatorDaily, inForce)
	st := &Status{TimeZone: loc.String(), OperatorDailyCap: operatorDaily}
	one := func(p Period, spent, limit int64) *PeriodStatus {
		ps := &PeriodStatus{Limit: inForce[p].Amount, Staked: spent, ResetsAt: p.End(now, loc).UTC()}
		if limit != NoCap {
			left := max(limit-spent, 0)
			ps.Remaining = &left
		}
		if pd := inForce[p].Pending; pd != nil {
			ps.Pending = &PendingStatus{Limit: pd.Amount, EffectiveAt: pd.EffectiveAt.UTC()}
		}
		return ps
	}
	st.Daily = one(Daily, tally.Day, caps.Day)
	st.Weekly = one(Weekly, tally.Week, caps.Week)
	st.Monthly = one(Monthly, tally.Month, caps.Month)
	return st
}
