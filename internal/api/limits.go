package api

import (
	"context"
	"net/http"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// limitStore is what the responsible-play routes need from storage.
type limitStore interface {
	PlayLimits(ctx context.Context, userID string) (*playlimit.Status, error)
	SetPlayLimits(ctx context.Context, userID string, u playlimit.Update, ev *audit.Event) (*playlimit.Status, error)
	PlayBlock(ctx context.Context, userID string) (*playlimit.Block, error)
	StartPlayBlock(ctx context.Context, userID string, kind playlimit.Kind, span playlimit.Span, ev *audit.Event) (*playlimit.Block, error)
	ActivityStatement(ctx context.Context, userID string, r playlimit.Range) (*playlimit.Activity, error)
}

func (a *API) handleLimitsGet(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	st, err := a.store.PlayLimits(r.Context(), sess.User.ID)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, st)
}

func (a *API) handleLimitsPut(w http.ResponseWriter, r *http.Request) (err error) {
	sess := edge.SessionFrom(r.Context())
	ev := a.event(r, audit.LimitChange, "user:"+sess.User.ID)
	defer a.failed(r, ev, &err)
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	u, err := playlimit.ParseUpdate(body)
	if err != nil {
		return err
	}
	st, err := a.store.SetPlayLimits(r.Context(), sess.User.ID, u, ev)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, st)
}

// blockView is GET/POST /api/v1/me/cooloff's answer.
type blockView struct {
	Active bool `json:"active"`
	*playlimit.Block
}

func (a *API) handleCoolOffGet(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	b, err := a.store.PlayBlock(r.Context(), sess.User.ID)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, blockView{Active: b != nil, Block: b})
}

func (a *API) handleCoolOffCreate(w http.ResponseWriter, r *http.Request) (err error) {
	sess := edge.SessionFrom(r.Context())
	ev := a.event(r, audit.CoolOffStart, "user:"+sess.User.ID)
	defer a.failed(r, ev, &err)
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Kind     string `json:"kind"`
		Duration string `json:"duration"`
	}
	if err := decode(body, &req); err != nil {
		return err
	}
	kind, err := playlimit.ParseKind(req.Kind)
	if err != nil {
		return err
	}
	if kind == playlimit.SelfExclusion {
		ev.Action = audit.SelfExclusion
	}
	ev.Because(req.Duration)
	span, err := playlimit.ParseSpan(req.Duration)
	if err != nil {
		return err
	}
	b, err := a.store.StartPlayBlock(r.Context(), sess.User.ID, kind, span, ev)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusCreated, blockView{Active: true, Block: b})
}

func (a *API) handleActivityStatement(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	q := r.URL.Query()
	rg, err := playlimit.ParseRange(q.Get("from"), q.Get("to"), a.now(), playlimit.Location(sess.User.TimeZone))
	if err != nil {
		return err
	}
	act, err := a.store.ActivityStatement(r.Context(), sess.User.ID, rg)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, act)
}
