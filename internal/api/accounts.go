package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/mail"
)

// AccountStore is what the account lifecycle needs from storage.
type AccountStore interface {
	FindUserByID(ctx context.Context, id string) (*account.User, string, error)
	FindUserByEmail(ctx context.Context, email string) (*account.User, error)
	ThrottleMail(ctx context.Context, purpose, value string, every time.Duration) (time.Duration, error)
	SetEmailCode(ctx context.Context, userID, codeHash string, ttl time.Duration) error
	VerifyEmail(ctx context.Context, userID, codeHash string, maxAttempts int) error
	CreatePasswordReset(ctx context.Context, userID, digest string, ttl time.Duration) error
	FindPasswordReset(ctx context.Context, digest string) (*account.User, error)
	ResetPassword(ctx context.Context, digest, hash string) (*account.User, error)
	ChangePassword(ctx context.Context, userID, hash, keepDigest string) error
	DeleteSessions(ctx context.Context, userID string) (int64, error)
	UpdateProfile(ctx context.Context, userID string, p account.ProfileUpdate) (*account.User, error)
	DeleteUser(ctx context.Context, userID string) error
}

// Bounds of the account endpoints' strings: anything longer is refused
// before it reaches a hash or the database.
const (
	maxUsernameLen = 64
	maxEmailLen    = 254
	maxPasswordLen = 256
	maxTokenLen    = 128
)

var errWrongPassword = fault.New(fault.Forbidden, "wrong_password", "The password is wrong.")

// checkCurrentPassword re-authenticates the session's user before a
// sensitive change. Codes: wrong_password, user_not_found.
func (a *API) checkCurrentPassword(ctx context.Context, sess *account.Session, password string) (*account.User, error) {
	u, hash, err := a.store.FindUserByID(ctx, sess.User.ID)
	if err != nil {
		return nil, err
	}
	if err := checkPassword(password, hash); err != nil {
		return nil, err
	}
	return u, nil
}

// checkPassword compares a password the caller typed again with the
// stored hash. Codes: wrong_password.
func checkPassword(password, hash string) error {
	if len(password) > maxPasswordLen || !account.Verify(password, hash) {
		return errWrongPassword
	}
	return nil
}

// send hands a message to the mail sender within the mail timeout. A
// failure is logged by kind and user only (never the code or the link:
// the message body is not logged at all) and reported as false, so the
// request goes on and the player can ask again.
func (a *API) send(ctx context.Context, kind string, u *account.User, m mail.Message) bool {
	if a.opt.Mail == nil {
		a.log.WarnContext(ctx, "mail not sent: no sender configured", "kind", kind, "user", u.ID)
		return false
	}
	timeout := a.opt.MailTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.opt.Mail.Send(ctx, m); err != nil {
		a.log.WarnContext(ctx, "mail not sent", "kind", kind, "user", u.ID, "err", err)
		return false
	}
	a.log.InfoContext(ctx, "mail sent", "kind", kind, "user", u.ID)
	return true
}

// sendCode makes a new verification code for u, stores its keyed hash and
// mails it.
func (a *API) sendCode(ctx context.Context, u *account.User) error {
	code := account.NewCode()
	if err := a.store.SetEmailCode(ctx, u.ID, account.CodeHash(a.opt.CodeKey, u.ID, code), account.CodeTTL); err != nil {
		return err
	}
	a.send(ctx, "verification_code", u, verificationMail(u, code))
	return nil
}

