package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/redisbus"
	"github.com/pointsbook/pointsbook/internal/redistest"
)

// Without PB_REDIS_URL the bus is the instance's own; it closes with the
// server.
func TestLiveBusInProcess(t *testing.T) {
	t.Parallel()
	m, base := startServer(t, map[string]string{"PB_FEED": "none"})
	if _, ok := m.bus.bus.(*live.Memory); !ok {
		t.Fatalf("bus is %T, want *live.Memory", m.bus.bus)
	}
	if lb, _ := readyz(t, base)["live_bus"].(map[string]any); lb["store"] != "in-process" {
		t.Fatalf("/readyz live_bus = %v", lb)
	}
	// The hub's counters are scraped, and the chat routes have the chat.
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\npointsbook_live_connections 0\n") || !strings.Contains(string(body), `pointsbook_live_frames_total{direction="in"} 0`) {
		t.Fatalf("metrics lack the hub's counters:\n%s", grepLines(string(body), "live"))
	}
	resp, err = httpClient.Get(base + "/api/v1/matches/m_999999/chat")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("chat history of a missing match: %d, want 404", resp.StatusCode)
	}
	sub, err := m.bus.bus.Subscribe(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-sub.C():
		if ok {
			t.Fatal("an event after shutdown")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription outlived the server")
	}
}

// With PB_REDIS_URL, two servers share events and head-counts through
// Redis, as instances behind a load balancer must.
func TestLiveBusSharedThroughRedis(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	env := map[string]string{"PB_REDIS_URL": "redis://" + c.Options().Addr + "/" + strconv.Itoa(c.Options().DB), "PB_FEED": "none"}
	setup := func(m *Main) { m.RedisPrefix = prefix }
	one, base := startServerWith(t, env, setup)
	two, _ := startServerWith(t, env, setup)
	if _, ok := one.bus.bus.(*redisbus.Bus); !ok {
		t.Fatalf("bus is %T, want *redisbus.Bus", one.bus.bus)
	}
	if lb, _ := readyz(t, base)["live_bus"].(map[string]any); lb["store"] != "redis" {
		t.Fatalf("/readyz live_bus = %v", lb)
	}
	ctx := context.Background()
	sub, err := two.bus.bus.Subscribe(ctx, "user:u_1")
	if err != nil {
		t.Fatal(err)
	}
	ev := live.Event{Type: "bet.settled", Channel: "user:u_1", Data: json.RawMessage(`{"bet_id":"b_1"}`)}
	if err := one.bus.bus.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sub.C():
		if got.Type != ev.Type || string(got.Data) != string(ev.Data) {
			t.Fatalf("got %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an event published on one server never reached the other")
	}
	if err := one.bus.presence.Join(ctx, "match:m_1", "one:1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := two.bus.presence.Count(ctx, "match:m_1"); err != nil || n != 1 {
		t.Fatalf("count on the other server: %d, %v", n, err)
	}
}

// A redis+cluster:// URL puts the bus on sharded pub/sub and the login
// limits on the cluster (their keys in one slot, so their script runs),
// shared by two servers.
func TestRedisClusterURL(t *testing.T) {
	t.Parallel()
	addrs := redistest.Cluster(t, 3)
	env := map[string]string{"PB_REDIS_URL": "redis+cluster://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2], "PB_FEED": "none"}
	one, base1 := startServer(t, env)
	two, base2 := startServer(t, env)
	for i, base := range []string{base1, base1, base2, base2, base2} {
		if r := failLogin(t, base, adminUser); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %s", i+1, r)
		}
	}
	for name, base := range map[string]string{"one": base1, "two": base2} {
		r, _ := call(httpClient, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": adminUser, "password": adminPassword})
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("6th attempt on server %s: %s", name, r)
		}
		ready := readyz(t, base)
		if rl, _ := ready["rate_limiter"].(map[string]any); rl["redis"] != "up" {
			t.Fatalf("server %s: /readyz rate_limiter = %v", name, rl)
		}
		if lb, _ := ready["live_bus"].(map[string]any); lb["store"] != "redis-cluster" {
			t.Fatalf("server %s: /readyz live_bus = %v", name, lb)
		}
	}
	ctx := context.Background()
	sub, err := two.bus.bus.Subscribe(ctx, "match:m_1")
	if err != nil {
		t.Fatal(err)
	}
	if err := one.bus.bus.Publish(ctx, live.Event{Type: "match.score", Channel: "match:m_1", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sub.C():
		if got.Type != "match.score" {
			t.Fatalf("got %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an event published on one server never reached the other")
	}
}
