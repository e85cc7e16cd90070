package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/playlimit"
	"github.com/pointsbook/pointsbook/internal/sport"
)

type placeResult struct {
	bet    *betting.Bet
	replay *idempotency.Replay
	err    error
}

type placeJob struct {
	ctx  context.Context
	req  *betting.PlaceRequest
	uid  int64
	done chan placeResult
	// offers, when set, holds the batch's offers read in one query.
	offers map[string]*betting.Offer
	// guard, when set, is the player's zone, limits and block, read with
	// the batch (loadGuards).
	guard *playGuard
}

// placer implements group commit: concurrent placements queue here and a
// writer takes everything queued, places each bet in turn inside one
// transaction and commits once. With synchronous=FULL (SQLite) or
// synchronous_commit=on (PostgreSQL) each commit waits for a disk flush,
// so sharing it is what lets throughput exceed one flush per bet. Every
// bet is still validated and answered on its own; checks run before any
// write, so a refused bet leaves nothing behind in the shared transaction.
type placer struct {
	db      *DB
	queue   chan *placeJob
	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup

	// busy counts writers holding a batch; turn is closed, and replaced,
	// each time a batch is answered. See yield.
	busy atomic.Int32
	mu   sync.Mutex
	turn chan struct{}
}

func newPlacer(db *DB) *placer {
	p := &placer{db: db, queue: make(chan *placeJob, 4096), stop: make(chan struct{}), turn: make(chan struct{})}
	for i := 0; i < db.cfg.Writers; i++ {
		p.wg.Add(1)
		go p.run(i)
	}
	return p
}

func (p *placer) close() {
	p.stopped.Do(func() { close(p.stop) })
	p.wg.Wait()
}

