package betting

import (
	"time"

	"github.com/pointsbook/pointsbook/internal/odds"
)

// MaxOddsHistory bounds the versions of one page of odds history.
const MaxOddsHistory = 500

// OddsVersion is one price a selection had, from At on.
type OddsVersion struct {
	Odds       odds.Odds `json:"odds"`
	ImpliedPPM int64     `json:"implied_ppm"`
	At         time.Time `json:"at"`
}

// SelectionHistory is a selection's prices, oldest first.
type SelectionHistory struct {
	SelectionID string        `json:"selection_id"`
	MarketID    string        `json:"market_id"`
	Kind        MarketKind    `json:"kind"`
	Line        *odds.Line    `json:"line,omitempty"`
	Name        string        `json:"name"`
	Versions    []OddsVersion `json:"versions"`
}

// OddsHistoryFilter bounds a history read.
type OddsHistoryFilter struct {
	MarketID string // only this market; "" every market
	Cursor   string // from a previous page
	Limit    int    // versions per page, 1..MaxOddsHistory
}
