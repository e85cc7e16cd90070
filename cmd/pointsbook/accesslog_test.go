package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/geoip/geoiptest"
)

// TestAccessLogThroughRun: the binary as started by Run, with a GeoIP
// database, behind a trusted proxy (the loopback peer): the access line
// of a signed-in player's request has the ECS fields, the place of the
// address the proxy names, the user, the proxy's request id and trace,
// and slog's own keys under their ECS names.
func TestAccessLogThroughRun(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "city.mmdb")
	geoiptest.Write(t, db, geoiptest.Fixture)
	base, stop := runServe(t, map[string]string{"PB_FEED": "none", "PB_GEOIP_DB": db, "PB_TRUSTED_PROXIES": "127.0.0.0/8,::1/128"})
	waitStatus(t, base+"/readyz", http.StatusOK, readyLimit(), 50*time.Millisecond)
	id := signup(t, base, "geokim")
	token := login(t, base, "geokim", playerPassword)

	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	get := func(path, requestID string) *http.Response {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.Header.Set("X-Request-Id", requestID)
		req.Header.Set("Traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
		req.Header.Set("User-Agent", "geo-test\xff")
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get("/api/v1/me?access_token=hush&lang=ko", "main-req-1"); res.StatusCode != 200 || res.Header.Get("X-Request-Id") != "main-req-1" {
		t.Fatalf("GET /api/v1/me = %d, X-Request-Id %q", res.StatusCode, res.Header.Get("X-Request-Id"))
	}
	get("/matches/m_404", "main-req-2") // a page route, through the site's own layers
	code, stdout, _ := stop()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}

	byID := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		if rec["event.dataset"] == "pointsbook.access" {
			if id, _ := rec["http.request.id"].(string); id != "" {
				byID[id] = rec
			}
		}
	}
	line := byID["main-req-1"]
	if line == nil {
		t.Fatalf("no access line for main-req-1:\n%s", stdout)
	}
	want := map[string]any{
		"message": "http request", "log.level": "INFO",
		"http.request.method": "GET", "http.route": "GET /api/v1/me", "url.path": "/api/v1/me",
		"url.query": "access_token=REDACTED&lang=ko", "http.response.status_code": float64(200),
		"client.ip": "203.0.113.9", "client.geo.country_iso_code": "KR", "client.geo.country_name": "South Korea",
		"client.geo.city_name": "Seoul", "user.id": id, "user.name": "geokim",
		"user_agent.original": "geo-test\ufffd", "trace.id": trace,
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %#v, want %#v", k, line[k], v)
		}
	}
	if loc, _ := line["client.geo.location"].(map[string]any); loc["lat"] != 37.5665 || loc["lon"] != 126.978 {
		t.Errorf("client.geo.location = %v", line["client.geo.location"])
	}
	if n, _ := line["http.response.body.bytes"].(float64); n <= 0 {
		t.Errorf("http.response.body.bytes = %v", line["http.response.body.bytes"])
	}
	if d, _ := line["event.duration"].(float64); d <= 0 {
		t.Errorf("event.duration = %v", line["event.duration"])
	}
	ts, _ := line["@timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !regexp.MustCompile(`T\d\d:\d\d:\d\d\.\d+`).MatchString(ts) {
		t.Errorf("@timestamp = %q", ts)
	}
	if strings.Contains(stdout, "hush") {
		t.Error("a token in a query string reached the log")
	}
	if page := byID["main-req-2"]; page == nil || page["http.route"] != "GET /matches/{id}" || page["user.name"] != "geokim" {
		t.Errorf("page access line = %v", page)
	}
}
