package playlimit

import (
	"strconv"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// Kind is the kind of a block on play.
type Kind string

// The blocks a player can put on themselves. Both stop betting, top-ups
// and check-ins until they end, and neither can be lifted or shortened.
const (
	CoolOff       Kind = "cooloff"        // 24 hours to 6 weeks
	SelfExclusion Kind = "self_exclusion" // 6 months to 5 years
)

// Block is a block in force.
type Block struct {
	Kind      Kind      `json:"kind"`
	StartedAt time.Time `json:"started_at"`
	EndsAt    time.Time `json:"ends_at"`
}

// Active reports whether the block stops play at now.
func (b *Block) Active(now time.Time) bool { return b != nil && now.Before(b.EndsAt) }

// Span is a block's length as the player gave it: a count and a unit,
// h (hours), d (days of 24 h), w (weeks), m (calendar months) or y
// (calendar years). Months and years are calendar spans in the player's
// time zone, so "6m" from 31 August ends on 3 March (Go's AddDate
// normalisation), never earlier than six calendar months.
type Span struct {
	N    int
	Unit byte
}

func (s Span) String() string { return strconv.Itoa(s.N) + string(s.Unit) }

// maxSpanN bounds the count so the end time stays far from overflow
// (5 years is 43,830 hours).
const maxSpanN = 100_000

// ParseSpan reads a duration like "72h", "7d", "6w", "6m" or "2y".
//
// Codes: invalid_duration.
func ParseSpan(s string) (Span, error) {
	bad := fault.New(fault.Invalid, CodeInvalidSpan, "duration must be a whole number and a unit: h (hours), d (days), w (weeks), m (months) or y (years), like \"72h\", \"7d\" or \"6m\".")
	if len(s) < 2 || len(s) > 7 {
		return Span{}, bad
	}
	unit := s[len(s)-1]
	switch unit {
	case 'h', 'd', 'w', 'm', 'y':
	default:
		return Span{}, bad
	}
	digits := s[:len(s)-1]
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > maxSpanN || strconv.Itoa(n) != digits {
		return Span{}, bad
	}
	return Span{N: n, Unit: unit}, nil
}

// End returns when a block of span starting at start ends, with loc the
// player's time zone (for months and years).
func (s Span) End(start time.Time, loc *time.Location) time.Time {
	switch s.Unit {
	case 'h':
		return start.Add(time.Duration(s.N) * time.Hour)
	case 'd':
		return start.Add(time.Duration(s.N) * 24 * time.Hour)
	case 'w':
		return start.Add(time.Duration(s.N) * 7 * 24 * time.Hour)
	case 'm':
		return start.In(loc).AddDate(0, s.N, 0).UTC()
	default:
		return start.In(loc).AddDate(s.N, 0, 0).UTC()
	}
}

// ParseKind reads a block kind. Codes: invalid_block_kind.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case CoolOff, SelfExclusion:
		return k, nil
	}
	return "", fault.New(fault.Invalid, CodeInvalidKind, "kind must be %q or %q.", CoolOff, SelfExclusion)
}

// NewBlock checks the span against the kind's range and returns the block
// that starts at now. A cool-off lasts 24 hours to 6 weeks; a
// self-exclusion 6 months to 5 years (calendar, in loc).
//
// Codes: invalid_duration.
func NewBlock(kind Kind, span Span, now time.Time, loc *time.Location) (*Block, error) {
	end := span.End(now, loc)
	var lo, hi time.Time
	var rng string
	if kind == SelfExclusion {
		lo, hi, rng = now.In(loc).AddDate(0, 6, 0), now.In(loc).AddDate(5, 0, 0), "6 months (\"6m\") to 5 years (\"5y\")"
	} else {
		lo, hi, rng = now.Add(24*time.Hour), now.Add(6*7*24*time.Hour), "24 hours (\"24h\") to 6 weeks (\"6w\")"
	}
	if end.Before(lo) || end.After(hi) {
		return nil, fault.New(fault.Invalid, CodeInvalidSpan, "A %s lasts %s; %s is out of that range.", kind.label(), rng, span).
			With("kind", string(kind))
	}
	return &Block{Kind: kind, StartedAt: now.UTC(), EndsAt: end.UTC()}, nil
}

func (k Kind) label() string {
	if k == SelfExclusion {
		return "self-exclusion"
	}
	return "cool-off"
}

// Replace decides whether next may take the place of current (nil or
// ended: always). A block can only be made longer: one that would end
// earlier than the block in force would lift it early.
//
// Codes: block_not_shortened.
func Replace(current, next *Block, now time.Time) error {
	if !current.Active(now) || next.EndsAt.After(current.EndsAt) {
		return nil
	}
	end := current.EndsAt.UTC()
	if current.Kind == SelfExclusion {
		return fault.New(fault.Conflict, CodeBlockActive, "Your self-exclusion runs until %s and cannot be shortened or lifted early; a new one must end later.", end).
			With("ends_at", end)
	}
	return fault.New(fault.Conflict, CodeBlockActive, "Your cool-off runs until %s and cannot be shortened or lifted early; a new one must end later.", end).
		With("ends_at", end)
}
