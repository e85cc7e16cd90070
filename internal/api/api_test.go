package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// env is an API over a real SQLite store with a player and an operator.
type env struct {
	t      *testing.T
	db     *sqlstore.DB
	srv    *httptest.Server
	player string // bearer tokens
	other  string
	admin  string
	match  map[string]any // a match created by the operator
	bus    *live.Memory   // the chat's bus
	chat   *chat.Service
}

var fastHash = account.HashParams{MemoryKiB: 1024, Time: 1, Threads: 1}

// newAPI is the API over db with the sign-in flows of auth.
func newAPI(db *sqlstore.DB, auth account.AuthConfig, opt api.Options, log *slog.Logger) *api.API {
	opt.Auth = account.NewAuth(db, auth, log)
	return api.New(db, opt, log)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bus := live.NewMemory(0, nil)
	t.Cleanup(func() { bus.Close() })
	cs := &chat.Service{Store: db, Limiter: throttle.NewMemory(nil, 0), Bus: bus}
	a := newAPI(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: time.Hour, Hash: fastHash}, api.Options{Chat: cs},
		slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, srv: srv, bus: bus, chat: cs}
	hash, _ := account.Hash("operator-pass-1", fastHash)
	if _, err := db.CreateUser(context.Background(), account.NewUser{Username: "op", Nickname: "Operator", Email: "op@example.com", PasswordHash: hash, Role: account.Admin}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login("op", "operator-pass-1")
	e.player = e.signupLogin("kim")
	e.other = e.signupLogin("lee")
	e.match = e.createMatch(time.Now().Add(2 * time.Hour))
	return e
}

func (e *env) signupLogin(name string) string {
	e.t.Helper()
	resp := e.do("POST", "/api/v1/auth/signup", "", fmt.Sprintf(`{"username":%q,"password":"long-password-1","email":"%s@example.com","nickname":"%s-nick"}`, name, name, name), nil)
	e.want(resp, 201)
	return e.login(name, "long-password-1")
}

func (e *env) login(user, pw string) string {
	e.t.Helper()
	resp := e.do("POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw), nil)
	body := e.want(resp, 200)
	return body["token"].(string)
}

func (e *env) createMatch(kickoff time.Time) map[string]any {
	e.t.Helper()
	body := fmt.Sprintf(`{"sport":"football","league":"K League 1","home":"Seoul FC %d","away":"Busan United","kickoff_at":%q,
		"markets":[{"kind":"1x2","odds":{"home":"2.05","draw":"3.30","away":"3.60"}},{"kind":"total","line":"2.5","odds":{"over":"1.90","under":"1.90"}}]}`,
		kickoff.UnixNano(), kickoff.UTC().Format(time.RFC3339))
	return e.want(e.do("POST", "/api/v1/admin/matches", e.admin, body, nil), 201)
}

// selection returns the id of a selection of the match by market index and name.
func selection(m map[string]any, market int, name string) string {
	for _, s := range m["markets"].([]any)[market].(map[string]any)["selections"].([]any) {
		if s.(map[string]any)["name"] == name {
			return s.(map[string]any)["id"].(string)
		}
	}
	panic("no selection " + name)
}

func (e *env) do(method, path, token, body string, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) want(resp *http.Response, status int) map[string]any {
	e.t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, b)
	}
	var v map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			e.t.Fatalf("body is not JSON: %s", b)
		}
	}
	return v
}

// errCode is the error code of an error envelope, or "".
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (e *env) balance(token string) int64 {
	e.t.Helper()
	return int64(e.want(e.do("GET", "/api/v1/me", token, "", nil), 200)["balance"].(float64))
}

func TestBetFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	home := selection(e.match, 0, "home")
	over := selection(e.match, 1, "over")
	list := e.want(e.do("GET", "/api/v1/matches?tz=UTC&date="+time.Now().UTC().Add(2*time.Hour).Format("2006-01-02"), "", "", nil), 200)
	if n := len(list["items"].([]any)); n != 1 {
		t.Fatalf("matches today = %d", n)
	}
	item := list["items"].([]any)[0].(map[string]any)
	if item["main_market"].(map[string]any)["kind"] != "1x2" || item["state"] != "scheduled" {
		t.Fatalf("list item = %v", item)
	}
	bet := e.want(e.do("POST", "/api/v1/bets", e.player, fmt.Sprintf(`{"stake":1000,"legs":[{"selection_id":%q,"odds":"2.05"}]}`, home), map[string]string{"Idempotency-Key": "k-1"}), 201)
	if bet["state"] != "open" || bet["potential_payout"].(float64) != 2050 || bet["odds"] != "2.05" {
		t.Fatalf("bet = %v", bet)
	}
	leg := bet["legs"].([]any)[0].(map[string]any)
	if leg["market_kind"] != "1x2" || leg["selection"] != "home" || leg["match_id"] != e.match["id"] {
		t.Fatalf("leg = %v", leg)
	}
	// The same key and body replays the first answer and moves nothing.
	resp := e.do("POST", "/api/v1/bets", e.player, fmt.Sprintf(`{"stake":1000,"legs":[{"selection_id":%q,"odds":"2.05"}]}`, home), map[string]string{"Idempotency-Key": "k-1"})
	if resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked")
	}
	if again := e.want(resp, 201); again["id"] != bet["id"] {
		t.Fatalf("replay id %v, want %v", again["id"], bet["id"])
	}
	if got := e.balance(e.player); got != 49000 {
		t.Fatalf("balance = %d", got)
	}
	// An accumulator needs legs from different matches.
	m2 := e.createMatch(time.Now().Add(3 * time.Hour))
	acca := e.want(e.do("POST", "/api/v1/bets", e.player, fmt.Sprintf(`{"stake":500,"legs":[{"selection_id":%q,"odds":"1.90"},{"selection_id":%q,"odds":"3.30"}],"odds_policy":"accept_higher"}`,
		over, selection(m2, 0, "draw")), nil), 201)
	if acca["odds"] != "6.27" || acca["potential_payout"].(float64) != 3135 {
		t.Fatalf("acca = %v", acca)
	}
	// The operator settles the first match 3-0.
	res := e.want(e.do("POST", "/api/v1/admin/matches/"+e.match["id"].(string)+"/result", e.admin, `{"home":3,"away":0}`, nil), 200)
	if res["changed"] != true || res["match"].(map[string]any)["state"] != "finished" {
		t.Fatalf("result = %v", res)
	}
	got := e.want(e.do("GET", "/api/v1/bets/"+bet["id"].(string), e.player, "", nil), 200)
	if got["state"] != "won" || got["payout"].(float64) != 2050 || got["settlement"] == nil {
		t.Fatalf("settled bet = %v", got)
	}
	ev := got["settlement"].(map[string]any)["legs"].([]any)[0].(map[string]any)
	if ev["source"] != "operator" || ev["status"] != "FT" || ev["rule"] == "" || ev["score"].(map[string]any)["home"].(float64) != 3 {
		t.Fatalf("evidence = %v", ev)
	}
	// The same result again is a 200 no-op.
	if again := e.want(e.do("POST", "/api/v1/admin/matches/"+e.match["id"].(string)+"/result", e.admin, `{"home":3,"away":0}`, nil), 200); again["changed"] != false {
		t.Fatalf("same result again changed: %v", again)
	}
	won := e.want(e.do("GET", "/api/v1/me/bets?state=won", e.player, "", nil), 200)
	open := e.want(e.do("GET", "/api/v1/me/bets?state=open", e.player, "", nil), 200)
	if len(won["items"].([]any)) != 1 || len(open["items"].([]any)) != 1 {
		t.Fatalf("won %v open %v", won, open)
	}
	st := e.want(e.do("GET", "/api/v1/me/statement?limit=2", e.player, "", nil), 200)
	entries := st["items"].([]any)
	if len(entries) != 2 || entries[0].(map[string]any)["kind"] != "payout" || st["next_cursor"] == nil {
		t.Fatalf("statement = %v", st)
	}
	next := e.want(e.do("GET", "/api/v1/me/statement?limit=2&cursor="+st["next_cursor"].(string), e.player, "", nil), 200)
	if len(next["items"].([]any)) != 2 {
		t.Fatalf("second page = %v", next)
	}
	detail := e.want(e.do("GET", "/api/v1/matches/"+m2["id"].(string), "", "", nil), 200)
	for _, k := range []string{"markets", "form", "season", "head_to_head"} {
		if detail[k] == nil {
			t.Fatalf("match detail lacks %s: %v", k, detail)
		}
	}
	if p := detail["markets"].([]any)[0].(map[string]any)["selections"].([]any)[0].(map[string]any)["implied_probability"]; p == nil || p == "" {
		t.Fatal("no implied probability")
	}
	if d, _ := e.db.VerifyLedger(context.Background()); len(d) > 0 {
		t.Fatalf("ledger: %v", d)
	}
}