func (a *API) handleVerifyEmail(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	// Code entry happens here and only here, so one limiter in front of
	// this handler covers every guess.
	var req struct {
		Username string `json:"username"`
		Code     string `json:"code"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := account.CheckCode(req.Code); err != nil {
		a.writeError(w, r, err)
		return
	}
	wrong := fault.New(fault.Invalid, "invalid_code", "The code is wrong.")
	if req.Username == "" || len(req.Username) > maxUsernameLen {
		a.writeError(w, r, wrong)
		return
	}
	// Besides each code's own 5 attempts, guesses are budgeted per name
	// and per client address, so nobody can walk many accounts' codes.
	try, err := a.limitAttempt(r, PurposeEmailCode, req.Username)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	u, _, err := a.store.FindUserByUsername(r.Context(), req.Username)
	if fault.Code(err) == "user_not_found" {
		a.writeError(w, r, wrong)
		return
	}
	if err != nil {
		try.release(r.Context())
		a.writeError(w, r, err)
		return
	}
	if err := a.store.VerifyEmail(r.Context(), u.ID, account.CodeHash(a.opt.CodeKey, u.ID, req.Code), account.CodeAttempts); err != nil {
		if fault.Code(err) != "invalid_code" {
			// Only a wrong guess counts: an expired or used code, or a
			// store failure, told the caller nothing about the code.
			try.release(r.Context())
		}
		a.writeError(w, r, err)
		return
	}
	try.succeeded(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"email_verified": true})
}

// retryAfter answers 429 with the wait in whole seconds.
func (a *API) retryAfter(w http.ResponseWriter, r *http.Request, wait time.Duration, code, format string) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	a.writeError(w, r, fault.New(fault.RateLimited, code, format, secs).With("retry_after", secs))
}

func (a *API) handleVerifyResend(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	var req struct {
		Username string `json:"username"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.Username == "" || len(req.Username) > maxUsernameLen {
		a.writeError(w, r, fault.New(fault.Invalid, "invalid_username", "Give the username you signed up with."))
		return
	}
	// The throttle is claimed by name before looking the account up, so
	// the answer (202, or 429 within a minute) is the same for every name.
	wait, err := a.store.ThrottleMail(r.Context(), "verify", req.Username, account.ResendAfter)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if wait > 0 {
		a.retryAfter(w, r, wait, "resend_too_soon", "A code was sent less than a minute ago; you can ask again in %d seconds.")
		return
	}
	u, _, err := a.store.FindUserByUsername(r.Context(), req.Username)
	switch {
	case fault.Code(err) == "user_not_found":
	case err != nil:
		a.writeError(w, r, err)
		return
	case !u.EmailVerified:
		if err := a.sendCode(r.Context(), u); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "If that account exists and its address is unverified, a new code is on its way. It is valid for 15 minutes."})
}

