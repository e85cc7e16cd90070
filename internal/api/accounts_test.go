package api_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/mail"
	"github.com/pointsbook/pointsbook/internal/mail/mailtest"
	"github.com/pointsbook/pointsbook/internal/server"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// acctEnv is the API behind the real root handler (access log included),
// over SQLite, with every log line of both captured in logs.
type acctEnv struct {
	*env
	logs   *logtest.Buffer
	clock  *clocktest.Clock
	outbox string
}

func newAcctEnv(t *testing.T, sender func(outbox string) mail.Sender, require bool) *acctEnv {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := clocktest.New(time.Now().UTC())
	db.Now = func() time.Time { return clock.Now().Truncate(time.Microsecond) }
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	outbox := filepath.Join(t.TempDir(), "outbox")
	a := newAPI(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: 24 * time.Hour, Hash: fastHash,
		Mailer: mailer{sender(outbox)}, MailTimeout: 5 * time.Second, RequireEmailVerification: require,
		CodeKey: []byte(testCodeKey), PublicURL: "https://pointsbook.test/"}, api.Options{}, log)
	srv := httptest.NewServer(server.Handler(a.Handler(), http.NotFoundHandler(), server.Readiness{DB: db}, nil, nil, log))
	t.Cleanup(srv.Close)
	return &acctEnv{env: &env{t: t, db: db, srv: srv}, logs: logs, clock: clock, outbox: outbox}
}

// mailer hands the sign-in flows' mail to a mail.Sender, as the binary
// does.
type mailer struct{ mail.Sender }

func (m mailer) Send(ctx context.Context, msg account.Mail) error {
	return m.Sender.Send(ctx, mail.Message(msg))
}

const testCodeKey = "test-code-key-of-at-least-32-characters"

func outboxSender(t *testing.T) func(string) mail.Sender {
	return func(dir string) mail.Sender {
		o, err := mail.NewOutbox(dir, "Pointsbook <no-reply@pointsbook.test>")
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
}

// mails returns the outbox's messages, oldest first.
func (e *acctEnv) mails() []*mail.Received {
	e.t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.outbox, "*.eml"))
	sort.Strings(files)
	var out []*mail.Received
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		m, err := mail.Read(bytes.NewReader(raw))
		if err != nil {
			e.t.Fatalf("%s: %v", f, err)
		}
		out = append(out, m)
	}
	return out
}

var (
	codeInMail = regexp.MustCompile(`code: ([0-9]{6})|code is ([0-9]{6})`)
	linkInMail = regexp.MustCompile(`https://pointsbook\.test/reset-password\?token=([A-Za-z0-9_-]+)`)
)

func codeOf(t *testing.T, m *mail.Received) string {
	t.Helper()
	g := codeInMail.FindStringSubmatch(m.Body)
	if g == nil {
		t.Fatalf("no code in mail %q", m.Body)
	}
	return g[1] + g[2]
}

func (e *acctEnv) signup(name, pw string) map[string]any {
	e.t.Helper()
	return e.want(e.do("POST", "/api/v1/auth/signup", "", fmt.Sprintf(`{"username":%q,"password":%q,"email":"%s@example.com","nickname":"%s별"}`, name, pw, name, name), nil), 201)
}

