package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// progEnv is an API with a sealer and a partner "acme" (1 point per 2
// miles, daily cap 10,000) whose secret the test knows.
type progEnv struct {
	*env
	secret string
	sealer *programme.Sealer
}

func newProgEnv(t *testing.T, logger *slog.Logger) *progEnv {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, _ := programme.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := newAPI(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: time.Hour, Hash: fastHash}, api.Options{Secrets: sealer}, logger)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &progEnv{env: &env{t: t, db: db, srv: srv}, sealer: sealer, secret: programme.NewSecret()}
	hash, _ := account.Hash("operator-pass-1", fastHash)
	if _, err := db.CreateUser(context.Background(), account.NewUser{Username: "op", Nickname: "Operator", Email: "op@example.com", PasswordHash: hash, Role: account.Admin}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login("op", "operator-pass-1")
	e.player = e.signupLogin("kim")
	e.other = e.signupLogin("lee")
	if err := db.CreatePartner(context.Background(), &programme.Partner{ID: "acme", Name: "Acme Air", Rate: programme.Rate{Num: 1, Den: 2}, DailyCap: 10000,
		SealedSecret: sealer.Seal("acme", []byte(e.secret))}, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// sign computes X-Signature as a partner does, independently of the
// programme package: hex HMAC-SHA256 of "<ts>.<body>".
func sign(secret string, ts int64, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", ts, body)
	return hex.EncodeToString(m.Sum(nil))
}

func (e *progEnv) partnerHeaders(id string, ts int64, body string) map[string]string {
	return map[string]string{"X-Partner-Id": id, "X-Timestamp": strconv.FormatInt(ts, 10), "X-Signature": sign(e.secret, ts, body)}
}

// snapshot is every balance a bad request must leave alone.
func (e *progEnv) snapshot() map[string]int64 {
	e.t.Helper()
	out := map[string]int64{"kim": e.balance(e.player), "lee": e.balance(e.other)}
	for code := range ledger.SystemAccounts {
		b, err := e.db.SystemBalance(context.Background(), code)
		if err != nil {
			e.t.Fatal(err)
		}
		out[code] = b
	}
	return out
}

func TestTopupAndCheckin(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t, nil)
	// At the target: refused, saying so.
	b := e.want(e.do("POST", "/api/v1/me/topup", e.player, "", map[string]string{"Accept-Language": "en"}), 422)
	if errCode(b) != "topup_not_allowed" || b["error"].(map[string]any)["details"].(map[string]any)["reason"] != "at_target" ||
		b["error"].(map[string]any)["message"] != "Your balance is already at the top-up target of 50,000 points." {
		t.Fatalf("at target: %v", b)
	}
	b = e.want(e.do("POST", "/api/v1/me/topup", e.player, "", nil), 422)
	if msg := b["error"].(map[string]any)["message"]; msg != "잔액이 이미 충전 목표인 50,000 포인트입니다." {
		t.Fatalf("at target, in Korean: %v", msg)
	}
	// Spend some, then top up (with a key, retried).
	e.want(e.do("POST", "/api/v1/admin/grants", e.admin, `{"username":"kim","points":1,"reason":"test"}`, nil), 201)
	bet := e.createMatch(time.Now().Add(2 * time.Hour))
	e.want(e.do("POST", "/api/v1/bets", e.player, fmt.Sprintf(`{"stake":12001,"legs":[{"selection_id":%q,"odds":"2.05"}]}`, selection(bet, 0, "home")), nil), 201)
	if got := e.balance(e.player); got != 38000 {
		t.Fatalf("balance = %d", got)
	}
	key := map[string]string{"Idempotency-Key": "topup-1"}
	r := e.want(e.do("POST", "/api/v1/me/topup", e.player, "", key), 200)
	if r["amount"].(float64) != 12000 || r["balance"].(float64) != 50000 || r["next_allowed_at"] == nil {
		t.Fatalf("top-up = %v", r)
	}
	resp := e.do("POST", "/api/v1/me/topup", e.player, "", key)
	if resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("retry not replayed")
	}
	if again := e.want(resp, 200); again["amount"] != r["amount"] || again["next_allowed_at"] != r["next_allowed_at"] {
		t.Fatalf("replay = %v", again)
	}
	if b := e.want(e.do("POST", "/api/v1/me/topup", e.player, `{"amount":1}`, nil), 400); errCode(b) != "unknown_field" {
		t.Fatalf("body with a field: %v", b)
	}
	// Check-in: status, credit, second time the same day.
	st := e.want(e.do("GET", "/api/v1/me/checkin", e.player, "", nil), 200)
	if st["checked_in_today"] != false || st["next_bonus"].(float64) != 500 || st["time_zone"] != "Asia/Seoul" {
		t.Fatalf("status = %v", st)
	}
	c := e.want(e.do("POST", "/api/v1/me/checkin", e.player, `{}`, nil), 200)
	if c["streak"].(float64) != 1 || c["points"].(float64) != 500 || c["balance"].(float64) != 50500 {
		t.Fatalf("check-in = %v", c)
	}
	if b := e.want(e.do("POST", "/api/v1/me/checkin", e.player, "", nil), 409); errCode(b) != "already_checked_in" {
		t.Fatalf("second check-in: %v", b)
	}
	if st := e.want(e.do("GET", "/api/v1/me/checkin", e.player, "", nil), 200); st["checked_in_today"] != true || st["streak"].(float64) != 1 {
		t.Fatalf("status after = %v", st)
	}
	if d, err := e.db.VerifyLedger(context.Background()); err != nil || len(d) > 0 {
		t.Fatalf("ledger: %v %v", d, err)
	}
}

