package api_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestMatchOddsHistory reads a match's price history: every selection
// with its opening price, a move as a second version, one market alone,
// and the same versions page by page.
func TestMatchOddsHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.match["id"].(string)
	home := selection(e.match, 0, "home")
	if err := e.db.UpdateOdds(t.Context(), home, 198); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/matches/" + id + "/odds"
	body := e.want(e.do("GET", path, "", "", nil), 200)
	items := body["items"].([]any)
	if len(items) != 5 || body["next_cursor"] != nil {
		t.Fatalf("history = %v", body)
	}
	first := items[0].(map[string]any)
	versions := first["versions"].([]any)
	if first["selection_id"] != home || first["kind"] != "1x2" || first["name"] != "home" || first["market_id"] != e.match["markets"].([]any)[0].(map[string]any)["id"] || len(versions) != 2 {
		t.Fatalf("first selection %v", first)
	}
	v0, v1 := versions[0].(map[string]any), versions[1].(map[string]any)
	if v0["odds"] != "2.05" || v1["odds"] != "1.98" || v0["at"] == "" || v1["implied_ppm"].(float64) <= v0["implied_ppm"].(float64) {
		t.Fatalf("home versions %v", versions)
	}
	if tot := items[3].(map[string]any); tot["kind"] != "total" || tot["line"] != "2.50" || tot["name"] != "over" {
		t.Fatalf("fourth selection %v", tot)
	}

	// One market.
	market := e.match["markets"].([]any)[1].(map[string]any)["id"].(string)
	only := e.want(e.do("GET", path+"?market="+market, "", "", nil), 200)["items"].([]any)
	if len(only) != 2 || only[0].(map[string]any)["name"] != "over" {
		t.Fatalf("total market only: %v", only)
	}

	// Pages of one version each give the six versions in order.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 6 {
			t.Fatal("more pages than versions")
		}
		page := e.want(e.do("GET", path+"?limit=1&cursor="+cursor, "", "", nil), 200)
		for _, it := range page["items"].([]any) {
			it := it.(map[string]any)
			for _, v := range it["versions"].([]any) {
				seen = append(seen, fmt.Sprint(it["name"], " ", v.(map[string]any)["odds"]))
			}
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	want := []string{"home 2.05", "home 1.98", "draw 3.30", "away 3.60", "over 1.90", "under 1.90"}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("paged versions %v, want %v", seen, want)
	}
}

// TestMatchOddsHistoryBadInput: an unknown or malformed match is 404, a
// page size out of bounds or a cursor not from a page is 400, and no bad
// input is a 500.
func TestMatchOddsHistoryBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.match["id"].(string)
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v1/matches/m_999999/odds", 404, "match_not_found"},
		{"/api/v1/matches/abc/odds", 404, "match_not_found"},
		{"/api/v1/matches/m_/odds", 404, "match_not_found"},
		{"/api/v1/matches/" + id + "/odds?limit=501", 400, "invalid_limit"},
		{"/api/v1/matches/" + id + "/odds?limit=0", 400, "invalid_limit"},
		{"/api/v1/matches/" + id + "/odds?limit=-3", 400, "invalid_limit"},
		{"/api/v1/matches/" + id + "/odds?limit=ten", 400, "invalid_limit"},
		{"/api/v1/matches/" + id + "/odds?limit=99999999999999999999", 400, "invalid_limit"},
		{"/api/v1/matches/" + id + "/odds?cursor=zz", 400, "invalid_cursor"},
		{"/api/v1/matches/" + id + "/odds?cursor=1.", 400, "invalid_cursor"},
		{"/api/v1/matches/" + id + "/odds?cursor=" + strings.Repeat("9", 30) + ".1", 400, "invalid_cursor"},
		{"/api/v1/matches/" + id + "/odds?market=mk_999999", 404, "market_not_found"},
		{"/api/v1/matches/" + id + "/odds?market=zz", 404, "market_not_found"},
	} {
		body := e.want(e.do("GET", c.path, "", "", nil), c.status)
		if errCode(body) != c.code {
			t.Errorf("GET %s: %v, want %s", c.path, body, c.code)
		}
	}
	// The largest page is accepted.
	e.want(e.do("GET", fmt.Sprintf("/api/v1/matches/%s/odds?limit=%d", id, 500), "", "", nil), 200)
}
