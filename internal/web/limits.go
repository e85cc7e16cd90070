package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// limitsStore is what the limits page reads and writes: the store methods
// the API's /api/v1/me/limits and /me/cooloff use.
type limitsStore interface {
	PlayLimits(ctx context.Context, userID string) (*playlimit.Status, error)
	SetPlayLimits(ctx context.Context, userID string, u playlimit.Update, ev *audit.Event) (*playlimit.Status, error)
	PlayBlock(ctx context.Context, userID string) (*playlimit.Block, error)
	StartPlayBlock(ctx context.Context, userID string, kind playlimit.Kind, span playlimit.Span, ev *audit.Event) (*playlimit.Block, error)
	RecordAudit(ctx context.Context, evs ...*audit.Event) error
}

// limitEvent is the audit event of the signed-in player's change of their
// own limits or block: the store writes it with the change.
func limitEvent(r *http.Request, action string) *audit.Event {
	u := edge.SessionFrom(r.Context()).User
	return audit.New(r.Context(), action, "user:"+u.ID).By(u.ID, u.Username)
}

// limitRefused records a change the store refused, in its own
// transaction, and returns err for the page to show.
func (s *Web) limitRefused(r *http.Request, ev *audit.Event, err error) error {
	if rerr := s.store.RecordAudit(context.WithoutCancel(r.Context()), ev.Failed(err)); rerr != nil {
		s.log.WarnContext(r.Context(), "audit: refused change not recorded", "action", ev.Action, "err", rerr)
	}
	return err
}

// periodRow is one stake limit as the page shows it, with the value its
// input starts with (the limit in force, or empty for none).
type periodRow struct {
	Period string
	*playlimit.PeriodStatus
	Value string
}

// blockChoice is one length a block can be chosen for.
type blockChoice struct {
	Kind     playlimit.Kind
	Duration string
}

// blockConfirm is the confirmation step of a block: what was chosen and
// when it would end.
type blockConfirm struct {
	Kind     playlimit.Kind
	Duration string
	EndsAt   time.Time
}

type limitsData struct {
	Periods          []periodRow
	OperatorDailyCap int64
	// Block is the block in force, or nil.
	Block    *playlimit.Block
	CoolOffs []blockChoice
	Exclude  []blockChoice
	Confirm  *blockConfirm
	// Errors are refusals' texts by form: limits, block.
	Errors map[string]string
	Done   string
}

// The lengths offered; the API takes any length within each kind's range.
var (
	coolOffSpans = []string{"24h", "72h", "7d", "2w", "6w"}
	excludeSpans = []string{"6m", "1y", "2y", "5y"}
	limitsDone   = []string{"limits", "unchanged", "cancelled", "block"}
)

func (s *Web) limitsData(r *http.Request) (*limitsData, error) {
	uid := edge.SessionFrom(r.Context()).User.ID
	st, err := s.store.PlayLimits(r.Context(), uid)
	if err != nil {
		return nil, err
	}
	b, err := s.store.PlayBlock(r.Context(), uid)
	if err != nil {
		return nil, err
	}
	d := &limitsData{OperatorDailyCap: st.OperatorDailyCap, Errors: map[string]string{}}
	if b.Active(s.now()) {
		d.Block = b
	}
	for _, p := range []struct {
		name string
		ps   *playlimit.PeriodStatus
	}{{"daily", st.Daily}, {"weekly", st.Weekly}, {"monthly", st.Monthly}} {
		row := periodRow{Period: p.name, PeriodStatus: p.ps}
		if p.ps.Limit != nil {
			row.Value = strconv.FormatInt(*p.ps.Limit, 10)
		}
		d.Periods = append(d.Periods, row)
	}
	for _, sp := range coolOffSpans {
		d.CoolOffs = append(d.CoolOffs, blockChoice{playlimit.CoolOff, sp})
	}
	for _, sp := range excludeSpans {
		d.Exclude = append(d.Exclude, blockChoice{playlimit.SelfExclusion, sp})
	}
	return d, nil
}

