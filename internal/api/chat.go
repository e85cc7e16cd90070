package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
)

// Chat is what the API needs of the match chat (chat.Service is one):
// the history and the operator's moderation. Posting and reporting go
// through the live endpoint.
type Chat interface {
	History(ctx context.Context, matchID string, before int64, limit int) ([]*chat.Message, error)
	Delete(ctx context.Context, matchID string, id int64, ev *audit.Event) error
	MuteUser(ctx context.Context, userID, by string, d time.Duration, reason string, ev *audit.Event) (*chat.Mute, error)
	Reports(ctx context.Context, limit int) ([]*chat.Report, error)
	SetSlowMode(ctx context.Context, matchID string, every time.Duration, ev *audit.Event) error
	Announce(ctx context.Context, matchID, text string) error
}

var errChatOff = fault.New(fault.Unavailable, "live_unavailable", "Chat is unavailable; try again shortly.")

// chatLimit reads ?limit= (1 to chat.MaxPage, default 50).
func chatLimit(r *http.Request) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > chat.MaxPage {
		return 0, fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", chat.MaxPage)
	}
	return n, nil
}

// matchExists answers match_not_found before a chat call that would
// otherwise act on no room.
func (a *API) matchExists(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if _, err := a.store.FindMatch(r.Context(), id); err != nil {
		return "", err
	}
	return id, nil
}

// handleChatHistory is a page of a room's messages, oldest first: the
// newest, or those before ?before=<id>; next_before pages further back.
//
// Codes: match_not_found, invalid_before, invalid_limit.
func (a *API) handleChatHistory(w http.ResponseWriter, r *http.Request) error {
	if a.opt.Chat == nil {
		return errChatOff
	}
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		n, ok := chat.ParseID(b)
		if !ok {
			return fault.New(fault.Invalid, "invalid_before", "before must be a message id.")
		}
		before = n
	}
	limit, err := chatLimit(r)
	if err != nil {
		return err
	}
	id, err := a.matchExists(r)
	if err != nil {
		return err
	}
	ms, err := a.opt.Chat.History(r.Context(), id, before, limit)
	if err != nil {
		return err
	}
	body := map[string]any{"items": ms}
	if len(ms) == limit && ms[0].ID > 1 {
		body["next_before"] = ms[0].ID
	}
	return edge.WriteJSON(w, http.StatusOK, body)
}

// handleAdminChatDelete hides a message; its room's viewers see it go.
//
// Codes: chat_message_not_found.
func (a *API) handleAdminChatDelete(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminChatDelete, "message:"+r.PathValue("id")+"/"+r.PathValue("msg"))
	defer a.failed(r, ev, &err)
	if a.opt.Chat == nil {
		return errChatOff
	}
	msg, ok := chat.ParseID(r.PathValue("msg"))
	if !ok {
		return fault.New(fault.NotFound, "chat_message_not_found", "No such message.")
	}
	id := r.PathValue("id")
	if err := a.opt.Chat.Delete(r.Context(), id, msg, ev); err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, chat.DeletedData{Match: id, ID: msg})
}

// handleAdminChatMute stops a player posting for a number of minutes; the
// player is told the reason.
//
// Codes: invalid_mute, invalid_reason, user_not_found.
func (a *API) handleAdminChatMute(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminChatMute, "")
	defer a.failed(r, ev, &err)
	if a.opt.Chat == nil {
		return errChatOff
	}
	var req struct {
		UserID  string `json:"user_id"`
		Minutes int    `json:"minutes"`
		Reason  string `json:"reason"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	ev.Because(req.Reason).Target = "user:" + req.UserID
	if req.Minutes < 1 || time.Duration(req.Minutes)*time.Minute > chat.MaxMute {
		return fault.New(fault.Invalid, "invalid_mute", "A mute lasts 1 minute to 30 days.")
	}
	sess := edge.SessionFrom(r.Context())
	m, err := a.opt.Chat.MuteUser(r.Context(), req.UserID, sess.User.ID, time.Duration(req.Minutes)*time.Minute, req.Reason, ev)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusCreated, m)
}

// handleAdminChatReports is the reports queue, newest first.
//
// Codes: invalid_limit.
func (a *API) handleAdminChatReports(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminReportsRead, "")
	defer a.failed(r, ev, &err)
	if a.opt.Chat == nil {
		return errChatOff
	}
	limit, err := chatLimit(r)
	if err != nil {
		return err
	}
	rs, err := a.opt.Chat.Reports(r.Context(), limit)
	if err != nil {
		return err
	}
	a.record(r, ev)
	return edge.WriteJSON(w, http.StatusOK, map[string]any{"items": rs})
}

// handleAdminChatSlowMode sets a room's slow mode: seconds between one
// player's messages, 0 for off.
//
// Codes: match_not_found, invalid_slow_mode.
func (a *API) handleAdminChatSlowMode(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminChatSlowMode, "match:"+r.PathValue("id"))
	defer a.failed(r, ev, &err)
	if a.opt.Chat == nil {
		return errChatOff
	}
	var req struct {
		Seconds *int `json:"seconds"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Seconds == nil || *req.Seconds < 0 || time.Duration(*req.Seconds)*time.Second > chat.MaxSlowMode {
		return fault.New(fault.Invalid, "invalid_slow_mode", "Slow mode is 0 (off) to 600 seconds.")
	}
	id := r.PathValue("id")
	ev.Because(strconv.Itoa(*req.Seconds) + "s")
	if err := a.opt.Chat.SetSlowMode(r.Context(), id, time.Duration(*req.Seconds)*time.Second, ev); err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, map[string]any{"match": id, "seconds": *req.Seconds})
}

// handleAdminChatAnnounce sends an operator's message to a room's viewers.
//
// Codes: match_not_found, invalid_chat_text, live_unavailable.
func (a *API) handleAdminChatAnnounce(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminChatAnnounce, "match:"+r.PathValue("id"))
	defer a.failed(r, ev, &err)
	if a.opt.Chat == nil {
		return errChatOff
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	id, err := a.matchExists(r)
	if err != nil {
		return err
	}
	if err := a.opt.Chat.Announce(r.Context(), id, req.Text); err != nil {
		if _, ok := errors.AsType[*fault.Error](err); ok {
			return err
		}
		a.log.Error("announce", "match", id, "err", err)
		return errChatOff
	}
	// An announcement is published, not stored: its event has no change
	// to share a transaction with.
	a.record(r, ev)
	return edge.WriteJSON(w, http.StatusAccepted, map[string]any{"match": id, "text": req.Text})
}
