// Package edge is the HTTP edge every surface shares (the JSON API, the
// server-rendered pages, the WebSocket endpoint): it finds the caller's
// session (cookie or bearer token) and puts it in the request context,
// checks CSRF for cookie sessions, enforces a route's access rule, bounds
// the request's time, and renders a handler's error as the JSON envelope
// or an HTML page, by surface and by what the request accepts.
//
// Handlers are edge.Handler: they return an error instead of writing it.
package edge

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/request"
)

// Handler serves one request. An error it returns is rendered by the
// edge, so a handler never writes an error itself; it must not return one
// after it has written a response.
type Handler func(w http.ResponseWriter, r *http.Request) error

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

// Sessions finds the live session of a token (account.Auth is one).
type Sessions interface {
	Session(ctx context.Context, token string) (*account.Session, error)
}

// Config is one surface's edge.
type Config struct {
	// Sessions finds sessions; it is needed by every route but Partner ones.
	Sessions Sessions
	Log      *slog.Logger
	// Format is the surface's own: JSON for the API, HTML for pages.
	Format Format
	// SecureCookies marks the session cookie Secure (an https site).
	SecureCookies bool
	// Replay renders the stored first response of a retried write for
	// this surface (see Replayed); nil: the JSON surface sends it as
	// stored, the HTML surface shows a page for its status.
	Replay func(w http.ResponseWriter, r *http.Request, rp *idempotency.Replay) error
	// Timeout bounds a request (default 15 s), so that a stuck dependency
	// cannot hold a connection for ever.
	Timeout time.Duration
	// ErrorPage, on an HTML surface, writes the page of an error in the
	// surface's own look and the viewer's language; nil: the edge's plain
	// bilingual page.
	ErrorPage func(w http.ResponseWriter, r *http.Request, code int, fe *fault.Error)
	// Audit records denied attempts on Admin routes (authz.denied); nil:
	// none are recorded.
	Audit AuditRecorder
	// AuditLimit bounds the denied attempts recorded per client address
	// (default audit.DefaultLimiter); the rest are counted, not written.
	AuditLimit *audit.Limiter
}

// AuditRecorder writes audit events in a transaction of their own.
type AuditRecorder interface {
	RecordAudit(ctx context.Context, evs ...*audit.Event) error
}

// MaxForm bounds a form body on an HTML surface: the longest form a page
// has (sign-up) is far below it.
const MaxForm = 64 << 10

// Edge wraps one surface's handlers.
type Edge struct {
	cfg Config
}

// New returns the edge of one surface.
func New(cfg Config) *Edge {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.AuditLimit == nil {
		cfg.AuditLimit = audit.DefaultLimiter()
	}
	return &Edge{cfg: cfg}
}

// SessionCookie is the name of the session cookie.
const SessionCookie = "pb_session"

type sessionKey struct{}

// SessionFrom is the caller's session; nil on a Public route called
// without one, and on Partner routes.
func SessionFrom(ctx context.Context) *account.Session {
	s, _ := ctx.Value(sessionKey{}).(*account.Session)
	return s
}

// Serve adapts h alone: its error is rendered, nothing else is added.
func (e *Edge) Serve(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			e.WriteError(w, r, err)
		}
	})
}

// Wrap is a route with its access rule: it bounds the request's time,
// marks the answer uncacheable, authenticates the caller, applies the
// access rule and CSRF protection, and renders h's error.
func (e *Edge) Wrap(access Access, h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), e.cfg.Timeout)
		defer cancel()
		w.Header().Set("Cache-Control", "no-store")
		// Every query parameter is text: checked here, once for every
		// surface, before the session is looked up or a handler reads one.
		if err := input.QueryString(r.URL.RawQuery); err != nil {
			e.WriteError(w, r.WithContext(ctx), err)
			return
		}
		if e.cfg.Format == HTML && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxForm)
		}
		sess, err := e.admit(ctx, r, access)
		if sess != nil {
			ctx = context.WithValue(ctx, sessionKey{}, sess)
			noteUser(ctx, sess.User)
		}
		r = r.WithContext(ctx)
		if err != nil {
			if access == Admin {
				e.Denied(r, sess, err)
			}
			e.WriteError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			e.WriteError(w, r, err)
		}
	})
}

// noteUser names the signed-in user in the request's metadata, for the
// access line (user.id, user.name) and audit events. A refused request
// (a player on an operator's route) still names who tried.
func noteUser(ctx context.Context, u *account.User) {
	info := request.From(ctx)
	if info == nil || u == nil {
		return
	}
	info.UserID, info.Username = u.ID, u.Username
}