// TestAccountLifecycle runs sign-up → verify (code from the outbox) →
// login → password change → reset, and then searches every log line the
// API and the root handler wrote for each secret the flow used.
func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	e := newAcctEnv(t, outboxSender(t), true)
	var secrets []string
	pw1, pw2, pw3 := "first-Secret-9x!", "second-Secret-7y?", "third-Secret-5z#"
	secrets = append(secrets, pw1, pw2, pw3)

	u := e.signup("kim", pw1)["user"].(map[string]any)
	if u["email_verified"] != false {
		t.Fatalf("new user = %v", u)
	}
	// Verification is required: the right password alone is not enough,
	// and the refusal says what to do.
	b := e.want(e.do("POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"username":"kim","password":%q}`, pw1), nil), 403)
	if errCode(b) != "email_not_verified" || !strings.Contains(b["error"].(map[string]any)["message"].(string), "code") {
		t.Fatalf("unverified login: %v", b)
	}
	mails := e.mails()
	if len(mails) != 1 || mails[0].To != "<kim@example.com>" || !strings.Contains(mails[0].Subject, "인증 코드") {
		t.Fatalf("outbox after sign-up: %+v", mails)
	}
	code1 := codeOf(t, mails[0])
	secrets = append(secrets, code1)
	wrong := fmt.Sprintf("%06d", (atoi(code1)+1)%1_000_000)
	b = e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":"`+wrong+`"}`, nil), 400)
	if errCode(b) != "invalid_code" || b["error"].(map[string]any)["details"].(map[string]any)["attempts_left"].(float64) != 4 {
		t.Fatalf("wrong code: %v", b)
	}
	// A resend within the minute is refused with the wait.
	resp := e.do("POST", "/api/v1/auth/verify-email/resend", "", `{"username":"kim"}`, nil)
	if ra := resp.Header.Get("Retry-After"); ra != "60" {
		t.Fatalf("Retry-After = %q, want 60", ra)
	}
	if b := e.want(resp, 429); errCode(b) != "resend_too_soon" {
		t.Fatalf("early resend: %v", b)
	}
	// The same for a name nobody has: the answer does not tell them apart.
	e.want(e.do("POST", "/api/v1/auth/verify-email/resend", "", `{"username":"nobody_here"}`, nil), 202)
	e.want(e.do("POST", "/api/v1/auth/verify-email/resend", "", `{"username":"nobody_here"}`, nil), 429)
	// After a minute a new code replaces the old one.
	e.clock.Advance(61 * time.Second)
	e.want(e.do("POST", "/api/v1/auth/verify-email/resend", "", `{"username":"KIM"}`, nil), 202)
	mails = e.mails()
	if len(mails) != 2 {
		t.Fatalf("outbox after resend holds %d mails", len(mails))
	}
	code2 := codeOf(t, mails[1])
	secrets = append(secrets, code2)
	if code2 != code1 {
		if b := e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":"`+code1+`"}`, nil), 400); errCode(b) != "invalid_code" {
			t.Fatalf("replaced code: %v", b)
		}
	}
	e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":"`+code2+`"}`, nil), 200)
	if b := e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":"`+code2+`"}`, nil), 409); errCode(b) != "email_already_verified" {
		t.Fatalf("used code: %v", b)
	}

	login := func(pw string, status int) map[string]any {
		t.Helper()
		b := e.want(e.do("POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"username":"kim","password":%q}`, pw), nil), status)
		if status == 200 {
			secrets = append(secrets, b["token"].(string), b["csrf_token"].(string))
		}
		return b
	}
	s1 := login(pw1, 200)["token"].(string)
	s2 := login(pw1, 200)["token"].(string)
	if me := e.want(e.do("GET", "/api/v1/me", s1, "", nil), 200); me["email_verified"] != true {
		t.Fatalf("me = %v", me)
	}

	// Password change: the asking session stays, the other ends.
	e.want(e.do("PUT", "/api/v1/me/password", s1, fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, pw1, pw2), nil), 204)
	e.want(e.do("GET", "/api/v1/me", s1, "", nil), 200)
	e.want(e.do("GET", "/api/v1/me", s2, "", nil), 401)
	login(pw1, 401)
	s3 := login(pw2, 200)["token"].(string)

	// Reset by e-mail (the address in another case finds the account).
	e.want(e.do("POST", "/api/v1/auth/password-reset", "", `{"email":"KIM@example.com"}`, nil), 202)
	e.want(e.do("POST", "/api/v1/auth/password-reset", "", `{"email":"nobody@example.com"}`, nil), 202)
	mails = e.mails()
	if len(mails) != 3 {
		t.Fatalf("outbox after reset requests holds %d mails, want 3 (none for an unknown address)", len(mails))
	}
	link := linkInMail.FindStringSubmatch(mails[2].Body)
	if link == nil {
		t.Fatalf("no reset link in %q", mails[2].Body)
	}
	token := link[1]
	secrets = append(secrets, token)
	if b := e.want(e.do("POST", "/api/v1/auth/password-reset/confirm", "", fmt.Sprintf(`{"token":%q,"new_password":"kim-kim-kim-kim"}`, token), nil), 400); errCode(b) != "weak_password" {
		t.Fatalf("weak password on reset: %v", b)
	}
	e.want(e.do("POST", "/api/v1/auth/password-reset/confirm", "", fmt.Sprintf(`{"token":%q,"new_password":%q}`, token, pw3), nil), 204)
	if b := e.want(e.do("POST", "/api/v1/auth/password-reset/confirm", "", fmt.Sprintf(`{"token":%q,"new_password":"another-Secret-1"}`, token), nil), 400); errCode(b) != "invalid_reset_token" {
		t.Fatalf("used token: %v", b)
	}
	// A reset ends every session.
	for _, s := range []string{s1, s3} {
		e.want(e.do("GET", "/api/v1/me", s, "", nil), 401)
	}
	login(pw2, 401)
	s4 := login(pw3, 200)["token"].(string)

	// Log out everywhere.
	s5 := login(pw3, 200)["token"].(string)
	e.want(e.do("POST", "/api/v1/auth/logout-all", s4, "", nil), 204)
	e.want(e.do("GET", "/api/v1/me", s4, "", nil), 401)
	e.want(e.do("GET", "/api/v1/me", s5, "", nil), 401)

	// Every log line, from the API and the access log: none may hold a
	// secret. The log is not empty (the check would pass vacuously).
	logs := e.logs.String()
	if !strings.Contains(logs, `"mail sent"`) || !strings.Contains(logs, "/api/v1/auth/verify-email") {
		t.Fatalf("the log did not capture the flow:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%d characters, starting %q) appears in the log", len(s), s[:2])
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestVerificationOverSMTP signs up against a real SMTP server started in
// the test and verifies with the code read from the received message.
func TestVerificationOverSMTP(t *testing.T) {
	t.Parallel()
	smtpd := mailtest.Start(t)
	e := newAcctEnv(t, func(string) mail.Sender {
		s, err := mail.NewSMTP(smtpd.URL(), "Pointsbook <no-reply@pointsbook.test>", smtpd.ClientTLS)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, true)
	e.signup("lee", "plum-blossom-88")
	env := smtpd.Wait(t, 1)
	if len(env.To) != 1 || env.To[0] != "lee@example.com" {
		t.Fatalf("envelope = %+v", env)
	}
	m, err := mail.Read(bytes.NewReader(env.Data))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Body, "lee별") {
		t.Fatalf("mail body does not greet the player by nickname: %q", m.Body)
	}
	e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"lee","password":"plum-blossom-88"}`, nil), 403)
	e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"lee","code":"`+codeOf(t, m)+`"}`, nil), 200)
	e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"lee","password":"plum-blossom-88"}`, nil), 200)
	if strings.Contains(e.logs.String(), smtpd.Password) {
		t.Fatal("the SMTP password appears in the log")
	}
}

// TestMailFailureDoesNotBlock: with the mail server gone, sign-up still
// answers (within the mail timeout), the failure is logged without the
// code, and the player can ask again once mail works.
func TestMailFailureDoesNotBlock(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	smtpd := mailtest.Start(t)
	e := newAcctEnv(t, func(string) mail.Sender {
		s, err := mail.NewSMTP(smtpd.URL(), "Pointsbook <no-reply@pointsbook.test>", smtpd.ClientTLS)
		if err != nil {
			t.Fatal(err)
		}
		return senderFunc(func(ctx context.Context, m mail.Message) error {
			if down.Load() {
				return fmt.Errorf("smtp 127.0.0.1:1: connection refused")
			}
			return s.Send(ctx, m)
		})
	}, false)
	e.signup("park", "quiet-river-4421")
	if !strings.Contains(e.logs.String(), `"mail not sent"`) {
		t.Fatalf("send failure not logged:\n%s", e.logs.String())
	}
	// Verification is optional here: login works, /me says unverified.
	tok := e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"park","password":"quiet-river-4421"}`, nil), 200)["token"].(string)
	if me := e.want(e.do("GET", "/api/v1/me", tok, "", nil), 200); me["email_verified"] != false {
		t.Fatalf("me = %v", me)
	}
	down.Store(false)
	e.clock.Advance(time.Minute)
	e.want(e.do("POST", "/api/v1/auth/verify-email/resend", "", `{"username":"park"}`, nil), 202)
	m, err := mail.Read(bytes.NewReader(smtpd.Wait(t, 1).Data))
	if err != nil {
		t.Fatal(err)
	}
	e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"park","code":"`+codeOf(t, m)+`"}`, nil), 200)
	if me := e.want(e.do("GET", "/api/v1/me", tok, "", nil), 200); me["email_verified"] != true {
		t.Fatalf("me after verification = %v", me)
	}
}

type senderFunc func(context.Context, mail.Message) error

func (f senderFunc) Send(ctx context.Context, m mail.Message) error { return f(ctx, m) }

func TestCodeExpiryAndAttempts(t *testing.T) {
	t.Parallel()
	e := newAcctEnv(t, outboxSender(t), true)
	e.signup("choi", "amber-forest-91")
	code := codeOf(t, e.mails()[0])
	e.clock.Advance(15*time.Minute + time.Second)
	if b := e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"choi","code":"`+code+`"}`, nil), 400); errCode(b) != "code_expired" {
		t.Fatalf("expired code: %v", b)
	}
	e.want(e.do("POST", "/api/v1/auth/verify-email/resend", "", `{"username":"choi"}`, nil), 202)
	code = codeOf(t, e.mails()[1])
	wrong := fmt.Sprintf("%06d", (atoi(code)+500_000)%1_000_000)
	for i := 0; i < 5; i++ {
		e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"choi","code":"`+wrong+`"}`, nil), 400)
	}
	// The sixth try meets the login-style limiter (5 per name) first...
	if b := e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"choi","code":"`+code+`"}`, nil), 429); errCode(b) != "rate_limited" {
		t.Fatalf("right code after 5 wrong: %v", b)
	}
	// ...and behind it the code itself is dead: even the right one fails.
	u, _, err := e.db.FindUserByUsername(context.Background(), "choi")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.VerifyEmail(context.Background(), u.ID, account.CodeHash([]byte(testCodeKey), u.ID, code), account.CodeAttempts, nil); fault.Code(err) != "code_expired" {
		t.Fatalf("right code after 5 wrong, at the store: %v", err)
	}
}

