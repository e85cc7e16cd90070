// Package api is the JSON API v1 (docs/api.md; the served OpenAPI
// document at /api/openapi.json): a route table of stdlib ServeMux
// patterns and handlers that parse, make one store or account.Auth call
// and respond. The session, access rules and error rendering are the
// HTTP edge's (internal/edge).
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Store is what the API needs from storage, the sign-in flows' needs
// included, so that New can build them over it when none are given.
type Store interface {
	account.AuthStore
	Availability(ctx context.Context, username, nickname string) (bool, bool, error)
	UpdateProfile(ctx context.Context, userID string, p account.ProfileUpdate) (*account.User, error)

	PlayerAccount(ctx context.Context, userID string) (int64, error)
	Balance(ctx context.Context, accountID int64) (int64, error)
	Statement(ctx context.Context, accountID int64, cursor string, limit int) ([]*ledger.Entry, string, error)

	CountBySport(ctx context.Context, from, to time.Time) ([]sport.Count, error)
	FindMatches(ctx context.Context, f sport.MatchFilter) ([]*betting.Match, string, error)
	FindMatch(ctx context.Context, id string) (*betting.Match, error)
	FindOddsHistory(ctx context.Context, matchID string, f betting.OddsHistoryFilter) ([]*betting.SelectionHistory, string, error)
	MatchStats(ctx context.Context, id string) (*sport.MatchStats, error)
	CreateMatch(ctx context.Context, nm betting.NewMatch) (*betting.Match, error)
	RecordResult(ctx context.Context, matchID string, o sport.Outcome, operator bool, ev *audit.Event) (bool, error)
	AuditEvents(ctx context.Context, f audit.Filter) ([]*audit.Event, string, error)

	PlaceBet(ctx context.Context, req *betting.PlaceRequest) (*betting.Bet, *idempotency.Replay, error)
	FindBet(ctx context.Context, userID, betID string) (*betting.Bet, error)
	FindBets(ctx context.Context, userID string, f betting.BetFilter) ([]*betting.Bet, string, error)

	limitStore
	Topup(ctx context.Context, req programme.TopupRequest) (*programme.TopupResult, *idempotency.Replay, error)
	Checkin(ctx context.Context, req programme.CheckinRequest) (*programme.CheckinResult, *idempotency.Replay, error)
	CheckinStatus(ctx context.Context, userID string, rules programme.Rules) (*programme.CheckinStatus, error)
	Grant(ctx context.Context, req programme.GrantRequest) (*programme.Grant, *idempotency.Replay, error)
	FindPartner(ctx context.Context, id string) (*programme.Partner, error)
	CreditPartner(ctx context.Context, req programme.PartnerCredit) (*programme.Credit, bool, error)
}

// Options are the API's settings.
type Options struct {
	// Auth are the sign-in flows, shared with the other surfaces; nil:
	// flows over the store with default settings.
	Auth *account.Auth
	// SecureCookies marks cookies Secure (the site is served over https).
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; none: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// OIDC, when set, enables sign-in with an OpenID Connect issuer.
	OIDC OIDC
	// Programme are the rules of top-ups, check-ins and grants.
	Programme programme.Rules
	// Secrets opens partners' sealed HMAC secrets.
	Secrets *programme.Sealer
	// Chat is the match chat's history and moderation; nil: its routes
	// answer live_unavailable.
	Chat Chat
	// Bets, when set, is told of every placement's final answer (metrics
	// and the bet events of the log).
	Bets BetObserver
}

// BetObserver is told of each placement once its answer is final: the
// bet committed, or the refusal (its fault code). A retried request
// answered from its idempotency key is neither: its first answer was
// told. Both are called on the request's goroutine, with its context,
// and must be quick.
type BetObserver interface {
	BetPlaced(ctx context.Context, bet *betting.Bet)
	BetRefused(ctx context.Context, code string)
}

// API serves /api/v1.
type API struct {
	store Store
	auth  *account.Auth
	edge  *edge.Edge
	opt   Options
	log   *slog.Logger
	now   func() time.Time

	clients *clientip.Resolver
	// auditLimit bounds the failed attempts recorded per player.
	auditLimit *audit.Limiter
}

