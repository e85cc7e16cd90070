package main

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pointsbook/pointsbook/internal/logtest"
	"github.com/pointsbook/pointsbook/internal/pgtest"
)

// TestMetricsScrape places, refuses, replays and settles bets through the
// API of a real server, then scrapes /metrics with and without its token,
// parses the exposition with the Prometheus text parser and checks the
// counters by sport and reason, the ledger totals against the players'
// balances, the pool statistics and the build information; and the bet
// events of the log. On SQLite always, on PostgreSQL when
// PB_TEST_POSTGRES_URL is set.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		metricsScrape(t, map[string]string{}, []string{"primary", "readers"})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		metricsScrape(t, map[string]string{"PB_DATABASE_URL": pgtest.NewDatabase(t)}, []string{"primary"})
	})
}

const metricsToken = "metrics-token-0123456789"

func metricsScrape(t *testing.T, env map[string]string, pools []string) {
	env = maps.Clone(env)
	maps.Copy(env, noFeed)
	env["PB_METRICS_TOKEN"] = metricsToken
	var logs logtest.Buffer
	_, base := startServerWith(t, env, func(m *Main) { m.Log = newLogger(&logs, "info") })
	admin := login(t, base, adminUser, adminPassword)
	foot, footHome := createMatch(t, base, admin)
	bask, baskSel := createBasketball(t, base, admin)
	signup(t, base, "metrics1")
	signup(t, base, "metrics2")
	p1, p2 := login(t, base, "metrics1", playerPassword), login(t, base, "metrics2", playerPassword)

	place := func(token string, body map[string]any, key string) response {
		t.Helper()
		req, err := http.NewRequest("POST", base+"/api/v1/bets", strings.NewReader(mustJSON(t, body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := response{Status: resp.StatusCode, Header: resp.Header}
		if r.Body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		return r
	}
	placed := func(token string, body map[string]any, key string) string {
		t.Helper()
		r := place(token, body, key)
		if r.Status != http.StatusCreated {
			t.Fatalf("place %v = %s", body, r)
		}
		var b struct{ ID string }
		r.decode(t, &b)
		return b.ID
	}
	refused := func(token string, body map[string]any, code string) {
		t.Helper()
		if r := place(token, body, ""); r.code() != code {
			t.Fatalf("place %v = %s, want %s", body, r, code)
		}
	}
	acca := map[string]any{"stake": 200, "legs": []map[string]string{
		{"selection_id": footHome.ID, "odds": footHome.Odds}, {"selection_id": baskSel["away"].ID, "odds": baskSel["away"].Odds}}}
	ids := map[string]string{
		"single": placed(p1, betSlip(1000, footHome), ""),
		"bask":   placed(p1, betSlip(500, baskSel["home"]), ""),
		"acca":   placed(p1, acca, ""),
		"big":    placed(p2, betSlip(40000, footHome), ""),
		"keyed":  placed(p2, betSlip(5000, footHome), "metrics-key-1"),
	}
	// A retry with the same key is answered from the key: not counted again.
	if r := place(p2, betSlip(5000, footHome), "metrics-key-1"); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %s", r)
	}
	refused(p1, betSlip(60000, footHome), "stake_out_of_limits")
	refused(p1, betSlip(1000, selectionRef{ID: footHome.ID, Odds: "9.99"}), "odds_changed")
	refused(p2, betSlip(20000, footHome), "insufficient_points") // 5,000 left
	mustCall(t, "POST", base+"/api/v1/admin/matches/"+foot+"/result", admin, map[string]int{"home": 2, "away": 0}, http.StatusOK)
	mustCall(t, "POST", base+"/api/v1/admin/matches/"+bask+"/result", admin, map[string]int{"home": 90, "away": 100}, http.StatusOK)

	// The token.
	for _, header := range []string{"", "Bearer wrong-token", "Basic " + metricsToken} {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("scrape with Authorization %q: %d, want 401", header, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape with the token: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := families[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				switch f.GetType() {
				case dto.MetricType_COUNTER:
					return m.GetCounter().GetValue()
				case dto.MetricType_GAUGE:
					return m.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pointsbook_bets_placed_total", map[string]string{"sport": "football"}, 3},
		{"pointsbook_bets_placed_total", map[string]string{"sport": "basketball"}, 1},
		{"pointsbook_bets_placed_total", map[string]string{"sport": "mixed"}, 1},
		{"pointsbook_points_staked_total", map[string]string{"sport": "football"}, 46000},
		{"pointsbook_points_staked_total", map[string]string{"sport": "basketball"}, 500},
		{"pointsbook_points_staked_total", map[string]string{"sport": "mixed"}, 200},
		{"pointsbook_bets_refused_total", map[string]string{"reason": "stake_out_of_limits"}, 1},
		{"pointsbook_bets_refused_total", map[string]string{"reason": "odds_changed"}, 1},
		{"pointsbook_bets_refused_total", map[string]string{"reason": "insufficient_points"}, 1},
		{"pointsbook_bets_settled_total", map[string]string{"sport": "football", "outcome": "won"}, 3},
		{"pointsbook_bets_settled_total", map[string]string{"sport": "basketball", "outcome": "lost"}, 1},
		{"pointsbook_bets_settled_total", map[string]string{"sport": "mixed", "outcome": "won"}, 1},
		{"pointsbook_points_paid_total", map[string]string{"sport": "football"}, 2000 + 80000 + 10000},
		{"pointsbook_points_paid_total", map[string]string{"sport": "basketball"}, 0},
		{"pointsbook_points_paid_total", map[string]string{"sport": "mixed"}, 800},
		{"pointsbook_programme_credits_total", map[string]string{"kind": "signup_bonus"}, 2},
		{"pointsbook_programme_credited_points_total", map[string]string{"kind": "signup_bonus"}, 100000},
		{"pointsbook_ledger_balance_points", map[string]string{"account": "house", "kind": "house"}, 46700 - 92800},
		{"pointsbook_ledger_balance_points", map[string]string{"account": "programme:signup", "kind": "programme"}, -100000},
		{"pointsbook_http_requests_total", map[string]string{"method": "POST", "route": "POST /api/v1/bets", "code": "201"}, 6},
		{"pointsbook_build_info", nil, 1},
	} {
		if got := value(tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	// The players' total is what their wallets hold, and the ledger sums
	// to zero.
	var wallets float64
	for _, token := range []string{admin, p1, p2} {
		var me struct{ Balance int64 }
		mustCall(t, "GET", base+"/api/v1/me", token, nil, http.StatusOK).decode(t, &me)
		wallets += float64(me.Balance)
	}
	if got := value("pointsbook_ledger_balance_points", map[string]string{"account": "players", "kind": "player"}); got != wallets {
		t.Errorf("players' total %v, wallets hold %v", got, wallets)
	}
	var sum float64
	for _, m := range families["pointsbook_ledger_balance_points"].GetMetric() {
		sum += m.GetGauge().GetValue()
	}
	if sum != 0 {
		t.Errorf("ledger totals sum to %v", sum)
	}
	for _, pool := range pools {
		if v := value("go_sql_max_open_connections", map[string]string{"db_name": pool}); v < 1 {
			t.Errorf("pool %s: max open connections %v", pool, v)
		}
		value("go_sql_open_connections", map[string]string{"db_name": pool})
		value("go_sql_wait_count_total", map[string]string{"db_name": pool})
	}
	var names []string
	for _, m := range families["go_sql_max_open_connections"].GetMetric() {
		names = append(names, labelValue(m, "db_name"))
	}
	sort.Strings(names)
	if want := slices.Sorted(slices.Values(pools)); !slices.Equal(names, want) {
		t.Errorf("pools %v, want %v", names, want)
	}
	for _, m := range families["pointsbook_build_info"].GetMetric() {
		for _, l := range []string{"version", "revision", "go_version"} {
			if labelValue(m, l) == "" {
				t.Errorf("pointsbook_build_info has no %s", l)
			}
		}
	}
	for _, name := range []string{"go_build_info", "go_goroutines", "pointsbook_live_connections", "pointsbook_http_request_duration_seconds"} {
		if families[name] == nil {
			t.Errorf("no metric %s", name)
		}
	}

	checkBetEvents(t, logs.String(), ids)
}

// checkBetEvents finds the bet events of the log: one line per placed,
// refused and settled bet, with the fields of docs/operations.md.
func checkBetEvents(t *testing.T, log string, ids map[string]string) {
	t.Helper()
	type event struct {
		Action string `json:"event.action"`
		Reason string `json:"event.reason"`
		Result string `json:"event.outcome"`
		Sport  string `json:"pointsbook.sport"`
		Staked *int64 `json:"pointsbook.points.staked"`
		Paid   *int64 `json:"pointsbook.points.paid"`
		Bet    string `json:"pointsbook.bet.id"`
		// The level's key is slog's, or the ECS name a log handler may
		// rename it to.
		Level    string `json:"level"`
		ECSLevel string `json:"log.level"`
	}
	placed, settled := map[string]event{}, map[string]event{}
	var reasons []string
	for line := range strings.Lines(log) {
		var e event
		if json.Unmarshal([]byte(line), &e) != nil || !strings.HasPrefix(e.Action, "bet.") {
			continue
		}
		if e.Level+e.ECSLevel != "INFO" {
			t.Errorf("bet event at level %s: %s", e.Level, line)
		}
		switch e.Action {
		case "bet.placed":
			placed[e.Bet] = e
		case "bet.refused":
			reasons = append(reasons, e.Reason)
		case "bet.settled":
			settled[e.Bet] = e
		}
	}
	wantPlaced := map[string]struct {
		sport  string
		staked int64
	}{"single": {"football", 1000}, "bask": {"basketball", 500}, "acca": {"mixed", 200}, "big": {"football", 40000}, "keyed": {"football", 5000}}
	if len(placed) != len(wantPlaced) {
		t.Errorf("%d bet.placed lines, want %d", len(placed), len(wantPlaced))
	}
	for name, w := range wantPlaced {
		e := placed[ids[name]]
		if e.Sport != w.sport || e.Staked == nil || *e.Staked != w.staked {
			t.Errorf("bet.placed of %s (%s) = %+v, want %s staking %d", name, ids[name], e, w.sport, w.staked)
		}
	}
	sort.Strings(reasons)
	if want := []string{"insufficient_points", "odds_changed", "stake_out_of_limits"}; !slices.Equal(reasons, want) {
		t.Errorf("bet.refused reasons %v, want %v", reasons, want)
	}
	wantSettled := map[string]struct {
		sport, outcome string
		paid           int64
	}{"single": {"football", "won", 2000}, "bask": {"basketball", "lost", 0}, "acca": {"mixed", "won", 800}, "big": {"football", "won", 80000}, "keyed": {"football", "won", 10000}}
	if len(settled) != len(wantSettled) {
		t.Errorf("%d bet.settled lines, want %d", len(settled), len(wantSettled))
	}
	for name, w := range wantSettled {
		e := settled[ids[name]]
		if e.Sport != w.sport || e.Result != w.outcome || e.Paid == nil || *e.Paid != w.paid {
			t.Errorf("bet.settled of %s (%s) = %+v, want %s %s paying %d", name, ids[name], e, w.sport, w.outcome, w.paid)
		}
	}
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		if labelValue(m, k) != v {
			return false
		}
	}
	return true
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// createBasketball creates a basketball match with a moneyline (1.80 /
// 2.00) as the operator and returns its id and selections by name.
func createBasketball(t *testing.T, base, adminToken string) (string, map[string]selectionRef) {
	t.Helper()
	r := mustCall(t, "POST", base+"/api/v1/admin/matches", adminToken, map[string]any{
		"sport": "basketball", "league": "KBL", "home": "Seoul Knights", "away": "Busan Sonics",
		"kickoff_at": time.Now().UTC().Add(3 * time.Hour).Truncate(time.Second).Format(time.RFC3339),
		"markets":    []map[string]any{{"kind": "moneyline", "odds": map[string]string{"home": "1.80", "away": "2.00"}}},
	}, http.StatusCreated)
	var m struct {
		ID         string `json:"id"`
		MainMarket struct {
			Selections []selectionRef `json:"selections"`
		} `json:"main_market"`
	}
	r.decode(t, &m)
	out := map[string]selectionRef{}
	for _, s := range m.MainMarket.Selections {
		out[s.Name] = s
	}
	if len(out) != 2 {
		t.Fatalf("basketball match: %s", r.Body)
	}
	return m.ID, out
}