func (p *placer) run(worker int) {
	defer p.wg.Done()
	max := p.db.cfg.GroupCommitMax
	for {
		var first *placeJob
		select {
		case first = <-p.queue:
		case <-p.stop:
			// Answer whatever is still queued before exiting.
			for {
				select {
				case j := <-p.queue:
					j.done <- placeResult{err: fault.ErrUnavailable}
				default:
					return
				}
			}
		}
		batch := []*placeJob{first}
		if w := p.db.cfg.GroupCommitWait; w > 0 {
			t := time.NewTimer(w)
		gather:
			for len(batch) < max {
				select {
				case j := <-p.queue:
					batch = append(batch, j)
				case <-t.C:
					break gather
				}
			}
			t.Stop()
		}
	drain:
		for len(batch) < max {
			select {
			case j := <-p.queue:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		p.busy.Add(1)
		p.db.placeBatch(batch, worker)
		p.busy.Add(-1)
		p.mu.Lock()
		close(p.turn)
		p.turn = make(chan struct{})
		p.mu.Unlock()
	}
}

// yield waits, for at most max, until waiting placements have had a
// batch. Settlement calls it between its batches on SQLite, where both
// share the one writing connection: database/sql hands a freed connection
// to a random waiter, so a bet could wait out several settlement batches
// in a row. Taking turns bounds that wait to about one batch.
func (p *placer) yield(max time.Duration) {
	if len(p.queue) == 0 && p.busy.Load() == 0 {
		return
	}
	p.mu.Lock()
	turn := p.turn
	p.mu.Unlock()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-turn:
	case <-t.C:
	case <-p.stop:
	}
}

// PlaceBet places a bet: market open, odds under the slip's policy,
// limits, balance, then the stake debited and the bet written, all in
// one transaction (shared with other placements committing at the same
// moment). A replayed idempotency key returns the stored response.
//
// Codes: invalid_stake, stake_out_of_limits, invalid_legs,
// invalid_odds_policy, unknown_selection, market_closed, duplicate_match,
// odds_changed, payout_over_limit, insufficient_points,
// cooloff_active, self_excluded, daily_stake_cap_reached,
// stake_limit_reached, idempotency_key_reused, database_unavailable.
func (db *DB) PlaceBet(ctx context.Context, req *betting.PlaceRequest) (*betting.Bet, *idempotency.Replay, error) {
	uid, ok := parseID(pUser, req.UserID)
	if !ok {
		return nil, nil, errNoUser()
	}
	// Shape errors need no database; they are still recorded against an
	// idempotency key so that a retry gets the same answer.
	job := &placeJob{ctx: ctx, req: req, uid: uid, done: make(chan placeResult, 1)}
	select {
	case db.placer.queue <- job:
	case <-db.placer.stop:
		return nil, nil, fault.ErrUnavailable
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("%w: %w", fault.ErrUnavailable, ctx.Err())
	}
	select {
	case r := <-job.done:
		return r.bet, r.replay, r.err
	case <-ctx.Done():
		// The batch may still commit; the idempotency key (if any) makes
		// the client's retry safe.
		return nil, nil, fmt.Errorf("%w: %w", fault.ErrUnavailable, ctx.Err())
	}
}

func (db *DB) placeBatch(batch []*placeJob, worker int) {
	live := batch[:0]
	for _, j := range batch {
		if j.ctx.Err() != nil {
			j.done <- placeResult{err: fmt.Errorf("%w: %w", fault.ErrUnavailable, j.ctx.Err())}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	// Lock player rows in one global order so that concurrent batches on
	// PostgreSQL cannot deadlock on each other.
	sort.SliceStable(live, func(a, b int) bool { return live[a].uid < live[b].uid })
	results := make([]placeResult, len(live))
	// A batch outlives any single request, so it runs on its own context.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := db.Now()
	var commitErr error
	err := func() error {
		tx, err := db.rw.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // no-op after Commit
		var house int64
		offers, err := db.loadOffers(ctx, tx, live)
		if err != nil {
			return err
		}
		guards, err := db.loadGuards(ctx, tx, live)
		if err != nil {
			return err
		}
		for i, j := range live {
			j.offers, j.guard = offers, guards[j.uid]
			r, err := db.placeOne(ctx, tx, j, now, &house)
			if err != nil {
				return err
			}
			results[i] = r
		}
		if err := db.creditHouse(ctx, tx, house, worker); err != nil {
			return err
		}
		commitErr = tx.Commit()
		return nil
	}()
	switch {
	case err != nil:
		// A statement failed (not a rule refusal): the transaction is
		// rolled back, so place each bet alone to keep one bad request or
		// a deadlock from failing the others.
		for _, j := range live {
			var r placeResult
			j.offers, j.guard = nil, nil
			txErr := db.tx(ctx, func(tx *sql.Tx) error {
				var err error
				var house int64
				if r, err = db.placeOne(ctx, tx, j, db.Now(), &house); err != nil {
					return err
				}
				return db.creditHouse(ctx, tx, house, worker)
			})
			if txErr != nil {
				r = placeResult{err: txErr}
			}
			j.done <- r
		}
	case commitErr != nil:
		// The outcome of a failed commit is unknown; answer 503 and let
		// idempotency keys make retries safe, rather than risk placing
		// twice.
		for _, j := range live {
			j.done <- placeResult{err: classify(commitErr)}
		}
	default:
		for i, j := range live {
			j.done <- results[i]
		}
	}
}

// placeOne places one bet inside tx. A rule refusal is returned in the
// result (nothing written but the idempotency record); a returned error
// means a statement failed and the transaction must be abandoned.
//
// The stake's credit to the house balance is added to *house, and the
// caller applies the sum once, just before commit (creditHouse). Taking
// the house row last, after every player row, gives all placement
// transactions one lock order, so concurrent batches on PostgreSQL never
// deadlock; and one update per batch instead of one per bet keeps the
// row's lock short.
func (db *DB) placeOne(ctx context.Context, tx *sql.Tx, j *placeJob, now time.Time, house *int64) (placeResult, error) {
	req := j.req
	idem := req.Idempotency
	if idem != nil {
		replay, err := db.claimKey(ctx, tx, idem, now)
		if err != nil || replay != nil {
			return placeResult{replay: replay}, err
		}
	}
	bet, refusal, err := db.placeChecked(ctx, tx, j, now, house)
	if err != nil {
		return placeResult{}, err
	}
	if idem != nil {
		var v any = bet
		if refusal != nil {
			v = nil
		}
		if err := db.storeKey(ctx, tx, idem, v, refusal); err != nil {
			return placeResult{}, err
		}
	}
	return placeResult{bet: bet, err: refusal}, nil
}

// placeChecked runs every check, then writes. refusal is a rule refusal.
func (db *DB) placeChecked(ctx context.Context, tx *sql.Tx, j *placeJob, now time.Time, house *int64) (bet *betting.Bet, refusal error, err error) {
	slip := j.req.Slip
	lim := db.cfg.Limits
	if e := slip.Check(lim); e != nil {
		return nil, e, nil
	}
	guard, err := db.guard(ctx, tx, j)
	if err != nil {
		return nil, nil, err
	}
	if guard.block.Active(now) {
		return nil, playlimit.Blocked(guard.block.Kind, guard.block.EndsAt), nil
	}
	offers, err := db.offers(ctx, tx, j)
	if err != nil {
		return nil, nil, err
	}
	legs, potential, e := betting.Price(&slip, offers, lim, now)
	if e != nil {
		return nil, e, nil
	}
	prices := make([]odds.Odds, len(legs))
	for i, l := range legs {
		prices[i] = l.Odds
	}
	combined, _ := odds.Combined(prices)
	// The stake ceilings (the operator's daily cap, the player's own
	// limits) are checked and the stake counted in one statement, before
	// the debit (writeBet); a bet the balance then refuses is taken back
	// out.
	st := db.newStakeTally(guard, now)
	if !st.caps.Allows(playlimit.Tally{}, slip.Stake) {
		return nil, st.caps.Refusal(playlimit.Tally{}, slip.Stake), nil
	}
	// The conditional UPDATE is the balance check and the debit at once:
	// no read-modify-write, so two bets can never spend the same points.
	betID, outcome, err := db.writeBet(ctx, tx, j.uid, &slip, legs, combined, potential, now, st)
	if err != nil {
		return nil, nil, err
	}
	switch outcome {
	case overLimit:
		e, err := db.tallyRefusal(ctx, tx, j.uid, slip.Stake, st, now)
		return nil, e, err
	case lowBalance:
		if err := db.untallyStake(ctx, tx, j.uid, slip.Stake); err != nil {
			return nil, nil, err
		}
		var have int64
		if err := tx.QueryRowContext(ctx, `SELECT b.amount FROM balances b JOIN accounts a ON a.id = b.account_id WHERE a.user_id = $1 AND b.shard = 0`, j.uid).Scan(&have); err != nil {
			return nil, nil, err
		}
		return nil, insufficient(have, slip.Stake), nil
	}
	*house += slip.Stake
	if err != nil {
		return nil, nil, err
	}
	return &betting.Bet{ID: fmtID(pBet, betID), UserID: j.req.UserID, State: betting.Open, Stake: slip.Stake, Odds: combined,
		PotentialPayout: potential, OddsPolicy: slip.OddsPolicy, PlacedAt: now, Legs: legs}, nil, nil
}

// writeOutcome says whether writeBet placed the bet.
type writeOutcome int

const (
	placed     writeOutcome = iota
	overLimit               // the stake does not fit under a ceiling: nothing written
	lowBalance              // the balance does not cover it: only the tally was counted
)

// writeBet counts the stake in the player's tally under their ceilings
// (tallyUpsert), debits it from the wallet (only if the balance covers
// it) and writes the bet, its legs, the stake's ledger transaction and its
// two postings. On PostgreSQL this is one statement of chained
// data-modifying CTEs, one round trip instead of six, which is most of the
// cost of a bet there; SQLite runs in-process and takes the plain
// statements.
func (db *DB) writeBet(ctx context.Context, tx *sql.Tx, uid int64, slip *betting.Slip, legs []*betting.Leg, combined odds.Odds, potential int64, now time.Time, st *stakeTally) (betID int64, outcome writeOutcome, err error) {
	house := db.systemAccount(ledger.HouseAccount)
	legArgs := func(betID any) []any {
		args := make([]any, 0, len(legs)*11)
		for i, l := range legs {
			mid, _ := parseID(pMatch, l.MatchID)
			mkid, _ := parseID(pMarket, l.MarketID)
			sid, _ := parseID(pSelection, l.SelectionID)
			var line sql.NullInt64
			if l.Line != nil {
				line = sql.NullInt64{Int64: int64(*l.Line), Valid: true}
			}
			if betID != nil {
				args = append(args, betID)
			}
			args = append(args, i, mid, mkid, sid, string(l.MarketKind), l.Selection, line, int64(l.Odds), l.ImpliedPPM)
			if betID != nil {
				args = append(args, string(betting.LegOpen))
			}
		}
		return args
	}
	if db.d == dialectPostgres {
		// $1..$6 describe the bet, $7 is the house account and $8..$13
		// the tally's keys and caps; the legs' values follow. Parameters in
		// SELECT lists are cast: PostgreSQL cannot infer their types from
		// an INSERT … SELECT. Every data-modifying CTE runs whether or not
		// it is referenced, so the debit is made conditional on the tally
		// (g), and the answer says which of the two refused.
		args := []any{uid, slip.Stake, int64(combined), potential, string(slip.OddsPolicy), db.d.ts(now), house}
		args = append(args, st.args()...)
		args = append(args, legArgs(nil)...)
		var fits bool
		var id sql.NullInt64
		err := tx.QueryRowContext(ctx, `WITH g AS (`+pgTallyUpsert+` RETURNING user_id),
			d AS (
				UPDATE balances SET amount = amount - $2
				WHERE shard = 0 AND account_id = (SELECT id FROM accounts WHERE user_id = $1) AND amount >= $2
					AND EXISTS (SELECT 1 FROM g)
				RETURNING account_id, amount),
			b AS (
				INSERT INTO bets (user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
				SELECT $1, d.account_id, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS TEXT), 'open', CAST($6 AS TIMESTAMPTZ) FROM d
				RETURNING id),
			l AS (
				INSERT INTO bet_legs (bet_id, leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm, state)
				SELECT b.id, v.leg_no, v.match_id, v.market_id, v.selection_id, v.market_kind, v.selection_name, v.line, v.odds, v.implied_ppm, 'open'
				FROM b, (VALUES `+placeholders(len(legs), 9, 13, "INT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT")+`)
					AS v(leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm)),
			t AS (
				INSERT INTO ledger_tx (kind, reference, created_at)
				SELECT 'stake', 'bet:' || b.id || ':stake', CAST($6 AS TIMESTAMPTZ) FROM b RETURNING id),
			p AS (
				INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at)
				SELECT t.id, d.account_id, -$2, d.amount, CAST($6 AS TIMESTAMPTZ) FROM t, d
				UNION ALL SELECT t.id, CAST($7 AS BIGINT), $2, NULL, CAST($6 AS TIMESTAMPTZ) FROM t)
			SELECT EXISTS (SELECT 1 FROM g), (SELECT b.id FROM b)`, args...).Scan(&fits, &id)
		switch {
		case err != nil:
			return 0, 0, err
		case !fits:
			return 0, overLimit, nil
		case !id.Valid:
			return 0, lowBalance, nil
		}
		return id.Int64, placed, nil
	}
	if fits, err := db.tallyStake(ctx, tx, uid, slip.Stake, st); err != nil || !fits {
		return 0, overLimit, err
	}
	var acct, after int64
	err = tx.QueryRowContext(ctx, `UPDATE balances SET amount = amount - $1
		WHERE shard = 0 AND account_id = (SELECT id FROM accounts WHERE user_id = $2) AND amount >= $1
		RETURNING account_id, amount`, slip.Stake, uid).Scan(&acct, &after)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, lowBalance, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO bets (user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) RETURNING id`,
		uid, acct, slip.Stake, int64(combined), potential, string(slip.OddsPolicy), db.d.ts(now)).Scan(&betID); err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bet_legs (bet_id, leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm, state)
		VALUES `+placeholders(len(legs), 11, 0), legArgs(betID)...); err != nil {
		return 0, 0, err
	}
	var txID int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO ledger_tx (kind, reference, created_at) VALUES ($1, $2, $3) RETURNING id`,
		string(ledger.Stake), "bet:"+strconv.FormatInt(betID, 10)+":stake", db.d.ts(now)).Scan(&txID); err != nil {
		return 0, 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at) VALUES ($1, $2, $3, $4, $5), ($1, $6, $7, NULL, $5)`,
		txID, acct, -slip.Stake, after, db.d.ts(now), house, slip.Stake)
	return betID, placed, err
}

// creditHouse adds the stakes of a batch to the house balance. Each
// writer has its own shard row (writer mod PB_HOUSE_SHARDS), so
// concurrent batches do not queue on one row.
func (db *DB) creditHouse(ctx context.Context, tx *sql.Tx, amount int64, writer int) error {
	if amount == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE balances SET amount = amount + $1 WHERE account_id = $2 AND shard = $3`,
		amount, db.systemAccount(ledger.HouseAccount), writer%db.cfg.HouseShards)
	return err
}

// offers loads what placement needs to know about each requested
// selection, in the slip's order (nil for an unknown selection).
func (db *DB) offers(ctx context.Context, tx *sql.Tx, j *placeJob) ([]*betting.Offer, error) {
	legs := j.req.Slip.Legs
	byID := j.offers
	if byID == nil {
		var err error
		if byID, err = db.loadOffers(ctx, tx, []*placeJob{j}); err != nil {
			return nil, err
		}
	}
	out := make([]*betting.Offer, len(legs))
	for i, l := range legs {
		out[i] = byID[l.SelectionID]
	}
	return out, nil
}

// loadOffers reads the offers of every selection in a batch of
// placements in one query: one round trip for the batch instead of one
// per bet. It reads inside the batch's transaction, so the prices and
// states checked are the ones in force when the bets are written.
func (db *DB) loadOffers(ctx context.Context, tx *sql.Tx, jobs []*placeJob) (map[string]*betting.Offer, error) {
	byID := map[string]*betting.Offer{}
	seen := map[int64]bool{}
	var ids []any
	for _, j := range jobs {
		for _, l := range j.req.Slip.Legs {
			if id, ok := parseID(pSelection, l.SelectionID); ok && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return byID, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT s.id, s.name, s.odds, s.implied_ppm, mk.id, mk.kind, mk.line, mk.open, m.id, m.state, m.kickoff_at
		FROM selections s JOIN markets mk ON mk.id = s.market_id JOIN matches m ON m.id = mk.match_id
		WHERE s.id IN (`+inList(len(ids), 0)+`)`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o betting.Offer
		var sid, price, mkid, mid int64
		var kind, state string
		var line sql.NullInt64
		if err := rows.Scan(&sid, &o.Selection, &price, &o.ImpliedPPM, &mkid, &kind, &line, &o.MarketOpen, &mid, &state, scanTime{&o.KickoffAt}); err != nil {
			return nil, err
		}
		o.SelectionID, o.MarketID, o.MatchID = fmtID(pSelection, sid), fmtID(pMarket, mkid), fmtID(pMatch, mid)
		o.Odds, o.MarketKind, o.MatchState = odds.Odds(price), betting.MarketKind(kind), sport.State(state)
		if line.Valid {
			l := odds.Line(line.Int64)
			o.Line = &l
		}
		byID[o.SelectionID] = &o
	}
	return byID, rows.Err()
}

