package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// Credentials of the operator every test server seeds from its env.
const (
	adminUser     = "admin"
	adminPassword = "admin-password-123"
	// playerPassword is the password of every player the tests sign up.
	playerPassword = "player-password-123"
)

// testEnv is the environment of a test server: loopback on a kernel-chosen
// port, a fresh data directory, cheap password hashing and an operator.
// extra overrides or adds variables.
func testEnv(t *testing.T, extra map[string]string) map[string]string {
	env := map[string]string{
		"PB_HTTP_ADDR":         "127.0.0.1:0",
		"PB_DATA_DIR":          t.TempDir(),
		"PB_ARGON2_MEMORY_KIB": "1024",
		"PB_ARGON2_TIME":       "1",
		"PB_ADMIN_USERNAME":    adminUser,
		"PB_ADMIN_PASSWORD":    adminPassword,
		"PB_SHUTDOWN_TIMEOUT":  "10s",
	}
	maps.Copy(env, extra)
	return env
}

// noFeed is the setting of a test that does not look at the feed: its
// server is ready at once, without the simulator's import of past
// seasons, which costs seconds of CPU under the race detector and would
// hold the tests running beside it back.
var noFeed = map[string]string{"PB_FEED": "none"}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// startServer runs Main in-process with testEnv(t, env) and closes it on
// cleanup. Its log goes to a buffer that is shown if the test fails.
func startServer(t *testing.T, env map[string]string) (*Main, string) {
	t.Helper()
	return startServerWith(t, env, nil)
}

