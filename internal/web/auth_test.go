package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"github.com/pointsbook/pointsbook/internal/server"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/web"
)

// mailbox keeps the mail Auth sends, for the code and reset-link steps.
type mailbox struct {
	mu   sync.Mutex
	mail []account.Mail
}

func (m *mailbox) Send(_ context.Context, msg account.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail = append(m.mail, msg)
	return nil
}

// last finds expr's first group in the newest mail to address.
func (m *mailbox) last(t *testing.T, to, expr string) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.mail) - 1; i >= 0; i-- {
		if m.mail[i].To == to {
			if g := regexp.MustCompile(expr).FindStringSubmatch(m.mail[i].Body); g != nil {
				return g[1]
			}
		}
	}
	t.Fatalf("no mail to %s matching %s", to, expr)
	return ""
}

// newAuthSite is newSite with a mailbox, e-mail verification required or
// not, and an OIDC button label.
func newAuthSite(t *testing.T, verify bool, oidcName string) (*site, *mailbox) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := clocktest.New(testNow)
	db.Now = func() time.Time { return clock.Now().Truncate(time.Microsecond) }
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	box := &mailbox{}
	auth := account.NewAuth(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: 24 * time.Hour, Hash: fastHash, Now: clock.Now,
		Mailer: box, RequireEmailVerification: verify, CodeKey: []byte("test-code-key"), PublicURL: "https://pointsbook.test"}, log)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	w, err := web.New(db, web.Options{Auth: auth, Catalog: cat, Log: log, Now: clock.Now, OIDCName: oidcName})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(db, api.Options{Auth: auth}, log)
	srv := httptest.NewServer(server.Handler(a.Handler(), w.Handler(), server.Readiness{DB: db}, nil, nil, log))
	t.Cleanup(srv.Close)
	return &site{t: t, db: db, auth: auth, srv: srv, clock: clock, logs: logs}, box
}

func signupForm(username, nickname string) url.Values {
	return url.Values{"username": {username}, "nickname": {nickname}, "email": {username + "@example.com"},
		"password": {"long-password-1"}, "next": {"/me/settings"}}
}

func withPassword(f url.Values, password string) url.Values {
	f.Set("password", password)
	return f
}

func mustContain(t *testing.T, what string, p *page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("%s: page (%d) lacks %q", what, p.Status, w)
		}
	}
}