// claimKey records an idempotency key as in flight, or returns the stored
// response of an earlier request with the same key. On PostgreSQL a
// concurrent request with the same key waits on the unique index until
// the first commits, then sees its response.
//
// Codes: idempotency_key_reused.
func (db *DB) claimKey(ctx context.Context, tx *sql.Tx, idem *idempotency.Key, now time.Time) (*idempotency.Replay, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT DO NOTHING`,
		idem.Owner, idem.Key, idem.Hash, []byte{}, db.d.ts(now))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	var hash string
	var r idempotency.Replay
	if err := tx.QueryRowContext(ctx, `SELECT request_hash, status, body FROM idempotency_keys WHERE owner = $1 AND key = $2`, idem.Owner, idem.Key).Scan(&hash, &r.Status, &r.Body); err != nil {
		return nil, err
	}
	if hash != idem.Hash {
		return nil, fault.New(fault.Conflict, "idempotency_key_reused", "This Idempotency-Key was already used for a different request.")
	}
	return &r, nil
}

// storeKey saves the response for a claimed key.
func (db *DB) storeKey(ctx context.Context, tx *sql.Tx, idem *idempotency.Key, v any, outcome error) error {
	status, body := idem.Render(v, outcome)
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, body = $2 WHERE owner = $3 AND key = $4`, status, body, idem.Owner, idem.Key)
	return err
}

// PurgeIdempotencyKeys deletes keys older than age (API.md promises at
// least 24 h).
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, age time.Duration) (int64, error) {
	res, err := db.rw.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, db.d.ts(db.Now().Add(-age)))
	if err != nil {
		return 0, classify(err)
	}
	return res.RowsAffected()
}
