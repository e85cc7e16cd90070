package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

// The sign-in pages call account.Auth's flows directly, as the JSON API
// does: the rules (password strength, attempt budgets, codes, reset links)
// live there once, and these handlers only read forms, set the cookie and
// choose the page.

// authData is what the sign-in pages show: the fields typed so far (never
// a password), where to go afterwards, and a refusal or a done message in
// the viewer's language.
type authData struct {
	Next     string
	Username string
	Nickname string
	Email    string
	Token    string
	// Error is a refusal's text; Done a catalogue key of what just
	// succeeded.
	Error string
	Done  string
	// Unverified links the log-in refusal to the code page.
	Unverified bool
}

// Longest values the sign-in forms take; account.Auth checks the real
// rules, these only keep oversized text out of it and of the page.
const (
	maxFieldLen = 256
	maxTokenLen = 128
)

// The done messages each page may show (?done=…, the catalogue's
// <view>.done.<name>): anything else is ignored, so a link cannot make a
// page say something it did not do.
var authDone = map[string][]string{
	"login":  {"verified", "reset", "deleted", "logout"},
	"verify": {"signup", "sent"},
	"reset":  {"sent"},
}

// formValue is a posted field, refused when it is not text or too long.
func formValue(r *http.Request, name string, max int) (string, error) {
	v := r.PostFormValue(name)
	if !input.ValidText(v) || len(v) > max {
		return "", fault.New(fault.Invalid, "invalid_form", "The field %s is not valid text or is too long.", name)
	}
	return v, nil
}

// queryValue is a query parameter for a form's prefill: the edge checked
// it is text; anything too long is dropped.
func queryValue(r *http.Request, name string, max int) string {
	v := r.URL.Query().Get(name)
	if len(v) > max {
		return ""
	}
	return v
}

// client is the caller's address behind the trusted proxies: what the
// attempt budgets count per address, as the API counts it.
func (s *Web) client(r *http.Request) netip.Addr {
	return clientip.New(s.opt.TrustedProxies).Addr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// refusal turns a flow's refusal into its status and text in the viewer's
// language, for a form shown again. ok is false for an error that is not
// the client's (a store failure), which the caller returns as it is.
func (s *Web) refusal(w http.ResponseWriter, r *http.Request, err error) (status int, text string, ok bool) {
	fe, isFault := fault.As(err)
	if !isFault || fe.Kind == fault.Internal || fe.Kind == fault.Unavailable {
		return 0, "", false
	}
	status = edge.Status(fe.Kind)
	p := s.opt.Catalog.For(s.lang(r))
	if key := "fault." + fe.Code; s.opt.Catalog.Has(key) {
		text = p.T(key)
	} else {
		text = p.T("error." + strconv.Itoa(status))
	}
	if secs, isInt := fe.Details["retry_after"].(int); isInt && secs > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if secs < 60 {
			text += " " + p.T("auth.retry_seconds", int64(secs))
		} else {
			text += " " + p.T("auth.retry_minutes", int64((secs+59)/60))
		}
	}
	return status, text, true
}

// showRefusal renders view again with the refusal's text in d.Error, or
// returns err when it is not the client's.
func (s *Web) showRefusal(w http.ResponseWriter, r *http.Request, view string, d *authData, err error) error {
	status, text, ok := s.refusal(w, r, err)
	if !ok {
		return err
	}
	d.Error = text
	return s.render(w, r, status, view, d)
}

// withQuery is path with the non-empty pairs of kv as its query.
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// formNext is a posted form's return address, as nextOf gives it.
func formNext(r *http.Request) (string, error) {
	v, err := formValue(r, "next", maxNext)
	return nextOf(v), err
}

// nextOf is the return address a form or link carries, "" for the front
// page, so that links do not repeat "?next=/".
func nextOf(v string) string {
	if n := localPath(v); n != "/" {
		return n
	}
	return ""
}

// authPage reads what every sign-in page's GET takes: the return address,
// a done message and a prefilled username.
func authPage(r *http.Request, view string) *authData {
	d := &authData{Next: nextOf(queryValue(r, "next", maxNext)), Username: queryValue(r, "username", 64)}
	if done := r.URL.Query().Get("done"); slices.Contains(authDone[view], done) {
		d.Done = done
	}
	return d
}

