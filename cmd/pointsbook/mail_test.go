package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/mail"
)

// TestVerificationThroughOutbox runs the binary with no SMTP but with
// verification required: the code lands in PB_DATA_DIR/outbox, survives
// a restart (the code key is kept in PB_DATA_DIR/code.key) and unlocks
// login.
func TestVerificationThroughOutbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No feed: readiness does not wait for the simulator's first import.
	env := map[string]string{"PB_DATA_DIR": dir, "PB_REQUIRE_EMAIL_VERIFICATION": "true", "PB_FEED": "none"}
	m, base := startServer(t, env)
	signup(t, base, "mailbox")
	if r := mustCall(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": "mailbox", "password": playerPassword}, http.StatusForbidden); r.code() != "email_not_verified" {
		t.Fatalf("unverified login: %s", r)
	}
	// The operator from configuration needs no verification.
	login(t, base, adminUser, adminPassword)
	files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox holds %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`code is ([0-9]{6})`).FindStringSubmatch(msg.Body)
	if code == nil || msg.To != "<mailbox@example.com>" {
		t.Fatalf("mail to %s: %q", msg.To, msg.Body)
	}
	st, err := os.Stat(filepath.Join(dir, "code.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("code.key: %v %v", st, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, base = startServer(t, env)
	mustCall(t, "POST", base+"/api/v1/auth/verify-email", "", map[string]string{"username": "mailbox", "code": code[1]}, http.StatusOK)
	login(t, base, "mailbox", playerPassword)
}

func TestCodeKey(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	k1, err := codeKey(cfg)
	if err != nil || len(k1) < 32 {
		t.Fatalf("codeKey = %q, %v", k1, err)
	}
	k2, err := codeKey(cfg)
	if err != nil || string(k2) != string(k1) {
		t.Fatal("a second start made another key: every code in flight would stop matching")
	}
	cfg.CodeKey = strings.Repeat("k", 40)
	if k, _ := codeKey(cfg); string(k) != cfg.CodeKey {
		t.Fatal("PB_CODE_KEY not used")
	}
	cfg.CodeKey = ""
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "code.key"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := codeKey(cfg); err == nil {
		t.Fatal("a truncated key file was accepted")
	}
}
