package sqlstore

import (
	"context"
	"database/sql"
	"sort"
	"sync/atomic"

	"github.com/pointsbook/pointsbook/internal/betting"
)

// PlaceDirect places the given bets in one transaction of its own,
// bypassing the group-commit queue that PlaceBet feeds. It is used to
// measure the store's ceilings (one bet per transaction, or many) and to
// seed large datasets; the API never calls it.
//
// Each bet is checked exactly as PlaceBet checks it. The answer for
// reqs[i] is bets[i] (placed) or errs[i] (a rule refusal, or
// user_not_found for a malformed user id); a request whose idempotency
// key was already used gets neither, since there is nothing new to
// return. err is non-nil when the transaction failed as a whole, in which
// case nothing was placed. The transaction is retried on a PostgreSQL
// deadlock or serialization failure like any other.
func (db *DB) PlaceDirect(ctx context.Context, reqs []*betting.PlaceRequest) ([]*betting.Bet, []error, error) {
	bets := make([]*betting.Bet, len(reqs))
	errs := make([]error, len(reqs))
	type item struct {
		i   int
		job *placeJob
	}
	items := make([]item, 0, len(reqs))
	for i, req := range reqs {
		uid, ok := parseID(pUser, req.UserID)
		if !ok {
			errs[i] = errNoUser()
			continue
		}
		items = append(items, item{i: i, job: &placeJob{ctx: ctx, req: req, uid: uid}})
	}
	if len(items) == 0 {
		return bets, errs, nil
	}
	// The same global lock order as the group commit: player rows by id,
	// so concurrent calls on PostgreSQL do not deadlock on each other.
	sort.SliceStable(items, func(a, b int) bool { return items[a].job.uid < items[b].job.uid })
	results := make([]placeResult, len(items))
	err := db.tx(ctx, func(tx *sql.Tx) error {
		// A retried transaction starts over; earlier answers are void.
		clear(results)
		jobs := make([]*placeJob, len(items))
		for k, it := range items {
			jobs[k] = it.job
		}
		// Concurrent callers spread over the house shards as the
		// placer's writers do.
		rs, err := db.placeJobs(ctx, tx, jobs, db.Now(), int(directSeq.Add(1)))
		copy(results, rs)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	for k, it := range items {
		bets[it.i], errs[it.i] = results[k].bet, results[k].err
	}
	return bets, errs, nil
}

// directSeq spreads concurrent PlaceDirect calls over the house shards.
var directSeq atomic.Int64