// admit decides whether the caller may use a route of access, and
// returns the session the route sees.
func (e *Edge) admit(ctx context.Context, r *http.Request, access Access) (*account.Session, error) {
	if access == Partner {
		// No session is looked up or accepted, so a cookie riding along
		// gives no access and needs no CSRF token.
		return nil, nil
	}
	sess, viaCookie, err := e.authenticate(ctx, r)
	if err != nil && access != Public {
		return nil, err
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	token := ""
	if write && viaCookie || write && e.cfg.Format == HTML {
		if token, err = csrfToken(r, e.cfg.Format); err != nil {
			return nil, err
		}
	}
	if access == Public && write && viaCookie {
		// Public writes (sign-up, log-in, the language switch) act on
		// nobody's session unless the request proves it came from our own
		// page of that session: a stale or foreign cookie neither helps nor
		// blocks them.
		c, _ := r.Cookie(SessionCookie)
		if sess == nil || token != account.CSRFToken(c.Value) {
			sess, viaCookie = nil, false
		}
	}
	switch {
	case access == Player && sess == nil,
		access == Admin && sess == nil:
		return nil, fault.New(fault.Unauthenticated, "unauthenticated", "Please log in.")
	case access == Admin && sess.User.Role != account.Admin:
		// The session goes with the refusal: the error is rendered in the
		// player's language, the access line names who tried, and the
		// denial's audit event its actor.
		return sess, fault.New(fault.Forbidden, "forbidden", "Operators only.")
	}
	// A cookie is sent by the browser on cross-site requests too, so a
	// state-changing request authenticated by cookie must also carry the
	// CSRF token, which only our own pages can read. Bearer tokens are
	// never sent implicitly and need no such check.
	if write && viaCookie {
		c, _ := r.Cookie(SessionCookie)
		if token != account.CSRFToken(c.Value) {
			return nil, errCSRF
		}
	}
	// A page's form written without a session (sign-up, log-in) carries
	// the visitor token instead, so another site cannot post it in the
	// visitor's browser (log-in CSRF, signing them into its account).
	if write && !viaCookie && e.cfg.Format == HTML && access == Public {
		c, err := r.Cookie(VisitorCookie)
		if err != nil || c.Value == "" || token != c.Value {
			return nil, errCSRF
		}
	}
	return sess, nil
}

var errCSRF = fault.New(fault.Forbidden, "csrf_failed", "The request is missing its CSRF token; reload the page.")

// csrfToken is the request's CSRF token: the X-CSRF-Token header (a
// script), or on an HTML surface the csrf_token field of a posted form.
func csrfToken(r *http.Request, f Format) (string, error) {
	if t := r.Header.Get("X-CSRF-Token"); t != "" || f != HTML {
		return t, nil
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return "", nil
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", fault.New(fault.Invalid, "body_too_large", "The form is too long.")
		}
		return "", fault.New(fault.Invalid, "invalid_form", "The form could not be read.")
	}
	return r.PostForm.Get("csrf_token"), nil
}

// authenticate finds the session from a bearer token or the session
// cookie. No credentials is (nil, false, nil); bad ones are an error.
func (e *Edge) authenticate(ctx context.Context, r *http.Request) (*account.Session, bool, error) {
	token, viaCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || t == "" {
			return nil, false, fault.New(fault.Unauthenticated, "unauthenticated", "Use Authorization: Bearer <token>.")
		}
		token = t
	} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		token, viaCookie = c.Value, true
	}
	if token == "" {
		return nil, false, nil
	}
	s, err := e.cfg.Sessions.Session(ctx, token)
	if err != nil {
		return nil, false, err
	}
	return s, viaCookie, nil
}

// Denied records a refused attempt at a protected route (an Admin route
// without an operator's session, a partner request whose signature does
// not hold) as an authz.denied failure, its reason err's code, within the
// per-address bound: past it the attempt is only counted
// (AuditLimit.Suppressed), so a flood cannot fill the table.
func (e *Edge) Denied(r *http.Request, sess *account.Session, err error) {
	if e.cfg.Audit == nil {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	target := "route:" + r.Method + " " + r.URL.Path
	if r.Pattern != "" {
		target = "route:" + r.Pattern
	}
	ev := audit.New(ctx, audit.AuthzDenied, target)
	if sess != nil {
		ev.By(sess.User.ID, sess.User.Username)
	}
	if !e.cfg.AuditLimit.Allow(ev.ClientIP) {
		return
	}
	if rerr := e.cfg.Audit.RecordAudit(ctx, ev.Failed(err)); rerr != nil {
		e.cfg.Log.WarnContext(ctx, "audit: denied attempt not recorded", "err", rerr)
	}
}