func TestPartnerCredit(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t, nil)
	body := `{"partner_tx_id":"acme-000123","username":"kim","mileage":1200}`
	now := time.Now().Unix()
	resp := e.do("POST", "/api/v1/partner/credits", "", body, e.partnerHeaders("acme", now, body))
	cr := e.want(resp, 201)
	if cr["points"].(float64) != 600 || cr["credit_id"] == "" || cr["partner_tx_id"] != "acme-000123" {
		t.Fatalf("credit = %v", cr)
	}
	// The same partner_tx_id again, signed afresh: the first answer.
	resp = e.do("POST", "/api/v1/partner/credits", "", body, e.partnerHeaders("acme", now+1, body))
	if resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked")
	}
	if again := e.want(resp, 201); again["credit_id"] != cr["credit_id"] || again["credited_at"] != cr["credited_at"] {
		t.Fatalf("replay = %v, first %v", again, cr)
	}
	if got := e.balance(e.player); got != 50600 {
		t.Fatalf("balance = %d", got)
	}
	// A session cookie or token gives no access here.
	if b := e.want(e.do("POST", "/api/v1/partner/credits", e.admin, body, nil), 401); errCode(b) != "signature_required" {
		t.Fatalf("with a session: %v", b)
	}
}

// TestProgrammeBadInput sends each kind of bad programme request and
// checks the status and code, then that no balance moved.
func TestProgrammeBadInput(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t, nil)
	now := time.Now().Unix()
	credit := func(txID, user string, mileage int64) string {
		return fmt.Sprintf(`{"partner_tx_id":%q,"username":%q,"mileage":%d}`, txID, user, mileage)
	}
	// One good credit, so that its id can be replayed with another body.
	first := credit("acme-1", "kim", 1000)
	e.want(e.do("POST", "/api/v1/partner/credits", "", first, e.partnerHeaders("acme", now, first)), 201)
	if _, err := e.db.CreateUser(context.Background(), account.NewUser{Username: "park", Nickname: "park", Email: "park@example.com", PasswordHash: "x", Role: account.Player}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreatePartner(context.Background(), &programme.Partner{ID: "gone", Name: "Gone", Rate: programme.Rate{Num: 1, Den: 1}, DailyCap: 100,
		SealedSecret: e.sealer.Seal("gone", []byte(e.secret))}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DisablePartner(context.Background(), "gone", nil); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	signed := func(body string) map[string]string { return e.partnerHeaders("acme", now, body) }
	with := func(h map[string]string, k, v string) map[string]string {
		c := map[string]string{}
		for a, b := range h {
			c[a] = b
		}
		if v == "" {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	ok := credit("acme-2", "kim", 100)
	// Well outside the 5-minute window (the exact edge is a table test in
	// package programme): the server reads its clock later than now, a
	// second or more later on a loaded machine.
	stale := map[string]string{"X-Partner-Id": "acme", "X-Timestamp": strconv.FormatInt(now-400, 10), "X-Signature": sign(e.secret, now-400, ok)}
	future := map[string]string{"X-Partner-Id": "acme", "X-Timestamp": strconv.FormatInt(now+400, 10), "X-Signature": sign(e.secret, now+400, ok)}
	tests := []struct {
		name, method, path, token, body string
		hdr                             map[string]string
		status                          int
		code                            string
	}{
		{"no signature", "POST", "/api/v1/partner/credits", "", ok, nil, 401, "signature_required"},
		{"no timestamp", "POST", "/api/v1/partner/credits", "", ok, with(signed(ok), "X-Timestamp", ""), 401, "signature_required"},
		{"stale timestamp", "POST", "/api/v1/partner/credits", "", ok, stale, 401, "stale_timestamp"},
		{"future timestamp", "POST", "/api/v1/partner/credits", "", ok, future, 401, "stale_timestamp"},
		{"timestamp in ms", "POST", "/api/v1/partner/credits", "", ok, with(signed(ok), "X-Timestamp", strconv.FormatInt(now*1000, 10)), 401, "invalid_signature"},
		{"bad signature", "POST", "/api/v1/partner/credits", "", ok, with(signed(ok), "X-Signature", sign("wrong-secret", now, ok)), 401, "invalid_signature"},
		{"signature of another body", "POST", "/api/v1/partner/credits", "", credit("acme-2", "kim", 100000), signed(ok), 401, "invalid_signature"},
		{"signature not hex", "POST", "/api/v1/partner/credits", "", ok, with(signed(ok), "X-Signature", strings.Repeat("g", 64)), 401, "invalid_signature"},
		{"unknown partner", "POST", "/api/v1/partner/credits", "", ok, with(signed(ok), "X-Partner-Id", "nobody"), 401, "unknown_partner"},
		{"disabled partner", "POST", "/api/v1/partner/credits", "", ok, e.partnerHeaders("gone", now, ok), 403, "partner_disabled"},
		{"replayed id, other body", "POST", "/api/v1/partner/credits", "", credit("acme-1", "kim", 1001), signed(credit("acme-1", "kim", 1001)), 409, "partner_tx_id_reused"},
		{"replayed id, other player", "POST", "/api/v1/partner/credits", "", credit("acme-1", "lee", 1000), signed(credit("acme-1", "lee", 1000)), 409, "partner_tx_id_reused"},
		{"unknown username", "POST", "/api/v1/partner/credits", "", credit("acme-3", "nobody", 100), signed(credit("acme-3", "nobody", 100)), 404, "user_not_found"},
		{"zero mileage", "POST", "/api/v1/partner/credits", "", credit("acme-4", "kim", 0), signed(credit("acme-4", "kim", 0)), 400, "invalid_mileage"},
		{"negative mileage", "POST", "/api/v1/partner/credits", "", credit("acme-5", "kim", -100), signed(credit("acme-5", "kim", -100)), 400, "invalid_mileage"},
		{"absurd mileage", "POST", "/api/v1/partner/credits", "", credit("acme-6", "kim", 1e12), signed(credit("acme-6", "kim", 1e12)), 400, "invalid_mileage"},
		{"mileage worth nothing", "POST", "/api/v1/partner/credits", "", credit("acme-7", "kim", 1), signed(credit("acme-7", "kim", 1)), 422, "mileage_too_small"},
		{"over the daily cap", "POST", "/api/v1/partner/credits", "", credit("acme-8", "kim", 20000), signed(credit("acme-8", "kim", 20000)), 422, "partner_daily_cap_exceeded"},
		{"unknown field", "POST", "/api/v1/partner/credits", "", `{"partner_tx_id":"x","username":"kim","mileage":1,"bonus":1}`, signed(`{"partner_tx_id":"x","username":"kim","mileage":1,"bonus":1}`), 400, "unknown_field"},
		{"fractional mileage", "POST", "/api/v1/partner/credits", "", `{"partner_tx_id":"x","username":"kim","mileage":1.5}`, signed(`{"partner_tx_id":"x","username":"kim","mileage":1.5}`), 400, "invalid_json"},
		{"grant without reason", "POST", "/api/v1/admin/grants", e.admin, `{"username":"kim","points":100}`, nil, 400, "reason_required"},
		{"grant with blank reason", "POST", "/api/v1/admin/grants", e.admin, `{"username":"kim","points":100,"reason":"  "}`, nil, 400, "reason_required"},
		{"grant of zero", "POST", "/api/v1/admin/grants", e.admin, `{"username":"kim","points":0,"reason":"x"}`, nil, 400, "invalid_points"},
		{"grant over the maximum", "POST", "/api/v1/admin/grants", e.admin, `{"username":"kim","points":1000001,"reason":"x"}`, nil, 400, "invalid_points"},
		{"grant to nobody", "POST", "/api/v1/admin/grants", e.admin, `{"username":"nobody","points":1,"reason":"x"}`, nil, 404, "user_not_found"},
		{"grant by a player", "POST", "/api/v1/admin/grants", e.player, `{"username":"kim","points":1,"reason":"x"}`, nil, 403, "forbidden"},
		{"top-up at target", "POST", "/api/v1/me/topup", e.other, "", nil, 422, "topup_not_allowed"},
		{"top-up without session", "POST", "/api/v1/me/topup", "", "", nil, 401, "unauthenticated"},
		{"check-in with a body", "POST", "/api/v1/me/checkin", e.player, `{"day":"2026-01-01"}`, nil, 400, "unknown_field"},
		{"check-in, key too long", "POST", "/api/v1/me/checkin", e.player, "", map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}, 400, "invalid_idempotency_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := e.want(e.do(tt.method, tt.path, tt.token, tt.body, tt.hdr), tt.status)
			if errCode(body) != tt.code || body["error"].(map[string]any)["message"] == "" {
				t.Fatalf("error = %v, want code %s", body, tt.code)
			}
		})
	}
	after := e.snapshot()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s moved from %d to %d", k, v, after[k])
		}
	}
	if d, err := e.db.VerifyLedger(context.Background()); err != nil || len(d) > 0 {
		t.Fatalf("ledger: %v %v", d, err)
	}
}

