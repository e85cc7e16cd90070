package api_test

import (
	"fmt"
	"testing"
	"time"
)

// TestBetLegsSayWhatTheyAreOn: a bet read back shows each leg's match
// (teams, league, sport, kick-off, state, score) and the implied
// probability it was taken at, and an accumulator's odds exactly as it
// pays; the sport counts say how many are still to play and live.
func TestBetLegsSayWhatTheyAreOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	second := e.createMatch(time.Now().Add(3 * time.Hour))
	home, over := selection(e.match, 0, "home"), selection(second, 1, "over")
	body := fmt.Sprintf(`{"stake":1000,"legs":[{"selection_id":%q,"odds":"2.05"},{"selection_id":%q,"odds":"1.90"}]}`, home, over)
	placed := e.want(e.do("POST", "/api/v1/bets", e.player, body, nil), 201)
	// 2.05 × 1.90 = 3.895 exactly: shown rounded it would read 3.89.
	if placed["odds"] != "3.895" || placed["potential_payout"] != float64(3895) {
		t.Fatalf("placed acca: odds %v, payout %v", placed["odds"], placed["potential_payout"])
	}
	got := e.want(e.do("GET", "/api/v1/bets/"+placed["id"].(string), e.player, "", nil), 200)
	list := e.want(e.do("GET", "/api/v1/me/bets", e.player, "", nil), 200)
	items := list["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("my bets = %v", list)
	}
	for name, b := range map[string]map[string]any{"GET /bets/{id}": got, "GET /me/bets": items[0].(map[string]any)} {
		if b["odds"] != "3.895" {
			t.Errorf("%s odds = %v, want 3.895", name, b["odds"])
		}
		legs := b["legs"].([]any)
		for i, m := range []map[string]any{e.match, second} {
			leg := legs[i].(map[string]any)
			lm, ok := leg["match"].(map[string]any)
			if !ok {
				t.Fatalf("%s leg %d has no match: %v", name, i, leg)
			}
			for _, k := range []string{"sport", "kickoff_at", "state"} {
				if lm[k] != m[k] {
					t.Errorf("%s leg %d match %s = %v, want %v", name, i, k, lm[k], m[k])
				}
			}
			for _, k := range []string{"home", "away", "league"} {
				if fmt.Sprint(lm[k]) != fmt.Sprint(m[k]) {
					t.Errorf("%s leg %d match %s = %v, want %v", name, i, k, lm[k], m[k])
				}
			}
			if v, ok := lm["score"]; !ok || v != nil {
				t.Errorf("%s leg %d score = %v, want null before kick-off", name, i, v)
			}
		}
		// As the match detail showed them when the bet was placed.
		for i, want := range []any{implied(e.match, 0, "home"), implied(second, 1, "over")} {
			if got := legs[i].(map[string]any)["implied_probability"]; got != want || got == nil {
				t.Errorf("%s leg %d implied probability %v, want %v", name, i, got, want)
			}
		}
	}
	kick, _ := time.Parse(time.RFC3339, e.match["kickoff_at"].(string))
	sports := e.want(e.do("GET", "/api/v1/sports?tz=UTC&date="+kick.Format("2006-01-02"), "", "", nil), 200)
	football := sports["items"].([]any)[0].(map[string]any)
	if football["slug"] != "football" || football["upcoming"].(float64) < 1 || football["live"] != float64(0) || football["today"] != football["upcoming"] {
		t.Errorf("football count = %v", football)
	}
}

// implied returns a selection's implied probability from a match detail.
func implied(m map[string]any, market int, name string) any {
	for _, s := range m["markets"].([]any)[market].(map[string]any)["selections"].([]any) {
		if s.(map[string]any)["name"] == name {
			return s.(map[string]any)["implied_probability"]
		}
	}
	return nil
}