// handleLimits is the limits page: the three stake limits with what was
// staked and what changes are waiting, and the cool-off and
// self-exclusion forms.
func (s *Web) handleLimits(w http.ResponseWriter, r *http.Request) error {
	d, err := s.limitsData(r)
	if err != nil {
		return err
	}
	for _, done := range limitsDone {
		if r.URL.Query().Get("done") == done {
			d.Done = done
		}
	}
	return s.render(w, r, http.StatusOK, "limits", d)
}

// limitsRefusal shows the page again with err's text at form.
func (s *Web) limitsRefusal(w http.ResponseWriter, r *http.Request, form string, err error, edit func(*limitsData)) error {
	status, text, ok := s.refusal(w, r, err)
	if !ok {
		return err
	}
	d, derr := s.limitsData(r)
	if derr != nil {
		return derr
	}
	d.Errors[form] = text
	if edit != nil {
		edit(d)
	}
	return s.render(w, r, status, "limits", d)
}

// parseLimitField reads a typed limit: empty is "no limit" (nil); digits,
// with thousands separators allowed, are an amount.
func parseLimitField(period, v string) (*int64, error) {
	v = strings.NewReplacer(",", "", " ", "", "P", "").Replace(strings.TrimSpace(v))
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > playlimit.MaxLimit {
		return nil, fault.New(fault.Invalid, playlimit.CodeInvalidLimit, "%s must be a whole number of points from 1 to %d, or empty for no limit.", period, int64(playlimit.MaxLimit)).
			With("field", period)
	}
	return &n, nil
}

// handleLimitsSet changes the limits the player edited. Only a period
// whose value differs from the one in force is sent: sending an unchanged
// value would cancel that period's waiting change. A tighter limit
// applies at once; a looser one waits 24 hours (the store's rule).
func (s *Web) handleLimitsSet(w http.ResponseWriter, r *http.Request) error {
	uid := edge.SessionFrom(r.Context()).User.ID
	st, err := s.store.PlayLimits(r.Context(), uid)
	if err != nil {
		return err
	}
	typed := map[string]string{}
	u := playlimit.Update{}
	for _, row := range []struct {
		p  playlimit.Period
		ps *playlimit.PeriodStatus
	}{{playlimit.Daily, st.Daily}, {playlimit.Weekly, st.Weekly}, {playlimit.Monthly, st.Monthly}} {
		p, ps := row.p, row.ps
		v, err := formValue(r, string(p), 64)
		if err != nil {
			return err
		}
		typed[string(p)] = v
		n, err := parseLimitField(string(p), v)
		if err != nil {
			return s.limitsRefusal(w, r, "limits", err, keepTyped(typed))
		}
		if !equalAmount(n, ps.Limit) {
			u[p] = n
		}
	}
	if len(u) == 0 {
		http.Redirect(w, r, "/me/limits?done=unchanged", http.StatusSeeOther)
		return nil
	}
	ev := limitEvent(r, audit.LimitChange)
	if _, err := s.store.SetPlayLimits(r.Context(), uid, u, ev); err != nil {
		return s.limitsRefusal(w, r, "limits", s.limitRefused(r, ev, err), keepTyped(typed))
	}
	http.Redirect(w, r, "/me/limits?done=limits", http.StatusSeeOther)
	return nil
}

// keepTyped puts what the player typed back in the inputs.
func keepTyped(typed map[string]string) func(*limitsData) {
	return func(d *limitsData) {
		for i := range d.Periods {
			if v, ok := typed[d.Periods[i].Period]; ok {
				d.Periods[i].Value = v
			}
		}
	}
}

