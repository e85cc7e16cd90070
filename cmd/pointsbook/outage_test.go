package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/pgtest"
)

// TestPostgresOutage stops the database under a running server: requests
// that need it must fail fast with 503 database_unavailable (not hang, not
// 500), and the same server must recover on its own once the database is
// back. Not parallel: it holds failures and recovery to time budgets.
func TestPostgresOutage(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	_, base := startServer(t, map[string]string{"PB_DATABASE_URL": cluster.URL()})

	admin := login(t, base, adminUser, adminPassword)
	_, home := createMatch(t, base, admin)
	signup(t, base, "outage")
	token := login(t, base, "outage", playerPassword)
	const stake = 100
	placed := 0
	mustCall(t, "POST", base+"/api/v1/bets", token, betSlip(stake, home), http.StatusCreated)
	placed++
	mustCall(t, "GET", base+"/api/v1/matches", "", nil, http.StatusOK)
	mustCall(t, "GET", base+"/readyz", "", nil, http.StatusOK)

	cluster.Stop(t)

	// The client's own timeout is well above the 2 s budget, so a slow
	// answer is measured rather than cut off.
	c := &http.Client{Timeout: 10 * time.Second}
	const budget = 2 * time.Second
	for _, rq := range []struct {
		method, path, token string
		body                any
	}{
		// Not the list read above: that one may be answered from the
		// store's list cache for PB_LIST_CACHE_TTL after the outage starts.
		{"GET", "/api/v1/matches?sport=football", "", nil},
		{"GET", "/api/v1/me", token, nil},
		{"POST", "/api/v1/bets", token, betSlip(stake, home)},
	} {
		name := rq.method + " " + rq.path
		start := time.Now()
		r, err := call(c, rq.method, base+rq.path, rq.token, rq.body)
		took := time.Since(start)
		t.Logf("%s during the outage: %v in %v", name, r.Status, took.Round(time.Millisecond))
		switch {
		case err != nil:
			t.Errorf("%s during the outage: %v after %v", name, err, took)
		case r.Status != http.StatusServiceUnavailable || r.code() != "database_unavailable":
			t.Errorf("%s during the outage = %s, want 503 database_unavailable", name, r)
		case took > budget:
			t.Errorf("%s took %v to fail, want under %v", name, took, budget)
		}
		if err == nil && r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", name)
		}
	}
	start := time.Now()
	r, err := call(c, "GET", base+"/readyz", "", nil)
	if took := time.Since(start); err != nil || r.Status != http.StatusServiceUnavailable || took > budget {
		t.Errorf("/readyz during the outage = %v, %v in %v; want 503 within %v", r, err, took, budget)
	}

	cluster.Start(t)
	restarted := time.Now()
	var last string
	recovered, failedPolls := false, 0
	for time.Since(restarted) < 5*time.Second {
		r, err := call(c, "GET", base+"/readyz", "", nil)
		if err == nil && r.Status == http.StatusOK {
			b, err := call(c, "POST", base+"/api/v1/bets", token, betSlip(stake, home))
			if err == nil && b.Status == http.StatusCreated {
				placed++
				recovered = true
				break
			}
			last = fmt.Sprintf("bet: %v %v", b, err)
		} else {
			last = fmt.Sprintf("/readyz: %v %v", r, err)
		}
		failedPolls++
		// Polled: recovery is a state the server reaches on its own; the
		// loop's 5 s bound is what the test asserts.
		time.Sleep(100 * time.Millisecond)
	}
	if !recovered {
		t.Fatalf("no ready server and placed bet within 5 s of the database coming back (last: %s)", last)
	}
	t.Logf("recovered %v after the database came back (%d polls failed first; last: %s)", time.Since(restarted).Round(time.Millisecond), failedPolls, last)

	// Nothing refused during the outage was half-done: the balance shows
	// exactly the bets answered 201.
	var me struct {
		Balance int64 `json:"balance"`
	}
	mustCall(t, "GET", base+"/api/v1/me", token, nil, http.StatusOK).decode(t, &me)
	if want := int64(50_000 - stake*placed); me.Balance != want {
		t.Errorf("balance after recovery = %d, want %d (%d bets placed)", me.Balance, want, placed)
	}
	var bets struct {
		Items []struct{} `json:"items"`
	}
	mustCall(t, "GET", base+"/api/v1/me/bets", token, nil, http.StatusOK).decode(t, &bets)
	if len(bets.Items) != placed {
		t.Errorf("%d bets listed, want %d", len(bets.Items), placed)
	}
}