func balanceOf(t *testing.T, s *site, username string) int64 {
	t.Helper()
	u, _, err := s.db.FindUserByUsername(t.Context(), username)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.db.PlayerAccount(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := s.db.Balance(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	return bal
}

// A visitor signs up through the plain form, gets the bonus and a
// session, logs out and back in.
func TestSignupLogoutLogin(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("")
	p := b.get("/signup?next=/me/settings")
	mustContain(t, "sign-up page", p, `lang="ko"`, "회원가입", `action="/signup"`, `name="next" value="/me/settings"`,
		`data-avail="username"`, `data-rule="length"`, "10자 이상", "자주 쓰이는 비밀번호가 아님")
	if p := b.post("/signup", signupForm("jisoo", "지수")); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/me/settings" {
		t.Fatalf("sign-up: %d %q %s", p.Status, p.Header.Get("Location"), p.Body)
	}
	if bal := balanceOf(t, s, "jisoo"); bal != 50000 {
		t.Fatalf("balance after sign-up %d, want 50,000", bal)
	}
	if p := b.get("/me/settings"); p.Status != 200 || !strings.Contains(p.Body, "지수") {
		t.Fatalf("signed-in settings: %d", p.Status)
	}
	if p := b.post("/logout", nil); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?done=logout" {
		t.Fatalf("log-out: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := b.get("/me/settings"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?next=%2Fme%2Fsettings" {
		t.Fatalf("after log-out: %d %q", p.Status, p.Header.Get("Location"))
	}
	p = b.get("/login?done=logout&next=/me/settings")
	mustContain(t, "log-in page", p, "로그아웃되었습니다", `name="next" value="/me/settings"`, `href="/password-reset"`)
	if p := b.post("/login", url.Values{"username": {"jisoo"}, "password": {"long-password-1"}, "next": {"/me/settings"}}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/me/settings" {
		t.Fatalf("log-in: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := b.get("/me/settings"); p.Status != 200 {
		t.Fatalf("after log-in: %d", p.Status)
	}
	// Signed in, the log-in page sends the player on.
	if p := b.get("/login?next=/me/limits"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/me/limits" {
		t.Fatalf("log-in page when signed in: %d %q", p.Status, p.Header.Get("Location"))
	}
	// A return address on another site is not followed.
	o := s.browser("")
	o.get("/login")
	for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example"} {
		if p := o.post("/login", url.Values{"username": {"jisoo"}, "password": {"long-password-1"}, "next": {next}}); p.Header.Get("Location") != "/" {
			t.Errorf("next %q: redirected to %q", next, p.Header.Get("Location"))
		}
	}
}

// Refusals show the form again, in the viewer's language, with what was
// typed but never the password.
func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser("").signIn("minho")
	for accept, want := range map[string]string{"": "아이디 또는 비밀번호가 올바르지 않습니다", "en": "The username or password is wrong"} {
		b := s.browser(accept)
		b.get("/login")
		p := b.post("/login", url.Values{"username": {"minho"}, "password": {"wrong-password-9"}})
		if p.Status != http.StatusUnauthorized {
			t.Errorf("%q: status %d", accept, p.Status)
		}
		mustContain(t, "wrong password "+accept, p, want, `value="minho"`, `role="alert"`)
		if strings.Contains(p.Body, "wrong-password-9") {
			t.Errorf("%q: the password was put back in the page", accept)
		}
	}
	// Five wrong passwords for one name: the next try is refused whatever
	// the password, with the wait.
	b := s.browser("en")
	b.get("/login")
	for range 3 {
		b.post("/login", url.Values{"username": {"minho"}, "password": {"wrong-password-9"}})
	}
	p := b.post("/login", url.Values{"username": {"minho"}, "password": {"long-password-1"}})
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
		t.Fatalf("throttled: %d, Retry-After %q", p.Status, p.Header.Get("Retry-After"))
	}
	mustContain(t, "throttled", p, "Too many failed attempts.", "Try again in 15 minutes.")
	ko := s.browser("ko")
	ko.get("/login")
	mustContain(t, "throttled ko", ko.post("/login", url.Values{"username": {"minho"}, "password": {"x"}}), "실패한 시도가 너무 많습니다.", "15분 후에 다시 시도하세요.")

	// Malformed text is refused before any flow; no 500.
	if p := ko.post("/login", url.Values{"username": {"a\x00b"}, "password": {"x"}}); p.Status != http.StatusBadRequest {
		t.Errorf("NUL in a field: %d", p.Status)
	}
	if p := ko.post("/login", url.Values{"username": {strings.Repeat("a", 300)}, "password": {"x"}}); p.Status != http.StatusBadRequest {
		t.Errorf("oversized field: %d", p.Status)
	}
}

// Sign-up refusals: taken names, weak passwords, and player-typed text
// shown only as text.
func TestSignupRefusals(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser("").signIn("taken_name", "쓰는닉")
	b := s.browser("")
	b.get("/signup")
	for _, tt := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{signupForm("taken_name", "새닉네임"), 409, "이미 사용 중인 아이디입니다"},
		{signupForm("new_name", "쓰는닉"), 409, "이미 사용 중인 닉네임입니다"},
		{withPassword(signupForm("new_name", "새닉네임"), "new_name_pass"), 400, "비밀번호가 규칙에 맞지 않습니다"},
		{withPassword(signupForm("new_name", "새닉네임"), "password123"), 400, "비밀번호가 규칙에 맞지 않습니다"},
		{signupForm("x", "새닉네임"), 400, "아이디는 영문, 숫자, 밑줄(_)로 3~32자입니다"},
		{signupForm("evil_1", "<script>alert(1)</script>"), 400, "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{signupForm("evil_2", "<img src=x onerror=alert(1)>"), 400, "&lt;img src=x onerror=alert(1)&gt;"},
	} {
		p := b.post("/signup", tt.form)
		if p.Status != tt.status || !strings.Contains(p.Body, tt.want) {
			t.Errorf("%v: %d, want %d with %q", tt.form, p.Status, tt.status, tt.want)
		}
		if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "<img src=x") {
			t.Errorf("%v: typed text not escaped", tt.form)
		}
	}
	if _, _, err := s.db.FindUserByUsername(t.Context(), "new_name"); err == nil {
		t.Error("a refused sign-up created the account")
	}
}

