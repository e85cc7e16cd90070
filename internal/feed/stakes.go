package feed

import (
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
)

// Staked is the points staked on one selection of a provider's match,
// which a book that prices its own matches (the simulator) reacts to.
// Every bet with a leg on the selection counts its whole stake.
type Staked struct {
	// Ref is the provider's match id (Fixture.Ref).
	Ref       string
	Kind      betting.MarketKind
	Line      *odds.Line
	Selection string
	Points    int64
}
