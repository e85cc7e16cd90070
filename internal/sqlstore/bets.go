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
	// betID, when set (PostgreSQL), is the id the bet will have, reserved
	// for the batch (reserveBetIDs) so that the response stored under the
	// idempotency key can be written by the bet's own statement.
	betID int64
}

// placer implements group commit: concurrent placements queue here and a
// writer takes everything queued, places each bet in turn inside one
// transaction and commits once. With synchronous=FULL (SQLite) or
// synchronous_commit=on (PostgreSQL) each commit waits for a disk flush,
// so sharing it is what lets throughput exceed one flush per bet. Every
// bet is still validated and answered on its own; checks run before any
// write, so a refused bet leaves nothing behind in the shared transaction.
//
// Each writer has its own queue and a player's bets always go to the same
// one (queueFor). On PostgreSQL two writers would otherwise lock the same
// player's wallet and tally rows, and the second would wait out the
// first's whole commit: with 8 writers and a few hundred active players
// that row-lock wait was most of a placement's time in the database.
type placer struct {
	db      *DB
	queues  []chan *placeJob
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
	p := &placer{db: db, stop: make(chan struct{}), turn: make(chan struct{})}
	p.queues = make([]chan *placeJob, db.cfg.Writers)
	for i := range p.queues {
		p.queues[i] = make(chan *placeJob, max(4096/len(p.queues), 512))
		p.wg.Add(1)
		go p.run(i)
	}
	return p
}

// queueFor is the queue of the writer that places uid's bets.
func (p *placer) queueFor(uid int64) chan *placeJob {
	return p.queues[uint64(uid)%uint64(len(p.queues))]
}

// waiting reports whether any placement is queued.
func (p *placer) waiting() bool {
	for _, q := range p.queues {
		if len(q) > 0 {
			return true
		}
	}
	return false
}

func (p *placer) close() {
	p.stopped.Do(func() { close(p.stop) })
	p.wg.Wait()
}

