package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

type marketRequest struct {
	Kind betting.MarketKind   `json:"kind"`
	Line *odds.Line           `json:"line,omitempty"`
	Odds map[string]odds.Odds `json:"odds"`
}

type matchRequest struct {
	Sport     string          `json:"sport"`
	League    string          `json:"league"`
	Home      string          `json:"home"`
	Away      string          `json:"away"`
	KickoffAt time.Time       `json:"kickoff_at"`
	Markets   []marketRequest `json:"markets"`
}

func (a *API) handleAdminMatchCreate(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminMatchCreate, "")
	defer a.failed(r, ev, &err)
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req matchRequest
	if err := decode(body, &req); err != nil {
		return err
	}
	if req.KickoffAt.IsZero() || !req.KickoffAt.After(a.now()) {
		return fault.New(fault.Invalid, "invalid_match", "kickoff_at must be an RFC 3339 time in the future.")
	}
	if len(req.Markets) == 0 || len(req.Markets) > 20 {
		return fault.New(fault.Invalid, "invalid_match", "A match needs 1 to 20 markets.")
	}
	nm := betting.NewMatch{Sport: req.Sport, League: req.League, Home: req.Home, Away: req.Away, KickoffAt: req.KickoffAt.UTC(), Audit: ev}
	for _, mr := range req.Markets {
		mk, err := betting.NewMarket(mr.Kind, mr.Line, mr.Odds)
		if err != nil {
			return err
		}
		nm.Markets = append(nm.Markets, mk)
	}
	m, err := a.store.CreateMatch(r.Context(), nm)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/matches/"+m.ID)
	return edge.WriteJSON(w, http.StatusCreated, toMatchView(m, true))
}

func (a *API) handleAdminResult(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminMatchResult, "match:"+r.PathValue("id"))
	defer a.failed(r, ev, &err)
	sess := edge.SessionFrom(r.Context())
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Home       *int        `json:"home"`
		Away       *int        `json:"away"`
		Regulation *sport.Pair `json:"regulation"`
		Reason     string      `json:"reason"`
	}
	if err := decode(body, &req); err != nil {
		return err
	}
	if req.Home == nil || req.Away == nil {
		return fault.New(fault.Invalid, "invalid_result", "home and away scores are required.")
	}
	if len(req.Reason) > 500 {
		return fault.New(fault.Invalid, "invalid_result", "reason may have at most 500 characters.")
	}
	ev.Because(req.Reason)
	score := sport.Score{Home: *req.Home, Away: *req.Away, Regulation: sport.Pair{Home: *req.Home, Away: *req.Away}}
	if req.Regulation != nil {
		score.Regulation = *req.Regulation
	}
	o := sport.Outcome{Score: score, Evidence: sport.Evidence{Source: "operator", Status: "FT", Actor: sess.User.Username, Reason: strings.TrimSpace(req.Reason)}}
	return a.applyOutcome(w, r, o, ev)
}

func (a *API) handleAdminVoid(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminMatchVoid, "match:"+r.PathValue("id"))
	defer a.failed(r, ev, &err)
	sess := edge.SessionFrom(r.Context())
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decode(body, &req); err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" || len(reason) > 500 {
		return fault.New(fault.Invalid, "reason_required", "Voiding a match needs a reason (at most 500 characters).")
	}
	ev.Because(reason)
	return a.applyOutcome(w, r, sport.Outcome{Void: true, Evidence: sport.Evidence{Source: "operator", Status: "void", Actor: sess.User.Username, Reason: reason}}, ev)
}

// applyOutcome records an operator's result or void, ev with it.
func (a *API) applyOutcome(w http.ResponseWriter, r *http.Request, o sport.Outcome, ev *audit.Event) error {
	id := r.PathValue("id")
	changed, err := a.store.RecordResult(r.Context(), id, o, true, ev)
	if err != nil {
		return err
	}
	// Settling a big match may outlast the request's deadline (the store
	// finishes it regardless); the outcome is recorded, so answer with it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	m, err := a.store.FindMatch(ctx, id)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, map[string]any{"changed": changed, "match": toMatchView(m, true)})
}
