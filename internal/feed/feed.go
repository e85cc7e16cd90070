// Package feed is where sports data comes from: the Provider interface
// that the simulator and API-Sports implement, and the ingester that
// upserts what they report into the catalogue and settles finished
// matches. Providers are called only by the server, and only by the one
// instance that holds the ingestion lease; players read the stored copy.
package feed

import (
	"context"
	"errors"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Named is a league or team as a provider knows it.
type Named struct {
	// Ref is the provider's id, unique within the provider and sport.
	Ref     string
	Name    string
	Country string
}

// Market is a priced market offered before kick-off.
type Market struct {
	Kind   betting.MarketKind
	Line   *odds.Line // totals and handicaps
	Prices map[string]odds.Odds
	// Source is the bookmaker the prices came from, or "model".
	Source string
}

// Fixture is one match as a provider reports it at FetchedAt.
type Fixture struct {
	// Ref is the provider's match id, unique within the provider
	// (e.g. "football:1035"). Ingestion is idempotent on it.
	Ref       string
	Sport     string
	League    Named
	Home      Named
	Away      Named
	KickoffAt time.Time
	// Status is the provider's own status code ("NS", "2H", "AET", "POST").
	Status string
	// State is Status mapped onto our states; empty when the code is not
	// known, in which case the match is held as it is and a warning logged.
	State sport.State
	// Score is the running or final score; nil before it is known.
	// Regulation is filled for finished matches (1x2 settles on it).
	Score *sport.Score
	// Markets are pre-match prices; none means the provider has no odds
	// (the model may price it, per PB_ODDS_FALLBACK).
	Markets []Market
	// Ratings are the provider's strength estimates, when it has them,
	// used by the odds model (the simulator always has them).
	Ratings   *Ratings
	FetchedAt time.Time
}

// Ratings are expected scoring rates of each side in regulation time.
type Ratings struct {
	Home float64
	Away float64
}

// Provider is a source of fixtures, live states, results and odds.
type Provider interface {
	// Name is the evidence source of settlements ("simulator", "apisports").
	Name() string
	// Fixtures lists matches kicking off on the calendar day that
	// contains day in loc, with their latest state, score and odds.
	Fixtures(ctx context.Context, day time.Time, loc *time.Location) ([]Fixture, error)
	// Match returns one match's latest state by its Ref.
	Match(ctx context.Context, ref string) (*Fixture, error)
}

// Historian is a provider that can replay past seasons, so that form,
// season records and head-to-head exist from the first start.
type Historian interface {
	History(ctx context.Context, until time.Time) ([]Fixture, error)
}

// Ingested says what UpsertFixture found and did.
type Ingested struct {
	MatchID string
	Created bool
	// State is the match's state after the upsert; HasResult is true when a
	// result (or void) is already recorded, so the feed only confirms it.
	State     sport.State
	HasResult bool
	Locked    bool
	// OriginalKickoff is the first kick-off announced for the match.
	OriginalKickoff time.Time
	OddsChanged     int
}

// ErrDegraded marks a provider error that only costs freshness (quota,
// rate limit, a provider outage): cached data keeps being served and
// readiness is unaffected.
var ErrDegraded = errors.New("provider degraded")
