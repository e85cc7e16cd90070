package sqlstore

import (
	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Transitional aliases for callers written before these types moved to
// their domain packages; new code uses the domain names.
type (
	NewUser      = account.NewUser
	NewMatch     = betting.NewMatch
	Match        = betting.Match
	PlaceRequest = betting.PlaceRequest
	BetFilter    = betting.BetFilter
	MatchFilter  = sport.MatchFilter
	SportCount   = sport.Count
	MatchStats   = sport.MatchStats
	Outcome      = sport.Outcome
	Idempotency  = idempotency.Key
	Replay       = idempotency.Replay
)