// TestBadInput sends each kind of bad request and checks the status and
// code, then that no point moved and no bet was written.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The store's clock stands still from here, so the match below kicks
	// off when the test moves it, not after a sleep.
	clock := clocktest.New(e.db.Now())
	e.db.Now = func() time.Time { return clock.Now().Truncate(time.Microsecond) }
	home := selection(e.match, 0, "home")
	over := selection(e.match, 1, "over")
	started := e.createMatch(clock.Now().Add(1500 * time.Millisecond))
	betBody := func(stake int64, legs string) string { return fmt.Sprintf(`{"stake":%d,"legs":[%s]}`, stake, legs) }
	leg := func(id, o string) string { return fmt.Sprintf(`{"selection_id":%q,"odds":%q}`, id, o) }
	// Someone else's bet: lee places one.
	lees := e.want(e.do("POST", "/api/v1/bets", e.other, betBody(100, leg(home, "2.05")), nil), 201)
	before, otherBefore := e.balance(e.player), e.balance(e.other)
	clock.Advance(2 * time.Second) // `started` kicks off
	tests := []struct {
		name, method, path, token, body string
		hdr                             map[string]string
		status                          int
		code                            string
	}{
		{"malformed json", "POST", "/api/v1/bets", e.player, `{"stake":`, nil, 400, "invalid_json"},
		{"empty body", "POST", "/api/v1/bets", e.player, ``, nil, 400, "invalid_json"},
		{"unknown field", "POST", "/api/v1/bets", e.player, `{"stake":100,"legs":[],"boost":true}`, nil, 400, "unknown_field"},
		{"trailing data", "POST", "/api/v1/bets", e.player, betBody(100, leg(home, "2.05")) + `{}`, nil, 400, "invalid_json"},
		{"wrong type", "POST", "/api/v1/bets", e.player, `{"stake":"100","legs":[]}`, nil, 400, "invalid_json"},
		{"fractional stake", "POST", "/api/v1/bets", e.player, `{"stake":100.5,"legs":[]}`, nil, 400, "invalid_json"},
		{"odds as number", "POST", "/api/v1/bets", e.player, `{"stake":100,"legs":[{"selection_id":"s_1","odds":2.05}]}`, nil, 400, "invalid_json"},
		{"odds with three decimals", "POST", "/api/v1/bets", e.player, betBody(100, leg(home, "2.051")), nil, 400, "invalid_json"},
		{"zero stake", "POST", "/api/v1/bets", e.player, betBody(0, leg(home, "2.05")), nil, 400, "invalid_stake"},
		{"negative stake", "POST", "/api/v1/bets", e.player, betBody(-1000, leg(home, "2.05")), nil, 400, "invalid_stake"},
		{"stake over limit", "POST", "/api/v1/bets", e.player, betBody(50001, leg(home, "2.05")), nil, 422, "stake_out_of_limits"},
		{"stake over balance", "POST", "/api/v1/bets", e.other, betBody(50000, leg(home, "2.05")), nil, 422, "insufficient_points"},
		{"odds changed", "POST", "/api/v1/bets", e.player, betBody(100, leg(home, "2.00")), nil, 409, "odds_changed"},
		{"closed market", "POST", "/api/v1/bets", e.player, betBody(100, leg(selection(started, 0, "home"), "2.05")), nil, 422, "market_closed"},
		{"two legs one match", "POST", "/api/v1/bets", e.player, betBody(100, leg(home, "2.05")+","+leg(over, "1.90")), nil, 400, "duplicate_match"},
		{"unknown selection", "POST", "/api/v1/bets", e.player, betBody(100, leg("s_424242", "2.05")), nil, 404, "unknown_selection"},
		{"bad odds policy", "POST", "/api/v1/bets", e.player, `{"stake":100,"legs":[` + leg(home, "2.05") + `],"odds_policy":"yolo"}`, nil, 400, "invalid_odds_policy"},
		{"idempotency key too long", "POST", "/api/v1/bets", e.player, betBody(100, leg(home, "2.05")), map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}, 400, "invalid_idempotency_key"},
		{"someone else's bet", "GET", "/api/v1/bets/" + lees["id"].(string), e.player, "", nil, 404, "bet_not_found"},
		{"not a bet id", "GET", "/api/v1/bets/m_1", e.player, "", nil, 404, "bet_not_found"},
		{"no session", "POST", "/api/v1/bets", "", betBody(100, leg(home, "2.05")), nil, 401, "unauthenticated"},
		{"bad token", "GET", "/api/v1/me", "not-a-token", "", nil, 401, "unauthenticated"},
		{"player on admin route", "POST", "/api/v1/admin/matches/" + e.match["id"].(string) + "/void", e.player, `{"reason":"x"}`, nil, 403, "forbidden"},
		{"void without reason", "POST", "/api/v1/admin/matches/" + e.match["id"].(string) + "/void", e.admin, `{"reason":" "}`, nil, 400, "reason_required"},
		{"result without scores", "POST", "/api/v1/admin/matches/" + e.match["id"].(string) + "/result", e.admin, `{"home":1}`, nil, 400, "invalid_result"},
		{"negative score", "POST", "/api/v1/admin/matches/" + e.match["id"].(string) + "/result", e.admin, `{"home":-1,"away":0}`, nil, 400, "invalid_result"},
		{"regulation above final", "POST", "/api/v1/admin/matches/" + e.match["id"].(string) + "/result", e.admin, `{"home":1,"away":0,"regulation":{"home":2,"away":0}}`, nil, 400, "invalid_result"},
		{"result for unknown match", "POST", "/api/v1/admin/matches/m_999/result", e.admin, `{"home":1,"away":0}`, nil, 404, "match_not_found"},
		{"match in the past", "POST", "/api/v1/admin/matches", e.admin, `{"sport":"football","league":"L","home":"A","away":"B","kickoff_at":"2020-01-01T00:00:00Z","markets":[{"kind":"1x2","odds":{"home":"2","draw":"3","away":"4"}}]}`, nil, 400, "invalid_match"},
		{"market missing a selection", "POST", "/api/v1/admin/matches", e.admin, `{"sport":"football","league":"L","home":"A","away":"B","kickoff_at":"2099-01-01T00:00:00Z","markets":[{"kind":"1x2","odds":{"home":"2","away":"4"}}]}`, nil, 400, "invalid_market"},
		{"unknown sport filter", "GET", "/api/v1/matches?sport=curling", "", "", nil, 400, "invalid_sport"},
		{"bad date", "GET", "/api/v1/matches?date=24-11-2026", "", "", nil, 400, "invalid_date"},
		{"bad zone", "GET", "/api/v1/sports?tz=Mars/Olympus", "", "", nil, 400, "invalid_time_zone"},
		{"bad cursor", "GET", "/api/v1/me/bets?cursor=zzz", e.player, "", nil, 400, "invalid_cursor"},
		{"bad state filter", "GET", "/api/v1/me/bets?state=pending", e.player, "", nil, 400, "invalid_filter"},
		{"weak password", "POST", "/api/v1/auth/signup", "", `{"username":"park","password":"short","email":"park@example.com","nickname":"park"}`, nil, 400, "weak_password"},
		{"duplicate username any case", "POST", "/api/v1/auth/signup", "", `{"username":"KIM","password":"long-password-1","email":"k2@example.com","nickname":"k2"}`, nil, 409, "username_taken"},
		{"wrong password", "POST", "/api/v1/auth/login", "", `{"username":"kim","password":"wrong-password"}`, nil, 401, "invalid_credentials"},
		{"unknown user", "POST", "/api/v1/auth/login", "", `{"username":"nobody","password":"wrong-password"}`, nil, 401, "invalid_credentials"},
		{"unknown endpoint", "GET", "/api/v1/nothing", "", "", nil, 404, "not_found"},
		{"body too large", "POST", "/api/v1/bets", e.player, `{"stake":100,"legs":[],"x":"` + strings.Repeat("a", 1<<20) + `"}`, nil, 400, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(tt.method, tt.path, tt.token, tt.body, tt.hdr)
			body := e.want(resp, tt.status)
			errObj, _ := body["error"].(map[string]any)
			if errObj == nil || errObj["code"] != tt.code || errObj["message"] == "" {
				t.Fatalf("error = %v, want code %s", body, tt.code)
			}
		})
	}
	// A correction without a reason is refused and changes nothing.
	e.want(e.do("POST", "/api/v1/admin/matches/"+started["id"].(string)+"/result", e.admin, `{"home":1,"away":0}`, nil), 200)
	resp := e.do("POST", "/api/v1/admin/matches/"+started["id"].(string)+"/result", e.admin, `{"home":0,"away":1}`, nil)
	if body := e.want(resp, 400); body["error"].(map[string]any)["code"] != "reason_required" {
		t.Fatalf("correction without reason: %v", body)
	}
	// Reusing an idempotency key for another body is a conflict.
	e.want(e.do("POST", "/api/v1/bets", e.player, betBody(100, leg(home, "2.05")), map[string]string{"Idempotency-Key": "reuse"}), 201)
	resp = e.do("POST", "/api/v1/bets", e.player, betBody(200, leg(home, "2.05")), map[string]string{"Idempotency-Key": "reuse"})
	if body := e.want(resp, 409); body["error"].(map[string]any)["code"] != "idempotency_key_reused" {
		t.Fatalf("key reuse: %v", body)
	}
	if got := e.balance(e.player); got != before-100 {
		t.Fatalf("player balance %d, want %d (only the one good bet)", got, before-100)
	}
	if got := e.balance(e.other); got != otherBefore {
		t.Fatalf("other balance %d, want %d", got, otherBefore)
	}
	if n, _ := e.db.BetCount(context.Background()); n != 2 {
		t.Fatalf("bets = %d, want 2", n)
	}
	if d, err := e.db.VerifyLedger(context.Background()); err != nil || len(d) > 0 {
		t.Fatalf("ledger: %v %v", d, err)
	}
}

