package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/config"
)

// admin runs `pointsbook admin …` as a second process would and returns
// its exit code and output.
func admin(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), append([]string{"admin"}, args...), lookupIn(env), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var secretLine = regexp.MustCompile(`(?m)^secret: ([0-9a-f]{64})$`)

// partnerPost sends a partner credit signed with secret at ts.
func partnerPost(t *testing.T, base, partner, secret string, ts int64, body string) (response, string) {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", ts, body)
	sig := hex.EncodeToString(m.Sum(nil))
	req, _ := http.NewRequest("POST", base+"/api/v1/partner/credits", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Partner-Id", partner)
	req.Header.Set("X-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Signature", sig)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, sig
}

// TestPartnerOnboardingAndLogs onboards a partner with the admin commands,
// runs the partner-credit flow against the real server (credit, replay,
// bad signature, rotation, disabling) and then searches every line the
// server and the commands logged for the secrets and signatures.
func TestPartnerOnboardingAndLogs(t *testing.T) {
	t.Parallel()
	env := testEnv(t, map[string]string{"PB_FEED": "none", "PB_LOG_LEVEL": "debug"})

	code, out, errOut := admin(t, env, "partner", "add", "--id", "acme", "--name", "Acme Air", "--rate", "1/2", "--daily-cap", "10000")
	if code != 0 {
		t.Fatalf("partner add = %d: %s %s", code, out, errOut)
	}
	m := secretLine.FindStringSubmatch(out)
	if m == nil || strings.Count(out+errOut, m[1]) != 1 {
		t.Fatalf("partner add must show the secret exactly once:\n%s", out)
	}
	secret := m[1]
	keyFile := filepath.Join(env["PB_DATA_DIR"], "secrets.key")
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets key file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	keyText, _ := os.ReadFile(keyFile)
	for _, bad := range [][]string{
		{"partner", "add", "--id", "acme", "--name", "Again", "--rate", "1/2", "--daily-cap", "1"},
		{"partner", "add", "--id", "other", "--name", "Float", "--rate", "0.5", "--daily-cap", "1"},
		{"partner", "add", "--id", "NO WAY", "--name", "Bad id", "--rate", "1", "--daily-cap", "1"},
		{"partner", "add", "--id", "nocap", "--name", "No cap", "--rate", "1"},
		{"partner", "rotate-secret", "--id", "nobody"},
		{"partner", "disable", "--id", "nobody"},
	} {
		if code, out, errOut := admin(t, env, bad...); code == 0 {
			t.Errorf("%v succeeded: %s %s", bad, out, errOut)
		}
	}
	if code, _, _ := admin(t, env, "partner", "launch"); code != 2 {
		t.Errorf("unknown partner command exit %d, want 2", code)
	}

	cfg, err := config.Load(lookupIn(env))
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	srv := &Main{Config: cfg, Log: newLogger(&logs, cfg.LogLevel)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()
	base := "http://" + srv.Addr()
	signup(t, base, "kimchi")

	now := time.Now().Unix()
	body := `{"partner_tx_id":"acme-000123","username":"kimchi","mileage":1200}`
	r, sig1 := partnerPost(t, base, "acme", secret, now, body)
	if r.Status != 201 || !strings.Contains(string(r.Body), `"points":600`) {
		t.Fatalf("credit = %s", r)
	}
	r, sig2 := partnerPost(t, base, "acme", secret, now+1, body)
	if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %s", r)
	}
	if r, _ := partnerPost(t, base, "acme", "not-the-secret", now, body); r.code() != "invalid_signature" {
		t.Fatalf("wrong secret = %s", r)
	}

	code, out, _ = admin(t, env, "partner", "rotate-secret", "--id", "acme")
	m = secretLine.FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] == secret {
		t.Fatalf("rotate-secret = %d: %s", code, out)
	}
	rotated := m[1]
	body2 := `{"partner_tx_id":"acme-000124","username":"kimchi","mileage":10}`
	if r, _ := partnerPost(t, base, "acme", secret, now, body2); r.code() != "invalid_signature" {
		t.Fatalf("old secret after rotation = %s", r)
	}
	r, sig3 := partnerPost(t, base, "acme", rotated, now, body2)
	if r.Status != 201 {
		t.Fatalf("new secret = %s", r)
	}

	if code, out, _ := admin(t, env, "partner", "list"); code != 0 || !strings.Contains(out, "acme") || !strings.Contains(out, "1/2") || strings.Contains(out, rotated) {
		t.Fatalf("partner list = %d:\n%s", code, out)
	}
	if code, _, _ := admin(t, env, "partner", "disable", "--id", "acme"); code != 0 {
		t.Fatal("disable failed")
	}
	body3 := `{"partner_tx_id":"acme-000125","username":"kimchi","mileage":10}`
	if r, _ := partnerPost(t, base, "acme", rotated, now, body3); r.Status != 403 || r.code() != "partner_disabled" {
		t.Fatalf("disabled partner = %s", r)
	}
	if code, out, _ := admin(t, env, "partner", "list"); code != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("list after disable:\n%s", out)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	logged := logs.String()
	if !strings.Contains(logged, "/api/v1/partner/credits") || !strings.Contains(logged, `"partner credit"`) {
		t.Fatalf("the capture missed the flow; log:\n%s", logged)
	}
	for name, s := range map[string]string{
		"first secret": secret, "rotated secret": rotated, "secrets key": strings.TrimSpace(string(keyText)),
		"signature 1": sig1, "signature 2": sig2, "signature 3": sig3,
	} {
		if strings.Contains(logged, s) {
			t.Errorf("the server log contains the %s", name)
		}
	}

	// The audit trail has the commands (made and refused), the credits,
	// the refusal of the disabled partner and the bad signatures; the
	// server logged each of its events as an audit line.
	db, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(f audit.Filter) int {
		f.Limit = audit.MaxPage
		evs, _, err := db.AuditEvents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	for _, w := range []struct {
		f    audit.Filter
		want int
	}{
		{audit.Filter{Action: audit.AdminPartnerAdd, Outcome: audit.Success, Actor: audit.ActorCLI, Target: "partner:acme"}, 1},
		{audit.Filter{Action: audit.AdminPartnerAdd, Outcome: audit.Failure, Actor: audit.ActorCLI}, 4},
		{audit.Filter{Action: audit.AdminPartnerKey, Outcome: audit.Success, Target: "partner:acme"}, 1},
		{audit.Filter{Action: audit.AdminPartnerKey, Outcome: audit.Failure, Target: "partner:nobody"}, 1},
		{audit.Filter{Action: audit.AdminPartnerOff, Outcome: audit.Success, Target: "partner:acme"}, 1},
		{audit.Filter{Action: audit.AdminPartnerOff, Outcome: audit.Failure, Target: "partner:nobody"}, 1},
		{audit.Filter{Action: audit.PartnerCredit, Outcome: audit.Success, Actor: "partner:acme"}, 2},
		{audit.Filter{Action: audit.PartnerCredit, Outcome: audit.Failure, Actor: "partner:acme"}, 1},
		{audit.Filter{Action: audit.AuthzDenied, Target: "route:POST /api/v1/partner/credits"}, 2},
	} {
		if got := count(w.f); got != w.want {
			t.Errorf("%+v: %d events, want %d", w.f, got, w.want)
		}
	}
	if n := strings.Count(logged, `"event.dataset":"pointsbook.audit"`); n < 6 {
		t.Errorf("%d audit lines in the server log, want one per event the server recorded", n)
	}
}

// TestSecretsKey: a configured key is used as given; a bad one stops the
// configuration; a key file others can read is refused.
func TestSecretsKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := config.Load(lookupIn(map[string]string{"PB_SECRETS_KEY": "short"})); err == nil {
		t.Fatal("a short PB_SECRETS_KEY was accepted")
	}
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.SecretsKey = strings.Repeat("ab", 32)
	s1, err := loadSealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secrets.key")); err == nil {
		t.Fatal("a key file was written although PB_SECRETS_KEY is set")
	}
	s2, _ := loadSealer(cfg)
	if _, err := s2.Open("p", s1.Seal("p", []byte("x"))); err != nil {
		t.Fatal("the same configured key does not open its own seal")
	}
	cfg.SecretsKey = ""
	gen, err := loadSealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadSealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Open("p", gen.Seal("p", []byte("x"))); err != nil {
		t.Fatal("the generated key changed between loads")
	}
	if err := os.Chmod(filepath.Join(dir, "secrets.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSealer(cfg); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}
