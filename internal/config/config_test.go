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
	c, err := Load(env(map[string]string{"PB_HTTP_ADDR": "127.0.0.1:9000", "PB_BET_MAX_STAKE": "1000", "PB_SESSION_TTL": "2h", "PB_ACCESS_LOG_PROBES": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9000" || c.MaxStake != 1000 || c.SessionTTL != 2*time.Hour || c.MinStake != 100 || !c.AccessLogProbes {
		t.Fatalf("loaded %+v", c)
	}
	if Default().AccessLogProbes {
		t.Fatal("probes are logged by default")
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
		{"not a boolean", map[string]string{"PB_ACCESS_LOG_PROBES": "sometimes"}, "PB_ACCESS_LOG_PROBES"},
		{"redis scheme", map[string]string{"PB_REDIS_URL": "http://cache:6379"}, "PB_REDIS_URL"},
		{"redis without host", map[string]string{"PB_REDIS_URL": "redis://"}, "PB_REDIS_URL"},
		{"redis cluster without host", map[string]string{"PB_REDIS_URL": "redis+cluster://"}, "PB_REDIS_URL"},
		{"otel scheme", map[string]string{"PB_OTEL_ENDPOINT": "grpc://collector:4317"}, "PB_OTEL_ENDPOINT"},
		{"otel without host", map[string]string{"PB_OTEL_ENDPOINT": "http://"}, "PB_OTEL_ENDPOINT"},
		{"otel credentials", map[string]string{"PB_OTEL_ENDPOINT": "https://u:p@collector:4318"}, "PB_OTEL_ENDPOINT"},
		{"otel query", map[string]string{"PB_OTEL_ENDPOINT": "http://collector:4318/?x=1"}, "PB_OTEL_ENDPOINT"},
		{"otel ratio above 1", map[string]string{"PB_OTEL_SAMPLE_RATIO": "1.5"}, "PB_OTEL_SAMPLE_RATIO"},
		{"otel ratio negative", map[string]string{"PB_OTEL_SAMPLE_RATIO": "-0.1"}, "PB_OTEL_SAMPLE_RATIO"},
		{"otel ratio NaN", map[string]string{"PB_OTEL_SAMPLE_RATIO": "NaN"}, "PB_OTEL_SAMPLE_RATIO"},
		{"proxy not a prefix", map[string]string{"PB_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "PB_TRUSTED_PROXIES"},
		{"oidc issuer alone", map[string]string{"PB_OIDC_ISSUER": "https://id.example"}, "PB_OIDC_CLIENT_ID"},
		{"oidc without secret", map[string]string{"PB_OIDC_ISSUER": "https://id.example", "PB_OIDC_CLIENT_ID": "pb"}, "PB_OIDC_CLIENT_SECRET"},
		{"oidc secret alone", map[string]string{"PB_OIDC_CLIENT_SECRET": "s"}, "PB_OIDC_ISSUER"},
		{"oidc plain http", map[string]string{"PB_OIDC_ISSUER": "http://id.example", "PB_OIDC_CLIENT_ID": "pb", "PB_OIDC_CLIENT_SECRET": "s"}, "PB_OIDC_ISSUER must be"},
		{"oidc query", map[string]string{"PB_OIDC_ISSUER": "https://id.example/?x=1", "PB_OIDC_CLIENT_ID": "pb", "PB_OIDC_CLIENT_SECRET": "s"}, "PB_OIDC_ISSUER must be"},
		{"opensearch scheme", map[string]string{"PB_OPENSEARCH_URL": "opensearch:9200"}, "PB_OPENSEARCH_URL must be"},
		{"opensearch password alone", map[string]string{"PB_OPENSEARCH_URL": "https://s:443", "PB_OPENSEARCH_PASSWORD": "p"}, "PB_OPENSEARCH_USERNAME and PB_OPENSEARCH_PASSWORD"},
		{"opensearch key and user", map[string]string{"PB_OPENSEARCH_URL": "https://s:443", "PB_OPENSEARCH_API_KEY": "k", "PB_OPENSEARCH_USERNAME": "u", "PB_OPENSEARCH_PASSWORD": "p"}, "not both"},
		{"opensearch key without url", map[string]string{"PB_OPENSEARCH_API_KEY": "k"}, "need PB_OPENSEARCH_URL"},
		{"opensearch retention", map[string]string{"PB_OPENSEARCH_RETENTION": "30m"}, "PB_OPENSEARCH_RETENTION"},
		{"opensearch setup", map[string]string{"PB_OPENSEARCH_SETUP": "maybe"}, "PB_OPENSEARCH_SETUP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %s", err, tt.want)
			}
		})
	}
	for _, issuer := range []string{"https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_AbC", "http://127.0.0.1:9000/realms/pb", "http://localhost:8081"} {
		if _, err := Load(env(map[string]string{"PB_OIDC_ISSUER": issuer, "PB_OIDC_CLIENT_ID": "pb", "PB_OIDC_CLIENT_SECRET": "s"})); err != nil {
			t.Errorf("issuer %s refused: %v", issuer, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:4318", "https://otel.example/base/", "http://[::1]:4318"} {
		if _, err := Load(env(map[string]string{"PB_OTEL_ENDPOINT": u, "PB_OTEL_SAMPLE_RATIO": "0.25"})); err != nil {
			t.Errorf("PB_OTEL_ENDPOINT %s refused: %v", u, err)
		}
	}
	for _, u := range []string{"redis://cache:6379/0", "rediss://u:p@cache:6380", "redis+cluster://c1:7000?addr=c2:7000&addr=c3:7000", "rediss+cluster://u:p@c1:7000"} {
		if _, err := Load(env(map[string]string{"PB_REDIS_URL": u})); err != nil {
			t.Errorf("PB_REDIS_URL %s refused: %v", u, err)
		}
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
		"PB_REDIS_URL":           "rediss://default:redis-secret-789@cache:6379/0",
		"PB_OPENSEARCH_URL":      "https://app:os-secret-321@search.internal:443",
		"PB_OPENSEARCH_SETUP":    "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminPassword != "file-secret-123" {
		t.Fatalf("password from file = %q", c.AdminPassword)
	}
	s := c.String()
	if c.OpenSearchSetup || c.OpenSearchRetention != 30*24*time.Hour {
		t.Fatalf("PB_OPENSEARCH_SETUP=false read as %v; retention %v", c.OpenSearchSetup, c.OpenSearchRetention)
	}
	for _, secret := range []string{"file-secret-123", "db-secret-456", "redis-secret-789", "os-secret-321"} {
		if strings.Contains(s, secret) {
			t.Fatalf("String() leaks %q:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "PB_REDIS_URL=rediss://default:xxxxx@cache:6379/0") {
		t.Fatalf("String() =\n%s", s)
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

// TestOpenSearchCredentialsFromFiles: the user name may come from a file
// like the secrets (a mounted secret often holds both), and is shown.
func TestOpenSearchCredentialsFromFiles(t *testing.T) {
	dir := t.TempDir()
	user, pw := filepath.Join(dir, "user"), filepath.Join(dir, "pw")
	if err := os.WriteFile(user, []byte("shipper\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("os-pw-654\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{
		"PB_OPENSEARCH_URL": "https://search.internal", "PB_OPENSEARCH_USERNAME_FILE": user, "PB_OPENSEARCH_PASSWORD_FILE": pw,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.OpenSearchUsername != "shipper" || c.OpenSearchPassword != "os-pw-654" {
		t.Fatalf("read %q / %q", c.OpenSearchUsername, c.OpenSearchPassword)
	}
	if s := c.String(); strings.Contains(s, "os-pw-654") || !strings.Contains(s, "PB_OPENSEARCH_USERNAME=shipper\n") || !strings.Contains(s, "PB_OPENSEARCH_PASSWORD=[redacted]") {
		t.Fatalf("String() =\n%s", s)
	}
}