// TestCookieSessionNeedsCSRF: a browser session authenticates by cookie,
// and then every state-changing request needs the CSRF token.
func TestCookieSessionNeedsCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.do("POST", "/api/v1/auth/login", "", `{"username":"kim","password":"long-password-1"}`, nil)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "pb_session" {
			cookie = c
		}
	}
	body := e.want(resp, 200)
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", cookie)
	}
	post := func(csrf string) *http.Response {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/bets", strings.NewReader(fmt.Sprintf(`{"stake":100,"legs":[{"selection_id":%q,"odds":"2.05"}]}`, selection(e.match, 0, "home"))))
		req.AddCookie(cookie)
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if b := e.want(post(""), 403); b["error"].(map[string]any)["code"] != "csrf_failed" {
		t.Fatalf("no token: %v", b)
	}
	e.want(post("wrong"), 403)
	e.want(post(body["csrf_token"].(string)), 201)
	// Reading with the cookie needs no token.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
	req.AddCookie(cookie)
	r2, _ := http.DefaultClient.Do(req)
	if me := e.want(r2, 200); me["csrf_token"] != body["csrf_token"] {
		t.Fatalf("me csrf_token = %v", me["csrf_token"])
	}
	// Logout ends the session.
	e.want(e.do("POST", "/api/v1/auth/logout", body["token"].(string), "", nil), 204)
	e.want(e.do("GET", "/api/v1/me", body["token"].(string), "", nil), 401)
}

