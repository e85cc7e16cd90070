package sqlstore_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// BenchmarkPlaceBatch times what the placement writer does for one group
// commit: 64 single bets from 64 players, each with an idempotency key
// whose response is stored, in one transaction (PlaceDirect runs the same
// code as the group commit's batch). It reports the writer's time per
// bet, which bounds placement throughput on SQLite's one writer.
//
//	go test -run='^$' -bench=PlaceBatch ./internal/sqlstore/
func BenchmarkPlaceBatch(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		b.Run(c.name, func(b *testing.B) {
			db := c.open(b)
			ctx := context.Background()
			const players, batch = 200, 64
			users := benchPlayers(b, db, "placer", players)
			sels := benchMatch(b, db, "Away").Markets[0].Selections
			render := func(v any, err error) (int, []byte) {
				if err != nil {
					return 422, []byte(`{"error":{}}`)
				}
				body, _ := json.Marshal(v)
				return 201, body
			}
			n := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				reqs := make([]*betting.PlaceRequest, batch)
				for j := range reqs {
					n++
					s, u := sels[n%len(sels)], users[n%players]
					reqs[j] = &betting.PlaceRequest{UserID: u, Slip: betting.Slip{Stake: 100, OddsPolicy: betting.AcceptAny,
						Legs: []betting.LegRequest{{SelectionID: s.ID, Odds: s.Odds}}},
						Idempotency: &idempotency.Key{Owner: "user:" + u, Key: strconv.Itoa(n), Hash: "h", Render: render}}
				}
				placed, errs, err := db.PlaceDirect(ctx, reqs)
				if err != nil {
					b.Fatal(err)
				}
				for j, e := range errs {
					if e != nil || placed[j] == nil {
						b.Fatalf("bet %d: %v", j, e)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/bet")
		})
	}
}
