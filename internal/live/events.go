package live

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// The event types. docs/realtime.md shows an example of each.
const (
	ChatMessage    = "chat.message"
	ChatDeleted    = "chat.deleted"
	MatchScore     = "match.score"
	MatchState     = "match.state"
	OddsChanged    = "odds.changed"
	PresenceCount  = "presence"
	Announcement   = "announcement"
	BetSettled     = "bet.settled"
	PointsCredited = "points.credited"
	LimitChanged   = "limit.changed"
	Notice         = "chat.notice" // to one player: a cooldown or a mute
	// SessionRevoked, on a player's channel, says some of their sessions
	// ended (log-out, log-out everywhere, a password change or reset,
	// deletion). It is for the hubs, never sent to clients: each checks
	// the sessions of the player's sockets and closes those that ended.
	SessionRevoked = "session.revoked"
)

// MatchChannel is a match's room; LobbyChannel all of a sport's matches;
// UserChannel one player's own events.
func MatchChannel(matchID string) string { return "match:" + matchID }

// LobbyChannel is a sport's lobby.
func LobbyChannel(sportKey string) string { return "lobby:" + sportKey }

// UserChannel is a player's own channel.
func UserChannel(userID string) string { return "user:" + userID }

// SplitChannel returns a channel's kind ("match", "lobby", "user") and id.
func SplitChannel(channel string) (kind, id string, ok bool) {
	kind, id, ok = strings.Cut(channel, ":")
	if !ok || id == "" || (kind != "match" && kind != "lobby" && kind != "user") {
		return "", "", false
	}
	return kind, id, true
}

// New encodes data once into an event.
func New(typ, channel string, data any) Event {
	b, err := json.Marshal(data)
	if err != nil {
		// Every payload here is a plain struct of strings and numbers.
		panic("live: encode " + typ + ": " + err.Error())
	}
	return Event{Type: typ, Channel: channel, Data: b}
}

// ScoreData is match.score: the full current score.
type ScoreData struct {
	Match string       `json:"match"`
	Score *sport.Score `json:"score"`
}

// StateData is match.state: the full current state.
type StateData struct {
	Match     string      `json:"match"`
	State     sport.State `json:"state"`
	KickoffAt time.Time   `json:"kickoff_at"`
}

// OddsData is odds.changed: every market of the match at its current
// prices.
type OddsData struct {
	Match   string            `json:"match"`
	Markets []*betting.Market `json:"markets"`
}

// MatchEvents are a match's current state, score and odds, each for the
// match's room and for its sport's lobby: what a subscriber is sent first
// and what ingestion publishes on a change.
func MatchEvents(m *betting.Match, channel string) []Event {
	return []Event{
		New(MatchState, channel, StateData{Match: m.ID, State: m.State, KickoffAt: m.KickoffAt}),
		New(MatchScore, channel, ScoreData{Match: m.ID, Score: m.Score}),
		New(OddsChanged, channel, OddsData{Match: m.ID, Markets: m.Markets}),
	}
}

// PresenceData is a room's head-count across instances.
type PresenceData struct {
	Room  string `json:"room"`
	Count int    `json:"count"`
}

// AnnouncementData is an operator's message to a room.
type AnnouncementData struct {
	Match string    `json:"match"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
}

// BetSettledData is bet.settled, to the bettor.
type BetSettledData struct {
	Bet     string `json:"bet"`
	State   string `json:"state"`
	Payout  int64  `json:"payout"`
	Version int    `json:"version"`
}

// PointsCreditedData is points.credited, to the player credited.
type PointsCreditedData struct {
	Kind      string `json:"kind"` // "signup", "topup", "checkin", "grant", "partner"
	Amount    int64  `json:"amount"`
	Reference string `json:"reference"`
}

// LimitChangedData is limit.changed, to the player whose limits changed.
type LimitChangedData struct {
	What string `json:"what"` // "limits", "cooloff", "self_exclusion"
}

// Stored is a personal event as the notices table keeps it: the player's
// inbox, and what a player who was offline has missed.
type Stored struct {
	ID   int64           `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	At   time.Time       `json:"at"`
}