// A stored nickname that no form would take (an older rule, an operator)
// is still only text on every page that shows it.
func TestNicknameEscaped(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for i, nick := range []string{"<script>alert(1)</script>", "<img src=x onerror=alert(1)>"} {
		hash, _ := account.Hash("long-password-1", fastHash)
		name := []string{"xss_a", "xss_b"}[i]
		if _, err := s.db.CreateUser(t.Context(), account.NewUser{Username: name, Nickname: nick, Email: name + "@example.com",
			PasswordHash: hash, Role: account.Player}); err != nil {
			t.Fatal(err)
		}
		b := s.browser("")
		in, err := s.auth.LogIn(t.Context(), name, "long-password-1", clientAddr)
		if err != nil {
			t.Fatal(err)
		}
		b.setSession(in.Token)
		for _, path := range []string{"/me/settings", "/me/limits", "/"} {
			p := b.get(path)
			if p.Status != 200 || strings.Contains(p.Body, nick) {
				t.Errorf("%s with nickname %q: %d, shown raw", path, nick, p.Status)
			}
		}
		if p := b.get("/me/settings"); !strings.Contains(p.Body, strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(nick)) {
			t.Errorf("settings do not show the nickname %q escaped", nick)
		}
	}
}

// A form posted without the page's token changes nothing.
func TestAuthFormsNeedCSRF(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("en")
	b.get("/signup")
	f := signupForm("nocsrf", "토큰없음")
	f.Set("csrf_token", "")
	if p := b.post("/signup", f); p.Status != http.StatusForbidden {
		t.Fatalf("sign-up without token: %d", p.Status)
	}
	if _, _, err := s.db.FindUserByUsername(t.Context(), "nocsrf"); err == nil {
		t.Fatal("a sign-up without its token created the account")
	}
	// A visitor token from another browser does not do either.
	other := s.browser("en")
	other.get("/login")
	f.Set("csrf_token", other.csrf)
	if p := b.post("/signup", f); p.Status != http.StatusForbidden {
		t.Fatalf("sign-up with another browser's token: %d", p.Status)
	}
	s.browser("").signIn("victim")
	if p := b.post("/login", url.Values{"username": {"victim"}, "password": {"long-password-1"}, "csrf_token": {""}}); p.Status != http.StatusForbidden || p.Header.Get("Set-Cookie") != "" {
		t.Fatalf("log-in without token: %d, cookies %q", p.Status, p.Header.Get("Set-Cookie"))
	}
}

