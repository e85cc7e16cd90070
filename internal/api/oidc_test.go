package api_test

import (
	"context"
	"encoding/json"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/oidc"
	"github.com/pointsbook/pointsbook/internal/oidc/oidctest"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// oidcEnv is the real API over SQLite, signing in through a local issuer.
type oidcEnv struct {
	t   *testing.T
	db  *sqlstore.DB
	is  *oidctest.Issuer
	app *httptest.Server
	log *logtest.Buffer
	// seen collects every state, cookie and session token the test saw,
	// to check that none reached the log.
	seen []string
}

const testClientSecret = "client-secret-for-tests-1"

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	is := oidctest.New(t, "pointsbook-web", testClientSecret)
	var h http.Handler
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(app.Close)
	is.RedirectURL = app.URL + "/api/v1/auth/oidc/callback"
	flow, err := oidc.New(oidc.Config{Issuer: is.URL, ClientID: is.ClientID, ClientSecret: is.ClientSecret, RedirectURL: is.RedirectURL})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	a := newAPI(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: time.Hour, Hash: fastHash}, api.Options{OIDC: flow},
		slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	h = a.Handler()
	return &oidcEnv{t: t, db: db, is: is, app: app, log: logs}
}

// browser is a cookie-keeping client that shows redirects instead of
// following them, so each hop can be checked (and tampered with).
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// hop GETs u and returns where it redirects to.
func (e *oidcEnv) hop(c *http.Client, u string) string {
	e.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("GET %s: status %d, want 302: %s", u, resp.StatusCode, body)
	}
	for _, ck := range resp.Cookies() {
		if ck.Value != "" {
			e.seen = append(e.seen, ck.Value)
		}
	}
	return resp.Header.Get("Location")
}

// authorize runs start and the issuer's authorization and returns the
// callback URL the issuer sends the browser to.
func (e *oidcEnv) authorize(c *http.Client, returnTo string) *url.URL {
	e.t.Helper()
	start := e.app.URL + "/api/v1/auth/oidc/start"
	if returnTo != "" {
		start += "?return_to=" + url.QueryEscape(returnTo)
	}
	authURL := e.hop(c, start)
	if !strings.HasPrefix(authURL, e.is.URL+"/authorize?") {
		e.t.Fatalf("start redirected to %s, want the issuer's authorization endpoint", authURL)
	}
	au, _ := url.Parse(authURL)
	q := au.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != e.is.RedirectURL {
		e.t.Fatalf("authorization request lacks PKCE, state, nonce or redirect_uri: %s", authURL)
	}
	e.seen = append(e.seen, q.Get("state"), q.Get("nonce"))
	cb, err := url.Parse(e.hop(c, authURL))
	if err != nil || !strings.HasPrefix(cb.String(), e.is.RedirectURL) {
		e.t.Fatalf("issuer redirected to %v (%v)", cb, err)
	}
	return cb
}

// me returns GET /api/v1/me's status and body for the browser's cookies.
func (e *oidcEnv) me(c *http.Client) (int, map[string]any) {
	e.t.Helper()
	resp, err := c.Get(e.app.URL + "/api/v1/me")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v) //nolint:errcheck // checked by the caller through v
	return resp.StatusCode, v
}

func (e *oidcEnv) session(c *http.Client) string {
	u, _ := url.Parse(e.app.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "pb_session" {
			return ck.Value
		}
	}
	return ""
}

// bonusPaid is how many points the sign-up programme has paid: one bonus
// per player created.
func (e *oidcEnv) bonusPaid() int64 {
	e.t.Helper()
	b, err := e.db.SystemBalance(context.Background(), ledger.SignupBonusAccount)
	if err != nil {
		e.t.Fatal(err)
	}
	return -b
}

