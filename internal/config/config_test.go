package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(env(map[string]string{"PB_HTTP_ADDR": "127.0.0.1:9000", "PB_BET_MAX_STAKE": "1000", "PB_SESSION_TTL": "2h"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9000" || c.MaxStake != 1000 || c.SessionTTL != 2*time.Hour || c.MinStake != 100 {
		t.Fatalf("loaded %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad number", map[string]string{"PB_BET_MAX_STAKE": "lots"}, "PB_BET_MAX_STAKE"},
		{"bad duration", map[string]string{"PB_SESSION_TTL": "7"}, "PB_SESSION_TTL"},
		{"bad addr", map[string]string{"PB_HTTP_ADDR": "8080"}, "PB_HTTP_ADDR"},
		{"min above max", map[string]string{"PB_BET_MIN_STAKE": "900", "PB_BET_MAX_STAKE": "800"}, "PB_BET_MIN_STAKE"},
		{"replica without primary", map[string]string{"PB_DATABASE_REPLICA_URL": "postgres://r/db"}, "PB_DATABASE_REPLICA_URL"},
		{"mysql url", map[string]string{"PB_DATABASE_URL": "mysql://x"}, "PB_DATABASE_URL"},
		{"admin without password", map[string]string{"PB_ADMIN_USERNAME": "root"}, "PB_ADMIN_PASSWORD"},
		{"legs", map[string]string{"PB_BET_MAX_LEGS": "11"}, "PB_BET_MAX_LEGS"},
		{"daily cap negative", map[string]string{"PB_DAILY_STAKE_CAP": "-1"}, "PB_DAILY_STAKE_CAP"},
		{"daily cap under the smallest stake", map[string]string{"PB_DAILY_STAKE_CAP": "99"}, "PB_DAILY_STAKE_CAP"},
		{"log level", map[string]string{"PB_LOG_LEVEL": "loud"}, "PB_LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %s", err, tt.want)
			}
		})
	}
	// All problems are reported together.
	_, err := Load(env(map[string]string{"PB_BET_MAX_LEGS": "11", "PB_LOG_LEVEL": "loud"}))
	if err == nil || !strings.Contains(err.Error(), "PB_BET_MAX_LEGS") || !strings.Contains(err.Error(), "PB_LOG_LEVEL") {
		t.Fatalf("err = %v, want both problems", err)
	}
}

func TestSecretsRedacted(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("file-secret-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{
		"PB_DATABASE_URL":        "postgres://app:db-secret-456@db:5432/pb",
		"PB_ADMIN_USERNAME":      "root",
		"PB_ADMIN_PASSWORD_FILE": pwFile,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminPassword != "file-secret-123" {
		t.Fatalf("password from file = %q", c.AdminPassword)
	}
	s := c.String()
	for _, secret := range []string{"file-secret-123", "db-secret-456"} {
		if strings.Contains(s, secret) {
			t.Fatalf("String() leaks %q:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "postgres://app:xxxxx@db:5432/pb") || !strings.Contains(s, "PB_ADMIN_PASSWORD=[redacted]") {
		t.Fatalf("String() =\n%s", s)
	}
}

func TestREADMEDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		if !strings.Contains(string(b), "`"+s.Env+"`") {
			t.Errorf("README.md does not document %s", s.Env)
		}
	}
}