// The page's live checks use the API's availability answer.
func TestAvailabilityUsedByPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser("").signIn("hana", "하나")
	p := s.browser("").get("/signup")
	js := regexpFind(p.Body, `src="(/static/[0-9a-f]+/auth\.js)"`)
	if js == "" {
		t.Fatal("the sign-up page loads no auth.js")
	}
	res, err := http.Get(s.srv.URL + js)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "/api/v1/auth/availability?") {
		t.Fatal("auth.js does not call the availability endpoint")
	}
	res, err = http.Get(s.srv.URL + "/api/v1/auth/availability?username=hana&nickname=" + url.QueryEscape("새이름"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]struct {
		Available bool   `json:"available"`
		Reason    string `json:"reason"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// auth.js tells "taken" from "invalid" by this reason's text.
	if got["username"].Available || got["username"].Reason != "Already taken." || !got["nickname"].Available {
		t.Fatalf("availability: %+v", got)
	}
	if !strings.Contains(string(body), `"Already taken."`) {
		t.Fatal("auth.js no longer matches the API's reason for a taken name")
	}
	// The texts the script shows are a data block of the page, in its
	// language, with no executable inline script.
	en := s.browser("en").get("/")
	mustContain(t, "modal", en, `<dialog class="auth-modal"`, `id="auth-texts"`, `"taken": "Already taken."`, `data-modal="signup"`)
	if strings.Contains(en.Body, "<script>") {
		t.Fatal("an inline script in the page")
	}
	if p := s.browser("").get("/"); !strings.Contains(p.Body, `"taken": "이미 사용 중입니다."`) {
		t.Fatal("the modal's texts are not in Korean")
	}
}

// With verification required: sign-up leads to the code page, log-in is
// refused until the code is entered, a resend within the minute is
// refused.
func TestVerifyEmailFlow(t *testing.T) {
	t.Parallel()
	s, box := newAuthSite(t, true, "")
	b := s.browser("")
	b.get("/signup")
	p := b.post("/signup", signupForm("yuna", "유나"))
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/verify?done=signup&next=%2Fme%2Fsettings&username=yuna" {
		t.Fatalf("sign-up: %d %q", p.Status, p.Header.Get("Location"))
	}
	p = b.get(p.Header.Get("Location"))
	mustContain(t, "code page", p, "가입되었습니다", `value="yuna"`, `action="/verify"`, `action="/verify/resend"`)

	p = b.post("/login", url.Values{"username": {"yuna"}, "password": {"long-password-1"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("unverified log-in: %d", p.Status)
	}
	mustContain(t, "unverified", p, "먼저 이메일 인증을 마쳐 주세요", `href="/verify?username=yuna"`)

	if p := b.post("/verify/resend", url.Values{"username": {"yuna"}}); p.Status != http.StatusTooManyRequests || !strings.Contains(p.Body, "1분이 지나지 않았습니다") {
		t.Fatalf("resend too soon: %d", p.Status)
	}
	if p := b.post("/verify", url.Values{"username": {"yuna"}, "code": {"000000"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "인증 코드가 올바르지 않습니다") {
		// 000000 could be the real code once in a million runs.
		t.Logf("wrong code: %d", p.Status)
	}
	code := box.last(t, "yuna@example.com", `\b([0-9]{6})\b`)
	p = b.post("/verify", url.Values{"username": {"yuna"}, "code": {code}, "next": {"/me/settings"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?done=verified&next=%2Fme%2Fsettings&username=yuna" {
		t.Fatalf("verify: %d %q", p.Status, p.Header.Get("Location"))
	}
	mustContain(t, "verified", b.get(p.Header.Get("Location")), "이메일 인증이 끝났습니다", `value="yuna"`)
	if p := b.post("/login", url.Values{"username": {"yuna"}, "password": {"long-password-1"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("log-in after verification: %d", p.Status)
	}
	if bal := balanceOf(t, s, "yuna"); bal != 50000 {
		t.Fatalf("balance %d", bal)
	}
}

// Password reset by the mailed link, at the address the mail gives.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	s, box := newAuthSite(t, false, "Kakao")
	s.browser("").signIn("sora")
	b := s.browser("en")
	mustContain(t, "OIDC button", b.get("/login?next=/me/limits"), "Sign in with Kakao", `href="/api/v1/auth/oidc/start?return_to=%2fme%2flimits"`)
	mustContain(t, "OIDC failure", b.get("/login?error=oidc_denied"), "The sign-in with the external account was cancelled.")
	b.get("/password-reset")
	if p := b.post("/password-reset", url.Values{"email": {"not-an-address"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Enter a valid e-mail address.") {
		t.Fatalf("bad address: %d", p.Status)
	}
	p := b.post("/password-reset", url.Values{"email": {"sora@example.com"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/password-reset?done=sent" {
		t.Fatalf("ask: %d %q", p.Status, p.Header.Get("Location"))
	}
	mustContain(t, "asked", b.get("/password-reset?done=sent"), "If an account uses that address")
	link := box.last(t, "sora@example.com", `https://pointsbook\.test(/reset-password\?token=[A-Za-z0-9_-]+)`)
	p = b.get(link)
	token := strings.TrimPrefix(link, "/reset-password?token=")
	mustContain(t, "reset form", p, `name="token" value="`+token+`"`, `data-rule="common"`)
	if p := b.post("/password-reset/confirm", url.Values{"token": {token}, "password": {"short"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "does not meet the rules") {
		t.Fatalf("weak new password: %d", p.Status)
	}
	if p := b.post("/password-reset/confirm", url.Values{"token": {token}, "password": {"brand-new-secret-7"}}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?done=reset" {
		t.Fatalf("reset: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := b.post("/password-reset/confirm", url.Values{"token": {token}, "password": {"another-secret-8"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "ask for a new one") {
		t.Fatalf("used link: %d", p.Status)
	}
	if p := b.get("/password-reset/confirm"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `href="/password-reset"`) {
		t.Fatalf("no token: %d", p.Status)
	}
	if _, err := s.auth.LogIn(t.Context(), "sora", "brand-new-secret-7", clientAddr); err != nil {
		t.Fatalf("log-in with the new password: %v", err)
	}
}