// checkLogClean fails if a code, token, state, nonce or cookie reached the log.
func (e *oidcEnv) checkLogClean() {
	e.t.Helper()
	logs := e.log.String()
	for _, s := range append(e.is.Secrets(), e.seen...) {
		if len(s) >= 8 && strings.Contains(logs, s) {
			e.t.Errorf("the log contains a secret %.12s…", s)
		}
	}
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	c := browser()
	cb := e.authorize(c, "/matches?sport=football")
	if got := e.hop(c, cb.String()); got != "/matches?sport=football" {
		t.Fatalf("callback redirected to %q, want the return_to path", got)
	}
	token := e.session(c)
	if token == "" {
		t.Fatal("no session cookie after sign-in")
	}
	e.seen = append(e.seen, token)
	status, me := e.me(c)
	if status != 200 || me["nickname_required"] != true || me["email"] != "person@example.com" || me["balance"].(float64) != 50000 {
		t.Fatalf("GET /me = %d %v", status, me)
	}
	if e.bonusPaid() != 50000 {
		t.Fatalf("bonus paid %d, want one sign-up bonus", e.bonusPaid())
	}

	// A second sign-in, from another browser, is the same player, with a
	// new session, and pays no second bonus.
	c2 := browser()
	if got := e.hop(c2, e.authorize(c2, "").String()); got != "/" {
		t.Fatalf("callback without return_to redirected to %q, want /", got)
	}
	if t2 := e.session(c2); t2 == "" || t2 == token {
		t.Fatalf("second sign-in session %q: want a new one", t2)
	}
	e.seen = append(e.seen, e.session(c2))
	if _, me2 := e.me(c2); me2["id"] != me["id"] {
		t.Fatalf("second sign-in is player %v, want %v", me2["id"], me["id"])
	}
	if e.bonusPaid() != 50000 {
		t.Fatalf("bonus paid %d after a second sign-in, want 50000", e.bonusPaid())
	}

	// The player has no password: password login always fails for them.
	for _, pw := range []string{"", "anything-long-enough"} {
		body := `{"username":` + strings.TrimSpace(mustMarshal(me["username"])) + `,"password":` + mustMarshal(pw) + `}`
		resp, err := http.Post(e.app.URL+"/api/v1/auth/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("password login of an OIDC player with %q: status %d, want 401", pw, resp.StatusCode)
		}
	}

	// email_verified as a string (Cognito sends "true") counts; an
	// unverified address is not kept.
	for _, tt := range []struct {
		sub      string
		verified any
		want     string
	}{{"cognito-style", "true", "cognito@example.com"}, {"unverified", false, ""}, {"unverified-string", "false", ""}} {
		e.is.Set(func(is *oidctest.Issuer) {
			is.Subject, is.Email = tt.sub, tt.sub+"@example.com"
			if tt.want != "" {
				is.Email = tt.want
			}
			is.Tamper = func(m map[string]any) { m["email_verified"] = tt.verified }
		})
		c4 := browser()
		e.hop(c4, e.authorize(c4, "").String())
		if status, me4 := e.me(c4); status != 200 || me4["email"] != tt.want || me4["id"] == me["id"] {
			t.Fatalf("%s: GET /me = %d %v, want a new player with e-mail %q", tt.sub, status, me4, tt.want)
		}
	}
	e.is.Set(func(is *oidctest.Issuer) { is.Tamper = nil })

	// An off-site return_to lands on "/".
	for _, rt := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		c3 := browser()
		if got := e.hop(c3, e.authorize(c3, rt).String()); got != "/" {
			t.Fatalf("return_to %q redirected to %q, want /", rt, got)
		}
	}
	e.checkLogClean()
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestOIDCRefusals runs sign-ins that must each fail: the browser lands
// on /login?error=<code>, no session exists and no player was created.
func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	now := func() int64 { return time.Now().Unix() }
	tamper := func(fn func(map[string]any)) func(*oidctest.Issuer) {
		return func(is *oidctest.Issuer) { is.Tamper = fn }
	}
	otherKey := oidctest.NewKey(t)
	cases := []struct {
		name  string
		knobs func(*oidctest.Issuer)
		// callback, when set, does the last hop itself and returns where it went.
		callback func(t *testing.T, c *http.Client, cb *url.URL) string
		want     string
	}{
		{name: "expired token", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["exp"], m["iat"] = now()-60, now()-300 })},
		{name: "wrong audience", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["aud"] = "another-client" })},
		{name: "wrong issuer", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["iss"] = "https://evil.example" })},
		{name: "wrong nonce", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["nonce"] = "not-the-nonce-we-sent" })},
		{name: "missing nonce", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { delete(m, "nonce") })},
		{name: "issued in the future", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["iat"] = now() + 3600 })},
		{name: "issued long ago", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["iat"] = now() - 3600 })},
		{name: "another authorized party", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) {
				m["aud"], m["azp"] = []string{"pointsbook-web", "another-client"}, "another-client"
			})},
		{name: "at_hash of another access token", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" })},
		{name: "no subject", want: oidc.CodeToken,
			knobs: tamper(func(m map[string]any) { m["sub"] = "" })},
		{name: "bad signature", want: oidc.CodeToken,
			knobs: func(is *oidctest.Issuer) { is.SignWith = otherKey }},
		{name: "wrong PKCE verifier", want: oidc.CodeExchange,
			knobs: func(is *oidctest.Issuer) { is.CorruptChallenge = true }},
		{name: "wrong client secret", want: oidc.CodeExchange,
			knobs: func(is *oidctest.Issuer) { is.ClientSecret = "rotated-secret" }},
		{name: "issuer denies", want: oidc.CodeDenied,
			knobs: func(is *oidctest.Issuer) { is.Deny = true }},
		{name: "state mismatch", want: oidc.CodeState,
			callback: func(t *testing.T, c *http.Client, cb *url.URL) string {
				q := cb.Query()
				q.Set("state", "someone-elses-state")
				cb.RawQuery = q.Encode()
				return e.hop(c, cb.String())
			}},
		{name: "state missing", want: oidc.CodeState,
			callback: func(t *testing.T, c *http.Client, cb *url.URL) string {
				q := cb.Query()
				q.Del("state")
				cb.RawQuery = q.Encode()
				return e.hop(c, cb.String())
			}},
		{name: "missing cookie", want: oidc.CodeState,
			callback: func(t *testing.T, _ *http.Client, cb *url.URL) string {
				return e.hop(browser(), cb.String()) // another browser: the victim of a login CSRF
			}},
		{name: "forged cookie", want: oidc.CodeState,
			callback: func(t *testing.T, c *http.Client, cb *url.URL) string {
				u, _ := url.Parse(e.app.URL + "/api/v1/auth/oidc/")
				for _, ck := range c.Jar.Cookies(u) {
					if ck.Name == "pb_oidc" {
						v := []byte(ck.Value)
						v[len(v)/2] ^= 1
						c.Jar.SetCookies(u, []*http.Cookie{{Name: "pb_oidc", Value: string(v), Path: "/api/v1/auth/oidc/"}})
					}
				}
				return e.hop(c, cb.String())
			}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			if tt.knobs != nil {
				e.is.Set(tt.knobs)
			}
			defer e.is.Set(func(is *oidctest.Issuer) {
				is.Tamper, is.SignWith, is.CorruptChallenge, is.Deny, is.ClientSecret = nil, nil, false, false, testClientSecret
			})
			before := e.bonusPaid()
			c := browser()
			cb := e.authorize(c, "/matches")
			var got string
			if tt.callback != nil {
				got = tt.callback(t, c, cb)
			} else {
				got = e.hop(c, cb.String())
			}
			if want := "/login?error=" + tt.want; got != want {
				t.Fatalf("callback redirected to %q, want %q", got, want)
			}
			if s := e.session(c); s != "" {
				t.Fatalf("a session cookie was set")
			}
			if status, _ := e.me(c); status != 401 {
				t.Fatalf("GET /me after a refused sign-in: %d, want 401", status)
			}
			if e.bonusPaid() != before {
				t.Fatalf("a player was created (bonus paid %d → %d)", before, e.bonusPaid())
			}
		})
	}
	e.t = t
	e.checkLogClean()
}

