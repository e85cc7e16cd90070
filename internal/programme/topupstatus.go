package programme

import (
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// TopupStatus is what a player sees before asking for a top-up: whether
// one is possible now and, when not, why and from when.
type TopupStatus struct {
	Allowed bool `json:"allowed"`
	// Amount is what a top-up now would credit (0 when not allowed).
	Amount  int64 `json:"amount"`
	Balance int64 `json:"balance"`
	Target  int64 `json:"target"`
	// Reason is empty when allowed, else balance_too_high or too_soon
	// (the reasons of topup_not_allowed).
	Reason string `json:"reason,omitempty"`
	// NextAllowedAt is when the interval since the last top-up ends, for
	// too_soon; a balance too high has no time: it depends on the bets.
	NextAllowedAt *time.Time `json:"next_allowed_at,omitempty"`
}

// TopupStatus decides a top-up at now without making it, by the same
// rule as TopupAmount, so the page and the credit never disagree.
func (r Rules) TopupStatus(balance int64, last *time.Time, now time.Time) TopupStatus {
	st := TopupStatus{Balance: balance, Target: r.TopupTarget}
	amount, _, err := r.TopupAmount(balance, last, now)
	if err == nil {
		st.Allowed, st.Amount = true, amount
		return st
	}
	if fe, ok := fault.As(err); ok {
		st.Reason, _ = fe.Details["reason"].(string)
		if next, ok := fe.Details["next_allowed_at"].(time.Time); ok {
			st.NextAllowedAt = &next
		}
	}
	return st
}