func (a *API) handlePasswordChange(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.checkCurrentPassword(r.Context(), sess, req.Current)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := account.CheckNewPassword(req.New, u.Username, u.Email); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.New == req.Current {
		a.writeError(w, r, fault.New(fault.Invalid, "same_password", "The new password is the same as the current one."))
		return
	}
	hash, err := account.Hash(req.New, a.opt.Hash)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.ChangePassword(r.Context(), u.ID, hash, sess.Digest); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handlePasswordReset(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	var req struct {
		Email string `json:"email"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.Email == "" || len(req.Email) > maxEmailLen || !strings.Contains(req.Email, "@") {
		a.writeError(w, r, fault.New(fault.Invalid, "invalid_email", "Enter the e-mail address of your account."))
		return
	}
	accepted := map[string]any{"message": "If an account uses that address, a link to set a new password is on its way. It works once, within an hour."}
	// One mail a minute per address at most, silently: a 429 here would
	// tell which addresses have accounts, and the limit stops anyone from
	// flooding a mailbox through us.
	wait, err := a.store.ThrottleMail(r.Context(), "reset", req.Email, account.ResendAfter)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if wait > 0 {
		writeJSON(w, http.StatusAccepted, accepted)
		return
	}
	u, err := a.store.FindUserByEmail(r.Context(), req.Email)
	if fault.Code(err) == "user_not_found" {
		writeJSON(w, http.StatusAccepted, accepted)
		return
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	token, digest := account.NewToken()
	if err := a.store.CreatePasswordReset(r.Context(), u.ID, digest, account.ResetTTL); err != nil {
		a.writeError(w, r, err)
		return
	}
	link := strings.TrimRight(a.opt.PublicURL, "/") + "/reset-password?token=" + token
	a.send(r.Context(), "password_reset", u, resetMail(u, link))
	writeJSON(w, http.StatusAccepted, accepted)
}

func (a *API) handlePasswordResetConfirm(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	var req struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	bad := fault.New(fault.Invalid, "invalid_reset_token", "This reset link is invalid, used or expired; ask for a new one.")
	if req.Token == "" || len(req.Token) > maxTokenLen {
		a.writeError(w, r, bad)
		return
	}
	digest := account.TokenDigest(req.Token)
	u, err := a.store.FindPasswordReset(r.Context(), digest)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := account.CheckNewPassword(req.NewPassword, u.Username, u.Email); err != nil {
		a.writeError(w, r, err)
		return
	}
	hash, err := account.Hash(req.NewPassword, a.opt.Hash)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if _, err := a.store.ResetPassword(r.Context(), digest, hash); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.opt.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (a *API) handleLogoutAll(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	if _, err := a.store.DeleteSessions(r.Context(), sess.User.ID); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleProfileUpdate(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	var req account.ProfileUpdate
	if err := a.readJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.TimeZone == nil && req.Nickname == nil {
		a.writeError(w, r, fault.New(fault.Invalid, "empty_update", "Give time_zone, nickname or both."))
		return
	}
	if err := req.Check(); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.store.UpdateProfile(r.Context(), sess.User.ID, req)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// freshSignIn is how recent a passwordless player's sign-in must be for
// an action that otherwise asks for the password.
const freshSignIn = 10 * time.Minute

func (a *API) handleAccountDelete(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	var req struct {
		Password string `json:"password"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, hash, err := a.store.FindUserByID(r.Context(), sess.User.ID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if hash == "" {
		// A player who signs in through OIDC has no password to re-enter:
		// a sign-in at the issuer within the last minutes stands in for it.
		if signedIn := sess.ExpiresAt.Add(-a.opt.SessionTTL); a.now().Sub(signedIn) > freshSignIn {
			a.writeError(w, r, fault.New(fault.Forbidden, "reauthentication_required",
				"Sign in again, then delete the account within %d minutes of signing in.", int(freshSignIn/time.Minute)))
			return
		}
	} else if err := checkPassword(req.Password, hash); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.DeleteUser(r.Context(), u.ID); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "account deleted", "user", u.ID)
	a.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// readJSON reads a capped body and decodes it strictly.
func (a *API) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decode(body, v)
}

// The mail we send: plain text, Korean first and English after, since
// the product's players are mostly in Korea. The code and link appear
// here and in the message only.

func verificationMail(u *account.User, code string) mail.Message {
	return mail.Message{
		To:      u.Email,
		Subject: "[Pointsbook] 이메일 인증 코드 / Your verification code",
		Body: fmt.Sprintf(`안녕하세요, %[1]s님.

Pointsbook 이메일 인증 코드: %[2]s

이 코드는 15분 동안 유효합니다. 가입하지 않으셨다면 이 메일을 무시하세요.

--

Hello %[1]s,

Your Pointsbook verification code is %[2]s.

It is valid for 15 minutes. If you did not sign up, ignore this message.
`, u.Nickname, code),
	}
}

func resetMail(u *account.User, link string) mail.Message {
	return mail.Message{
		To:      u.Email,
		Subject: "[Pointsbook] 비밀번호 재설정 / Reset your password",
		Body: fmt.Sprintf(`안녕하세요, %[1]s님.

아래 링크에서 새 비밀번호를 설정하세요. 링크는 1시간 동안 한 번만 쓸 수 있습니다.

%[2]s

요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.

--

Hello %[1]s,

Set a new password at the link below. It works once, within one hour.

%[2]s

If you did not ask for this, ignore this message; your password stays as it is.
`, u.Nickname, link),
	}
}