// TestOIDCReplayedCode: a code works once. Replaying the callback in the
// same browser (its state cookie is gone) or in another browser with its
// own flow (the issuer refuses the spent code) signs nobody in.
func TestOIDCReplayedCode(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	victim := browser()
	cb := e.authorize(victim, "")
	if got := e.hop(victim, cb.String()); got != "/" {
		t.Fatalf("first use of the code redirected to %q", got)
	}
	if e.bonusPaid() != 50000 {
		t.Fatalf("bonus paid %d, want 50000", e.bonusPaid())
	}
	before := e.session(victim)
	if got := e.hop(victim, cb.String()); got != "/login?error="+oidc.CodeState {
		t.Fatalf("replay in the same browser redirected to %q", got)
	}
	attacker := browser()
	own := e.authorize(attacker, "")
	q := own.Query()
	q.Set("code", cb.Query().Get("code"))
	own.RawQuery = q.Encode()
	if got := e.hop(attacker, own.String()); got != "/login?error="+oidc.CodeExchange {
		t.Fatalf("replay with another flow redirected to %q", got)
	}
	if e.session(victim) != before {
		t.Fatal("the replay in the same browser replaced its session")
	}
	if s := e.session(attacker); s != "" {
		t.Fatal("the replaying browser got a session")
	}
	if e.bonusPaid() != 50000 {
		t.Fatalf("bonus paid %d after replays, want 50000", e.bonusPaid())
	}
	e.checkLogClean()
}

func TestOIDCNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/api/v1/auth/oidc/start", "/api/v1/auth/oidc/callback?code=x&state=y"} {
		body := e.want(e.do("GET", p, "", "", nil), 404)
		if body["error"].(map[string]any)["code"] != "oidc_not_configured" {
			t.Fatalf("GET %s = %v", p, body)
		}
	}
}

