package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/programme"
)

// emptyBody accepts no body or an empty JSON object: top-up and check-in
// take no input, and unknown fields are refused as everywhere.
//
// Codes: invalid_json, unknown_field.
func emptyBody(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var none struct{}
	return decode(body, &none)
}

func (a *API) handleTopup(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	a.serveCredit(w, r, sess, func(ctx context.Context, idem *idempotency.Key) (any, *idempotency.Replay, error) {
		return a.store.Topup(ctx, programme.TopupRequest{UserID: sess.User.ID, Rules: a.opt.Programme, Idempotency: idem})
	})
}

func (a *API) handleCheckin(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	a.serveCredit(w, r, sess, func(ctx context.Context, idem *idempotency.Key) (any, *idempotency.Replay, error) {
		return a.store.Checkin(ctx, programme.CheckinRequest{UserID: sess.User.ID, Rules: a.opt.Programme, Idempotency: idem})
	})
}

// serveCredit serves a programme credit the player asks for with no body
// (top-up, check-in): retry-safe under an Idempotency-Key, answered 200
// with the credit or with the stored replay.
func (a *API) serveCredit(w http.ResponseWriter, r *http.Request, sess *account.Session,
	credit func(context.Context, *idempotency.Key) (any, *idempotency.Replay, error)) {
	body, idem, ok := a.readKeyed(w, r, sess)
	if !ok {
		return
	}
	if err := emptyBody(body); err != nil {
		a.writeError(w, r, err)
		return
	}
	res, replay, err := credit(r.Context(), idem)
	switch {
	case replay != nil:
		writeReplay(w, replay)
	case err != nil:
		a.writeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

func (a *API) handleCheckinStatus(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	st, err := a.store.CheckinStatus(r.Context(), sess.User.ID, a.opt.Programme)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) handleAdminGrant(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	body, idem, ok := a.readKeyed(w, r, sess)
	if !ok {
		return
	}
	var req struct {
		Username string `json:"username"`
		Points   int64  `json:"points"`
		Reason   string `json:"reason"`
	}
	if err := decode(body, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	g := programme.GrantRequest{AdminID: sess.User.ID, Username: req.Username, Points: req.Points, Reason: req.Reason, Idempotency: idem}
	if err := g.Check(a.opt.Programme); err != nil {
		a.writeError(w, r, err)
		return
	}
	if idem != nil {
		// A grant is created: 201, also when a retry replays it.
		idem.Render = func(v any, err error) (int, []byte) {
			if g, ok := v.(*programme.Grant); ok && err == nil {
				return http.StatusCreated, mustJSON(g)
			}
			return a.renderOutcome(v, err)
		}
	}
	grant, replay, err := a.store.Grant(r.Context(), g)
	switch {
	case replay != nil:
		writeReplay(w, replay)
	case err != nil:
		a.writeError(w, r, err)
	default:
		a.log.InfoContext(r.Context(), "audit: grant", "grant_id", grant.ID, "actor", sess.User.Username, "username", grant.Username,
			"points", grant.Points, "reason", grant.Reason)
		writeJSON(w, http.StatusCreated, grant)
	}
}

// handlePartnerCredit serves a partner's signed request. It runs with no
// session (see wrap): the partner is who the signature says. Cheap checks
// come first (header shapes, then the clock), so a stale or malformed
// request costs no database read; the body is decoded only once the
// signature over its raw bytes holds.
func (a *API) handlePartnerCredit(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	signed, err := programme.ParseSignature(r.Header.Get("X-Partner-Id"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Signature"))
	if err == nil {
		err = signed.Fresh(a.now())
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.store.FindPartner(r.Context(), signed.PartnerID)
	if fault.Code(err) == "partner_not_found" {
		err = fault.New(fault.Unauthenticated, "unknown_partner", "No such partner.")
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if a.opt.Secrets == nil {
		a.writeError(w, r, errors.New("partner credits need a secrets key (PB_SECRETS_KEY)"))
		return
	}
	secret, err := a.opt.Secrets.Open(p.ID, p.SealedSecret)
	if err != nil {
		// The error names no secret: only that this key does not open it.
		a.writeError(w, r, err)
		return
	}
	err = signed.Verify(secret, body)
	clear(secret)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if p.Disabled {
		a.writeError(w, r, fault.New(fault.Forbidden, "partner_disabled", "This partner is disabled; contact the operator."))
		return
	}
	var req programme.CreditRequest
	if err := decode(body, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := req.Check(); err != nil {
		a.writeError(w, r, err)
		return
	}
	credit, replayed, err := a.store.CreditPartner(r.Context(), programme.PartnerCredit{Partner: p, CreditRequest: req})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		a.log.InfoContext(r.Context(), "partner credit", "partner", p.ID, "partner_tx_id", credit.PartnerTxID, "credit_id", credit.CreditID,
			"username", credit.Username, "mileage", credit.Mileage, "points", credit.Points)
	}
	writeJSON(w, http.StatusCreated, credit)
}
