package edge

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
)

// SetSession gives the browser the session cookie of a new sign-in.
func (e *Edge) SetSession(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires, HttpOnly: true,
		Secure: e.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// ClearSession removes the session cookie.
func (e *Edge) ClearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: e.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// CookieToken is the session token of r's cookie, if it has one.
func CookieToken(r *http.Request) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// VisitorCookie holds the CSRF token of a browser without a session, for
// the forms it posts before signing in.
const VisitorCookie = "pb_csrf"

// PageToken is the CSRF token a page gives its forms and scripts: derived
// from the session when r has one by cookie (the JSON API accepts it as
// X-CSRF-Token too), else the visitor token, made and set on first use.
func (e *Edge) PageToken(w http.ResponseWriter, r *http.Request) string {
	if SessionFrom(r.Context()) != nil {
		if t, ok := CookieToken(r); ok {
			return account.CSRFToken(t)
		}
	}
	if c, err := r.Cookie(VisitorCookie); err == nil && validVisitorToken(c.Value) {
		return c.Value
	}
	var b [18]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	t := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: VisitorCookie, Value: t, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true,
		Secure: e.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return t
}

// validVisitorToken keeps a forged cookie's text out of the pages: a
// visitor token is 24 URL-safe base64 characters.
func validVisitorToken(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