// New returns the API.
func New(store Store, opt Options, log *slog.Logger) *API {
	if opt.Programme == (programme.Rules{}) {
		opt.Programme = programme.DefaultRules
	}
	a := &API{store: store, auth: opt.Auth, opt: opt, log: log, now: func() time.Time { return time.Now().UTC() },
		clients: clientip.New(opt.TrustedProxies)}
	if a.auth == nil {
		a.auth = account.NewAuth(store, account.AuthConfig{}, log)
	}
	a.edge = edge.New(edge.Config{Sessions: a.auth, Log: log, Format: edge.JSON, SecureCookies: opt.SecureCookies, Audit: store})
	a.auditLimit = audit.DefaultLimiter()
	return a
}

// event starts the audit event of the caller's action: the request's
// metadata, and the signed-in user as actor when there is one. The store
// writes it with the change; failed writes a refusal instead.
func (a *API) event(r *http.Request, action, target string) *audit.Event {
	ev := audit.New(r.Context(), action, target)
	if s := edge.SessionFrom(r.Context()); s != nil {
		ev.By(s.User.ID, s.User.Username)
	}
	return ev
}

// failed records ev as a failure, in its own transaction, when the
// handler returns an error (*err): deferred by every audited handler, so
// a refusal at any step (the body, a rule, the store) is recorded. A
// player's failures are bounded per player; an operator's are all kept.
func (a *API) failed(r *http.Request, ev *audit.Event, err *error) {
	if *err == nil || ev == nil {
		return
	}
	if s := edge.SessionFrom(r.Context()); (s == nil || s.User.Role != account.Admin) && !a.auditLimit.Allow(ev.Actor+"|"+ev.ClientIP) {
		return
	}
	a.record(r, ev.Failed(*err))
}

// record writes events that go with no change of their own (a failure, an
// announcement, a read of the trail) in a small transaction.
func (a *API) record(r *http.Request, evs ...*audit.Event) {
	ctx := context.WithoutCancel(r.Context())
	if err := a.store.RecordAudit(ctx, evs...); err != nil {
		a.log.WarnContext(ctx, "audit: event not recorded", "action", evs[0].Action, "err", err)
	}
}

// Access says who may call a route; the edge enforces it.
type Access = edge.Access

// The access rules of routes.
const (
	Public  = edge.Public
	Player  = edge.Player
	Admin   = edge.Admin
	Partner = edge.Partner
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string
	Access  Access
	Handler edge.Handler
}

// Routes is the route table: it reads like a sitemap of the API, and the
// OpenAPI drift test and the route × role test walk it.
func (a *API) Routes() []Route {
	return []Route{
		{"GET", "/api/v1/sports", Public, a.handleSportList},
		{"GET", "/api/v1/matches", Public, a.handleMatchList},
		{"GET", "/api/v1/matches/{id}", Public, a.handleMatchGet},
		{"GET", "/api/v1/matches/{id}/odds", Public, a.handleMatchOdds},
		{"GET", "/api/v1/matches/{id}/chat", Public, a.handleChatHistory},

		{"POST", "/api/v1/auth/signup", Public, a.handleSignup},
		{"GET", "/api/v1/auth/availability", Public, a.handleAvailability},
		{"POST", "/api/v1/auth/login", Public, a.handleLogin},
		{"GET", "/api/v1/auth/oidc/start", Public, a.handleOIDCStart},
		{"GET", "/api/v1/auth/oidc/callback", Public, a.handleOIDCCallback},
		{"POST", "/api/v1/auth/logout", Player, a.handleLogout},
		{"POST", "/api/v1/auth/logout-all", Player, a.handleLogoutAll},
		{"POST", "/api/v1/auth/verify-email", Public, a.handleVerifyEmail},
		{"POST", "/api/v1/auth/verify-email/resend", Public, a.handleVerifyResend},
		{"POST", "/api/v1/auth/password-reset", Public, a.handlePasswordReset},
		{"POST", "/api/v1/auth/password-reset/confirm", Public, a.handlePasswordResetConfirm},

		{"GET", "/api/v1/me", Player, a.handleMe},
		{"PATCH", "/api/v1/me", Player, a.handleProfileUpdate},
		{"DELETE", "/api/v1/me", Player, a.handleAccountDelete},
		{"PUT", "/api/v1/me/password", Player, a.handlePasswordChange},
		{"GET", "/api/v1/me/statement", Player, a.handleStatement},
		{"GET", "/api/v1/me/bets", Player, a.handleMyBets},
		{"GET", "/api/v1/me/limits", Player, a.handleLimitsGet},
		{"PUT", "/api/v1/me/limits", Player, a.handleLimitsPut},
		{"GET", "/api/v1/me/cooloff", Player, a.handleCoolOffGet},
		{"POST", "/api/v1/me/cooloff", Player, a.handleCoolOffCreate},
		{"GET", "/api/v1/me/statement/activity", Player, a.handleActivityStatement},
		{"POST", "/api/v1/me/topup", Player, a.handleTopup},
		{"GET", "/api/v1/me/checkin", Player, a.handleCheckinStatus},
		{"POST", "/api/v1/me/checkin", Player, a.handleCheckin},

		{"POST", "/api/v1/partner/credits", Partner, a.handlePartnerCredit},

		{"POST", "/api/v1/bets", Player, a.handleBetCreate},
		{"GET", "/api/v1/bets/{id}", Player, a.handleBetGet},

		{"POST", "/api/v1/admin/matches", Admin, a.handleAdminMatchCreate},
		{"POST", "/api/v1/admin/matches/{id}/result", Admin, a.handleAdminResult},
		{"POST", "/api/v1/admin/matches/{id}/void", Admin, a.handleAdminVoid},
		{"POST", "/api/v1/admin/grants", Admin, a.handleAdminGrant},
		{"DELETE", "/api/v1/admin/matches/{id}/chat/{msg}", Admin, a.handleAdminChatDelete},
		{"PUT", "/api/v1/admin/matches/{id}/chat/slow-mode", Admin, a.handleAdminChatSlowMode},
		{"POST", "/api/v1/admin/matches/{id}/announcements", Admin, a.handleAdminChatAnnounce},
		{"POST", "/api/v1/admin/chat/mutes", Admin, a.handleAdminChatMute},
		{"GET", "/api/v1/admin/chat/reports", Admin, a.handleAdminChatReports},
		{"GET", "/api/v1/admin/audit", Admin, a.handleAdminAudit},

		{"GET", "/api/openapi.json", Public, a.handleOpenAPI},
	}
}

