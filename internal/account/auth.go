package account

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// AuthStore is what the sign-in flows need from storage.
type AuthStore interface {
	CreateUser(ctx context.Context, u NewUser) (*User, error)
	FindUserByUsername(ctx context.Context, username string) (*User, string, error)
	FindUserByID(ctx context.Context, id string) (*User, string, error)
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	SignInIdentity(ctx context.Context, id Identity, bonus int64) (*User, bool, error)
	DeleteUser(ctx context.Context, userID string) error

	// The audited writes take the event to write in their transaction
	// (nil: none); RecordAudit writes a refused attempt on its own.
	CreateSession(ctx context.Context, userID, digest string, expires time.Time, ev *audit.Event) error
	FindSession(ctx context.Context, digest string) (*Session, error)
	DeleteSession(ctx context.Context, digest string) error
	DeleteSessions(ctx context.Context, userID string) (int64, error)

	ThrottleMail(ctx context.Context, purpose, value string, every time.Duration) (time.Duration, error)
	SetEmailCode(ctx context.Context, userID, codeHash string, ttl time.Duration) error
	VerifyEmail(ctx context.Context, userID, codeHash string, maxAttempts int, ev *audit.Event) error

	CreatePasswordReset(ctx context.Context, userID, digest string, ttl time.Duration) error
	FindPasswordReset(ctx context.Context, digest string) (*User, error)
	ResetPassword(ctx context.Context, digest, hash string, ev *audit.Event) (*User, error)
	ChangePassword(ctx context.Context, userID, hash, keepDigest string, ev *audit.Event) error
	RecordAudit(ctx context.Context, evs ...*audit.Event) error
}

// Limiter counts attempts against budgets (throttle's in-process and
// Redis limiters are two).
type Limiter interface {
	Take(ctx context.Context, limits ...throttle.Limit) (throttle.Result, error)
	Refund(ctx context.Context, r throttle.Result) error
	Reset(ctx context.Context, keys ...string) error
}

// Mail is one plain-text message to one address.
type Mail struct {
	To      string
	Subject string
	Body    string
}

// Mailer sends a message within ctx's deadline.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// AuthConfig are the settings of the sign-in flows.
type AuthConfig struct {
	// SignupBonus is credited to every new player (password or OIDC).
	SignupBonus int64
	SessionTTL  time.Duration
	Hash        HashParams
	// Limiter counts failed logins and code entries; nil: an in-process
	// one, so the budgets hold even when nobody wires one.
	Limiter Limiter
	// Mailer sends verification codes and reset links; nil: they are
	// logged as not sent and the player can ask again.
	Mailer Mailer
	// MailTimeout bounds one send (default 10 s).
	MailTimeout time.Duration
	// RequireEmailVerification refuses login to unverified addresses.
	RequireEmailVerification bool
	// CodeKey keys the HMAC under which e-mail codes are stored.
	CodeKey []byte
	// PublicURL is the site's base URL, for links in mail.
	PublicURL string
	// Now is the clock (default: the system's, in UTC).
	Now func() time.Time
	// AuditLimit bounds the failed attempts recorded per client address
	// (default audit.DefaultLimiter).
	AuditLimit *audit.Limiter
}

// Auth is every way in and out of an account: sign-up, log-in, OIDC
// sign-in, e-mail verification, password change and reset, log-out and
// account deletion. Each surface (JSON API, web pages, WebSocket) parses
// its own input and calls the same flow here; cookies and status codes
// stay with the surface.
type Auth struct {
	store AuthStore
	cfg   AuthConfig
	log   *slog.Logger
}