func TestAdminGrant(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t, nil)
	key := map[string]string{"Idempotency-Key": "grant-1"}
	g := e.want(e.do("POST", "/api/v1/admin/grants", e.admin, `{"username":"KIM","points":2500,"reason":"outage"}`, key), 201)
	if g["points"].(float64) != 2500 || g["username"] != "kim" || g["granted_by"] != "op" || g["balance"].(float64) != 52500 {
		t.Fatalf("grant = %v", g)
	}
	resp := e.do("POST", "/api/v1/admin/grants", e.admin, `{"username":"KIM","points":2500,"reason":"outage"}`, key)
	if resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("retry not replayed")
	}
	if again := e.want(resp, 201); again["id"] != g["id"] {
		t.Fatalf("replay = %v", again)
	}
	if b := e.want(e.do("POST", "/api/v1/admin/grants", e.admin, `{"username":"kim","points":1,"reason":"other"}`, key), 409); errCode(b) != "idempotency_key_reused" {
		t.Fatalf("key reuse: %v", b)
	}
	if got := e.balance(e.player); got != 52500 {
		t.Fatalf("balance = %d", got)
	}
	st := e.want(e.do("GET", "/api/v1/me/statement?limit=1", e.player, "", nil), 200)
	if entry := st["items"].([]any)[0].(map[string]any); entry["kind"] != "grant" || entry["amount"].(float64) != 2500 {
		t.Fatalf("statement = %v", st)
	}
}