// startServerWith is startServer with setup applied to Main before Open.
func startServerWith(t *testing.T, env map[string]string, setup func(*Main)) (*Main, string) {
	t.Helper()
	cfg, err := config.Load(lookupIn(testEnv(t, env)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var logs logtest.Buffer
	m := &Main{Config: cfg, Log: newLogger(&logs, cfg.LogLevel)}
	if setup != nil {
		setup(m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatalf("Open: %v\nlog:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		// Close is idempotent, so a test may close the server itself.
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + m.Addr()
	// Ready means the database answers and the feed's first import is
	// done; tests start from there, as a load balancer would.
	waitStatus(t, base+"/readyz", http.StatusOK, readyLimit()+5*time.Second, 20*time.Millisecond)
	return m, base
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// --- HTTP helpers, shared with outage_test.go and crash_test.go ---

var httpClient = &http.Client{Timeout: 10 * time.Second}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// code is the error code of an error envelope ("" if there is none).
func (r response) code() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body)) }

// call sends a request with an optional JSON body and bearer token.
func call(c *http.Client, method, url, token string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// mustCall is call that fails the test on a transport error or a status
// other than want.
func mustCall(t *testing.T, method, url, token string, body any, want int) response {
	t.Helper()
	r, err := call(httpClient, method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if r.Status != want {
		t.Fatalf("%s %s = %s, want %d", method, url, r, want)
	}
	return r
}

// signup creates a player and returns their user id.
func signup(t *testing.T, base, username string) string {
	t.Helper()
	r := mustCall(t, "POST", base+"/api/v1/auth/signup", "", map[string]string{
		"username": username, "password": playerPassword, "email": username + "@example.com", "nickname": username + "_n",
	}, http.StatusCreated)
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	r.decode(t, &out)
	return out.User.ID
}

// login returns a bearer token.
func login(t *testing.T, base, username, password string) string {
	t.Helper()
	r := mustCall(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, http.StatusOK)
	var out struct {
		Token string `json:"token"`
	}
	r.decode(t, &out)
	if out.Token == "" {
		t.Fatalf("login %s: no token in %s", username, r.Body)
	}
	return out.Token
}

// matchBody is an operator's new football match with a 1x2 market.
func matchBody(home, away string) map[string]any {
	return map[string]any{
		"sport": "football", "league": "K League 1", "home": home, "away": away,
		"kickoff_at": time.Now().UTC().Add(3 * time.Hour).Truncate(time.Second).Format(time.RFC3339),
		"markets": []map[string]any{
			{"kind": "1x2", "odds": map[string]string{"home": "2.00", "draw": "3.40", "away": "3.80"}},
		},
	}
}

// selectionRef is what a bet slip needs to name a selection.
type selectionRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Odds string `json:"odds"`
}

// createMatch creates a match as the operator and returns its id and its
// home selection.
func createMatch(t *testing.T, base, adminToken string) (string, selectionRef) {
	t.Helper()
	r := mustCall(t, "POST", base+"/api/v1/admin/matches", adminToken, matchBody("Seoul FC", "Busan United"), http.StatusCreated)
	var m struct {
		ID         string `json:"id"`
		MainMarket struct {
			Selections []selectionRef `json:"selections"`
		} `json:"main_market"`
	}
	r.decode(t, &m)
	for _, s := range m.MainMarket.Selections {
		if s.Name == "home" {
			return m.ID, s
		}
	}
	t.Fatalf("created match has no home selection: %s", r.Body)
	return "", selectionRef{}
}

func betSlip(stake int64, s selectionRef) map[string]any {
	return map[string]any{"stake": stake, "legs": []map[string]string{{"selection_id": s.ID, "odds": s.Odds}}}
}

// --- tests ---

func TestHealthz(t *testing.T) {
	t.Parallel()
	_, base := startServer(t, noFeed)
	r := mustCall(t, "GET", base+"/healthz", "", nil, http.StatusOK)
	var body struct{ Status string }
	r.decode(t, &body)
	if body.Status != "ok" {
		t.Errorf("/healthz body = %s", r.Body)
	}
}

// runServe runs the real entry point, Run(ctx, ["serve"], …), in a
// goroutine on a fixed free port. stop cancels it (as SIGTERM would) and
// returns its exit code and output.
func runServe(t *testing.T, env map[string]string) (base string, stop func() (code int, stdout, stderr string)) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	full := testEnv(t, map[string]string{"PB_HTTP_ADDR": addr})
	maps.Copy(full, env)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr logtest.Buffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"serve"}, lookupIn(full), strings.NewReader(""), &stdout, &stderr) }()
	var once sync.Once
	code := -1
	stop = func() (int, string, string) {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return within 20 s of cancellation")
			}
		})
		return code, stdout.String(), stderr.String()
	}
	t.Cleanup(func() {
		if code, out, errOut := stop(); t.Failed() {
			t.Logf("Run exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})
	return "http://" + addr, stop
}

// waitStatus polls url every interval until it answers want or timeout
// passes; it returns how long that took.
func waitStatus(t *testing.T, url string, want int, timeout, interval time.Duration) time.Duration {
	t.Helper()
	c := &http.Client{Timeout: interval + time.Second}
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		r, err := call(c, "GET", url, "", nil)
		if err == nil && r.Status == want {
			return time.Since(start)
		}
		last = fmt.Sprint(r, err)
		// Polled: readiness is a state to reach, not an event the test
		// can wait on; timeout bounds the wait.
		time.Sleep(interval)
	}
	t.Fatalf("GET %s did not answer %d within %v (last: %s)", url, want, timeout, last)
	return 0
}

// readyLimit is the promise of a first start: ready within 10 s. The
// race detector makes the import of past seasons several times slower,
// so under it the limit is scaled.
func readyLimit() time.Duration {
	if raceEnabled {
		return 40 * time.Second
	}
	return 10 * time.Second
}

// Not parallel: it holds a first start to its time limit, which other
// tests' servers on the same cores would make a measure of the machine.
func TestReadyzOnFirstStart(t *testing.T) {
	dir := t.TempDir()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("data dir not empty: %v", entries)
	}
	base, stop := runServe(t, map[string]string{"PB_DATA_DIR": dir})
	took := waitStatus(t, base+"/readyz", http.StatusOK, readyLimit(), 50*time.Millisecond)
	t.Logf("/readyz 200 after %v", took.Round(time.Millisecond))
	// With the default simulator feed, every sport has today's matches
	// with odds by the time the instance says it is ready.
	var sports struct {
		Items []struct {
			Slug  string
			Today int
		}
	}
	mustCall(t, "GET", base+"/api/v1/sports", "", nil, http.StatusOK).decode(t, &sports)
	for _, sp := range sports.Items {
		var list struct {
			Items []struct {
				MainMarket *struct{ Selections []any } `json:"main_market"`
			}
		}
		// Tomorrow (KST): late in the day, today's may all have kicked off.
		tomorrow := time.Now().In(kst).AddDate(0, 0, 1).Format("2006-01-02")
		mustCall(t, "GET", base+"/api/v1/matches?state=scheduled&date="+tomorrow+"&sport="+sp.Slug, "", nil, http.StatusOK).decode(t, &list)
		if sp.Today == 0 || len(list.Items) == 0 || list.Items[0].MainMarket == nil || len(list.Items[0].MainMarket.Selections) < 2 {
			t.Errorf("%s: %d today, %d scheduled, first without odds", sp.Slug, sp.Today, len(list.Items))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pointsbook.db")); err != nil {
		t.Errorf("no database in the data dir: %v", err)
	}
	if code, _, stderr := stop(); code != 0 {
		t.Errorf("serve exited %d after cancellation, want 0; stderr: %s", code, stderr)
	}
}

func TestLogLinesAreJSON(t *testing.T) {
	t.Parallel()
	base, stop := runServe(t, nil)
	waitStatus(t, base+"/readyz", http.StatusOK, readyLimit(), 50*time.Millisecond)

	signup(t, base, "jsonlog")
	login(t, base, "jsonlog", playerPassword)
	// A bad request: malformed JSON.
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/login", strings.NewReader(`{"username":`))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("broken JSON: status %d, want 400", resp.StatusCode)
	}
	mustCall(t, "GET", base+"/api/v1/no-such-endpoint", "", nil, http.StatusNotFound)
	mustCall(t, "GET", base+"/no-such-page", "", nil, http.StatusNotFound)

	code, stdout, stderr := stop()
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if stderr != "" {
		t.Errorf("stderr not empty: %q", stderr)
	}
	statuses := map[float64]bool{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Errorf("log line %d is not a JSON object: %v\n%s", lines, err, sc.Text())
			continue
		}
		for _, k := range []string{"@timestamp", "log.level", "message"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line %d lacks %q: %s", lines, k, sc.Text())
			}
		}
		if rec["message"] == "http request" {
			if s, ok := rec["status"].(float64); ok {
				statuses[s] = true
			}
		}
	}
	if lines < 5 {
		t.Errorf("only %d log lines:\n%s", lines, stdout)
	}
	for _, s := range []float64{200, 201, 400, 404} {
		if !statuses[s] {
			t.Errorf("no access log line with status %v; saw %v", s, statuses)
		}
	}
	for _, secret := range []string{playerPassword, adminPassword} {
		if strings.Contains(stdout, secret) {
			t.Errorf("a password appears in the log")
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	m, _ := startServer(t, noFeed)
	var stdout, stderr bytes.Buffer
	env := testEnv(t, map[string]string{"PB_HTTP_ADDR": m.Addr()})
	if code := Run(t.Context(), []string{"healthcheck"}, lookupIn(env), nil, &stdout, &stderr); code != 0 {
		t.Errorf("healthcheck against a running server = %d, want 0; stderr: %s", code, stderr.String())
	}

	stderr.Reset()
	env["PB_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	if code := Run(t.Context(), []string{"healthcheck"}, lookupIn(env), nil, &stdout, &stderr); code != 1 {
		t.Errorf("healthcheck against a closed port = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "unhealthy") {
		t.Errorf("healthcheck stderr = %q, want the reason", stderr.String())
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := testEnv(t, map[string]string{"PB_DATA_DIR": dir})
	for i := 0; i < 2; i++ { // the second run finds everything applied
		var stdout, stderr bytes.Buffer
		if code := Run(t.Context(), []string{"migrate"}, lookupIn(env), nil, &stdout, &stderr); code != 0 {
			t.Fatalf("migrate run %d = %d, want 0; stdout: %s stderr: %s", i+1, code, stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), "migrations applied") {
			t.Errorf("migrate stdout = %q", stdout.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pointsbook.db")); err != nil {
		t.Errorf("migrate left no database: %v", err)
	}
}

func TestConfigCommand(t *testing.T) {
	t.Parallel()
	const dbPassword = "db-secret-456"
	env := testEnv(t, map[string]string{"PB_DATABASE_URL": "postgres://app:" + dbPassword + "@db.internal:5432/pb"})
	var stdout, stderr bytes.Buffer
	if code := Run(t.Context(), []string{"config"}, lookupIn(env), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("config = %d, want 0; stderr: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"PB_ADMIN_PASSWORD=[redacted]", "PB_ADMIN_USERNAME=" + adminUser, "PB_HTTP_ADDR=127.0.0.1:0", "PB_BET_MAX_LEGS=10", "postgres://app:xxxxx@db.internal:5432/pb"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{adminPassword, dbPassword} {
		if strings.Contains(out+stderr.String(), secret) {
			t.Errorf("config output shows a secret (%q):\n%s", secret, out)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := Run(t.Context(), []string{"frobnicate"}, lookupIn(testEnv(t, nil)), nil, &stdout, &stderr); code != 2 {
		t.Errorf("unknown command = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "frobnicate") {
		t.Errorf("stderr = %q, want the command named", stderr.String())
	}
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "migrate", "config"} {
		t.Run(cmd, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			env := testEnv(t, map[string]string{"PB_BET_MAX_LEGS": "11", "PB_DATA_DIR": dir})
			if code := Run(t.Context(), []string{cmd}, lookupIn(env), nil, &stdout, &stderr); code != 2 {
				t.Errorf("%s with PB_BET_MAX_LEGS=11 = %d, want 2", cmd, code)
			}
			if !strings.Contains(stderr.String(), "PB_BET_MAX_LEGS") {
				t.Errorf("stderr = %q, want PB_BET_MAX_LEGS named", stderr.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a bad configuration still touched the data dir: %v", entries)
			}
		})
	}
}

func TestAdminCreateUser(t *testing.T) {
	t.Parallel()
	m, base := startServer(t, noFeed)
	env := testEnv(t, map[string]string{"PB_DATA_DIR": m.Config.DataDir})

	// The operator is created by a second process, as an operator would,
	// while the server runs. ("op" itself is refused: usernames have 3 to
	// 32 characters, for operators as for players.)
	const opUser, opPassword = "operator", "operator-pass-123"
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"admin", "create-user", "--username", opUser, "--admin"}, lookupIn(env),
		strings.NewReader(opPassword+"\n"), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("admin create-user = %d, want 0; stdout: %s stderr: %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "created "+opUser) || strings.Contains(stdout.String()+stderr.String(), opPassword) {
		t.Errorf("create-user output = %q / %q", stdout.String(), stderr.String())
	}

	token := login(t, base, opUser, opPassword)
	r := mustCall(t, "GET", base+"/api/v1/me", token, nil, http.StatusOK)
	var me struct {
		Role    string `json:"role"`
		Balance int64  `json:"balance"`
	}
	r.decode(t, &me)
	if me.Role != "admin" || me.Balance != 0 {
		t.Errorf("operator /me = %s, want role admin and no bonus", r.Body)
	}
	mustCall(t, "POST", base+"/api/v1/admin/matches", token, matchBody("Daegu Stars", "Incheon Port"), http.StatusCreated)

	// A player is not an operator.
	signup(t, base, "notop")
	pt := login(t, base, "notop", playerPassword)
	if r := mustCall(t, "POST", base+"/api/v1/admin/matches", pt, matchBody("A FC", "B FC"), http.StatusForbidden); r.code() != "forbidden" {
		t.Errorf("player creating a match: %s", r)
	}
	// The same username again is refused.
	stderr.Reset()
	if code := Run(t.Context(), []string{"admin", "create-user", "--username", opUser, "--admin"}, lookupIn(env),
		strings.NewReader(opPassword+"\n"), io.Discard, &stderr); code == 0 {
		t.Errorf("creating %s twice succeeded", opUser)
	}
}

func TestAdminVerifyLedger(t *testing.T) {
	t.Parallel()
	m, base := startServer(t, noFeed)
	admin := login(t, base, adminUser, adminPassword)
	_, home := createMatch(t, base, admin)
	for _, name := range []string{"ledger1", "ledger2"} {
		signup(t, base, name)
		mustCall(t, "POST", base+"/api/v1/bets", login(t, base, name, playerPassword), betSlip(1000, home), http.StatusCreated)
	}
	env := testEnv(t, map[string]string{"PB_DATA_DIR": m.Config.DataDir})
	verify := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := Run(t.Context(), []string{"admin", "verify-ledger"}, lookupIn(env), nil, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := verify(); code != 0 || !strings.Contains(out, "ledger ok") {
		t.Fatalf("verify-ledger on a consistent ledger = %d: %s", code, out)
	}

	// Tamper with the first player's stored balance behind the ledger's back.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(m.Config.DataDir, "pointsbook.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(t.Context(), `UPDATE balances SET amount = amount + 1 WHERE shard = 0 AND account_id = (SELECT MIN(id) FROM accounts WHERE kind='player')`)
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper changed %d rows, want 1", n)
	}
	code, out := verify()
	if code == 0 {
		t.Fatalf("verify-ledger after tampering = 0, want non-zero: %s", out)
	}
	if !strings.Contains(out, "postings sum to") || !strings.Contains(out, "1 accounts differ") {
		t.Errorf("verify-ledger output does not report the account: %s", out)
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	// active hears of every request the server starts handling.
	active := make(chan struct{}, 64)
	m, base := startServerWith(t, noFeed, func(m *Main) {
		m.connState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateActive {
				select {
				case active <- struct{}{}:
				default:
				}
			}
		}
	})
	// The readiness polls were requests too.
	for len(active) > 0 {
		<-active
	}
	shutdownBegan := make(chan struct{})
	m.server.RegisterOnShutdown(func() { close(shutdownBegan) })

	// A slow upload keeps a sign-up in flight: half the body now, the
	// rest after Close has begun.
	body := `{"username":"slowpoke","password":"` + playerPassword + `","email":"slow@example.com","nickname":"slowpoke"}`
	pr, pw := io.Pipe()
	// Runs before the server's cleanup: a test that fails early must not
	// leave Close waiting for a body that never comes.
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
	req, err := http.NewRequest("POST", base+"/api/v1/auth/signup", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	type result struct {
		r   response
		err error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := httpClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err}
	}()
	if _, err := io.WriteString(pw, body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	// The client has sent the headers and is sending the body; the server
	// has read the headers once the request is active.
	select {
	case <-active:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never started on the request")
	}

	type closeResult struct {
		err error
		// bodyDone tells whether the rest of the body had been sent when
		// Close returned: it must have been, the request needs it.
		bodyDone bool
	}
	var bodySent atomic.Bool
	closed := make(chan closeResult, 1)
	go func() {
		err := m.Close()
		closed <- closeResult{err, bodySent.Load()}
	}()
	<-shutdownBegan
	select {
	case r := <-closed:
		t.Fatalf("Close returned (%v) while a request was still in flight", r.err)
	default:
	}
	bodySent.Store(true)
	if _, err := io.WriteString(pw, body[len(body)/2:]); err != nil {
		t.Fatalf("finishing the body: %v", err)
	}
	pw.Close()

	select {
	case res := <-done:
		if res.err != nil || res.r.Status != http.StatusCreated {
			t.Errorf("in-flight sign-up = %v, %v; want 201", res.r, res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request never finished")
	}
	select {
	case r := <-closed:
		if r.err != nil {
			t.Errorf("Close = %v", r.err)
		}
		if !r.bodyDone {
			t.Error("Close returned before the in-flight request had its body")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the request finished")
	}
	// Closed means closed.
	if _, err := call(&http.Client{Timeout: 2 * time.Second}, "GET", base+"/healthz", "", nil); err == nil {
		t.Error("the server still answers after Close")
	}
}

// A settlement cut short, as by a process dying in the middle of it, is
// finished by the sweeper of the next start: the sweeper runs once the
// writers it settles through do.
func TestSweeperFinishesInterruptedSettlement(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PB_DATA_DIR": t.TempDir(), "PB_FEED": "none"}
	m, base := startServer(t, env)
	matchID, home := createMatch(t, base, login(t, base, adminUser, adminPassword))
	uid := signup(t, base, "sweepme")
	token := login(t, base, "sweepme", playerPassword)
	var bet struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	mustCall(t, "POST", base+"/api/v1/bets", token, betSlip(100, home), http.StatusCreated).decode(t, &bet)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// The result is recorded, but no writer runs to take the settlement's
	// batches (sqlstore.Connect starts none): the settlement waits until
	// the store is closed under it, as a process dying would leave it.
	db, err := sqlstore.Connect(context.Background(), storeConfig(m.Config))
	if err != nil {
		t.Fatal(err)
	}
	recorded := make(chan error, 1)
	go func() {
		_, err := db.RecordResult(context.Background(), matchID, sport.Outcome{Score: sport.Score{Home: 2, Away: 0, Regulation: sport.Pair{Home: 2, Away: 0}},
			Evidence: sport.Evidence{Source: "operator"}}, true)
		recorded <- err
	}()
	// Polled: the result's commit sends no signal; the deadline bounds it.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m, err := db.FindMatch(context.Background(), matchID)
		if err == nil && m.Score != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no result recorded in 20 s (%v)", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-recorded; err == nil {
		t.Fatal("the settlement finished without a writer")
	}
	verify, err := sqlstore.Connect(context.Background(), storeConfig(m.Config))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := verify.FindBet(context.Background(), uid, bet.ID); err != nil || b.State != betting.Open {
		t.Fatalf("bet after the interrupted settlement = %+v, %v; want it still open", b, err)
	}
	verify.Close()

	_, base = startServer(t, env)
	// Polled: the sweep is the server's own work at start, with no event
	// the test can wait on; the deadline bounds it.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mustCall(t, "GET", base+"/api/v1/bets/"+bet.ID, token, nil, http.StatusOK).decode(t, &bet)
		if bet.State == string(betting.Won) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bet still %q 20 s after the restart: the sweeper did not finish the settlement", bet.State)
		}
	}
}
