// Package chat is the match rooms' chat: what a message may be, the
// per-player rate limit, slow mode, mutes and reports, and the operator's
// moderation. Messages are stored first and published on the bus after
// their transaction commits; the sender is always the session's user,
// never something the message says.
package chat

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// The rules of a message and of the rate limit.
const (
	MaxText      = 500 // characters
	MaxReason    = 200
	RateMax      = 5
	RateWindow   = 10 * time.Second
	MaxPage      = 100 // history page and resume bound
	MaxMute      = 30 * 24 * time.Hour
	MaxSlowMode  = 10 * time.Minute
	MaxAnnounced = 1000
)

// Message is one stored chat message; IDs grow within a room.
type Message struct {
	ID       int64     `json:"id"`
	MatchID  string    `json:"match"`
	UserID   string    `json:"user_id"`
	Nickname string    `json:"nickname"`
	Text     string    `json:"text"`
	At       time.Time `json:"at"`
}

// NewMessage is a message to store: the store assigns its id.
type NewMessage struct {
	MatchID string
	UserID  string
	Text    string
	At      time.Time
}

// Report is one player's report of one message.
type Report struct {
	MatchID    string    `json:"match"`
	MessageID  int64     `json:"message_id"`
	ReporterID string    `json:"reporter_id"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
	// Message is the reported message, filled in by the reports queue.
	Message *Message `json:"message,omitempty"`
}

// Mute stops a player posting until Until.
type Mute struct {
	UserID string    `json:"user_id"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	// Audit, when set, is written in the mute's transaction.
	Audit *audit.Event `json:"-"`
}

// Store keeps the chat.
type Store interface {
	// PostChat stores a message with the room's next id (match_not_found
	// when the match does not exist).
	PostChat(ctx context.Context, m NewMessage) (*Message, error)
	// ChatHistory lists a room's messages that are not deleted, oldest
	// first: the last limit before id `before` (0: the newest), or the first
	// limit after id `after` when after > 0.
	ChatHistory(ctx context.Context, matchID string, before, after int64, limit int) ([]*Message, error)
	// DeleteChat hides a message (chat_message_not_found if absent).
	DeleteChat(ctx context.Context, matchID string, id int64, ev *audit.Event) error
	// ReportChat records a report (chat_message_not_found; already_reported
	// for a second report by the same player).
	ReportChat(ctx context.Context, r Report) error
	// ChatReports lists the reports queue, newest first.
	ChatReports(ctx context.Context, limit int) ([]*Report, error)
	// MuteChat records a mute; ActiveMute is the latest mute of a player
	// still running at now, or nil.
	MuteChat(ctx context.Context, m Mute) error
	ActiveMute(ctx context.Context, userID string, now time.Time) (*Mute, error)
	// SetSlowMode sets a room's minimum interval between one player's
	// messages (0: off); SlowMode reads it.
	SetSlowMode(ctx context.Context, matchID string, every time.Duration, ev *audit.Event) error
	SlowMode(ctx context.Context, matchID string) (time.Duration, error)
}

// Service is the chat's rules over a store, a limiter and the bus.
type Service struct {
	Store   Store
	Limiter throttle.Limiter
	Bus     live.Bus
	Now     func() time.Time
	// OnPublishError is told of an event that could not be published after
	// its change committed (the change stands; viewers see it on reload).
	OnPublishError func(ev live.Event, err error)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

func (s *Service) publish(ctx context.Context, ev live.Event) {
	if s.Bus == nil {
		return
	}
	if err := s.Bus.Publish(ctx, ev); err != nil && s.OnPublishError != nil {
		s.OnPublishError(ev, err)
	}
}

// CheckText applies the message rules: 1 to 500 characters of valid UTF-8
// text without NUL or other control characters but line breaks. HTML is
// just text: it is stored and shown as typed.
func CheckText(text string, max int) error {
	if !input.ValidText(text) {
		return fault.New(fault.Invalid, "invalid_text", "Text must be valid UTF-8 without NUL characters.")
	}
	n := utf8.RuneCountInString(text)
	if n == 0 || n > max {
		return fault.New(fault.Invalid, "invalid_chat_text", "A message has 1 to 500 characters.")
	}
	for _, r := range text {
		if r < 0x20 && r != '\n' || r == 0x7f {
			return fault.New(fault.Invalid, "invalid_chat_text", "A message has 1 to 500 characters.")
		}
	}
	return nil
}

// Post stores a player's message and publishes it to the room. The
// sender is userID, from the caller's session.
//
// Codes: invalid_text, invalid_chat_text, chat_muted, chat_rate_limited and
// chat_slow_mode (both with retry_after, whole seconds), match_not_found.
func (s *Service) Post(ctx context.Context, userID, matchID, text string) (*Message, error) {
	if err := CheckText(text, MaxText); err != nil {
		return nil, err
	}
	now := s.now()
	mute, err := s.Store.ActiveMute(ctx, userID, now)
	if err != nil {
		return nil, err
	}
	if mute != nil {
		return nil, fault.New(fault.Refused, "chat_muted", "You are muted until %s: %s", mute.Until, mute.Reason)
	}
	slow, err := s.Store.SlowMode(ctx, matchID)
	if err != nil {
		return nil, err
	}
	limits := []throttle.Limit{{Key: "chat:" + userID, Max: RateMax, Window: RateWindow}}
	if slow > 0 {
		limits = append(limits, throttle.Limit{Key: "chat-slow:" + matchID + ":" + userID, Max: 1, Window: slow})
	}
	r, err := s.Limiter.Take(ctx, limits...)
	if err != nil {
		return nil, fault.New(fault.Unavailable, "chat_unavailable", "Chat is unavailable; try again shortly.")
	}
	if !r.Allowed {
		// The wait is whole seconds, rounded up, so a client that waits it
		// is let through; retry_after carries it for clients to act on.
		wait := max(1, int((r.RetryAfter+time.Second-1)/time.Second))
		if slow > 0 && r.RetryAfter <= slow {
			return nil, fault.New(fault.RateLimited, "chat_slow_mode", "Slow mode is on: wait %d seconds before your next message.", wait).
				With("retry_after", wait)
		}
		return nil, fault.New(fault.RateLimited, "chat_rate_limited", "You are sending messages too fast: wait %d seconds.", wait).
			With("retry_after", wait)
	}
	m, err := s.Store.PostChat(ctx, NewMessage{MatchID: matchID, UserID: userID, Text: text, At: now})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, MessageEvent(m))
	return m, nil
}