// Handler returns the API's handler; unknown /api paths get the JSON 404.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, a.edge.Wrap(rt.Access, rt.Handler))
	}
	mux.Handle("/api/", a.edge.Serve(func(w http.ResponseWriter, r *http.Request) error {
		// The catch-all matches every method, so ServeMux's own 405 never
		// fires: say which methods the path has, if any.
		if allow := a.allowed(r.URL.Path); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return fault.New(fault.MethodNotAllowed, "method_not_allowed", "This endpoint accepts %s.", strings.Join(allow, ", "))
		}
		return fault.New(fault.NotFound, "not_found", "No such API endpoint.")
	}))
	return mux
}

// allowed lists the methods of the routes whose pattern matches path.
func (a *API) allowed(path string) []string {
	var out []string
	segs := strings.Split(path, "/")
	for _, rt := range a.Routes() {
		ps := strings.Split(rt.Pattern, "/")
		if len(ps) != len(segs) {
			continue
		}
		match := true
		for i := range ps {
			if !strings.HasPrefix(ps[i], "{") && ps[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			out = append(out, rt.Method)
		}
	}
	return out
}

// idempotency reads the Idempotency-Key header. The request hash covers
// method, path and body, so a key reused for anything else is a conflict.
// The key is stored, so it must be text (UTF-8, no NUL).
//
// Codes: invalid_idempotency_key, invalid_text.
func (a *API) idempotency(r *http.Request, sess *account.Session, body []byte) (*idempotency.Key, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 200 {
		return nil, fault.New(fault.Invalid, "invalid_idempotency_key", "Idempotency-Key may have at most 200 characters.")
	}
	if err := input.Header("Idempotency-Key", key); err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\x00"))
	h.Write(body)
	return &idempotency.Key{
		Owner: "user:" + sess.User.ID, Key: key, Hash: hex.EncodeToString(h.Sum(nil)),
		Render: a.renderOutcome,
	}, nil
}

// readKeyed reads a retry-safe write: the capped body and the caller's
// Idempotency-Key over it.
func (a *API) readKeyed(w http.ResponseWriter, r *http.Request, sess *account.Session) ([]byte, *idempotency.Key, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	idem, err := a.idempotency(r, sess, body)
	if err != nil {
		return nil, nil, err
	}
	return body, idem, nil
}

// renderOutcome is how an idempotent outcome is stored for replay.
func (a *API) renderOutcome(v any, err error) (int, []byte) {
	if err != nil {
		return edge.JSONError(context.Background(), a.log, "idempotent outcome", err)
	}
	switch x := v.(type) {
	case *betting.Bet:
		return http.StatusCreated, mustJSON(betView(x))
	}
	return http.StatusOK, mustJSON(v)
}
