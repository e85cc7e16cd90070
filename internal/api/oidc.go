package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
)

// OIDC is the OpenID Connect sign-in flow (internal/oidc provides it).
// Start returns where to send the browser and the sealed flow state to
// keep in a cookie; Finish checks the callback against that state and
// returns the verified identity and the path to return to.
type OIDC interface {
	Start(ctx context.Context, returnTo string) (authURL, sealed string, err error)
	Finish(ctx context.Context, sealed string, callback url.Values) (account.Identity, string, error)
}

// oidcCookie holds a sign-in's state between start and callback. Its path
// keeps it off every other request; SameSite=Lax still sends it on the
// issuer's top-level redirect back to us.
const (
	oidcCookie     = "pb_oidc"
	oidcCookiePath = "/api/v1/auth/oidc/"
	oidcCookieAge  = 600 // seconds: internal/oidc refuses older flows too
)

func (a *API) oidcCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: oidcCookie, Value: value, Path: oidcCookiePath, MaxAge: maxAge, HttpOnly: true,
		Secure: a.opt.SecureCookies, SameSite: http.SameSiteLaxMode}
}

var errOIDCNotConfigured = fault.New(fault.NotFound, "oidc_not_configured", "Sign-in with an identity provider is not configured on this server.")

// oidcFailed sends the browser to the login page with our error code: the
// callback is a page load, not an API call, so JSON would strand the
// user. The log line has the reason, never a code or a token.
func (a *API) oidcFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := "oidc_failed" // a store or other failure: the log says which
	if fe, ok := fault.As(err); ok && strings.HasPrefix(fe.Code, "oidc_") {
		code = fe.Code
	}
	a.log.WarnContext(r.Context(), "oidc sign-in failed", "path", r.URL.Path, "code", code, "err", err)
	http.Redirect(w, r, "/login?error="+url.QueryEscape(code), http.StatusFound)
}

func (a *API) handleOIDCStart(w http.ResponseWriter, r *http.Request) error {
	if a.opt.OIDC == nil {
		return errOIDCNotConfigured
	}
	authURL, sealed, err := a.opt.OIDC.Start(r.Context(), r.URL.Query().Get("return_to"))
	if err != nil {
		a.oidcFailed(w, r, err)
		return nil
	}
	http.SetCookie(w, a.oidcCookie(sealed, oidcCookieAge))
	http.Redirect(w, r, authURL, http.StatusFound)
	return nil
}

func (a *API) handleOIDCCallback(w http.ResponseWriter, r *http.Request) error {
	if a.opt.OIDC == nil {
		return errOIDCNotConfigured
	}
	sealed := ""
	if c, err := r.Cookie(oidcCookie); err == nil {
		sealed = c.Value
	}
	// One callback per flow, whatever its outcome.
	http.SetCookie(w, a.oidcCookie("", -1))
	id, returnTo, err := a.opt.OIDC.Finish(r.Context(), sealed, r.URL.Query())
	if err != nil {
		a.oidcFailed(w, r, err)
		return nil
	}
	s, _, err := a.auth.SignInIdentity(r.Context(), id)
	if err != nil {
		a.oidcFailed(w, r, err)
		return nil
	}
	a.edge.SetSession(w, s.Token, s.ExpiresAt)
	http.Redirect(w, r, returnTo, http.StatusFound)
	return nil
}
