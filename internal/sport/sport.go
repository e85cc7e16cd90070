// Package sport describes the sporting catalogue: sports, leagues, teams and
// matches with their states and results. It holds no storage code.
package sport

import (
	"fmt"
	"time"
)

// Sport is one of the five sports Pointsbook covers.
type Sport struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// HasDraw says whether regulation time can end level, which decides
	// between a 1x2 and a moneyline main market.
	HasDraw bool `json:"-"`
	// RegulationTotals says whether totals and handicaps settle on the
	// regulation score (football, handball) or on the final score
	// including overtime (baseball, basketball, hockey), as books do.
	RegulationTotals bool `json:"-"`
}

// Sports lists the supported sports in display order.
var Sports = []Sport{
	{Slug: "football", Name: "Football", HasDraw: true, RegulationTotals: true},
	{Slug: "baseball", Name: "Baseball"},
	{Slug: "basketball", Name: "Basketball"},
	{Slug: "hockey", Name: "Ice hockey", HasDraw: true},
	{Slug: "handball", Name: "Handball", HasDraw: true, RegulationTotals: true},
}

// Lookup returns the sport with the given slug.
func Lookup(slug string) (Sport, bool) {
	for _, s := range Sports {
		if s.Slug == slug {
			return s, true
		}
	}
	return Sport{}, false
}

// State is a match's lifecycle state, as named in docs/api.md.
type State string

const (
	Scheduled State = "scheduled"
	Live      State = "live"
	Suspended State = "suspended"
	Finished  State = "finished"
	Postponed State = "postponed"
	Cancelled State = "cancelled"
	Abandoned State = "abandoned"
)

// States lists every state, for validation.
var States = []State{Scheduled, Live, Suspended, Finished, Postponed, Cancelled, Abandoned}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, v := range States {
		if v == s {
			return true
		}
	}
	return false
}

// Ref is a named reference to a league or team.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Pair is a home/away score.
type Pair struct {
	Home int `json:"home"`
	Away int `json:"away"`
}

// Score is a match result: the final score and the score at the end of
// regulation time, which 1x2 markets settle on.
type Score struct {
	Home       int  `json:"home"`
	Away       int  `json:"away"`
	Regulation Pair `json:"regulation"`
}

// Check reports a score that cannot have happened: a negative count, a
// regulation score above the final one, or more than 1,000 (a data error
// in any of our sports).
func (s Score) Check() error {
	if s.Home < 0 || s.Away < 0 || s.Regulation.Home < 0 || s.Regulation.Away < 0 ||
		s.Home > 1000 || s.Away > 1000 || s.Regulation.Home > s.Home || s.Regulation.Away > s.Away {
		return fmt.Errorf("impossible score %d-%d (regulation %d-%d)", s.Home, s.Away, s.Regulation.Home, s.Regulation.Away)
	}
	return nil
}

// Final returns the final score as a pair.
func (s Score) Final() Pair { return Pair{s.Home, s.Away} }

// Match is one fixture.
type Match struct {
	ID        string    `json:"id"`
	Sport     string    `json:"sport"`
	League    Ref       `json:"league"`
	Home      Ref       `json:"home"`
	Away      Ref       `json:"away"`
	KickoffAt time.Time `json:"kickoff_at"`
	State     State     `json:"state"`
	Score     *Score    `json:"score"`
	// Locked is true once an operator gave a result: the feed may no
	// longer overwrite it.
	Locked bool `json:"-"`
}

// Evidence records what a result came from, so every settlement can show
// its receipt.
type Evidence struct {
	Source          string    `json:"source"` // "operator", "simulator", "apisports"
	ProviderMatchID string    `json:"provider_match_id,omitempty"`
	Status          string    `json:"status"` // provider status code, e.g. "FT", "AET"
	FetchedAt       time.Time `json:"fetched_at"`
	Actor           string    `json:"actor,omitempty"` // operator username for manual results
	Reason          string    `json:"reason,omitempty"`
}