// NewAuth returns the sign-in flows over store.
func NewAuth(store AuthStore, cfg AuthConfig, log *slog.Logger) *Auth {
	if cfg.Limiter == nil {
		cfg.Limiter = throttle.NewMemory(nil, 0)
	}
	if cfg.MailTimeout <= 0 {
		cfg.MailTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.AuditLimit == nil {
		cfg.AuditLimit = audit.DefaultLimiter()
	}
	return &Auth{store: store, cfg: cfg, log: log}
}

// failed records a refused attempt as an audit failure in its own
// transaction, within the per-address bound (a guessing flood writes a
// few rows a minute, not one per guess), and returns err.
func (a *Auth) failed(ctx context.Context, ev *audit.Event, err error) error {
	if err == nil || ev == nil {
		return err
	}
	if !a.cfg.AuditLimit.Allow(ev.Action + "|" + ev.ClientIP) {
		return err
	}
	if rerr := a.store.RecordAudit(ctx, ev.Failed(err)); rerr != nil {
		a.log.WarnContext(ctx, "audit: failed attempt not recorded", "action", ev.Action, "err", rerr)
	}
	return err
}

// SignedIn is a new session: the token is shown to the client once.
type SignedIn struct {
	User      *User
	Token     string
	ExpiresAt time.Time
}

// Bounds of the sign-in flows' strings: anything longer is refused before
// it reaches a hash or the database.
const (
	maxUsernameLen = 64
	maxEmailLen    = 254
	maxPasswordLen = 256
	maxTokenLen    = 128
)

var (
	errBadCredentials = fault.New(fault.Unauthenticated, "invalid_credentials", "The username or password is wrong.")
	errWrongPassword  = fault.New(fault.Forbidden, "wrong_password", "The password is wrong.")
	errNoSession      = fault.New(fault.Unauthenticated, "unauthenticated", "Please log in.")
)

// Session finds the live session of a token, as a cookie or a bearer
// header carried it. Codes: unauthenticated.
func (a *Auth) Session(ctx context.Context, token string) (*Session, error) {
	if len(token) > maxTokenLen {
		return nil, errNoSession
	}
	return a.store.FindSession(ctx, TokenDigest(token))
}

// SignUp creates a player with the sign-up bonus and mails the first
// verification code.
//
// Codes: invalid_username, invalid_nickname, invalid_email, weak_password,
// and the store's (username_taken, …).
func (a *Auth) SignUp(ctx context.Context, req Signup) (*User, error) {
	ev := audit.New(ctx, audit.Signup, "username:"+req.Username)
	if err := req.Check(); err != nil {
		return nil, a.failed(ctx, ev, err)
	}
	hash, err := Hash(req.Password, a.cfg.Hash)
	if err != nil {
		return nil, err
	}
	u, err := a.store.CreateUser(ctx, NewUser{Username: req.Username, Nickname: req.Nickname, Email: req.Email,
		PasswordHash: hash, Role: Player, Bonus: a.cfg.SignupBonus, Audit: ev})
	if err != nil {
		return nil, a.failed(ctx, ev, err)
	}
	if !u.EmailVerified {
		// The first code goes out at once; the throttle is claimed so that
		// a resend within the minute is refused like any other.
		if _, err := a.store.ThrottleMail(ctx, "verify", u.Username, 0); err != nil {
			a.log.WarnContext(ctx, "verification throttle", "user", u.ID, "err", err)
		}
		if err := a.sendCode(ctx, u); err != nil {
			a.log.WarnContext(ctx, "verification code not stored", "user", u.ID, "err", err)
		}
	}
	return u, nil
}

// LogIn checks a username and password from client and starts a session.
// A missing user costs the same time as a wrong password, and both get
// the same answer.
//
// Codes: invalid_credentials, rate_limited, email_not_verified.
func (a *Auth) LogIn(ctx context.Context, username, password string, client netip.Addr) (*SignedIn, error) {
	// An unknown name is the target ("username:…", bounded and cleaned by
	// audit); a known one is the account signed in to, or tried.
	ev := audit.New(ctx, audit.Login, "username:"+username)
	if len(username) > maxUsernameLen || len(password) > maxPasswordLen {
		return nil, a.failed(ctx, ev, errBadCredentials)
	}
	// Taken before the password is checked: over budget, the answer is
	// 429 whatever the password, for known and unknown usernames alike.
	try, err := a.takeAttempt(ctx, PurposeLogin, username, client)
	if err != nil {
		return nil, a.failed(ctx, ev, err)
	}
	u, hash, err := a.store.FindUserByUsername(ctx, username)
	if fault.Code(err) == "user_not_found" {
		VerifyMissing(password)
		return nil, a.failed(ctx, ev, errBadCredentials)
	}
	if err != nil {
		try.release(ctx)
		return nil, err
	}
	ev.By(u.ID, u.Username).Target = "user:" + u.ID
	if !Verify(password, hash) {
		return nil, a.failed(ctx, ev, errBadCredentials)
	}
	// The password was right: whatever follows, this was no guess.
	try.succeeded(ctx)
	// Checked only after the password, so it tells nothing to someone
	// who does not know it.
	if a.cfg.RequireEmailVerification && !u.EmailVerified {
		return nil, a.failed(ctx, ev, fault.New(fault.Forbidden, "email_not_verified",
			"Verify your e-mail address first: enter the 6-digit code we sent to it (POST /api/v1/auth/verify-email), or ask for a new code (POST /api/v1/auth/verify-email/resend)."))
	}
	return a.startSession(ctx, u, ev)
}

// SignInIdentity signs in the player an OIDC issuer vouched for, creating
// the account (with the sign-up bonus) on a first sign-in.
func (a *Auth) SignInIdentity(ctx context.Context, id Identity) (s *SignedIn, created bool, err error) {
	ev := audit.New(ctx, audit.Login, "").Because("oidc")
	u, created, err := a.store.SignInIdentity(ctx, id, a.cfg.SignupBonus)
	if err != nil {
		return nil, false, a.failed(ctx, ev, err)
	}
	ev.By(u.ID, u.Username).Target = "user:" + u.ID
	if created {
		ev.Reason = "oidc_signup"
	}
	s, err = a.startSession(ctx, u, ev)
	if err != nil {
		return nil, false, err
	}
	a.log.InfoContext(ctx, "oidc sign-in", "user", u.ID, "created", created)
	return s, created, nil
}

// startSession creates a session for u, writing ev (the sign-in) with
// it. Every sign-in (password or OIDC) comes through here and gets a new
// token: a session id fixed before sign-in is never promoted to an
// authenticated one.
func (a *Auth) startSession(ctx context.Context, u *User, ev *audit.Event) (*SignedIn, error) {
	token, digest := NewToken()
	expires := a.cfg.Now().Add(a.cfg.SessionTTL)
	if err := a.store.CreateSession(ctx, u.ID, digest, expires, ev); err != nil {
		return nil, err
	}
	return &SignedIn{User: u, Token: token, ExpiresAt: expires}, nil
}

// LogOut ends sess.
func (a *Auth) LogOut(ctx context.Context, sess *Session) error {
	return a.store.DeleteSession(ctx, sess.Digest)
}

// LogOutEverywhere ends every session of sess's user, sess included.
func (a *Auth) LogOutEverywhere(ctx context.Context, sess *Session) error {
	_, err := a.store.DeleteSessions(ctx, sess.User.ID)
	return err
}

// sendCode makes a new verification code for u, stores its keyed hash and
// mails it.
func (a *Auth) sendCode(ctx context.Context, u *User) error {
	code := NewCode()
	if err := a.store.SetEmailCode(ctx, u.ID, CodeHash(a.cfg.CodeKey, u.ID, code), CodeTTL); err != nil {
		return err
	}
	a.send(ctx, "verification_code", u, verificationMail(u, code))
	return nil
}

// send hands a message to the mailer within the mail timeout. A failure
// is logged by kind and user only (never the code or the link: the
// message body is not logged at all) and reported as false, so the flow
// goes on and the player can ask again.
func (a *Auth) send(ctx context.Context, kind string, u *User, m Mail) bool {
	if a.cfg.Mailer == nil {
		a.log.WarnContext(ctx, "mail not sent: no sender configured", "kind", kind, "user", u.ID)
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.MailTimeout)
	defer cancel()
	if err := a.cfg.Mailer.Send(ctx, m); err != nil {
		a.log.WarnContext(ctx, "mail not sent", "kind", kind, "user", u.ID, "err", err)
		return false
	}
	a.log.InfoContext(ctx, "mail sent", "kind", kind, "user", u.ID)
	return true
}

// VerifyEmail checks the code mailed to username's address, entered from
// client. Code entry happens here and only here, so the attempt budget
// taken here covers every guess.
//
// Codes: invalid_code, code_expired (the store's), rate_limited.
func (a *Auth) VerifyEmail(ctx context.Context, username, code string, client netip.Addr) error {
	ev := audit.New(ctx, audit.EmailVerify, "username:"+username)
	if err := CheckCode(code); err != nil {
		return a.failed(ctx, ev, err)
	}
	wrong := fault.New(fault.Invalid, "invalid_code", "The code is wrong.")
	if username == "" || len(username) > maxUsernameLen {
		return a.failed(ctx, ev, wrong)
	}
	// Besides each code's own 5 attempts, guesses are budgeted per name
	// and per client address, so nobody can walk many accounts' codes.
	try, err := a.takeAttempt(ctx, PurposeEmailCode, username, client)
	if err != nil {
		return a.failed(ctx, ev, err)
	}
	u, _, err := a.store.FindUserByUsername(ctx, username)
	if fault.Code(err) == "user_not_found" {
		return a.failed(ctx, ev, wrong)
	}
	if err != nil {
		try.release(ctx)
		return err
	}
	ev.By(u.ID, u.Username).Target = "user:" + u.ID
	if err := a.store.VerifyEmail(ctx, u.ID, CodeHash(a.cfg.CodeKey, u.ID, code), CodeAttempts, ev); err != nil {
		if fault.Code(err) != "invalid_code" {
			// Only a wrong guess counts: an expired or used code, or a
			// store failure, told the caller nothing about the code.
			try.release(ctx)
		}
		return a.failed(ctx, ev, err)
	}
	try.succeeded(ctx)
	return nil
}

// ResendCode mails a new code to username's address if the account exists
// and is unverified. The throttle is claimed by name before the account is
// looked up, so the answer (nil, or rate-limited within a minute) is the
// same for every name.
//
// Codes: invalid_username, resend_too_soon (with retry_after).
func (a *Auth) ResendCode(ctx context.Context, username string) error {
	if username == "" || len(username) > maxUsernameLen {
		return fault.New(fault.Invalid, "invalid_username", "Give the username you signed up with.")
	}
	wait, err := a.store.ThrottleMail(ctx, "verify", username, ResendAfter)
	if err != nil {
		return err
	}
	if wait > 0 {
		secs := waitSeconds(wait)
		return fault.New(fault.RateLimited, "resend_too_soon", "A code was sent less than a minute ago; you can ask again in %d seconds.", secs).
			With("retry_after", secs)
	}
	u, _, err := a.store.FindUserByUsername(ctx, username)
	switch {
	case fault.Code(err) == "user_not_found":
	case err != nil:
		return err
	case !u.EmailVerified:
		return a.sendCode(ctx, u)
	}
	return nil
}

// ChangePassword sets a new password after checking the current one; the
// user's other sessions end, sess stays.
//
// Codes: wrong_password, weak_password, same_password.
func (a *Auth) ChangePassword(ctx context.Context, sess *Session, current, next string) error {
	ev := audit.New(ctx, audit.PasswordChange, "user:"+sess.User.ID).By(sess.User.ID, sess.User.Username)
	u, hash, err := a.store.FindUserByID(ctx, sess.User.ID)
	if err != nil {
		return err
	}
	if err := checkPassword(current, hash); err != nil {
		return a.failed(ctx, ev, err)
	}
	if err := CheckNewPassword(next, u.Username, u.Email); err != nil {
		return a.failed(ctx, ev, err)
	}
	if next == current {
		return a.failed(ctx, ev, fault.New(fault.Invalid, "same_password", "The new password is the same as the current one."))
	}
	newHash, err := Hash(next, a.cfg.Hash)
	if err != nil {
		return err
	}
	return a.failed(ctx, ev, a.store.ChangePassword(ctx, u.ID, newHash, sess.Digest, ev))
}

// checkPassword compares a password the caller typed again with the
// stored hash. Codes: wrong_password.
func checkPassword(password, hash string) error {
	if len(password) > maxPasswordLen || !Verify(password, hash) {
		return errWrongPassword
	}
	return nil
}

// RequestPasswordReset mails a one-time reset link to the account using
// email, if there is one. It answers the same whether or not there is:
// at most one mail a minute per address goes out, silently, since a
// refusal would tell which addresses have accounts, and the limit stops
// anyone from flooding a mailbox through us.
//
// Codes: invalid_email.
func (a *Auth) RequestPasswordReset(ctx context.Context, email string) error {
	if email == "" || len(email) > maxEmailLen || !strings.Contains(email, "@") {
		return fault.New(fault.Invalid, "invalid_email", "Enter the e-mail address of your account.")
	}
	wait, err := a.store.ThrottleMail(ctx, "reset", email, ResendAfter)
	if err != nil || wait > 0 {
		return err
	}
	u, err := a.store.FindUserByEmail(ctx, email)
	if fault.Code(err) == "user_not_found" {
		return nil
	}
	if err != nil {
		return err
	}
	token, digest := NewToken()
	if err := a.store.CreatePasswordReset(ctx, u.ID, digest, ResetTTL); err != nil {
		return err
	}
	link := strings.TrimRight(a.cfg.PublicURL, "/") + "/reset-password?token=" + token
	a.send(ctx, "password_reset", u, resetMail(u, link))
	return nil
}

// ResetPassword sets a new password through a reset link's token.
//
// Codes: invalid_reset_token, weak_password.
func (a *Auth) ResetPassword(ctx context.Context, token, password string) error {
	ev := audit.New(ctx, audit.PasswordReset, "")
	if token == "" || len(token) > maxTokenLen {
		return a.failed(ctx, ev, fault.New(fault.Invalid, "invalid_reset_token", "This reset link is invalid, used or expired; ask for a new one."))
	}
	digest := TokenDigest(token)
	u, err := a.store.FindPasswordReset(ctx, digest)
	if err != nil {
		return a.failed(ctx, ev, err)
	}
	ev.By(u.ID, u.Username).Target = "user:" + u.ID
	if err := CheckNewPassword(password, u.Username, u.Email); err != nil {
		return a.failed(ctx, ev, err)
	}
	hash, err := Hash(password, a.cfg.Hash)
	if err != nil {
		return err
	}
	_, err = a.store.ResetPassword(ctx, digest, hash, ev)
	return a.failed(ctx, ev, err)
}

// freshSignIn is how recent a passwordless player's sign-in must be for
// an action that otherwise asks for the password.
const freshSignIn = 10 * time.Minute

// DeleteAccount deletes sess's account once the player proved it is them
// again: the password, or for a player who signs in through OIDC and has
// none, a sign-in within the last minutes.
//
// Codes: wrong_password, reauthentication_required.
func (a *Auth) DeleteAccount(ctx context.Context, sess *Session, password string) error {
	u, hash, err := a.store.FindUserByID(ctx, sess.User.ID)
	if err != nil {
		return err
	}
	if hash == "" {
		if signedIn := sess.ExpiresAt.Add(-a.cfg.SessionTTL); a.cfg.Now().Sub(signedIn) > freshSignIn {
			return fault.New(fault.Forbidden, "reauthentication_required",
				"Sign in again, then delete the account within %d minutes of signing in.", int(freshSignIn/time.Minute))
		}
	} else if err := checkPassword(password, hash); err != nil {
		return err
	}
	if err := a.store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "account deleted", "user", u.ID)
	return nil
}