func equalAmount(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// handleLimitsCancel cancels a period's waiting change by asking again
// for the limit in force.
func (s *Web) handleLimitsCancel(w http.ResponseWriter, r *http.Request) error {
	uid := edge.SessionFrom(r.Context()).User.ID
	p := playlimit.Period(r.PostFormValue("period"))
	st, err := s.store.PlayLimits(r.Context(), uid)
	if err != nil {
		return err
	}
	ps := map[playlimit.Period]*playlimit.PeriodStatus{playlimit.Daily: st.Daily, playlimit.Weekly: st.Weekly, playlimit.Monthly: st.Monthly}[p]
	if ps == nil {
		return fault.New(fault.Invalid, playlimit.CodeInvalidPeriod, "period is daily, weekly or monthly.")
	}
	if ps.Pending != nil {
		ev := limitEvent(r, audit.LimitChange).Because("cancel " + string(p))
		if _, err := s.store.SetPlayLimits(r.Context(), uid, playlimit.Update{p: ps.Limit}, ev); err != nil {
			return s.limitsRefusal(w, r, "limits", s.limitRefused(r, ev, err), nil)
		}
	}
	http.Redirect(w, r, "/me/limits?done=cancelled", http.StatusSeeOther)
	return nil
}

// readBlock reads and checks a chosen block: its kind, its length, and
// when it would end if it started now. A block that would end before the
// one in force is refused here already, before any confirmation.
func (s *Web) readBlock(r *http.Request, kindText, spanText string) (*blockConfirm, playlimit.Span, error) {
	kind, err := playlimit.ParseKind(kindText)
	if err != nil {
		return nil, playlimit.Span{}, err
	}
	span, err := playlimit.ParseSpan(spanText)
	if err != nil {
		return nil, playlimit.Span{}, err
	}
	u := edge.SessionFrom(r.Context()).User
	now := s.now()
	b, err := playlimit.NewBlock(kind, span, now, playlimit.Location(u.TimeZone))
	if err != nil {
		return nil, playlimit.Span{}, err
	}
	cur, err := s.store.PlayBlock(r.Context(), u.ID)
	if err != nil {
		return nil, playlimit.Span{}, err
	}
	if err := playlimit.Replace(cur, b, now); err != nil {
		return nil, playlimit.Span{}, err
	}
	return &blockConfirm{Kind: kind, Duration: span.String(), EndsAt: b.EndsAt}, span, nil
}

// handleBlockConfirm is the confirmation step of a cool-off or a
// self-exclusion (?kind=…&duration=…): what it stops, that it cannot be
// lifted, and until when, in the player's zone.
func (s *Web) handleBlockConfirm(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	c, _, err := s.readBlock(r, q.Get("kind"), q.Get("duration"))
	if err != nil {
		return s.limitsRefusal(w, r, "block", err, nil)
	}
	d, err := s.limitsData(r)
	if err != nil {
		return err
	}
	d.Confirm = c
	return s.render(w, r, http.StatusOK, "limits", d)
}

var errBlockUnconfirmed = fault.New(fault.Invalid, "block_unconfirmed", "Tick the box to confirm that you understand the block cannot be lifted early.")

// handleBlockStart starts the block once the confirmation was ticked.
func (s *Web) handleBlockStart(w http.ResponseWriter, r *http.Request) error {
	kindText, err := formValue(r, "kind", 32)
	if err != nil {
		return err
	}
	spanText, err := formValue(r, "duration", 16)
	if err != nil {
		return err
	}
	c, span, err := s.readBlock(r, kindText, spanText)
	if err != nil {
		return s.limitsRefusal(w, r, "block", err, nil)
	}
	if r.PostFormValue("confirm") != "yes" {
		return s.limitsRefusal(w, r, "block", errBlockUnconfirmed, func(d *limitsData) { d.Confirm = c })
	}
	action := audit.CoolOffStart
	if c.Kind == playlimit.SelfExclusion {
		action = audit.SelfExclusion
	}
	ev := limitEvent(r, action).Because(span.String())
	if _, err := s.store.StartPlayBlock(r.Context(), edge.SessionFrom(r.Context()).User.ID, c.Kind, span, ev); err != nil {
		return s.limitsRefusal(w, r, "block", s.limitRefused(r, ev, err), nil)
	}
	http.Redirect(w, r, "/me/limits?done=block", http.StatusSeeOther)
	return nil
}
