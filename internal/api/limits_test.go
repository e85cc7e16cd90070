package api_test

import (
	"fmt"
	"testing"
	"time"
)

func TestPlayLimitsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	home := selection(e.match, 0, "home")
	bet := func(stake int) string {
		return fmt.Sprintf(`{"stake":%d,"legs":[{"selection_id":%q,"odds":"2.05"}]}`, stake, home)
	}

	st := e.want(e.do("GET", "/api/v1/me/limits", e.player, "", nil), 200)
	daily := st["daily"].(map[string]any)
	if daily["limit"] != nil || daily["staked"].(float64) != 0 || st["time_zone"] != "Asia/Seoul" || st["operator_daily_cap"].(float64) != 0 {
		t.Fatalf("initial limits = %v", st)
	}
	st = e.want(e.do("PUT", "/api/v1/me/limits", e.player, `{"daily": 1500, "weekly": 10000}`, nil), 200)
	if st["daily"].(map[string]any)["limit"].(float64) != 1500 || st["weekly"].(map[string]any)["limit"].(float64) != 10000 {
		t.Fatalf("after PUT = %v", st)
	}
	// Bad input: 400 with a code, and nothing changes.
	for _, tc := range []struct{ body, code string }{
		{`{"daily": -1}`, "invalid_limit"},
		{`{"daily": 0}`, "invalid_limit"},
		{`{"daily": 1.5}`, "invalid_limit"},
		{`{"daily": "100"}`, "invalid_limit"},
		{`{"daily": 1000000000001}`, "invalid_limit"},
		{`{"yearly": 100}`, "unknown_field"},
		{`{}`, "invalid_limits"},
		{`not json`, "invalid_json"},
		{``, "invalid_json"},
	} {
		if got := errCode(e.want(e.do("PUT", "/api/v1/me/limits", e.player, tc.body, nil), 400)); got != tc.code {
			t.Errorf("PUT %s: code %q, want %q", tc.body, got, tc.code)
		}
	}
	if st := e.want(e.do("GET", "/api/v1/me/limits", e.player, "", nil), 200); st["daily"].(map[string]any)["limit"].(float64) != 1500 {
		t.Fatalf("bad input changed the limits: %v", st)
	}

	e.want(e.do("POST", "/api/v1/bets", e.player, bet(1000), nil), 201)
	e.want(e.do("POST", "/api/v1/bets", e.player, bet(500), nil), 201) // exactly 1500
	refused := e.want(e.do("POST", "/api/v1/bets", e.player, bet(100), nil), 422)
	if errCode(refused) != "stake_limit_reached" || refused["error"].(map[string]any)["details"].(map[string]any)["period"] != "daily" {
		t.Fatalf("over the limit: %v", refused)
	}
	// An increase is pending for 24 h; the limit in force stays.
	st = e.want(e.do("PUT", "/api/v1/me/limits", e.player, `{"daily": 5000, "weekly": null}`, nil), 200)
	d := st["daily"].(map[string]any)
	p, ok := d["pending"].(map[string]any)
	if !ok || d["limit"].(float64) != 1500 || p["limit"].(float64) != 5000 || d["remaining"].(float64) != 0 {
		t.Fatalf("pending increase: %v", d)
	}
	at, err := time.Parse(time.RFC3339, p["effective_at"].(string))
	if err != nil || time.Until(at) < 23*time.Hour || time.Until(at) > 25*time.Hour {
		t.Fatalf("effective_at = %v (%v)", p["effective_at"], err)
	}
	if w := st["weekly"].(map[string]any); w["pending"].(map[string]any)["limit"] != nil || w["limit"].(float64) != 10000 {
		t.Fatalf("pending removal: %v", w)
	}

	// Cool-off.
	if b := e.want(e.do("GET", "/api/v1/me/cooloff", e.player, "", nil), 200); b["active"] != false || b["ends_at"] != nil {
		t.Fatalf("no block: %v", b)
	}
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"kind": "nap", "duration": "24h"}`, 400, "invalid_block_kind"},
		{`{"kind": "cooloff", "duration": "23h"}`, 400, "invalid_duration"},
		{`{"kind": "cooloff", "duration": "7 days"}`, 400, "invalid_duration"},
		{`{"kind": "cooloff"}`, 400, "invalid_duration"},
		{`{"kind": "self_exclusion", "duration": "6w"}`, 400, "invalid_duration"},
		{`{"kind": "cooloff", "duration": 24}`, 400, "invalid_json"},
		{`{"kind": "cooloff", "duration": "24h", "until": "never"}`, 400, "unknown_field"},
	} {
		if got := errCode(e.want(e.do("POST", "/api/v1/me/cooloff", e.player, tc.body, nil), tc.status)); got != tc.code {
			t.Errorf("POST %s: code %q, want %q", tc.body, got, tc.code)
		}
	}
	if b := e.want(e.do("GET", "/api/v1/me/cooloff", e.player, "", nil), 200); b["active"] != false {
		t.Fatalf("bad input started a block: %v", b)
	}
	b := e.want(e.do("POST", "/api/v1/me/cooloff", e.player, `{"kind": "cooloff", "duration": "2d"}`, nil), 201)
	if b["active"] != true || b["kind"] != "cooloff" || b["ends_at"] == nil {
		t.Fatalf("cool-off = %v", b)
	}
	e.want(e.do("POST", "/api/v1/bets", e.other, bet(100), nil), 201) // others still play
	refused = e.want(e.do("POST", "/api/v1/bets", e.player, bet(100), nil), 422)
	if errCode(refused) != "cooloff_active" {
		t.Fatalf("bet in a cool-off: %v", refused)
	}
	if got := errCode(e.want(e.do("POST", "/api/v1/me/cooloff", e.player, `{"kind": "cooloff", "duration": "24h"}`, nil), 409)); got != "block_not_shortened" {
		t.Fatalf("shortening: %q", got)
	}
	if g := e.want(e.do("GET", "/api/v1/me/cooloff", e.player, "", nil), 200); g["active"] != true || g["ends_at"] != b["ends_at"] {
		t.Fatalf("block after a refused change = %v", g)
	}
	if got := errCode(e.want(e.do("POST", "/api/v1/me/cooloff", e.player, `{"kind": "self_exclusion", "duration": "1y"}`, nil), 201)); got != "" {
		t.Fatalf("a longer block: %q", got)
	}

	// Activity statement.
	act := e.want(e.do("GET", "/api/v1/me/statement/activity", e.player, "", nil), 200)
	if act["bets"].(float64) != 2 || act["staked"].(float64) != 1500 || act["returns"].(float64) != 0 || act["pending"].(float64) != 1500 || act["net"].(float64) != 0 || act["sessions"].(float64) != 1 {
		t.Fatalf("activity = %v", act)
	}
	today := time.Now().In(time.FixedZone("KST", 9*3600)).Format("2006-01-02")
	act = e.want(e.do("GET", "/api/v1/me/statement/activity?from="+today+"&to="+today, e.player, "", nil), 200)
	if act["staked"].(float64) != 1500 || act["time_zone"] != "Asia/Seoul" {
		t.Fatalf("today's activity = %v", act)
	}
	for _, q := range []string{"from=yesterday", "from=2026-11-25&to=2026-11-24", "from=2024-01-01&to=2026-01-01", "to=2026-11-24T10:00:00"} {
		if got := errCode(e.want(e.do("GET", "/api/v1/me/statement/activity?"+q, e.player, "", nil), 400)); got != "invalid_period" {
			t.Errorf("?%s: code %q", q, got)
		}
	}
	e.want(e.do("GET", "/api/v1/me/statement/activity", "", "", nil), 401)
}