func (p *placer) run(worker int) {
	defer p.wg.Done()
	max := p.db.cfg.GroupCommitMax
	queue := p.queues[worker]
	for {
		var first *placeJob
		select {
		case first = <-queue:
		case <-p.stop:
			// Answer whatever is still queued before exiting.
			for {
				select {
				case j := <-queue:
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
				case j := <-queue:
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
			case j := <-queue:
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
	if !p.waiting() && p.busy.Load() == 0 {
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
	case db.placer.queueFor(uid) <- job:
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
		if db.d == dialectPostgres {
			if err := db.reserveBetIDs(ctx, tx, live); err != nil {
				return err
			}
		}
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
//
// The idempotency key is claimed first and its response stored last, or,
// on PostgreSQL with a reserved bet id, both in the bet's own statement:
// that saves two of a bet's three round trips. There a key only needs
// the separate claim when the bet is refused before it is written, or
// when the key turns out to be taken (a replay).
func (db *DB) placeOne(ctx context.Context, tx *sql.Tx, j *placeJob, now time.Time, house *int64) (placeResult, error) {
	idem := j.req.Idempotency
	claimed := false
	claim := func() (placeResult, bool, error) {
		replay, err := db.claimKey(ctx, tx, idem, now)
		claimed = err == nil && replay == nil
		return placeResult{replay: replay}, !claimed, err
	}
	if idem != nil && j.betID == 0 {
		if r, done, err := claim(); done {
			return r, err
		}
	}
	bet, refusal, keyClaimed, err := db.placeChecked(ctx, tx, j, now, house)
	if err != nil {
		return placeResult{}, err
	}
	if idem == nil {
		return placeResult{bet: bet, err: refusal}, nil
	}
	claimed = claimed || keyClaimed
	if !claimed {
		if r, done, err := claim(); done {
			return r, err
		}
		if refusal == nil {
			// The bet's statement found the key taken, and now it is free:
			// only a purge between the two could do that.
			return placeResult{}, errors.New("idempotency key changed hands during placement")
		}
	}
	if refusal != nil || !keyClaimed {
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

// reserveBetIDs takes an id for each bet of a batch from the bets
// sequence, in one round trip. Ids of refused bets are simply not used.
func (db *DB) reserveBetIDs(ctx context.Context, tx *sql.Tx, jobs []*placeJob) error {
	rows, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence('bets', 'id')) FROM generate_series(1, $1)`, len(jobs))
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for ; rows.Next() && i < len(jobs); i++ {
		if err := rows.Scan(&jobs[i].betID); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != len(jobs) {
		return fmt.Errorf("reserved %d bet ids for %d bets", i, len(jobs))
	}
	return nil
}

// placeChecked runs every check, then writes. refusal is a rule refusal;
// keyClaimed says the bet's statement claimed the idempotency key, with
// the bet's response stored (writeBet).
func (db *DB) placeChecked(ctx context.Context, tx *sql.Tx, j *placeJob, now time.Time, house *int64) (bet *betting.Bet, refusal error, keyClaimed bool, err error) {
	slip := j.req.Slip
	lim := db.cfg.Limits
	if e := slip.Check(lim); e != nil {
		return nil, e, false, nil
	}
	guard, err := db.guard(ctx, tx, j)
	if err != nil {
		return nil, nil, false, err
	}
	if guard.block.Active(now) {
		return nil, playlimit.Blocked(guard.block.Kind, guard.block.EndsAt), false, nil
	}
	offers, err := db.offers(ctx, tx, j)
	if err != nil {
		return nil, nil, false, err
	}
	legs, potential, e := betting.Price(&slip, offers, lim, now)
	if e != nil {
		return nil, e, false, nil
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
		return nil, st.caps.Refusal(playlimit.Tally{}, slip.Stake), false, nil
	}
	bet = &betting.Bet{UserID: j.req.UserID, State: betting.Open, Stake: slip.Stake, Odds: combined,
		PotentialPayout: potential, OddsPolicy: slip.OddsPolicy, PlacedAt: now, Legs: legs}
	var key *storedKey
	if idem := j.req.Idempotency; idem != nil && j.betID != 0 {
		bet.ID = fmtID(pBet, j.betID)
		status, body := idem.Render(bet, nil)
		key = &storedKey{idem: idem, status: status, body: body}
	}
	// The conditional UPDATE is the balance check and the debit at once:
	// no read-modify-write, so two bets can never spend the same points.
	betID, outcome, err := db.writeBet(ctx, tx, j.uid, j.betID, &slip, legs, combined, potential, now, st, key)
	if err != nil {
		return nil, nil, false, err
	}
	keyClaimed = key != nil && outcome != keyTaken
	switch outcome {
	case keyTaken:
		return nil, nil, false, nil
	case overLimit:
		e, err := db.tallyRefusal(ctx, tx, j.uid, slip.Stake, st, now)
		return nil, e, keyClaimed, err
	case lowBalance:
		if err := db.untallyStake(ctx, tx, j.uid, slip.Stake); err != nil {
			return nil, nil, false, err
		}
		var have int64
		if err := tx.QueryRowContext(ctx, `SELECT b.amount FROM balances b JOIN accounts a ON a.id = b.account_id WHERE a.user_id = $1 AND b.shard = 0`, j.uid).Scan(&have); err != nil {
			return nil, nil, false, err
		}
		return nil, insufficient(have, slip.Stake), keyClaimed, nil
	}
	*house += slip.Stake
	bet.ID = fmtID(pBet, betID)
	return bet, nil, keyClaimed, nil
}

// storedKey is an idempotency key with the response to store under it.
type storedKey struct {
	idem   *idempotency.Key
	status int
	body   []byte
}

// writeOutcome says whether writeBet placed the bet.
type writeOutcome int

const (
	placed     writeOutcome = iota
	overLimit               // the stake does not fit under a ceiling: nothing written
	lowBalance              // the balance does not cover it: only the tally was counted
	keyTaken                // the idempotency key is already stored: nothing written
)

// writeBet counts the stake in the player's tally under their ceilings
// (tallyUpsert), debits it from the wallet (only if the balance covers
// it) and writes the bet, its legs, the stake's ledger transaction and its
// two postings. On PostgreSQL this is one statement of chained
// data-modifying CTEs, one round trip instead of six, which is most of the
// cost of a bet there; it writes the bet under the reserved id and, given
// a key, first claims the key with the bet's response, writing nothing
// else if the key is taken. SQLite runs in-process and takes the plain
// statements (id and key unused).
func (db *DB) writeBet(ctx context.Context, tx *sql.Tx, uid, id int64, slip *betting.Slip, legs []*betting.Leg, combined odds.Odds, potential int64, now time.Time, st *stakeTally, key *storedKey) (betID int64, outcome writeOutcome, err error) {
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
		// $1..$6 describe the bet, $7 is the house account, $8..$13
		// the tally's keys and caps and $14 the bet's id; the key's
		// owner, key, hash, status and body may follow, then the legs'
		// values. Parameters in SELECT lists are cast: PostgreSQL cannot
		// infer their types from an INSERT … SELECT. Every data-modifying
		// CTE runs whether or not it is referenced, so each step is made
		// conditional on the one before (k, then g), and the answer says
		// which refused.
		args := []any{uid, slip.Stake, int64(combined), potential, string(slip.OddsPolicy), db.d.ts(now), house}
		args = append(args, st.args()...)
		args = append(args, id)
		claim, tally, claimed := "", pgTallyUpsert, "TRUE"
		if key != nil {
			args = append(args, key.idem.Owner, key.idem.Key, key.idem.Hash, key.status, key.body)
			claim = `k AS (INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at)
				VALUES ($15, $16, $17, $18, $19, $6) ON CONFLICT DO NOTHING RETURNING 1),
			`
			tally, claimed = pgClaimedTallyUpsert, "EXISTS (SELECT 1 FROM k)"
		}
		legsFrom := len(args)
		args = append(args, legArgs(nil)...)
		var isClaimed, fits bool
		var newID sql.NullInt64
		err := tx.QueryRowContext(ctx, `WITH `+claim+`g AS (`+tally+` RETURNING user_id),
			d AS (
				UPDATE balances SET amount = amount - $2
				WHERE shard = 0 AND account_id = (SELECT id FROM accounts WHERE user_id = $1) AND amount >= $2
					AND EXISTS (SELECT 1 FROM g)
				RETURNING account_id, amount),
			b AS (
				INSERT INTO bets (id, user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
				SELECT CAST($14 AS BIGINT), $1, d.account_id, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS TEXT), 'open', CAST($6 AS TIMESTAMPTZ) FROM d
				RETURNING id),
			l AS (
				INSERT INTO bet_legs (bet_id, leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm, state)
				SELECT b.id, v.leg_no, v.match_id, v.market_id, v.selection_id, v.market_kind, v.selection_name, v.line, v.odds, v.implied_ppm, 'open'
				FROM b, (VALUES `+placeholders(len(legs), 9, legsFrom, "INT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT")+`)
					AS v(leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm)),
			t AS (
				INSERT INTO ledger_tx (kind, reference, created_at)
				SELECT 'stake', 'bet:' || b.id || ':stake', CAST($6 AS TIMESTAMPTZ) FROM b RETURNING id),
			p AS (
				INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at)
				SELECT t.id, d.account_id, -$2, d.amount, CAST($6 AS TIMESTAMPTZ) FROM t, d
				UNION ALL SELECT t.id, CAST($7 AS BIGINT), $2, NULL, CAST($6 AS TIMESTAMPTZ) FROM t)
			SELECT `+claimed+`, EXISTS (SELECT 1 FROM g), (SELECT b.id FROM b)`, args...).Scan(&isClaimed, &fits, &newID)
		switch {
		case err != nil:
			return 0, 0, err
		case !isClaimed:
			return 0, keyTaken, nil
		case !fits:
			return 0, overLimit, nil
		case !newID.Valid:
			return 0, lowBalance, nil
		}
		return newID.Int64, placed, nil
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
