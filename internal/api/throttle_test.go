package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/redistest"
	"github.com/pointsbook/pointsbook/internal/redisthrottle"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// loginEnv is a store with one player ("kim", password "long-password-1")
// and any number of API instances over it.
type loginEnv struct {
	t  *testing.T
	db *sqlstore.DB
}

func newLoginEnv(t *testing.T) *loginEnv {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hash, _ := account.Hash("long-password-1", fastHash)
	if _, err := db.CreateUser(context.Background(), account.NewUser{Username: "kim", Nickname: "Kim", Email: "kim@example.com", PasswordHash: hash, Role: account.Player}); err != nil {
		t.Fatal(err)
	}
	return &loginEnv{t: t, db: db}
}

// server starts an API instance with limiter, trusting proxies (a CIDR
// list; "" trusts none).
func (e *loginEnv) server(limiter throttle.Limiter, proxies string) *httptest.Server {
	e.t.Helper()
	var trusted []netip.Prefix
	for _, p := range strings.Split(proxies, ",") {
		if p != "" {
			trusted = append(trusted, netip.MustParsePrefix(p))
		}
	}
	a := newAPI(e.db, account.AuthConfig{SessionTTL: time.Hour, Hash: fastHash, Limiter: limiter}, api.Options{TrustedProxies: trusted},
		slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(a.Handler())
	e.t.Cleanup(srv.Close)
	return srv
}

type loginResult struct {
	status     int
	code       string
	retryAfter string
	body       string
}

// login posts a login as user with pw, with X-Forwarded-For xff if set.
func login(t *testing.T, srv *httptest.Server, user, pw, xff string) loginResult {
	t.Helper()
	return attempt(t, srv, "/api/v1/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw), xff)
}

// attempt posts body to path, with X-Forwarded-For xff if set, and reads
// the answer's status, error code and Retry-After.
func attempt(t *testing.T, srv *httptest.Server, path, body, xff string) loginResult {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.Header.Set("Accept-Language", "en") // the messages asserted are the English ones
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := loginResult{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
	if i := strings.Index(r.body, `"code":"`); i >= 0 {
		r.code = strings.SplitN(r.body[i+8:], `"`, 2)[0]
	}
	return r
}

func wantStatus(t *testing.T, r loginResult, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
}

// wantLimited checks the 429's shape and returns its Retry-After.
func wantLimited(t *testing.T, r loginResult, what string) int {
	t.Helper()
	wantStatus(t, r, 429, what)
	if r.code != "rate_limited" {
		t.Fatalf("%s: code %q, want rate_limited", what, r.code)
	}
	secs, err := strconv.Atoi(r.retryAfter)
	if err != nil || secs < 1 || secs > 15*60 {
		t.Fatalf("%s: Retry-After %q, want 1 to 900 seconds", what, r.retryAfter)
	}
	if !strings.Contains(r.body, "Too many failed attempts") || !strings.Contains(r.body, fmt.Sprintf(`"retry_after":%d`, secs)) {
		t.Fatalf("%s: body %s", what, r.body)
	}
	return secs
}

func newClockedLimiter() (*clocktest.Clock, throttle.Limiter) {
	c := clocktest.New(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	return c, throttle.NewMemory(c.Now, 0)
}

func TestLoginLimitPerAccount(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	clk, lim := newClockedLimiter()
	srv := e.server(lim, "")
	for i := range 5 {
		wantStatus(t, login(t, srv, "kim", "wrong-password", ""), 401, fmt.Sprint("failure ", i+1))
		clk.Advance(time.Minute)
	}
	// Over budget the password is not checked: the right one is refused too,
	// in any letter case of the username.
	secs := wantLimited(t, login(t, srv, "KIM", "long-password-1", ""), "6th attempt")
	// The first failure was 5 minutes ago: 10 minutes to wait.
	if secs != 600 {
		t.Fatalf("Retry-After %d, want 600", secs)
	}
	// Other accounts are unaffected.
	wantStatus(t, login(t, srv, "lee", "wrong-password", ""), 401, "another account")

	// The window slides: when the first failure leaves it, one attempt is
	// back, and no sooner.
	clk.Advance(10*time.Minute - time.Second)
	wantLimited(t, login(t, srv, "kim", "long-password-1", ""), "a second early")
	clk.Advance(time.Second)
	wantStatus(t, login(t, srv, "kim", "long-password-1", ""), 200, "after the window")
}

func TestLoginLimitHidesWhetherTheAccountExists(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	_, lim := newClockedLimiter()
	srv := e.server(lim, "")
	var shapes []string
	for _, user := range []string{"kim", "ghost"} {
		for range 5 {
			wantStatus(t, login(t, srv, user, "wrong-password", ""), 401, user)
		}
		r := login(t, srv, user, "wrong-password", "")
		wantLimited(t, r, user)
		shapes = append(shapes, r.body)
	}
	if shapes[0] != shapes[1] {
		t.Fatalf("a known and an unknown account are told apart:\n%s\n%s", shapes[0], shapes[1])
	}
}

func TestLoginSuccessDoesNotUseTheBudget(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	_, lim := newClockedLimiter()
	srv := e.server(lim, "")
	for i := range 8 {
		wantStatus(t, login(t, srv, "kim", "long-password-1", ""), 200, fmt.Sprint("success ", i+1))
	}
	// Four typos, then the right password: the typos were the owner's, so
	// the account's count starts again (the address's does not).
	for range 4 {
		wantStatus(t, login(t, srv, "kim", "wrong-password", ""), 401, "typo")
	}
	wantStatus(t, login(t, srv, "kim", "long-password-1", ""), 200, "success after typos")
	for i := range 5 {
		wantStatus(t, login(t, srv, "kim", "wrong-password", ""), 401, fmt.Sprint("failure after reset ", i+1))
	}
	wantLimited(t, login(t, srv, "kim", "wrong-password", ""), "6th failure after the reset")
}

func TestLoginLimitPerAddress(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	_, lim := newClockedLimiter()
	srv := e.server(lim, "")
	// A password spray: one failure each on 20 accounts.
	for i := range 20 {
		wantStatus(t, login(t, srv, fmt.Sprint("user", i), "wrong-password", ""), 401, fmt.Sprint("spray ", i+1))
	}
	wantLimited(t, login(t, srv, "kim", "long-password-1", ""), "21st failure from one address")
}

func TestLoginLimitBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	_, lim := newClockedLimiter()
	srv := e.server(lim, "127.0.0.0/8") // the test client connects from loopback: our "nginx"
	for i := range 20 {
		wantStatus(t, login(t, srv, fmt.Sprint("user", i), "wrong-password", "198.51.100.1"), 401, fmt.Sprint("spray ", i+1))
	}
	wantLimited(t, login(t, srv, "kim", "long-password-1", "198.51.100.1"), "21st from the same client")
	// A client cannot escape by forging entries: the proxy appended its
	// real address last.
	wantLimited(t, login(t, srv, "kim", "long-password-1", "203.0.113.9, 198.51.100.1"), "forged X-Forwarded-For")
	// Another client behind the same proxy has its own budget.
	wantStatus(t, login(t, srv, "kim", "long-password-1", "198.51.100.2"), 200, "another client")
}

func TestLoginLimitIgnoresForwardedForFromUntrustedPeer(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	_, lim := newClockedLimiter()
	srv := e.server(lim, "10.0.0.0/8") // loopback is not a trusted proxy here
	for i := range 20 {
		xff := fmt.Sprintf("198.51.100.%d", i) // a fresh "address" each time
		wantStatus(t, login(t, srv, fmt.Sprint("user", i), "wrong-password", xff), 401, fmt.Sprint("spray ", i+1))
	}
	wantLimited(t, login(t, srv, "kim", "long-password-1", "198.51.100.200"), "rotating X-Forwarded-For")
}

func TestLoginLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	_, lim := newClockedLimiter()
	srv := e.server(lim, "")
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := login(t, srv, "kim", "wrong-password", "")
			mu.Lock()
			counts[r.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[401] != 5 || counts[429] != 10 {
		t.Fatalf("15 parallel guesses got %v, want exactly 5 checked (401) and 10 refused (429)", counts)
	}
}

// TestLoginLimitSharedThroughRedis: two API instances over one Redis share
// the budget, as instances behind a load balancer must.
func TestLoginLimitSharedThroughRedis(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	e := newLoginEnv(t)
	one := e.server(redisthrottle.New(c, prefix, nil), "")
	two := e.server(redisthrottle.New(c, prefix, nil), "")
	for i, srv := range []*httptest.Server{one, one, one, two, two} {
		wantStatus(t, login(t, srv, "kim", "wrong-password", ""), 401, fmt.Sprint("failure ", i+1))
	}
	wantLimited(t, login(t, one, "kim", "long-password-1", ""), "6th attempt on instance one")
	wantLimited(t, login(t, two, "kim", "long-password-1", ""), "6th attempt on instance two")
}

// verifyCode posts an e-mail code for user, the way a guesser would.
func verifyCode(t *testing.T, srv *httptest.Server, user, code string) loginResult {
	t.Helper()
	return attempt(t, srv, "/api/v1/auth/verify-email", fmt.Sprintf(`{"username":%q,"code":%q}`, user, code), "")
}

// Code entry has the login's budgets: per name (beyond each code's own
// five attempts) and per address, so nobody walks many accounts' codes.
func TestCodeEntryLimit(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	_, lim := newClockedLimiter()
	srv := e.server(lim, "")
	for i := range 5 {
		wantStatus(t, verifyCode(t, srv, "ghost", fmt.Sprintf("00000%d", i)), 400, fmt.Sprint("guess ", i+1))
	}
	wantLimited(t, verifyCode(t, srv, "GHOST", "000009"), "6th guess for one name")
	for i := range 15 {
		wantStatus(t, verifyCode(t, srv, fmt.Sprint("walker", i), "123456"), 400, fmt.Sprint("walk ", i+1))
	}
	wantLimited(t, verifyCode(t, srv, "someone_else", "123456"), "21st guess from one address")
	// Login keeps its own budget: code guesses do not lock anyone out of it.
	wantStatus(t, login(t, srv, "kim", "long-password-1", ""), 200, "login after code guesses")
}
