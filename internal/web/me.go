package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/playlimit"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// meStore is what My page reads and its two forms write, with the
// signatures the API uses.
type meStore interface {
	TopupStatus(ctx context.Context, userID string, rules programme.Rules) (*programme.TopupStatus, error)
	CheckinStatus(ctx context.Context, userID string, rules programme.Rules) (*programme.CheckinStatus, error)
	PlayBlock(ctx context.Context, userID string) (*playlimit.Block, error)
	FindBets(ctx context.Context, userID string, f betting.BetFilter) ([]*betting.Bet, string, error)
	FindBet(ctx context.Context, userID, betID string) (*betting.Bet, error)
	Topup(ctx context.Context, req programme.TopupRequest) (*programme.TopupResult, *idempotency.Replay, error)
	Checkin(ctx context.Context, req programme.CheckinRequest) (*programme.CheckinResult, *idempotency.Replay, error)
}

// betsPerPage is one page of a tab of bets.
const betsPerPage = 20

// betTabs are My page's tabs, in order: the bet states.
var betTabs = []betting.State{betting.Open, betting.Won, betting.Lost, betting.Void}

type betTab struct {
	State   betting.State
	Current bool
}

// refusal is a form's refusal as the page words it: the code, and the
// reason and time the rule gave.
type refusal struct {
	Code   string
	Reason string
	At     *time.Time
}

type meData struct {
	Balance int64
	Topup   *programme.TopupStatus
	Checkin *programme.CheckinStatus
	// Block is a cool-off or self-exclusion in force, which stops both
	// forms.
	Block *playlimit.Block
	// Key is the form's idempotency key, new on every render, so a double
	// submit credits once and a later visit is a new request.
	Key     string
	Tab     betting.State
	Tabs    []betTab
	Bets    []betItem
	Cursor  string
	Next    string
	Done    string
	Refusal *refusal
}

// handleMe is My page: the profile in short, the balance, the top-up and
// the daily check-in, and the bets in tabs by state (?tab=open|won|lost|
// void, 20 a page, ?cursor= for the next).
func (s *Web) handleMe(w http.ResponseWriter, r *http.Request) error {
	return s.renderMe(w, r, http.StatusOK, nil)
}

func (s *Web) renderMe(w http.ResponseWriter, r *http.Request, status int, ref *refusal) error {
	sess := edge.SessionFrom(r.Context())
	q := r.URL.Query()
	d := &meData{Tab: betting.Open, Refusal: ref, Key: newFormKey()}
	if t := q.Get("tab"); t != "" {
		d.Tab = ""
		for _, st := range betTabs {
			if string(st) == t {
				d.Tab = st
			}
		}
		if d.Tab == "" {
			return errNotFound
		}
	}
	for _, st := range betTabs {
		d.Tabs = append(d.Tabs, betTab{State: st, Current: st == d.Tab})
	}
	if done := q.Get("done"); done == "topup" || done == "checkin" {
		d.Done = done
	}
	d.Cursor = q.Get("cursor")
	ctx, uid := r.Context(), sess.User.ID
	var err error
	if d.Topup, err = s.store.TopupStatus(ctx, uid, s.opt.Programme); err != nil {
		return err
	}
	d.Balance = d.Topup.Balance
	if d.Checkin, err = s.store.CheckinStatus(ctx, uid, s.opt.Programme); err != nil {
		return err
	}
	if d.Block, err = s.store.PlayBlock(ctx, uid); err != nil {
		return err
	}
	if !d.Block.Active(s.now()) {
		d.Block = nil
	}
	bets, next, err := s.store.FindBets(ctx, uid, betting.BetFilter{State: string(d.Tab), Cursor: d.Cursor, Limit: betsPerPage})
	if err != nil {
		return err
	}
	d.Next = next
	zone := viewerZone(r)
	for _, b := range bets {
		d.Bets = append(d.Bets, betItem{Bet: b, Zone: zone, Link: true})
	}
	return s.render(w, r, status, "me", d)
}

// newFormKey is a fresh idempotency key for a form.
func newFormKey() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}