// TestRoutesByRole walks the whole route table with no session, a player
// and an operator, so a new route without an access decision shows up.
func TestRoutesByRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := api.New(e.db, api.Options{}, slog.New(slog.DiscardHandler))
	for _, rt := range a.Routes() {
		path := strings.ReplaceAll(rt.Pattern, "{id}", "x_1")
		for _, who := range []struct {
			name, user, password string
			level                api.Access
		}{{"anonymous", "", "", api.Public}, {"player", "kim", "long-password-1", api.Player}, {"admin", "op", "operator-pass-1", api.Admin}} {
			t.Run(rt.Method+" "+rt.Pattern+" as "+who.name, func(t *testing.T) {
				token := "" // a fresh session each time: the walk includes logout
				if who.user != "" {
					token = e.login(who.user, who.password)
				}
				resp := e.do(rt.Method, path, token, `{}`, nil)
				var body struct {
					Error struct{ Code string }
				}
				json.NewDecoder(resp.Body).Decode(&body) //nolint:errcheck // not every route answers JSON errors
				resp.Body.Close()
				if rt.Access == api.Partner {
					// No session opens a partner route: every caller
					// without a signature is told to sign.
					if resp.StatusCode != 401 || body.Error.Code != "signature_required" {
						t.Fatalf("status %d %s, want 401 signature_required", resp.StatusCode, body.Error.Code)
					}
					return
				}
				denied := body.Error.Code == "unauthenticated" || body.Error.Code == "forbidden"
				allowed := who.level >= rt.Access
				switch {
				case allowed && denied:
					t.Fatalf("status %d %s for an allowed caller", resp.StatusCode, body.Error.Code)
				case !allowed && who.level == api.Public && (resp.StatusCode != 401 || body.Error.Code != "unauthenticated"):
					t.Fatalf("status %d %s, want 401 unauthenticated", resp.StatusCode, body.Error.Code)
				case !allowed && who.level != api.Public && (resp.StatusCode != 403 || body.Error.Code != "forbidden"):
					t.Fatalf("status %d %s, want 403 forbidden", resp.StatusCode, body.Error.Code)
				}
			})
		}
	}
}