// handleLoginPage is the log-in page. A signed-in player is sent on.
// An OIDC failure comes back here with ?error=oidc_….
func (s *Web) handleLoginPage(w http.ResponseWriter, r *http.Request) error {
	d := authPage(r, "login")
	if edge.SessionFrom(r.Context()) != nil {
		http.Redirect(w, r, localPath(d.Next), http.StatusSeeOther)
		return nil
	}
	if code := r.URL.Query().Get("error"); strings.HasPrefix(code, "oidc_") && s.opt.Catalog.Has("fault."+code) {
		d.Error = s.opt.Catalog.For(s.lang(r)).T("fault." + code)
	}
	return s.render(w, r, http.StatusOK, "login", d)
}

// handleLogin checks the password and starts a session. A wrong password,
// too many attempts and an unverified address show the form again with
// the reason; the password is never put back in the page.
func (s *Web) handleLogin(w http.ResponseWriter, r *http.Request) error {
	username, err := formValue(r, "username", maxFieldLen)
	if err != nil {
		return err
	}
	password, err := formValue(r, "password", maxFieldLen)
	if err != nil {
		return err
	}
	next, err := formNext(r)
	if err != nil {
		return err
	}
	d := &authData{Next: next, Username: username}
	in, err := s.opt.Auth.LogIn(r.Context(), username, password, s.client(r))
	if err != nil {
		d.Unverified = fault.Code(err) == "email_not_verified"
		return s.showRefusal(w, r, "login", d, err)
	}
	s.edge.SetSession(w, in.Token, in.ExpiresAt)
	http.Redirect(w, r, localPath(d.Next), http.StatusSeeOther)
	return nil
}

// handleSignupPage is the sign-up page.
func (s *Web) handleSignupPage(w http.ResponseWriter, r *http.Request) error {
	d := authPage(r, "signup")
	if edge.SessionFrom(r.Context()) != nil {
		http.Redirect(w, r, localPath(d.Next), http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "signup", d)
}

// handleSignup creates the account (Auth credits the sign-up bonus) and
// signs the new player in, or, when the site requires a verified address,
// sends them to the code page.
func (s *Web) handleSignup(w http.ResponseWriter, r *http.Request) error {
	var f [4]string
	for i, name := range []string{"username", "nickname", "email", "password"} {
		v, err := formValue(r, name, maxFieldLen)
		if err != nil {
			return err
		}
		f[i] = v
	}
	next, err := formNext(r)
	if err != nil {
		return err
	}
	d := &authData{Username: f[0], Nickname: f[1], Email: f[2], Next: next}
	if _, err := s.opt.Auth.SignUp(r.Context(), account.Signup{Username: f[0], Nickname: f[1], Email: f[2], Password: f[3]}); err != nil {
		return s.showRefusal(w, r, "signup", d, err)
	}
	in, err := s.opt.Auth.LogIn(r.Context(), f[0], f[3], s.client(r))
	switch fault.Code(err) {
	case "":
		s.edge.SetSession(w, in.Token, in.ExpiresAt)
		http.Redirect(w, r, localPath(d.Next), http.StatusSeeOther)
	case "email_not_verified":
		http.Redirect(w, r, withQuery("/verify", "username", f[0], "next", d.Next, "done", "signup"), http.StatusSeeOther)
	default:
		// The account exists; whatever stopped the sign-in (a store
		// hiccup), logging in by hand will work.
		s.log.WarnContext(r.Context(), "sign-in after sign-up", "err", err)
		http.Redirect(w, r, withQuery("/login", "username", f[0], "next", d.Next), http.StatusSeeOther)
	}
	return nil
}

// handleVerifyPage is the e-mail code page: the code form and the resend
// button.
func (s *Web) handleVerifyPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "verify", authPage(r, "verify"))
}

