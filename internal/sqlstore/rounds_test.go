package sqlstore

import (
	"slices"
	"testing"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/idempotency"
)

// TestOnePerPlayer checks how a batch is cut into the rounds that the bet
// write takes one at a time (one statement each on PostgreSQL): a player,
// or an idempotency key, at most once per round, and each player's bets in
// their order.
func TestOnePerPlayer(t *testing.T) {
	t.Parallel()
	type bet struct {
		uid int64
		key string // owner "o" when set
	}
	tests := []struct {
		name   string
		bets   []bet
		rounds [][]int // indexes into bets
	}{
		{"distinct players", []bet{{1, ""}, {2, ""}, {3, ""}}, [][]int{{0, 1, 2}}},
		{"a player twice", []bet{{1, ""}, {2, ""}, {1, ""}, {3, ""}, {1, ""}}, [][]int{{0, 1, 3}, {2}, {4}}},
		{"one key on two players", []bet{{1, "k"}, {2, "k"}, {3, "j"}}, [][]int{{0, 2}, {1}}},
		{"no keys never collide", []bet{{1, ""}, {2, ""}}, [][]int{{0, 1}}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pending := make([]*pendingBet, len(tt.bets))
			for i, b := range tt.bets {
				req := &betting.PlaceRequest{}
				if b.key != "" {
					req.Idempotency = &idempotency.Key{Owner: "o", Key: b.key}
				}
				pending[i] = &pendingBet{i: i, j: &placeJob{uid: b.uid, req: req}}
			}
			var got [][]int
			for len(pending) > 0 {
				var round []*pendingBet
				round, pending = onePerPlayer(pending)
				var idx []int
				for _, p := range round {
					idx = append(idx, p.i)
				}
				got = append(got, idx)
			}
			if !slices.EqualFunc(got, tt.rounds, slices.Equal) {
				t.Fatalf("rounds %v, want %v", got, tt.rounds)
			}
		})
	}
}