func TestAvailabilityAndSports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := e.want(e.do("GET", "/api/v1/auth/availability?username=KIM&nickname=fresh-nick", "", "", nil), 200)
	u, n := got["username"].(map[string]any), got["nickname"].(map[string]any)
	if u["value"] != "KIM" || u["available"] != false || n["value"] != "fresh-nick" || n["available"] != true {
		t.Fatalf("availability = %v", got)
	}
	if bad := e.want(e.do("GET", "/api/v1/auth/availability?username=a%20b", "", "", nil), 200)["username"].(map[string]any); bad["available"] != false || bad["reason"] == "" {
		t.Fatalf("invalid username reported available: %v", bad)
	}
	kickoff := time.Now().Add(2 * time.Hour)
	for _, tz := range []string{"UTC", "Asia/Seoul", "America/Los_Angeles"} {
		loc, _ := time.LoadLocation(tz)
		day := kickoff.In(loc).Format("2006-01-02")
		sports := e.want(e.do("GET", "/api/v1/sports?tz="+tz+"&date="+day, "", "", nil), 200)
		first := sports["items"].([]any)[0].(map[string]any)
		if first["slug"] != "football" || first["today"].(float64) != 1 {
			t.Fatalf("%s: sports = %v", tz, sports)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.do("DELETE", "/api/v1/bets/b_1", e.player, "", nil)
	if allow := resp.Header.Get("Allow"); allow != "GET" {
		t.Fatalf("Allow = %q", allow)
	}
	if b := e.want(resp, 405); b["error"].(map[string]any)["code"] != "method_not_allowed" {
		t.Fatalf("body = %v", b)
	}
	e.want(e.do("GET", "/api/v1/nothing/here", "", "", nil), 404)
}

func TestBadTimeIsExplained(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.want(e.do("POST", "/api/v1/admin/matches", e.admin, `{"sport":"football","league":"L","home":"A","away":"B","kickoff_at":"tomorrow","markets":[]}`, nil), 400)
	if msg := b["error"].(map[string]any)["message"].(string); strings.Contains(msg, "2006") || !strings.Contains(msg, "RFC 3339") {
		t.Fatalf("message = %q", msg)
	}
}