// MessageEvent is chat.message for the message's room.
func MessageEvent(m *Message) live.Event {
	return live.New(live.ChatMessage, live.MatchChannel(m.MatchID), m)
}

// DeletedData is chat.deleted.
type DeletedData struct {
	Match string `json:"match"`
	ID    int64  `json:"id"`
}

// Report records a player's report of a message, once per player.
//
// Codes: invalid_text, invalid_reason, chat_message_not_found,
// already_reported.
func (s *Service) Report(ctx context.Context, userID, matchID string, id int64, reason string) error {
	if reason != "" {
		if err := CheckText(reason, MaxReason); err != nil {
			return fault.New(fault.Invalid, "invalid_reason", "A reason has at most 200 characters of text.")
		}
	}
	return s.Store.ReportChat(ctx, Report{MatchID: matchID, MessageID: id, ReporterID: userID, Reason: reason, At: s.now()})
}

// History pages a room's messages (see Store.ChatHistory).
//
// Codes: invalid_limit.
func (s *Service) History(ctx context.Context, matchID string, before int64, limit int) ([]*Message, error) {
	if limit < 1 || limit > MaxPage {
		return nil, fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", MaxPage)
	}
	return s.Store.ChatHistory(ctx, matchID, before, 0, limit)
}

// Since is what a client that saw up to id `since` missed, at most limit
// messages; more says there were more (the client reloads instead).
// Since 0 is a client that has no message yet: the whole room, oldest
// first, when it fits the bound.
func (s *Service) Since(ctx context.Context, matchID string, since int64, limit int) ([]*Message, bool, error) {
	// With after 0 the store answers the newest limit+1: all of a room
	// that fits, and a sign of more when it does not.
	ms, err := s.Store.ChatHistory(ctx, matchID, 0, since, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(ms) > limit {
		if since == 0 {
			return nil, true, nil // the newest, not the first: never a gap's worth
		}
		return ms[:limit], true, nil
	}
	return ms, false, nil
}

// Reports is the reports queue, newest first, at most limit.
//
// Codes: invalid_limit.
func (s *Service) Reports(ctx context.Context, limit int) ([]*Report, error) {
	if limit < 1 || limit > MaxPage {
		return nil, fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", MaxPage)
	}
	return s.Store.ChatReports(ctx, limit)
}

// Delete hides a message and tells the room; ev, when set, is written
// with the change.
func (s *Service) Delete(ctx context.Context, matchID string, id int64, ev *audit.Event) error {
	if err := s.Store.DeleteChat(ctx, matchID, id, ev); err != nil {
		return err
	}
	s.publish(ctx, live.New(live.ChatDeleted, live.MatchChannel(matchID), DeletedData{Match: matchID, ID: id}))
	return nil
}

// NoticeData is chat.notice, told to one player.
type NoticeData struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Until   time.Time `json:"until,omitzero"`
}

// MuteUser stops a player posting for d, with a reason the player is
// told; ev, when set, is written with the mute.
//
// Codes: invalid_mute, invalid_reason.
func (s *Service) MuteUser(ctx context.Context, userID, by string, d time.Duration, reason string, ev *audit.Event) (*Mute, error) {
	if d < time.Minute || d > MaxMute {
		return nil, fault.New(fault.Invalid, "invalid_mute", "A mute lasts 1 minute to 30 days.")
	}
	if err := CheckText(reason, MaxReason); err != nil {
		return nil, fault.New(fault.Invalid, "invalid_reason", "A reason has at most 200 characters of text.")
	}
	now := s.now()
	m := Mute{UserID: userID, Until: now.Add(d), Reason: reason, By: by, At: now, Audit: ev}
	if err := s.Store.MuteChat(ctx, m); err != nil {
		return nil, err
	}
	s.publish(ctx, live.New(live.Notice, live.UserChannel(userID), NoticeData{Code: "chat_muted", Message: reason, Until: m.Until}))
	return &m, nil
}

// SetSlowMode turns a room's slow mode on (every > 0) or off; ev, when
// set, is written with the change.
//
// Codes: invalid_slow_mode.
func (s *Service) SetSlowMode(ctx context.Context, matchID string, every time.Duration, ev *audit.Event) error {
	if every < 0 || every > MaxSlowMode {
		return fault.New(fault.Invalid, "invalid_slow_mode", "Slow mode is 0 (off) to 600 seconds.")
	}
	return s.Store.SetSlowMode(ctx, matchID, every, ev)
}

// Announce sends an operator's message to a room; it is not stored.
//
// Codes: invalid_chat_text.
func (s *Service) Announce(ctx context.Context, matchID, text string) error {
	if err := CheckText(text, MaxAnnounced); err != nil {
		return err
	}
	if s.Bus == nil {
		return nil
	}
	return s.Bus.Publish(ctx, live.New(live.Announcement, live.MatchChannel(matchID), live.AnnouncementData{Match: matchID, Text: text, At: s.now()}))
}

// ParseID reads a message id.
func ParseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