// formKey is the idempotency key a form carries in its hidden field,
// scoped to the player and to the form's address, as the API scopes its
// Idempotency-Key header; none: the post is not deduplicated.
//
// Codes: invalid_idempotency_key.
func (s *Web) formKey(r *http.Request, sess *account.Session) (*idempotency.Key, error) {
	key := r.PostFormValue("idempotency_key")
	if key == "" {
		return nil, nil
	}
	if len(key) > idempotency.MaxKeyLength || input.Header("idempotency_key", key) != nil {
		return nil, fault.New(fault.Invalid, "invalid_idempotency_key", "The form's key is not valid; reload the page.")
	}
	h := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\x00"))
	return &idempotency.Key{Owner: "user:" + sess.User.ID, Key: key, Hash: hex.EncodeToString(h[:]),
		Render: func(v any, err error) (int, []byte) {
			if err != nil {
				return edge.JSONError(r.Context(), s.log, r.URL.Path, err)
			}
			body, _ := json.Marshal(v)
			return http.StatusOK, body
		}}, nil
}

// handleTopup is the top-up form: 303 back to My page with ?done=topup,
// or My page again with the refusal in words (not eligible, with the
// reason and time; a cool-off).
func (s *Web) handleTopup(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	idem, err := s.formKey(r, sess)
	if err != nil {
		return err
	}
	_, replay, err := s.store.Topup(r.Context(), programme.TopupRequest{UserID: sess.User.ID, Rules: s.opt.Programme, Idempotency: idem})
	return s.formDone(w, r, "topup", replay, err)
}

// handleCheckin is the daily check-in form, answered as the top-up is.
func (s *Web) handleCheckin(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	idem, err := s.formKey(r, sess)
	if err != nil {
		return err
	}
	_, replay, err := s.store.Checkin(r.Context(), programme.CheckinRequest{UserID: sess.User.ID, Rules: s.opt.Programme, Idempotency: idem})
	return s.formDone(w, r, "checkin", replay, err)
}

// formDone answers a programme form: a credit (or the replay of one)
// goes back to My page; a rule's refusal (or its replay) shows My page
// with it in words and the status the API would give; anything else is
// the error page.
func (s *Web) formDone(w http.ResponseWriter, r *http.Request, done string, replay *idempotency.Replay, err error) error {
	var fe *fault.Error
	switch {
	case replay != nil && replay.Status == http.StatusOK:
	case replay != nil:
		fe = replayedFault(replay)
	case err != nil:
		var ok bool
		if fe, ok = fault.As(err); !ok || (fe.Kind != fault.Refused && fe.Kind != fault.Conflict) || fe.Code == "idempotency_key_reused" {
			return err
		}
	}
	if fe != nil {
		ref := &refusal{Code: fe.Code}
		if !s.opt.Catalog.Has("me.refusal." + ref.Code) {
			ref.Code = "other"
		}
		ref.Reason, _ = fe.Details["reason"].(string)
		for _, k := range []string{"next_allowed_at", "next_at", "ends_at"} {
			if t, ok := fe.Details[k].(time.Time); ok {
				ref.At = &t
			}
		}
		// My page as it is now, under its own address (where the
		// language switch returns): the refusal is shown above the forms.
		me := r.Clone(r.Context())
		me.URL.Path, me.URL.RawQuery = "/me", ""
		return s.renderMe(w, me, edge.Status(fe.Kind), ref)
	}
	http.Redirect(w, r, "/me?done="+done, http.StatusSeeOther)
	return nil
}

