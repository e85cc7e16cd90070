package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/edge"
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

func (a *API) handleTopup(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	return a.serveCredit(w, r, sess, func(ctx context.Context, idem *idempotency.Key) (any, *idempotency.Replay, error) {
		return a.store.Topup(ctx, programme.TopupRequest{UserID: sess.User.ID, Rules: a.opt.Programme, Idempotency: idem})
	})
}

func (a *API) handleCheckin(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	return a.serveCredit(w, r, sess, func(ctx context.Context, idem *idempotency.Key) (any, *idempotency.Replay, error) {
		return a.store.Checkin(ctx, programme.CheckinRequest{UserID: sess.User.ID, Rules: a.opt.Programme, Idempotency: idem})
	})
}

// serveCredit serves a programme credit the player asks for with no body
// (top-up, check-in): retry-safe under an Idempotency-Key, answered 200
// with the credit or with the stored replay.
func (a *API) serveCredit(w http.ResponseWriter, r *http.Request, sess *account.Session,
	credit func(context.Context, *idempotency.Key) (any, *idempotency.Replay, error)) error {
	body, idem, err := a.readKeyed(w, r, sess)
	if err != nil {
		return err
	}
	if err := emptyBody(body); err != nil {
		return err
	}
	res, replay, err := credit(r.Context(), idem)
	if done, err := a.edge.Replayed(w, r, replay, err); done {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, res)
}

func (a *API) handleCheckinStatus(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	st, err := a.store.CheckinStatus(r.Context(), sess.User.ID, a.opt.Programme)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, st)
}

func (a *API) handleAdminGrant(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminGrant, "")
	defer a.failed(r, ev, &err)
	sess := edge.SessionFrom(r.Context())
	body, idem, err := a.readKeyed(w, r, sess)
	if err != nil {
		return err
	}
	var req struct {
		Username string `json:"username"`
		Points   int64  `json:"points"`
		Reason   string `json:"reason"`
	}
	if err := decode(body, &req); err != nil {
		return err
	}
	ev.Because(req.Reason).Target = "username:" + req.Username
	g := programme.GrantRequest{AdminID: sess.User.ID, Username: req.Username, Points: req.Points, Reason: req.Reason, Idempotency: idem, Audit: ev}
	if err := g.Check(a.opt.Programme); err != nil {
		return err
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
	if done, err := a.edge.Replayed(w, r, replay, err); done {
		return err
	}
	return edge.WriteJSON(w, http.StatusCreated, grant)
}

// handlePartnerCredit serves a partner's signed request. It runs with no
// session (see edge.Wrap): the partner is who the signature says. Cheap checks
// come first (header shapes, then the clock), so a stale or malformed
// request costs no database read; the body is decoded only once the
// signature over its raw bytes holds.
//
// A request whose signature does not hold is an authz.denied failure (the
// edge bounds how many are written per address); a signed request the
// programme refuses is a partner.credit failure.
func (a *API) handlePartnerCredit(w http.ResponseWriter, r *http.Request) (err error) {
	denied := func(err error) error {
		a.edge.Denied(r, nil, err)
		return err
	}
	signed, err := programme.ParseSignature(r.Header.Get("X-Partner-Id"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Signature"))
	if err == nil {
		err = signed.Fresh(a.now())
	}
	if err != nil {
		return denied(err)
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	p, err := a.store.FindPartner(r.Context(), signed.PartnerID)
	if fault.Code(err) == "partner_not_found" {
		return denied(fault.New(fault.Unauthenticated, "unknown_partner", "No such partner."))
	}
	if err != nil {
		return err
	}
	if a.opt.Secrets == nil {
		return errors.New("partner credits need a secrets key (PB_SECRETS_KEY)")
	}
	secret, err := a.opt.Secrets.Open(p.ID, p.SealedSecret)
	if err != nil {
		// The error names no secret: only that this key does not open it.
		return err
	}
	err = signed.Verify(secret, body)
	clear(secret)
	if err != nil {
		return denied(err)
	}
	ev := a.event(r, audit.PartnerCredit, "").ByPartner(p.ID)
	defer a.failed(r, ev, &err)
	if p.Disabled {
		return fault.New(fault.Forbidden, "partner_disabled", "This partner is disabled; contact the operator.")
	}
	var req programme.CreditRequest
	if err := decode(body, &req); err != nil {
		return err
	}
	if err := req.Check(); err != nil {
		return err
	}
	ev.Target = "username:" + req.Username
	credit, replayed, err := a.store.CreditPartner(r.Context(), programme.PartnerCredit{Partner: p, CreditRequest: req, Audit: ev})
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		a.log.InfoContext(r.Context(), "partner credit", "partner", p.ID, "partner_tx_id", credit.PartnerTxID, "credit_id", credit.CreditID,
			"username", credit.Username, "mileage", credit.Mileage, "points", credit.Points)
	}
	return edge.WriteJSON(w, http.StatusCreated, credit)
}
