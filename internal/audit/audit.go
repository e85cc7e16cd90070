// Package audit is the application's audit trail: who did what to what,
// whether it worked, from where and in which request. An Event is written
// by the store in the same transaction as the change it records (a refused
// change is written as a failure in a small transaction of its own), kept
// in the database for operators to read, and emitted to the log stream
// once committed, as one line with event.dataset "pointsbook.audit".
package audit

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/request"
)

// Actions: the event.action values of the audit dataset (docs/fields).
const (
	Login          = "login"
	Signup         = "signup"
	EmailVerify    = "email.verify"
	PasswordChange = "password.change"
	PasswordReset  = "password.reset"
	LimitChange    = "limit.change"
	CoolOffStart   = "cooloff.start"
	SelfExclusion  = "self_exclusion.start"
	PartnerCredit  = "partner.credit"
	AuthzDenied    = "authz.denied"

	AdminMatchCreate  = "admin.match.create"
	AdminMatchResult  = "admin.match.result"
	AdminMatchVoid    = "admin.match.void"
	AdminGrant        = "admin.grant"
	AdminChatDelete   = "admin.chat.delete"
	AdminChatMute     = "admin.chat.mute"
	AdminChatSlowMode = "admin.chat.slow_mode"
	AdminChatAnnounce = "admin.chat.announce"
	AdminAuditRead    = "admin.audit.read"
	AdminReportsRead  = "admin.chat.reports.read"
	AdminUserCreate   = "admin.user.create"
	AdminUserPassword = "admin.user.password"
	AdminPartnerAdd   = "admin.partner.add"
	AdminPartnerKey   = "admin.partner.rotate_secret"
	AdminPartnerOff   = "admin.partner.disable"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

// Actor kinds, the prefix of Event.Actor.
const (
	ActorUser      = "user:"
	ActorPartner   = "partner:"
	ActorCLI       = "cli"
	ActorAnonymous = "anonymous"
)

// Bounds of the free-text fields, so a hostile username or reason cannot
// bloat a row or a log line.
const (
	MaxName   = 64
	MaxTarget = 128
	MaxReason = 200
	MaxID     = 64
)

// Event is one audited action.
type Event struct {
	ID        string    `json:"id,omitempty"` // "au_<n>", set when read back
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`               // "user:u_45", "partner:acme", "cli", "anonymous"
	UserID    string    `json:"user_id,omitempty"`   // the acting user ("u_45"); "" for anonymous, a partner or the CLI
	Username  string    `json:"username,omitempty"`  // the acting user's name at the time
	Action    string    `json:"action"`              // see the constants
	Target    string    `json:"target,omitempty"`    // "match:m_12", "user:u_45", "message:m_12/9"
	Outcome   string    `json:"outcome"`             // success / failure
	Reason    string    `json:"reason,omitempty"`    // the reason given, or a refusal's code
	ClientIP  string    `json:"client_ip,omitempty"` // "" outside a request
	Geo       *Geo      `json:"geo,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
}

// Geo is where ClientIP is, when GeoIP is configured.
type Geo struct {
	CountryISO  string   `json:"country_iso_code,omitempty"`
	CountryName string   `json:"country_name,omitempty"`
	City        string   `json:"city_name,omitempty"`
	Lat         *float64 `json:"lat,omitempty"`
	Lon         *float64 `json:"lon,omitempty"`
}

// New is a successful action by the context's request (its client, place,
// request and trace ids, and signed-in user, when known), anonymous until
// By or ByPartner names the actor.
func New(ctx context.Context, action, target string) *Event {
	e := &Event{Action: action, Target: clip(target, MaxTarget), Outcome: Success, Actor: ActorAnonymous}
	if info := request.From(ctx); info != nil {
		e.RequestID = clip(info.ID, MaxID)
		e.TraceID = clip(info.TraceID, MaxID)
		if info.ClientIP.IsValid() {
			e.ClientIP = info.ClientIP.Unmap().String()
		}
		if g := info.Geo; g != nil {
			e.Geo = &Geo{CountryISO: clip(g.CountryISO, 8), CountryName: clip(g.CountryName, MaxName), City: clip(g.City, MaxName)}
			if g.HasLocation {
				lat, lon := g.Lat, g.Lon
				e.Geo.Lat, e.Geo.Lon = &lat, &lon
			}
		}
	}
	return e
}

// By names the acting user (its API id, "u_45", and name).
func (e *Event) By(userID, username string) *Event {
	if userID == "" {
		return e
	}
	e.UserID, e.Username = clip(userID, MaxID), clip(username, MaxName)
	e.Actor = ActorUser + e.UserID
	return e
}

// ByPartner names a partner's server as the actor.
func (e *Event) ByPartner(id string) *Event {
	e.UserID, e.Username = "", ""
	e.Actor = ActorPartner + clip(id, MaxID)
	return e
}

// ByCLI names the command line (an operator at the host) as the actor.
func (e *Event) ByCLI() *Event {
	e.UserID, e.Username, e.Actor = "", "", ActorCLI
	return e
}

// Because sets the reason given for the action.
func (e *Event) Because(reason string) *Event {
	e.Reason = clip(strings.TrimSpace(reason), MaxReason)
	return e
}

// Failed is a copy of e recording a refused attempt: the reason is the
// refusal's error code (a fault's code; "internal" for anything else,
// whose text may hold what must not be logged).
func (e *Event) Failed(err error) *Event {
	f := *e
	f.Outcome = Failure
	f.Reason = clip(fault.Code(err), MaxReason)
	return &f
}

// Clean bounds and sanitises every text field (valid UTF-8, no control
// characters), so what is stored and logged is what was checked.
func (e *Event) Clean() {
	for _, p := range []*string{&e.Actor, &e.UserID, &e.RequestID, &e.TraceID, &e.Action, &e.Outcome} {
		*p = clip(*p, MaxID)
	}
	e.Username = clip(e.Username, MaxName)
	e.Target = clip(e.Target, MaxTarget)
	e.Reason = clip(e.Reason, MaxReason)
	if e.ClientIP != "" {
		if a, err := netip.ParseAddr(e.ClientIP); err == nil {
			e.ClientIP = a.Unmap().String()
		} else {
			e.ClientIP = ""
		}
	}
	if e.Geo != nil {
		e.Geo.CountryISO = clip(e.Geo.CountryISO, 8)
		e.Geo.CountryName = clip(e.Geo.CountryName, MaxName)
		e.Geo.City = clip(e.Geo.City, MaxName)
	}
}

// clip makes s valid UTF-8 without control characters, at most n bytes.
func clip(s string, n int) string {
	if len(s) > 4*n {
		s = s[:4*n] // bound the work on a hostile value before cleaning it
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Dataset is the event.dataset of audit lines: the sink sends them to the
// pointsbook-audit index.
const Dataset = "pointsbook.audit"

// Log writes e as one log line with the fields of the log contract
// (event.*, user.*, client.*, pointsbook.audit.target, http.request.id,
// trace.id). It is called after the event's transaction committed.
func Log(ctx context.Context, log *slog.Logger, e *Event) {
	if log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("event.dataset", Dataset),
		slog.String("event.action", e.Action),
		slog.String("event.outcome", e.Outcome),
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("event.reason", e.Reason))
	}
	if e.UserID != "" {
		attrs = append(attrs, slog.String("user.id", e.UserID), slog.String("user.name", e.Username))
	} else if e.Actor != ActorAnonymous {
		// A partner's server or the command line: named where a user's
		// name would be, so a dashboard's "who" column shows it.
		attrs = append(attrs, slog.String("user.name", e.Actor))
	}
	if e.Target != "" {
		attrs = append(attrs, slog.String("pointsbook.audit.target", e.Target))
	}
	if e.ClientIP != "" {
		attrs = append(attrs, slog.String("client.ip", e.ClientIP))
	}
	if g := e.Geo; g != nil {
		if g.CountryISO != "" {
			attrs = append(attrs, slog.String("client.geo.country_iso_code", g.CountryISO))
		}
		if g.CountryName != "" {
			attrs = append(attrs, slog.String("client.geo.country_name", g.CountryName))
		}
		if g.City != "" {
			attrs = append(attrs, slog.String("client.geo.city_name", g.City))
		}
		if g.Lat != nil && g.Lon != nil {
			attrs = append(attrs, slog.Any("client.geo.location", map[string]float64{"lat": *g.Lat, "lon": *g.Lon}))
		}
	}
	// The ids are the event's own, whoever logs it; the request is masked
	// from the context so that request.LogHandler, where it is installed,
	// does not write them a second time.
	if e.RequestID != "" {
		attrs = append(attrs, slog.String("http.request.id", e.RequestID))
	}
	if e.TraceID != "" {
		attrs = append(attrs, slog.String("trace.id", e.TraceID))
	}
	log.LogAttrs(request.With(ctx, nil), slog.LevelInfo, "audit "+e.Action+" "+e.Outcome, attrs...)
}

// Filter selects events for the operators' list, newest first.
type Filter struct {
	Actor   string    // exact: "user:u_45", "partner:acme", "cli", "anonymous"
	Action  string    // exact, or a prefix ending in "." or "*" ("admin.*")
	Target  string    // exact
	Outcome string    // success / failure
	From    time.Time // inclusive; zero: no bound
	To      time.Time // exclusive; zero: no bound
	Cursor  string    // the last event's id of the previous page
	Limit   int
}

// Page bounds of the list.
const (
	DefaultPage = 50
	MaxPage     = 200
)

// ParseFilter reads the list's query parameters: actor, action, target,
// outcome, from, to (RFC 3339), cursor, limit.
//
// Codes: invalid_filter, invalid_limit.
func ParseFilter(get func(string) string) (Filter, error) {
	f := Filter{Actor: get("actor"), Action: get("action"), Target: get("target"), Outcome: get("outcome"), Cursor: get("cursor"), Limit: DefaultPage}
	bad := func(field, msg string) error {
		return fault.New(fault.Invalid, "invalid_filter", "%s: %s", field, msg).With("field", field)
	}
	for _, x := range []struct{ name, v string }{{"actor", f.Actor}, {"action", f.Action}, {"target", f.Target}, {"cursor", f.Cursor}} {
		if len(x.v) > MaxTarget || clip(x.v, MaxTarget) != x.v {
			return Filter{}, bad(x.name, "at most 128 characters of text")
		}
	}
	if f.Action != "" {
		stem := strings.TrimSuffix(f.Action, "*")
		if strings.Contains(stem, "*") || stem == "" {
			return Filter{}, bad("action", `an action, or a prefix ending in "*" such as admin.*`)
		}
	}
	switch f.Outcome {
	case "", Success, Failure:
	default:
		return Filter{}, bad("outcome", "success or failure")
	}
	for _, x := range []struct {
		name string
		into *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := get(x.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || t.Year() < 2000 || t.Year() > 9999 {
			return Filter{}, bad(x.name, "an RFC 3339 time such as 2026-12-09T01:00:00Z")
		}
		*x.into = t.UTC()
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return Filter{}, bad("to", "must be after from")
	}
	if l := get("limit"); l != "" {
		n := 0
		for _, c := range l {
			if c < '0' || c > '9' || n > MaxPage {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n < 1 || n > MaxPage {
			return Filter{}, fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", MaxPage)
		}
		f.Limit = n
	}
	return f, nil
}