func TestProfileAndDeletion(t *testing.T) {
	t.Parallel()
	e := newAcctEnv(t, outboxSender(t), false)
	u := e.signup("yoon", "silver-moon-2025")["user"].(map[string]any)
	e.signup("han", "golden-sun-2025")
	tok := e.login("yoon", "silver-moon-2025")
	b := e.want(e.do("PATCH", "/api/v1/me", tok, `{"time_zone":"Europe/London","nickname":"윤하"}`, nil), 200)
	if nu := b["user"].(map[string]any); nu["time_zone"] != "Europe/London" || nu["nickname"] != "윤하" {
		t.Fatalf("profile = %v", b)
	}
	if me := e.want(e.do("GET", "/api/v1/me", tok, "", nil), 200); me["time_zone"] != "Europe/London" || me["language"] != "" {
		t.Fatalf("me = %v", me)
	}
	e.want(e.do("PATCH", "/api/v1/me", tok, `{"language":"en"}`, nil), 200)
	if me := e.want(e.do("GET", "/api/v1/me", tok, "", nil), 200); me["language"] != "en" || me["time_zone"] != "Europe/London" {
		t.Fatalf("me after choosing English = %v", me)
	}
	e.want(e.do("PATCH", "/api/v1/me", tok, `{"nickname":"HAN별"}`, nil), 409)

	// Deletion: wrong password refused, then done; the wallet stays.
	e.want(e.do("DELETE", "/api/v1/me", tok, `{"password":"not-my-password"}`, nil), 403)
	other := e.login("yoon", "silver-moon-2025")
	e.want(e.do("DELETE", "/api/v1/me", tok, `{"password":"silver-moon-2025"}`, nil), 204)
	e.want(e.do("GET", "/api/v1/me", tok, "", nil), 401)
	e.want(e.do("GET", "/api/v1/me", other, "", nil), 401)
	if b := e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"yoon","password":"silver-moon-2025"}`, nil), 401); errCode(b) != "invalid_credentials" {
		t.Fatalf("login after deletion: %v", b)
	}
	avail := e.want(e.do("GET", "/api/v1/auth/availability?username=yoon&nickname=%EC%9C%A4%ED%95%98", "", "", nil), 200)
	if avail["username"].(map[string]any)["available"] != true || avail["nickname"].(map[string]any)["available"] != true {
		t.Fatalf("names not freed: %v", avail)
	}
	again := e.signup("yoon", "silver-moon-2026")["user"].(map[string]any)
	if again["id"] == u["id"] {
		t.Fatal("the new account reused the deleted one's id")
	}
	ctx := context.Background()
	acct, err := e.db.PlayerAccount(ctx, u["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if bal, _ := e.db.Balance(ctx, acct); bal != 50000 {
		t.Fatalf("deleted account's wallet holds %d, want the 50000 it had", bal)
	}
	if d, err := e.db.VerifyLedger(ctx); err != nil || len(d) > 0 {
		t.Fatalf("ledger after deletion: %v %v", d, err)
	}
}

// TestAccountBadInput sends each kind of bad request to the account
// endpoints, checks the status and code, then that nothing changed.
func TestAccountBadInput(t *testing.T) {
	t.Parallel()
	e := newAcctEnv(t, outboxSender(t), false)
	e.signup("kim", "first-Secret-9x!")
	e.signup("lee", "plum-blossom-88")
	lee := e.login("lee", "plum-blossom-88")
	code := codeOf(t, e.mails()[1])
	e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"username":"lee","code":"`+code+`"}`, nil), 200)
	kim := e.login("kim", "first-Secret-9x!")
	kimSpare := e.login("kim", "first-Secret-9x!")
	ctx := context.Background()
	state := func() string {
		var b strings.Builder
		for _, name := range []string{"kim", "lee"} {
			u, hash, err := e.db.FindUserByUsername(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%+v %s\n", *u, hash)
		}
		for _, tok := range []string{kim, kimSpare, lee} {
			_, err := e.db.FindSession(ctx, account.TokenDigest(tok))
			fmt.Fprintf(&b, "session alive: %v\n", err == nil)
		}
		fmt.Fprintf(&b, "mails: %d\n", len(e.mails()))
		return b.String()
	}
	before := state()
	long := strings.Repeat("x", 10_000)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"code of 5 digits", "POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":"12345"}`, 400, "invalid_code"},
		{"code with letters", "POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":"12a456"}`, 400, "invalid_code"},
		{"code as number", "POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":123456}`, 400, "invalid_json"},
		{"code for nobody", "POST", "/api/v1/auth/verify-email", "", `{"username":"nobody","code":"123456"}`, 400, "invalid_code"},
		{"code with oversized username", "POST", "/api/v1/auth/verify-email", "", `{"username":"` + long + `","code":"123456"}`, 400, "invalid_code"},
		{"used code", "POST", "/api/v1/auth/verify-email", "", `{"username":"lee","code":"` + code + `"}`, 409, "email_already_verified"},
		{"verify with unknown field", "POST", "/api/v1/auth/verify-email", "", `{"username":"kim","code":"123456","x":1}`, 400, "unknown_field"},
		{"resend without username", "POST", "/api/v1/auth/verify-email/resend", "", `{}`, 400, "invalid_username"},
		{"resend with oversized username", "POST", "/api/v1/auth/verify-email/resend", "", `{"username":"` + long + `"}`, 400, "invalid_username"},
		{"resend too soon", "POST", "/api/v1/auth/verify-email/resend", "", `{"username":"kim"}`, 429, "resend_too_soon"},
		{"change: wrong current", "PUT", "/api/v1/me/password", kim, `{"current_password":"wrong-password-1","new_password":"brand-new-pass-42"}`, 403, "wrong_password"},
		{"change: oversized current", "PUT", "/api/v1/me/password", kim, `{"current_password":"` + long + `","new_password":"brand-new-pass-42"}`, 403, "wrong_password"},
		{"change: short", "PUT", "/api/v1/me/password", kim, `{"current_password":"first-Secret-9x!","new_password":"short-1"}`, 400, "weak_password"},
		{"change: common", "PUT", "/api/v1/me/password", kim, `{"current_password":"first-Secret-9x!","new_password":"QWERTYUIOP"}`, 400, "weak_password"},
		{"change: contains username", "PUT", "/api/v1/me/password", kim, `{"current_password":"first-Secret-9x!","new_password":"i-am-KIM-really"}`, 400, "weak_password"},
		{"change: oversized new", "PUT", "/api/v1/me/password", kim, `{"current_password":"first-Secret-9x!","new_password":"` + long + `"}`, 400, "weak_password"},
		{"change: same", "PUT", "/api/v1/me/password", kim, `{"current_password":"first-Secret-9x!","new_password":"first-Secret-9x!"}`, 400, "same_password"},
		{"change: no session", "PUT", "/api/v1/me/password", "", `{"current_password":"first-Secret-9x!","new_password":"brand-new-pass-42"}`, 401, "unauthenticated"},
		{"reset: not an address", "POST", "/api/v1/auth/password-reset", "", `{"email":"kim"}`, 400, "invalid_email"},
		{"reset: oversized address", "POST", "/api/v1/auth/password-reset", "", `{"email":"` + long + `@example.com"}`, 400, "invalid_email"},
		{"confirm: unknown token", "POST", "/api/v1/auth/password-reset/confirm", "", `{"token":"bm90LWEtdG9rZW4","new_password":"brand-new-pass-42"}`, 400, "invalid_reset_token"},
		{"confirm: oversized token", "POST", "/api/v1/auth/password-reset/confirm", "", `{"token":"` + long + `","new_password":"brand-new-pass-42"}`, 400, "invalid_reset_token"},
		{"confirm: no token", "POST", "/api/v1/auth/password-reset/confirm", "", `{"new_password":"brand-new-pass-42"}`, 400, "invalid_reset_token"},
		{"profile: nothing", "PATCH", "/api/v1/me", kim, `{}`, 400, "empty_update"},
		{"profile: unknown zone", "PATCH", "/api/v1/me", kim, `{"time_zone":"Mars/Olympus"}`, 400, "invalid_time_zone"},
		{"profile: server zone", "PATCH", "/api/v1/me", kim, `{"time_zone":"Local"}`, 400, "invalid_time_zone"},
		{"profile: oversized zone", "PATCH", "/api/v1/me", kim, `{"time_zone":"` + long + `"}`, 400, "invalid_time_zone"},
		{"profile: zone and taken nickname", "PATCH", "/api/v1/me", kim, `{"time_zone":"UTC","nickname":"LEE별"}`, 409, "nickname_taken"},
		{"profile: taken nickname other case", "PATCH", "/api/v1/me", kim, `{"nickname":"lee별"}`, 409, "nickname_taken"},
		{"profile: reserved nickname", "PATCH", "/api/v1/me", kim, `{"nickname":"deleted-7"}`, 400, "invalid_nickname"},
		{"profile: oversized nickname", "PATCH", "/api/v1/me", kim, `{"nickname":"` + long + `"}`, 400, "invalid_nickname"},
		{"profile: zone as number", "PATCH", "/api/v1/me", kim, `{"time_zone":9}`, 400, "invalid_json"},
		{"profile: unknown language", "PATCH", "/api/v1/me", kim, `{"language":"fr"}`, 400, "invalid_language"},
		{"profile: language in capitals", "PATCH", "/api/v1/me", kim, `{"language":"EN"}`, 400, "invalid_language"},
		{"profile: empty language", "PATCH", "/api/v1/me", kim, `{"language":""}`, 400, "invalid_language"},
		{"profile: zone and bad language", "PATCH", "/api/v1/me", kim, `{"time_zone":"UTC","language":"jp"}`, 400, "invalid_language"},
		{"delete: wrong password", "DELETE", "/api/v1/me", kim, `{"password":"wrong-password-1"}`, 403, "wrong_password"},
		{"delete: no password", "DELETE", "/api/v1/me", kim, `{}`, 403, "wrong_password"},
		{"delete: no body", "DELETE", "/api/v1/me", kim, ``, 400, "invalid_json"},
		{"logout-all: no session", "POST", "/api/v1/auth/logout-all", "", ``, 401, "unauthenticated"},
		{"signup: password contains username", "POST", "/api/v1/auth/signup", "", `{"username":"park","password":"park-park-park","email":"p@example.com","nickname":"parkp"}`, 400, "weak_password"},
		{"signup: common password", "POST", "/api/v1/auth/signup", "", `{"username":"park","password":"1q2w3e4r5t","email":"p@example.com","nickname":"parkp"}`, 400, "weak_password"},
		{"signup: reserved nickname", "POST", "/api/v1/auth/signup", "", `{"username":"park","password":"brand-new-pass-42","email":"p@example.com","nickname":"Deleted-12"}`, 400, "invalid_nickname"},
		{"signup: duplicate nickname any case", "POST", "/api/v1/auth/signup", "", `{"username":"park","password":"brand-new-pass-42","email":"p@example.com","nickname":"KIM별"}`, 409, "nickname_taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.want(e.do(tt.method, tt.path, tt.token, tt.body, nil), tt.status)
			if errCode(b) != tt.code || b["error"].(map[string]any)["message"] == "" {
				t.Fatalf("error = %v, want code %s", b, tt.code)
			}
		})
	}
	if after := state(); after != before {
		t.Fatalf("bad requests changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A signed-in player verifies their own address with the code alone; the
// code alone without a session names nobody.
func TestVerifyEmailWithTheCodeAlone(t *testing.T) {
	t.Parallel()
	e := newAcctEnv(t, outboxSender(t), false)
	e.signup("park", "plum-blossom-88")
	token := e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"park","password":"plum-blossom-88"}`, nil), 200)["token"].(string)
	mails := e.mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	code := codeOf(t, mails[0])
	if b := e.want(e.do("POST", "/api/v1/auth/verify-email", "", `{"code":"`+code+`"}`, nil), 400); errCode(b) != "invalid_code" {
		t.Fatalf("code alone, signed out: %v", b)
	}
	e.want(e.do("POST", "/api/v1/auth/verify-email", token, `{"code":"`+code+`"}`, nil), 200)
	if me := e.want(e.do("GET", "/api/v1/me", token, "", nil), 200); me["email_verified"] != true {
		t.Fatalf("me = %v", me)
	}
}

// A username in Hangul is refused saying what a username is made of, in
// the caller's language.
func TestHangulUsernameIsExplained(t *testing.T) {
	t.Parallel()
	e := newAcctEnv(t, outboxSender(t), false)
	body := `{"username":"김민수","password":"plum-blossom-88","email":"kim@example.com","nickname":"민수"}`
	for lang, want := range map[string]string{
		"en": "Usernames use Latin letters (A-Z, a-z), digits and underscores only; a name in Hangul or another script can be your nickname.",
		"ko": "아이디에는 영문 알파벳(A-Z, a-z), 숫자, 밑줄(_)만 쓸 수 있습니다. 한글 이름은 닉네임으로 쓰세요.",
	} {
		b := e.want(e.do("POST", "/api/v1/auth/signup", "", body, map[string]string{"Accept-Language": lang}), 400)
		if errCode(b) != "invalid_username" || b["error"].(map[string]any)["message"] != want {
			t.Errorf("%s: %v", lang, b)
		}
	}
}
