package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
)

// TestAppendBetList checks that a page of bets written by appendBetList is
// the document writeList writes for it, with and without a next page and
// for an empty page.
func TestAppendBetList(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	bets := []*betting.Bet{
		{ID: "b_2", State: betting.Open, Stake: 100, Odds: "2.05", PotentialPayout: 205, OddsPolicy: "reject", PlacedAt: at,
			Legs: []*betting.Leg{{SelectionID: "s_1", MatchID: "m_1", MarketID: "mk_1", MarketKind: betting.OneXTwo, Selection: "home", Odds: 205, State: betting.LegOpen}}},
		{ID: "b_1", State: betting.Void, PlacedAt: at, Legs: []*betting.Leg{}},
	}
	for _, tt := range []struct {
		bets []*betting.Bet
		next string
	}{{bets, "b_1"}, {bets, ""}, {nil, ""}, {bets[:1], `b_"<&>`}} {
		body := map[string]any{"items": tt.bets}
		if tt.bets == nil {
			body["items"] = []*betting.Bet{}
		}
		if tt.next != "" {
			body["next_cursor"] = tt.next
		}
		want, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendBetList(nil, tt.bets, tt.next); !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
