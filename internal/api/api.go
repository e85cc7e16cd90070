// Package api is the JSON API v1 of ../shared/API.md: a route table of
// stdlib ServeMux patterns, handlers that parse, make one store call and
// respond, and the error envelope.
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
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/mail"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// Store is what the API needs from storage.
type Store interface {
	CreateUser(ctx context.Context, u account.NewUser) (*account.User, error)
	Availability(ctx context.Context, username, nickname string) (bool, bool, error)
	FindUserByUsername(ctx context.Context, username string) (*account.User, string, error)
	CreateSession(ctx context.Context, userID, digest string, expires time.Time) error
	FindSession(ctx context.Context, digest string) (*account.Session, error)
	DeleteSession(ctx context.Context, digest string) error
	SignInIdentity(ctx context.Context, id account.Identity, bonus int64) (*account.User, bool, error)

	PlayerAccount(ctx context.Context, userID string) (int64, error)
	Balance(ctx context.Context, accountID int64) (int64, error)
	Statement(ctx context.Context, accountID int64, cursor string, limit int) ([]*ledger.Entry, string, error)

	CountBySport(ctx context.Context, from, to time.Time) ([]sport.Count, error)
	FindMatches(ctx context.Context, f sport.MatchFilter) ([]*betting.Match, string, error)
	FindMatch(ctx context.Context, id string) (*betting.Match, error)
	MatchStats(ctx context.Context, id string) (*sport.MatchStats, error)
	CreateMatch(ctx context.Context, nm betting.NewMatch) (*betting.Match, error)
	RecordResult(ctx context.Context, matchID string, o sport.Outcome, operator bool) (bool, error)

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
	AccountStore
}

// Options are the API's settings.
type Options struct {
	SignupBonus   int64
	SessionTTL    time.Duration
	Hash          account.HashParams
	SecureCookies bool
	// Limiter counts failed logins and code entries (see throttle.go);
	// nil: an in-process one, so limits hold even when nobody wires one.
	Limiter throttle.Limiter
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; none: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// OIDC, when set, enables sign-in with an OpenID Connect issuer.
	OIDC OIDC
	// Programme are the rules of top-ups, check-ins and grants.
	Programme programme.Rules
	// Secrets opens partners' sealed HMAC secrets.
	Secrets *programme.Sealer

	// Mail sends verification codes and reset links.
	Mail mail.Sender
	// MailTimeout bounds one send within a request.
	MailTimeout time.Duration
	// RequireEmailVerification refuses login to unverified addresses.
	RequireEmailVerification bool
	// CodeKey keys the HMAC under which e-mail codes are stored.
	CodeKey []byte
	// PublicURL is the site's base URL, for links in mail.
	PublicURL string
}

// API serves /api/v1.
type API struct {
	store Store
	opt   Options
	log   *slog.Logger
	now   func() time.Time

	limiter throttle.Limiter
	clients *clientip.Resolver
}

// New returns the API.
func New(store Store, opt Options, log *slog.Logger) *API {
	if opt.Programme == (programme.Rules{}) {
		opt.Programme = programme.DefaultRules
	}
	a := &API{store: store, opt: opt, log: log, now: func() time.Time { return time.Now().UTC() },
		limiter: opt.Limiter, clients: clientip.New(opt.TrustedProxies)}
	if a.limiter == nil {
		a.limiter = throttle.NewMemory(nil, 0)
	}
	return a
}

// Access says who may call a route.
type Access int

const (
	Public Access = iota // anyone, session optional
	Player               // any signed-in user
	Admin                // operators only
	// Partner routes take no session at all: the caller is a partner's
	// server, identified by an HMAC signature over the request that the
	// handler verifies (X-Partner-Id, X-Timestamp, X-Signature).
	Partner
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string
	Access  Access
	Handler func(http.ResponseWriter, *http.Request, *account.Session)
}

// Routes is the route table: it reads like a sitemap of the API, and the
// OpenAPI drift test and the route × role test walk it.
func (a *API) Routes() []Route {
	return []Route{
		{"GET", "/api/v1/sports", Public, a.handleSportList},
		{"GET", "/api/v1/matches", Public, a.handleMatchList},
		{"GET", "/api/v1/matches/{id}", Public, a.handleMatchGet},

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

		{"GET", "/api/openapi.json", Public, a.handleOpenAPI},
	}
}