// handleVerify checks the code. There is no password here to start a
// session with, so the player logs in next, with the address verified.
func (s *Web) handleVerify(w http.ResponseWriter, r *http.Request) error {
	username, err := formValue(r, "username", maxFieldLen)
	if err != nil {
		return err
	}
	code, err := formValue(r, "code", maxFieldLen)
	if err != nil {
		return err
	}
	next, err := formNext(r)
	if err != nil {
		return err
	}
	d := &authData{Username: username, Next: next}
	if err := s.opt.Auth.VerifyEmail(r.Context(), username, strings.TrimSpace(code), s.client(r)); err != nil {
		return s.showRefusal(w, r, "verify", d, err)
	}
	http.Redirect(w, r, withQuery("/login", "username", username, "next", d.Next, "done", "verified"), http.StatusSeeOther)
	return nil
}

// handleVerifyResend mails a new code (at most one a minute).
func (s *Web) handleVerifyResend(w http.ResponseWriter, r *http.Request) error {
	username, err := formValue(r, "username", maxFieldLen)
	if err != nil {
		return err
	}
	next, err := formNext(r)
	if err != nil {
		return err
	}
	d := &authData{Username: username, Next: next}
	if err := s.opt.Auth.ResendCode(r.Context(), username); err != nil {
		return s.showRefusal(w, r, "verify", d, err)
	}
	http.Redirect(w, r, withQuery("/verify", "username", username, "next", d.Next, "done", "sent"), http.StatusSeeOther)
	return nil
}

// handleLogout ends this session.
func (s *Web) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.opt.Auth.LogOut(r.Context(), edge.SessionFrom(r.Context())); err != nil {
		return err
	}
	s.edge.ClearSession(w)
	http.Redirect(w, r, "/login?done=logout", http.StatusSeeOther)
	return nil
}

// handleResetPage asks for the account's e-mail address.
func (s *Web) handleResetPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "reset", authPage(r, "reset"))
}

// handleReset mails a reset link. The answer is the same whether or not
// an account uses the address (Auth's rule), so the page says "if".
func (s *Web) handleReset(w http.ResponseWriter, r *http.Request) error {
	email, err := formValue(r, "email", maxFieldLen)
	if err != nil {
		return err
	}
	d := &authData{Email: email}
	if err := s.opt.Auth.RequestPasswordReset(r.Context(), strings.TrimSpace(email)); err != nil {
		return s.showRefusal(w, r, "reset", d, err)
	}
	http.Redirect(w, r, "/password-reset?done=sent", http.StatusSeeOther)
	return nil
}

// handleResetConfirmPage is where the mailed link lands (at
// /reset-password, the address account.Auth writes in the mail, and at
// /password-reset/confirm): the new password form, carrying the token.
func (s *Web) handleResetConfirmPage(w http.ResponseWriter, r *http.Request) error {
	d := &authData{Token: queryValue(r, "token", maxTokenLen)}
	if d.Token == "" {
		return s.showRefusal(w, r, "reset-confirm", d, errResetLink)
	}
	return s.render(w, r, http.StatusOK, "reset-confirm", d)
}

var errResetLink = fault.New(fault.Invalid, "invalid_reset_token", "This reset link is invalid, used or expired; ask for a new one.")

// handleResetConfirm sets the new password; the player then logs in.
func (s *Web) handleResetConfirm(w http.ResponseWriter, r *http.Request) error {
	token, err := formValue(r, "token", maxTokenLen)
	if err != nil {
		return s.showRefusal(w, r, "reset-confirm", &authData{}, errResetLink)
	}
	password, err := formValue(r, "password", maxFieldLen)
	if err != nil {
		return err
	}
	d := &authData{Token: token}
	if err := s.opt.Auth.ResetPassword(r.Context(), token, password); err != nil {
		if fault.Code(err) == "invalid_reset_token" {
			d.Token = ""
		}
		return s.showRefusal(w, r, "reset-confirm", d, err)
	}
	http.Redirect(w, r, "/login?done=reset", http.StatusSeeOther)
	return nil
}

// authForm is a sign-in form partial's input: the page, a prefix that
// keeps its element ids apart from another copy on the same page (the
// modal's), and the form's values.
type authForm struct {
	Page   *Page
	Prefix string
	Data   *authData
}

// newAuthForm is the template function authForm: d nil (the modal) starts
// empty and returns to the page it is on.
func newAuthForm(p *Page, prefix string, d *authData) authForm {
	if d == nil {
		d = &authData{Next: nextOf(p.Here)}
	}
	return authForm{Page: p, Prefix: prefix, Data: d}
}