// Result is a score with its evidence.
type Result struct {
	Score    Score
	Evidence Evidence
}

// MatchFilter selects matches. Zero fields do not filter.
type MatchFilter struct {
	Sport  string
	From   time.Time // kick-off at or after
	To     time.Time // kick-off before
	State  State
	Cursor string
	Limit  int
	// MainMarketOnly loads only each match's main market (1x2 or
	// moneyline), all a list item shows.
	MainMarketOnly bool
}

// Count is a sport with its number of matches in a window. A cancelled
// match will not be played and is not counted.
type Count struct {
	Sport
	// Today counts every match in the window but cancelled ones.
	Today int `json:"today"`
	// Upcoming counts the matches still to play (scheduled).
	Upcoming int `json:"upcoming"`
	// Live counts the matches in play (live or suspended).
	Live int `json:"live"`
}

// ListGroup is where a match of a state comes in a day's list, in the
// order a fan reads it: in play first (0), then still to play (1), then
// finished (2), then the ones that will not be played as planned
// (postponed, cancelled, abandoned: 3).
func ListGroup(s State) int {
	switch s {
	case Live, Suspended:
		return 0
	case Scheduled:
		return 1
	case Finished:
		return 2
	}
	return 3
}

// FormResult is one of a team's recent results, from its point of view.
type FormResult struct {
	MatchID  string `json:"match_id"`
	Opponent string `json:"opponent"`
	// OpponentID is the opponent's team id.
	OpponentID string `json:"opponent_id"`
	// Home says the team played at home.
	Home bool `json:"home"`
	// League is the competition the match was played in (a cup, say).
	League    Ref       `json:"league"`
	KickoffAt time.Time `json:"kickoff_at"`
	For       int       `json:"for"`
	Against   int       `json:"against"`
	Result    string    `json:"result"` // "W", "D" or "L" on the final score
}

// SeasonRecord is a team's record in its league's season, whatever
// competition the match it is shown for belongs to: League is the
// competition the team played most in that season (the match's own when
// it has played none), Season the calendar year of the kick-off.
type SeasonRecord struct {
	League  Ref `json:"league"`
	Season  int `json:"season"`
	Played  int `json:"played"`
	Won     int `json:"won"`
	Drawn   int `json:"drawn"`
	Lost    int `json:"lost"`
	For     int `json:"goals_for"`
	Against int `json:"goals_against"`
}

// Meeting is a past match between the two teams.
type Meeting struct {
	MatchID   string    `json:"match_id"`
	KickoffAt time.Time `json:"kickoff_at"`
	// League is the competition the meeting was played in.
	League Ref `json:"league"`
	// Home and Away are that match's sides, with their names.
	Home      Ref    `json:"home"`
	Away      Ref    `json:"away"`
	HomeID    string `json:"home_id"`
	AwayID    string `json:"away_id"`
	HomeScore int    `json:"home_score"`
	AwayScore int    `json:"away_score"`
}

// HomeAway pairs a value for each side of the match.
type HomeAway[T any] struct {
	Home T `json:"home"`
	Away T `json:"away"`
}

// MatchStats is what a bettor reads before a match: each team's form and
// season record and the last meetings between them.
type MatchStats struct {
	Form       HomeAway[[]FormResult] `json:"form"`
	Season     HomeAway[SeasonRecord] `json:"season"`
	HeadToHead []Meeting              `json:"head_to_head"`
}

// Outcome is what happened in a match: a score, or void (cancelled,
// abandoned, or voided by an operator), with its evidence.
type Outcome struct {
	Void     bool
	Score    Score
	State    State // finished for a score; cancelled or abandoned for void
	Evidence Evidence
}

// Same reports whether two outcomes settle bets identically.
func (o Outcome) Same(p Outcome) bool {
	return o.Void == p.Void && (o.Void || o.Score == p.Score)
}
