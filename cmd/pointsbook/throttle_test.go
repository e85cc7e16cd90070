package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/redistest"
)

// failLogin posts a wrong password for user and returns the status.
func failLogin(t *testing.T, base, user string) response {
	t.Helper()
	r, err := call(httpClient, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": user, "password": "wrong-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readyz(t *testing.T, base string) map[string]any {
	t.Helper()
	r := mustCall(t, "GET", base+"/readyz", "", nil, http.StatusOK)
	var body map[string]any
	r.decode(t, &body)
	return body
}

// Two servers with one PB_REDIS_URL share the login budget, as instances
// behind a load balancer must.
func TestLoginBudgetSharedThroughRedis(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	env := map[string]string{"PB_REDIS_URL": "redis://" + c.Options().Addr + "/" + strconv.Itoa(c.Options().DB), "PB_FEED": "none"}
	setup := func(m *Main) { m.RedisPrefix = prefix }
	_, one := startServerWith(t, env, setup)
	_, two := startServerWith(t, env, setup)
	for i, base := range []string{one, one, one, two, two} {
		if r := failLogin(t, base, adminUser); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %s", i+1, r)
		}
	}
	for name, base := range map[string]string{"one": one, "two": two} {
		r, _ := call(httpClient, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": adminUser, "password": adminPassword})
		if r.Status != http.StatusTooManyRequests || r.code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("6th attempt on server %s: %s (Retry-After %q)", name, r, r.Header.Get("Retry-After"))
		}
	}
	rl, _ := readyz(t, one)["rate_limiter"].(map[string]any)
	if rl["store"] != "redis" || rl["redis"] != "up" {
		t.Fatalf("/readyz rate_limiter = %v", rl)
	}
}

// With Redis down the server starts, stays ready and still limits logins,
// per instance, and says so in /readyz and /metrics.
func TestLoginBudgetWithoutRedis(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PB_REDIS_URL": fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t)), "PB_FEED": "none"}
	_, base := startServer(t, env)
	for i := range 5 {
		if r := failLogin(t, base, adminUser); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %s", i+1, r)
		}
	}
	if r := failLogin(t, base, adminUser); r.Status != http.StatusTooManyRequests {
		t.Fatalf("6th attempt with Redis down: %s", r)
	}
	rl, _ := readyz(t, base)["rate_limiter"].(map[string]any)
	if rl["store"] != "redis" || !strings.HasPrefix(fmt.Sprint(rl["redis"]), "unreachable") {
		t.Fatalf("/readyz rate_limiter = %v", rl)
	}
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "pointsbook_attempt_limiter_fallbacks_total 6") || !strings.Contains(string(b), "pointsbook_attempt_limiter_redis_up 0") {
		t.Fatalf("metrics lack the fallback:\n%s", grepLines(string(b), "attempt_limiter"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
