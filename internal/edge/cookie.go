package edge

import (
	"net/http"
	"time"
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