// TestOIDCStartCookie checks the state cookie's attributes, Secure
// included when the site is served over TLS.
func TestOIDCStartCookie(t *testing.T) {
	t.Parallel()
	is := oidctest.New(t, "pointsbook-web", testClientSecret)
	is.RedirectURL = "https://pointsbook.example/api/v1/auth/oidc/callback"
	flow, err := oidc.New(oidc.Config{Issuer: is.URL, ClientID: is.ClientID, ClientSecret: is.ClientSecret, RedirectURL: is.RedirectURL})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(nil, api.Options{SecureCookies: true, OIDC: flow}, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/auth/oidc/start", nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	ck := cookies[0]
	if ck.Name != "pb_oidc" || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/api/v1/auth/oidc/" || ck.MaxAge != 600 {
		t.Fatalf("state cookie = %+v", ck)
	}
}

// TestOIDCIssuerDown: an unreachable issuer sends the browser to the
// login page with oidc_unavailable rather than an error page.
func TestOIDCIssuerDown(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	flow, err := oidc.New(oidc.Config{Issuer: dead.URL, ClientID: "c", ClientSecret: "s", RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(nil, api.Options{OIDC: flow}, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/auth/oidc/start", nil))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/login?error="+oidc.CodeUnavailable {
		t.Fatalf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
}

// send makes a cookie-authenticated write with the CSRF token, as the web
// UI does, and returns the status and body.
func (e *oidcEnv) send(c *http.Client, method, path, body string) (int, map[string]any) {
	e.t.Helper()
	_, me := e.me(c)
	req, _ := http.NewRequest(method, e.app.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok, ok := me["csrf_token"].(string); ok {
		req.Header.Set("X-CSRF-Token", tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v) //nolint:errcheck // 204s have no body
	return resp.StatusCode, v
}

// An OIDC player's address is verified by the issuer, choosing a nickname
// ends nickname_required, and deleting the account (no password to give:
// a fresh sign-in stands in) frees the identity, so the next sign-in is a
// new player rather than the anonymised one.
func TestOIDCPlayerLifecycle(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	c := browser()
	e.hop(c, e.authorize(c, "").String())
	_, me := e.me(c)
	if me["email_verified"] != true || me["nickname_required"] != true {
		t.Fatalf("first sign-in: %v", me)
	}
	if status, b := e.send(c, "PATCH", "/api/v1/me", `{"nickname":"김치러버"}`); status != 200 {
		t.Fatalf("PATCH /me = %d %v", status, b)
	}
	if _, me := e.me(c); me["nickname_required"] != false || me["nickname"] != "김치러버" {
		t.Fatalf("after choosing a nickname: %v", me)
	}
	if status, b := e.send(c, "DELETE", "/api/v1/me", `{}`); status != 204 {
		t.Fatalf("DELETE /me of a freshly signed-in OIDC player = %d %v", status, b)
	}
	c2 := browser()
	e.hop(c2, e.authorize(c2, "").String())
	if _, me2 := e.me(c2); me2["id"] == me["id"] || me2["nickname_required"] != true {
		t.Fatalf("sign-in after deletion: %v, want a new player (the old was %v)", me2, me["id"])
	}
	e.checkLogClean()
}

// A passwordless player's deletion needs a recent sign-in: an instance
// whose sessions last an hour longer sees this one as signed in an hour
// ago.
func TestOIDCDeletionNeedsFreshSignIn(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	c := browser()
	e.hop(c, e.authorize(c, "").String())
	_, me := e.me(c)
	later := httptest.NewServer(newAPI(e.db, account.AuthConfig{SessionTTL: 2 * time.Hour, Hash: fastHash}, api.Options{}, slog.New(slog.DiscardHandler)).Handler())
	t.Cleanup(later.Close)
	req, _ := http.NewRequest("DELETE", later.URL+"/api/v1/me", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+e.session(c))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error struct{ Code string } }
	json.NewDecoder(resp.Body).Decode(&body) //nolint:errcheck // checked below
	resp.Body.Close()
	if resp.StatusCode != 403 || body.Error.Code != "reauthentication_required" {
		t.Fatalf("stale deletion = %d %s, want 403 reauthentication_required", resp.StatusCode, body.Error.Code)
	}
	if status, me2 := e.me(c); status != 200 || me2["id"] != me["id"] {
		t.Fatalf("the refused deletion changed the account: %d %v", status, me2)
	}
}
