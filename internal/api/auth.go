package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own view types always marshal
	}
	return b
}

func (a *API) handleSignup(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	body, err := readBody(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var req account.Signup
	if err := decode(body, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := req.Check(); err != nil {
		a.writeError(w, r, err)
		return
	}
	hash, err := account.Hash(req.Password, a.opt.Hash)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.store.CreateUser(r.Context(), account.NewUser{Username: req.Username, Nickname: req.Nickname, Email: req.Email,
		PasswordHash: hash, Role: account.Player, Bonus: a.opt.SignupBonus})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !u.EmailVerified {
		// The first code goes out at once; the throttle is claimed so that
		// a resend within the minute is refused like any other.
		if _, err := a.store.ThrottleMail(r.Context(), "verify", u.Username, 0); err != nil {
			a.log.WarnContext(r.Context(), "verification throttle", "user", u.ID, "err", err)
		}
		if err := a.sendCode(r.Context(), u); err != nil {
			a.log.WarnContext(r.Context(), "verification code not stored", "user", u.ID, "err", err)
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
}

func (a *API) handleAvailability(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	q := r.URL.Query()
	username, nickname := q.Get("username"), q.Get("nickname")
	if username == "" && nickname == "" {
		a.writeError(w, r, fault.New(fault.Invalid, "invalid_query", "Give username, nickname or both."))
		return
	}
	uFree, nFree, err := a.store.Availability(r.Context(), username, nickname)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	type avail struct {
		Value     string `json:"value"`
		Available bool   `json:"available"`
		Reason    string `json:"reason,omitempty"`
	}
	check := func(v string, free bool, valid func(string) error) *avail {
		if v == "" {
			return nil
		}
		out := &avail{Value: v, Available: free}
		if err := valid(v); err != nil {
			fe, _ := fault.As(err)
			out.Available, out.Reason = false, fe.Message
		} else if !free {
			out.Reason = "Already taken."
		}
		return out
	}
	resp := map[string]any{}
	if x := check(username, uFree, account.CheckUsername); x != nil {
		resp["username"] = x
	}
	if x := check(nickname, nFree, account.CheckNickname); x != nil {
		resp["nickname"] = x
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) handleLogin(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	body, err := readBody(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(body, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	bad := fault.New(fault.Unauthenticated, "invalid_credentials", "The username or password is wrong.")
	if len(req.Username) > 64 || len(req.Password) > 256 {
		a.writeError(w, r, bad)
		return
	}
	// Taken before the password is checked: over budget, the answer is
	// 429 whatever the password, for known and unknown usernames alike.
	try, err := a.limitAttempt(r, PurposeLogin, req.Username)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	u, hash, err := a.store.FindUserByUsername(r.Context(), req.Username)
	if fault.Code(err) == "user_not_found" {
		account.VerifyMissing(req.Password)
		a.writeError(w, r, bad)
		return
	}
	if err != nil {
		try.release(r.Context())
		a.writeError(w, r, err)
		return
	}
	if !account.Verify(req.Password, hash) {
		a.writeError(w, r, bad)
		return
	}
	// The password was right: whatever follows, this was no guess.
	try.succeeded(r.Context())
	// Checked only after the password, so it tells nothing to someone
	// who does not know it.
	if a.opt.RequireEmailVerification && !u.EmailVerified {
		a.writeError(w, r, fault.New(fault.Forbidden, "email_not_verified",
			"Verify your e-mail address first: enter the 6-digit code we sent to it (POST /api/v1/auth/verify-email), or ask for a new code (POST /api/v1/auth/verify-email/resend)."))
		return
	}
	token, expires, err := a.startSession(w, r, u)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "expires_at": expires, "csrf_token": account.CSRFToken(token), "user": u})
}

// startSession creates a session for u and sets its cookie. Every sign-in
// (password or OIDC) comes through here and gets a new token: a session id
// fixed before sign-in is never promoted to an authenticated one.
func (a *API) startSession(w http.ResponseWriter, r *http.Request, u *account.User) (string, time.Time, error) {
	token, digest := account.NewToken()
	expires := a.now().Add(a.opt.SessionTTL)
	if err := a.store.CreateSession(r.Context(), u.ID, digest, expires); err != nil {
		return "", time.Time{}, err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires, HttpOnly: true,
		Secure: a.opt.SecureCookies, SameSite: http.SameSiteLaxMode})
	return token, expires, nil
}

func (a *API) handleLogout(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	if err := a.store.DeleteSession(r.Context(), sess.Digest); err != nil {
		a.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.opt.SecureCookies, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleMe(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	acct, err := a.store.PlayerAccount(r.Context(), sess.User.ID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	bal, err := a.store.Balance(r.Context(), acct)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	u := sess.User
	resp := map[string]any{"id": u.ID, "username": u.Username, "nickname": u.Nickname, "email": u.Email, "role": u.Role,
		"time_zone": u.TimeZone, "created_at": u.CreatedAt, "balance": bal, "nickname_required": u.NicknameRequired, "email_verified": u.EmailVerified}
	if c, err := r.Cookie(sessionCookie); err == nil {
		resp["csrf_token"] = account.CSRFToken(c.Value)
	}
	writeJSON(w, http.StatusOK, resp)
}

// pageLimit reads ?limit= (default def, at most max). Codes: invalid_limit.
func pageLimit(r *http.Request, def, max int) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > max {
		return 0, fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", max)
	}
	return n, nil
}

func (a *API) handleStatement(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	limit, err := pageLimit(r, 50, 200)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	acct, err := a.store.PlayerAccount(r.Context(), sess.User.ID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	entries, next, err := a.store.Statement(r.Context(), acct, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []*ledger.Entry{}
	}
	writeList(w, entries, next)
}
