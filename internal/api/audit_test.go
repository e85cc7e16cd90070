package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/request"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// auditEnv is an API whose requests carry request.Info, as the access
// middleware gives them in the server: the client address is the test's
// X-Test-Client header (else the TCP peer), the id made per request.
type auditEnv struct {
	*env
	a      *api.API
	opID   string
	kimID  string
	secret string
}

// bothDatabases runs fn on SQLite and, when PB_TEST_POSTGRES_URL is set,
// on PostgreSQL: the audit table's rows come from both dialects' SQL.
func bothDatabases(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, filepath.Join(t.TempDir(), "pb.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, pgtest.NewDatabase(t))
	})
}

func newAuditEnv(t *testing.T, dbURL string) *auditEnv {
	t.Helper()
	if dbURL == "" {
		dbURL = filepath.Join(t.TempDir(), "pb.db")
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bus := live.NewMemory(0, nil)
	t.Cleanup(func() { bus.Close() })
	cs := &chat.Service{Store: db, Limiter: throttle.NewMemory(nil, 0), Bus: bus}
	sealer, _ := programme.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	a := newAPI(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: time.Hour, Hash: fastHash}, api.Options{Chat: cs, Secrets: sealer},
		slog.New(slog.DiscardHandler))
	var seq atomic.Int64
	h := a.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if c := r.Header.Get("X-Test-Client"); c != "" {
			host = c
		}
		ip, _ := netip.ParseAddr(host)
		info := &request.Info{ID: "req-" + strconv.FormatInt(seq.Add(1), 10), ClientIP: ip}
		h.ServeHTTP(w, r.WithContext(request.With(r.Context(), info)))
	}))
	t.Cleanup(srv.Close)
	e := &auditEnv{env: &env{t: t, db: db, srv: srv, bus: bus, chat: cs}, a: a, secret: programme.NewSecret()}
	hash, _ := account.Hash("operator-pass-1", fastHash)
	op, err := db.CreateUser(context.Background(), account.NewUser{Username: "op", Nickname: "Operator", Email: "op@example.com", PasswordHash: hash, Role: account.Admin})
	if err != nil {
		t.Fatal(err)
	}
	e.opID = op.ID
	e.admin = e.login("op", "operator-pass-1")
	e.player = e.signupLogin("kim")
	kim, _, _ := db.FindUserByUsername(context.Background(), "kim")
	e.kimID = kim.ID
	e.match = e.createMatch(time.Now().Add(2 * time.Hour))
	if err := db.CreatePartner(context.Background(), &programme.Partner{ID: "acme", Name: "Acme Air", Rate: programme.Rate{Num: 1, Den: 2}, DailyCap: 10000,
		SealedSecret: sealer.Seal("acme", []byte(e.secret))}, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *auditEnv) events(f audit.Filter) []*audit.Event {
	e.t.Helper()
	f.Limit = audit.MaxPage
	evs, _, err := e.db.AuditEvents(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// adminPath fills a route's pattern with the env's match and message 1.
func (e *auditEnv) adminPath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{id}", e.match["id"].(string))
	return strings.ReplaceAll(p, "{msg}", "1")
}

// TestEveryAdminRouteIsAudited walks the route table: every Admin route,
// called by an operator, writes at least one audit event by that
// operator, whether the minimal request succeeds or is refused. A new
// admin route that records nothing fails here.
func TestEveryAdminRouteIsAudited(t *testing.T) {
	t.Parallel()
	bothDatabases(t, testEveryAdminRouteIsAudited)
}

func testEveryAdminRouteIsAudited(t *testing.T, dbURL string) {
	e := newAuditEnv(t, dbURL)
	// A chat message to delete, so one route succeeds where it can.
	if _, err := e.chat.Post(context.Background(), e.kimID, e.match["id"].(string), "hello"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rt := range e.a.Routes() {
		if rt.Access != api.Admin {
			continue
		}
		n++
		for _, body := range []string{"{}", `{"bad json`} {
			if rt.Method == "GET" || rt.Method == "DELETE" {
				body = ""
			}
			before := len(e.events(audit.Filter{Actor: "user:" + e.opID}))
			resp := e.do(rt.Method, e.adminPath(rt.Pattern), e.admin, body, map[string]string{"X-Test-Client": "203.0.113.50"})
			resp.Body.Close()
			after := e.events(audit.Filter{Actor: "user:" + e.opID})
			if len(after) <= before {
				t.Errorf("%s %s (%d, body %q) wrote no audit event", rt.Method, rt.Pattern, resp.StatusCode, body)
				continue
			}
			ev := after[0]
			if !strings.HasPrefix(ev.Action, "admin.") || ev.ClientIP != "203.0.113.50" || !strings.HasPrefix(ev.RequestID, "req-") {
				t.Errorf("%s %s: event %+v", rt.Method, rt.Pattern, ev)
			}
			if resp.StatusCode >= 400 && ev.Outcome != audit.Failure || resp.StatusCode < 400 && ev.Outcome != audit.Success {
				t.Errorf("%s %s: status %d recorded as %s", rt.Method, rt.Pattern, resp.StatusCode, ev.Outcome)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d admin routes found", n)
	}
}

// TestAdminRouteDenialsAreAudited: a player or an anonymous caller on an
// admin route is refused and recorded as authz.denied, with the route and
// the address; a flood from one address writes a bounded number of rows.
func TestAdminRouteDenialsAreAudited(t *testing.T) {
	t.Parallel()
	bothDatabases(t, testAdminRouteDenialsAreAudited)
}

func testAdminRouteDenialsAreAudited(t *testing.T, dbURL string) {
	e := newAuditEnv(t, dbURL)
	for _, rt := range e.a.Routes() {
		if rt.Access != api.Admin {
			continue
		}
		client := "198.51.100." + strconv.Itoa(len(e.events(audit.Filter{Action: audit.AuthzDenied}))+1)
		resp := e.do(rt.Method, e.adminPath(rt.Pattern), e.player, "{}", map[string]string{"X-Test-Client": client})
		if body := e.want(resp, 403); errCode(body) != "forbidden" {
			t.Fatalf("%s %s by a player: %v", rt.Method, rt.Pattern, body)
		}
		evs := e.events(audit.Filter{Action: audit.AuthzDenied, Target: "route:" + rt.Method + " " + rt.Pattern})
		if len(evs) != 1 || evs[0].Actor != "user:"+e.kimID || evs[0].Username != "kim" || evs[0].Outcome != audit.Failure ||
			evs[0].Reason != "forbidden" || evs[0].ClientIP != client {
			t.Fatalf("%s %s by a player: events %+v", rt.Method, rt.Pattern, evs)
		}
	}
	resp := e.do("POST", "/api/v1/admin/grants", "", "{}", map[string]string{"X-Test-Client": "192.0.2.1"})
	e.want(resp, 401)
	anon := e.events(audit.Filter{Action: audit.AuthzDenied, Actor: audit.ActorAnonymous})
	if len(anon) != 1 || anon[0].Reason != "unauthenticated" || anon[0].ClientIP != "192.0.2.1" {
		t.Fatalf("anonymous denial: %+v", anon)
	}
	// A flood from one address: the first few are written, the rest
	// counted only.
	for range 40 {
		e.do("POST", "/api/v1/admin/grants", "", "{}", map[string]string{"X-Test-Client": "192.0.2.2"}).Body.Close()
	}
	flood := 0
	for _, ev := range e.events(audit.Filter{Action: audit.AuthzDenied}) {
		if ev.ClientIP == "192.0.2.2" {
			flood++
		}
	}
	if flood == 0 || flood > 10 {
		t.Fatalf("a flood of 40 denied requests wrote %d rows, want 1 to 10", flood)
	}
}

func TestBadPartnerSignatureIsDenied(t *testing.T) {
	t.Parallel()
	e := newAuditEnv(t, "")
	body := `{"partner_tx_id":"t1","username":"kim","mileage":1000}`
	now := time.Now().Unix()
	bad := map[string]string{"X-Partner-Id": "acme", "X-Timestamp": strconv.FormatInt(now, 10), "X-Signature": sign("wrong", now, body), "X-Test-Client": "203.0.113.77"}
	e.want(e.do("POST", "/api/v1/partner/credits", "", body, bad), 401)
	evs := e.events(audit.Filter{Action: audit.AuthzDenied})
	if len(evs) != 1 || evs[0].Reason != "invalid_signature" || evs[0].Target != "route:POST /api/v1/partner/credits" || evs[0].ClientIP != "203.0.113.77" {
		t.Fatalf("denied partner: %+v", evs)
	}
	good := map[string]string{"X-Partner-Id": "acme", "X-Timestamp": strconv.FormatInt(now, 10), "X-Signature": sign(e.secret, now, body)}
	e.want(e.do("POST", "/api/v1/partner/credits", "", body, good), 201)
	e.want(e.do("POST", "/api/v1/partner/credits", "", body, good), 201) // a replay: no second event
	credits := e.events(audit.Filter{Action: audit.PartnerCredit})
	if len(credits) != 1 || credits[0].Actor != "partner:acme" || credits[0].Target != "user:"+e.kimID || credits[0].Outcome != audit.Success {
		t.Fatalf("partner credits: %+v", credits)
	}
}

// TestSignInsAreAudited: failures with the client's address and what was
// tried, the success with the account, each once.
func TestSignInsAreAudited(t *testing.T) {
	t.Parallel()
	bothDatabases(t, testSignInsAreAudited)
}

func testSignInsAreAudited(t *testing.T, dbURL string) {
	e := newAuditEnv(t, dbURL)
	from := map[string]string{"X-Test-Client": "203.0.113.9"}
	e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"kim","password":"wrong-password"}`, from), 401)
	e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"ghost","password":"wrong-password"}`, from), 401)
	e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"kim","password":"long-password-1"}`, from), 200)
	fails := e.events(audit.Filter{Action: audit.Login, Outcome: audit.Failure})
	if len(fails) != 2 {
		t.Fatalf("%d failed sign-ins recorded, want 2: %+v", len(fails), fails)
	}
	ghost, kim := fails[0], fails[1]
	if ghost.Target != "username:ghost" || ghost.Actor != audit.ActorAnonymous || ghost.ClientIP != "203.0.113.9" || ghost.Reason != "invalid_credentials" {
		t.Errorf("unknown user's failure: %+v", ghost)
	}
	if kim.Target != "user:"+e.kimID || kim.ClientIP != "203.0.113.9" || kim.Reason != "invalid_credentials" {
		t.Errorf("wrong password's failure: %+v", kim)
	}
	ok := e.events(audit.Filter{Action: audit.Login, Outcome: audit.Success, Actor: "user:" + e.kimID})
	if len(ok) != 2 || ok[0].ClientIP != "203.0.113.9" { // the env's own sign-in, and this one
		t.Errorf("successful sign-ins: %+v", ok)
	}
	if su := e.events(audit.Filter{Action: audit.Signup, Actor: "user:" + e.kimID}); len(su) != 1 {
		t.Errorf("sign-up events: %+v", su)
	}
	// The responsible-play changes of the player.
	e.want(e.do("PUT", "/api/v1/me/limits", e.player, `{"daily":5000}`, nil), 200)
	e.want(e.do("POST", "/api/v1/me/cooloff", e.player, `{"kind":"cooloff","duration":"48h"}`, nil), 201)
	if code := errCode(e.want(e.do("POST", "/api/v1/me/cooloff", e.player, `{"kind":"cooloff","duration":"24h"}`, nil), 409)); code != "block_not_shortened" {
		t.Fatalf("a shorter block: %s", code)
	}
	for _, w := range []struct {
		action, outcome string
		n               int
	}{{audit.LimitChange, audit.Success, 1}, {audit.CoolOffStart, audit.Success, 1}, {audit.CoolOffStart, audit.Failure, 1}} {
		if got := e.events(audit.Filter{Action: w.action, Outcome: w.outcome, Actor: "user:" + e.kimID}); len(got) != w.n {
			t.Errorf("%s %s: %d events, want %d", w.action, w.outcome, len(got), w.n)
		}
	}
}

func TestAuditListRoute(t *testing.T) {
	t.Parallel()
	bothDatabases(t, testAuditListRoute)
}

func testAuditListRoute(t *testing.T, dbURL string) {
	e := newAuditEnv(t, dbURL)
	for range 3 {
		e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"kim","password":"wrong-password"}`, nil), 401)
	}
	body := e.want(e.do("GET", "/api/v1/admin/audit?action=login&outcome=failure&limit=2", e.admin, "", nil), 200)
	items := body["items"].([]any)
	if len(items) != 2 || body["next_cursor"] == nil {
		t.Fatalf("first page: %v", body)
	}
	first := items[0].(map[string]any)
	if first["action"] != "login" || first["outcome"] != "failure" || first["reason"] != "invalid_credentials" || first["at"] == nil {
		t.Fatalf("item: %v", first)
	}
	next := e.want(e.do("GET", fmt.Sprintf("/api/v1/admin/audit?action=login&outcome=failure&limit=2&cursor=%s", body["next_cursor"]), e.admin, "", nil), 200)
	if rest := next["items"].([]any); len(rest) != 1 || next["next_cursor"] != nil {
		t.Fatalf("second page: %v", next)
	}
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if got := e.want(e.do("GET", "/api/v1/admin/audit?from="+from+"&actor=user:"+e.opID, e.admin, "", nil), 200)["items"].([]any); len(got) == 0 {
		t.Fatal("the operator's own events are missing")
	}
	for _, tt := range []struct{ query, code string }{
		{"from=yesterday", "invalid_filter"},
		{"from=2026-12-09T02:00:00Z&to=2026-12-09T01:00:00Z", "invalid_filter"},
		{"outcome=perhaps", "invalid_filter"},
		{"action=%2A", "invalid_filter"},
		{"limit=500", "invalid_limit"},
		{"cursor=nonsense", "invalid_cursor"},
		{"target=%FF", "invalid_text"},
	} {
		if body := e.want(e.do("GET", "/api/v1/admin/audit?"+tt.query, e.admin, "", nil), 400); errCode(body) != tt.code {
			t.Errorf("%s: %v, want %s", tt.query, body, tt.code)
		}
	}
	e.want(e.do("GET", "/api/v1/admin/audit", e.player, "", nil), 403)
	if got := e.events(audit.Filter{Action: audit.AdminAuditRead, Outcome: audit.Success}); len(got) < 3 {
		t.Fatalf("reads of the trail recorded: %d", len(got))
	}
}

// TestAuditHostileInput: a huge, multi-line, invalid name tried at sign-in
// is stored bounded and clean; a Player route's refusal is not an
// authz.denied event (only operator routes are).
func TestAuditHostileInput(t *testing.T) {
	t.Parallel()
	e := newAuditEnv(t, "")
	name := strings.Repeat("가\\n{\\\"x\\\":1}\\u2028", 1000)
	e.want(e.do("POST", "/api/v1/auth/login", "", `{"username":"`+name+`","password":"p"}`, nil), 401)
	evs := e.events(audit.Filter{Action: audit.Login, Outcome: audit.Failure})
	if len(evs) != 1 {
		t.Fatalf("%d failures recorded", len(evs))
	}
	if tg := evs[0].Target; len(tg) > audit.MaxTarget || strings.ContainsAny(tg, "\n\u2028") || !strings.HasPrefix(tg, "username:가") {
		t.Fatalf("target %q", tg)
	}
	e.want(e.do("GET", "/api/v1/me", "", "", nil), 401)
	if got := e.events(audit.Filter{Action: audit.AuthzDenied}); len(got) != 0 {
		t.Fatalf("a Player route's refusal was recorded: %+v", got)
	}
}