// replayedFault reads the refusal a retried form's key stored (the API's
// error envelope).
func replayedFault(rp *idempotency.Replay) *fault.Error {
	var env struct {
		Error struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	fe := &fault.Error{Kind: fault.Refused, Code: "internal"}
	if json.Unmarshal(rp.Body, &env) == nil && env.Error.Code != "" {
		fe.Code, fe.Details = env.Error.Code, env.Error.Details
		if at, ok := fe.Details["next_allowed_at"].(string); ok {
			if t, err := time.Parse(time.RFC3339, at); err == nil {
				fe.Details["next_allowed_at"] = t
			}
		}
		for _, k := range []string{"next_at", "ends_at"} {
			if at, ok := fe.Details[k].(string); ok {
				if t, err := time.Parse(time.RFC3339, at); err == nil {
					fe.Details[k] = t
				}
			}
		}
	}
	for k, st := range map[fault.Kind]int{fault.Refused: http.StatusUnprocessableEntity, fault.Conflict: http.StatusConflict} {
		if st == rp.Status {
			fe.Kind = k
		}
	}
	return fe
}

// betItem is a bet as the bet-card partial shows it, with the viewer's
// zone for its times.
type betItem struct {
	*betting.Bet
	Zone *time.Location
	// Link adds the link to the bet's receipt page (in lists).
	Link bool
}

// receiptData is one bet with its receipt.
type receiptData struct {
	Item betItem
	Legs []receiptLeg
}

// receiptLeg is a leg with what it was graded on and the rule in the
// viewer's words.
type receiptLeg struct {
	Leg      *betting.Leg
	Evidence *betting.LegEvidence
	Rule     string
}

// handleReceipt is one of the player's bets with its receipt: each leg's
// evidence and rule, and every settlement and correction with its delta.
// Another player's bet, like an unknown one, is the 404 page.
func (s *Web) handleReceipt(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	id := r.PathValue("id")
	if !validBetID(id) {
		return errNotFound
	}
	b, err := s.store.FindBet(r.Context(), sess.User.ID, id)
	if fault.Code(err) == "bet_not_found" {
		return errNotFound
	}
	if err != nil {
		return err
	}
	p := s.opt.Catalog.For(s.lang(r))
	d := &receiptData{Item: betItem{Bet: b, Zone: viewerZone(r)}}
	for _, l := range b.Legs {
		rl := receiptLeg{Leg: l}
		if b.Settlement != nil {
			for i := range b.Settlement.Legs {
				if ev := &b.Settlement.Legs[i]; ev.SelectionID == l.SelectionID {
					rl.Evidence = ev
					rl.Rule = ruleText(p, l, ev)
				}
			}
		}
		d.Legs = append(d.Legs, rl)
	}
	return s.render(w, r, http.StatusOK, "receipt", d)
}

// validBetID accepts what a bet id can be (b_123).
func validBetID(id string) bool {
	num, ok := strings.CutPrefix(id, "b_")
	if !ok || num == "" || len(num) > 19 {
		return false
	}
	return strings.Trim(num, "0123456789") == ""
}

// ruleText says in the viewer's words which score a leg was graded on
// and what that made of it, from the same facts betting.Grade used: the
// market kind, the sport (which score totals and handicaps use) and the
// evidence's score.
func ruleText(p *i18n.Printer, l *betting.Leg, ev *betting.LegEvidence) string {
	if ev.Outcome != "result" || ev.Score == nil {
		return p.T("receipt.rule.void")
	}
	score := func(x sport.Pair) string { return p.T("receipt.score", int64(x.Home), int64(x.Away)) }
	state := p.T("leg.state." + string(ev.State))
	reg, fin := ev.Score.Regulation, ev.Score.Final()
	switch l.MarketKind {
	case betting.OneXTwo:
		return p.T("receipt.rule.1x2", score(reg), p.T("sel.1x2."+winnerOf(reg)), state)
	case betting.Moneyline:
		if fin.Home == fin.Away {
			return p.T("receipt.rule.moneyline_tie", score(fin), state)
		}
		return p.T("receipt.rule.moneyline", score(fin), p.T("sel.moneyline."+winnerOf(fin)), state)
	case betting.Total, betting.Handicap:
		used, which := fin, "receipt.used.final"
		if l.Match != nil {
			if sp, ok := sport.Lookup(l.Match.Sport); ok && sp.RegulationTotals {
				used, which = reg, "receipt.used.regulation"
			}
		}
		return p.T("receipt.rule."+string(l.MarketKind), p.T(which), score(used), state)
	}
	return p.T("receipt.rule.void")
}

func winnerOf(x sport.Pair) string {
	switch {
	case x.Home > x.Away:
		return "home"
	case x.Away > x.Home:
		return "away"
	}
	return "draw"
}