// Handler returns the API's handler; unknown /api paths get the JSON 404.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, a.wrap(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// The catch-all matches every method, so ServeMux's own 405 never
		// fires: say which methods the path has, if any.
		if allow := a.allowed(r.URL.Path); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			a.writeError(w, r, fault.New(fault.MethodNotAllowed, "method_not_allowed", "This endpoint accepts %s.", strings.Join(allow, ", ")))
			return
		}
		a.writeError(w, r, fault.New(fault.NotFound, "not_found", "No such API endpoint."))
	})
	return mux
}

const sessionCookie = "pb_session"

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

// wrap checks the query's text, authenticates the caller, applies the
// route's access rule and CSRF protection, and bounds the request's time
// so that a stuck dependency cannot hold a connection for ever.
func (a *API) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		r = r.WithContext(ctx)
		w.Header().Set("Cache-Control", "no-store")
		// Every query parameter is text: checked here, once, before any
		// handler reads one or passes it to the store.
		if err := input.QueryString(r.URL.RawQuery); err != nil {
			a.writeError(w, r, err)
			return
		}
		if rt.Access == Partner {
			// No session is looked up or accepted, so a cookie riding
			// along gives no access and needs no CSRF token.
			rt.Handler(w, r, nil)
			return
		}
		sess, viaCookie, err := a.authenticate(r)
		if err != nil && rt.Access != Public {
			a.writeError(w, r, err)
			return
		}
		if rt.Access == Public && viaCookie && r.Method != http.MethodGet {
			// Public writes (sign-up, log-in) act on nobody's session, so a
			// stale cookie neither helps nor blocks them with a CSRF check.
			sess, viaCookie = nil, false
		}
		switch {
		case rt.Access == Player && sess == nil,
			rt.Access == Admin && sess == nil:
			a.writeError(w, r, fault.New(fault.Unauthenticated, "unauthenticated", "Please log in."))
			return
		case rt.Access == Admin && sess.User.Role != account.Admin:
			a.writeError(w, r, fault.New(fault.Forbidden, "forbidden", "Operators only."))
			return
		}
		// A cookie is sent by the browser on cross-site requests too, so a
		// state-changing request authenticated by cookie must also carry
		// the CSRF token, which only our own pages can read. Bearer tokens
		// are never sent implicitly and need no such check.
		if viaCookie && r.Method != http.MethodGet && r.Method != http.MethodHead {
			c, _ := r.Cookie(sessionCookie)
			if r.Header.Get("X-CSRF-Token") != account.CSRFToken(c.Value) {
				a.writeError(w, r, fault.New(fault.Forbidden, "csrf_failed", "The request is missing its CSRF token; reload the page."))
				return
			}
		}
		rt.Handler(w, r, sess)
	})
}

// authenticate finds the session from a bearer token or the session
// cookie. No credentials is (nil, false, nil); bad ones are an error.
func (a *API) authenticate(r *http.Request) (*account.Session, bool, error) {
	token, viaCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || t == "" {
			return nil, false, fault.New(fault.Unauthenticated, "unauthenticated", "Use Authorization: Bearer <token>.")
		}
		token = t
	} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		token, viaCookie = c.Value, true
	}
	if token == "" {
		return nil, false, nil
	}
	if len(token) > 128 {
		return nil, false, fault.New(fault.Unauthenticated, "unauthenticated", "Please log in.")
	}
	s, err := a.store.FindSession(r.Context(), account.TokenDigest(token))
	if err != nil {
		return nil, false, err
	}
	return s, viaCookie, nil
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
// Idempotency-Key over it. On a bad request it has answered already and
// reports false.
func (a *API) readKeyed(w http.ResponseWriter, r *http.Request, sess *account.Session) ([]byte, *idempotency.Key, bool) {
	body, err := readBody(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return nil, nil, false
	}
	idem, err := a.idempotency(r, sess, body)
	if err != nil {
		a.writeError(w, r, err)
		return nil, nil, false
	}
	return body, idem, true
}

// renderOutcome is how an idempotent outcome is stored for replay.
func (a *API) renderOutcome(v any, err error) (int, []byte) {
	if err != nil {
		return renderError(context.Background(), a.log, "idempotent outcome", err)
	}
	switch x := v.(type) {
	case *betting.Bet:
		return http.StatusCreated, mustJSON(betView(x))
	}
	return http.StatusOK, mustJSON(v)
}

func writeReplay(w http.ResponseWriter, rp *idempotency.Replay) {
	w.Header().Set("Idempotent-Replayed", "true")
	writeRaw(w, rp.Status, rp.Body)
}
