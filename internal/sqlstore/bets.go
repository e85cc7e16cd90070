package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
//
// The writers run as one worker (Run): stopped, they place everything
// already queued before returning, so a placement accepted is never
// dropped; one that comes later is answered Unavailable.
type placer struct {
	db     *DB
	queues []chan *placeJob
	// stop is closed when the writers are asked to stop, or by DB.Close:
	// no new placement or chore is accepted after it.
	stop     chan struct{}
	stopOnce sync.Once
	// exited is closed when every writer has returned; a placement still
	// waiting then was queued too late and is answered Unavailable.
	exited  chan struct{}
	started atomic.Bool

	// chores are other writes that take turns with placement on SQLite's
	// one writing connection (settlement batches): the writer runs one
	// between two placement batches. Left to database/sql, a freed
	// connection goes to whichever goroutine asks first, and a settlement
	// batch waited out two placement batches (two commits) for every one
	// of its own, while a bet could wait out several settlement batches.
	chores chan chore
}

// A chore is a write run by the placement writer in its turn; done
// receives what it returned.
type chore struct {
	run  func() error
	done chan error
}

func newPlacer(db *DB) *placer {
	p := &placer{db: db, stop: make(chan struct{}), exited: make(chan struct{}), chores: make(chan chore)}
	p.queues = make([]chan *placeJob, db.cfg.Writers)
	for i := range p.queues {
		p.queues[i] = make(chan *placeJob, max(4096/len(p.queues), 512))
	}
	return p
}

// Name is the writers' name as a worker.
func (p *placer) Name() string { return "bet-writers" }

// Run runs the writers until ctx ends, then lets each place what is
// still queued and returns when all have. A placer runs once.
func (p *placer) Run(ctx context.Context) error {
	if p.started.Swap(true) {
		return errors.New("the placement writers were started twice, or after the store was closed")
	}
	var wg sync.WaitGroup
	for i := range p.queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(i)
		}()
	}
	select {
	case <-ctx.Done():
	case <-p.stop: // the store was closed under the running writers
	}
	p.stopOnce.Do(func() { close(p.stop) })
	wg.Wait()
	close(p.exited)
	return nil
}

// closed is the placer's part of DB.Close: nothing is accepted after it.
// Writers still running drain and exit; when none ever ran, whatever
// waits is answered Unavailable at once instead of waiting for its
// context.
func (p *placer) closed() {
	p.stopOnce.Do(func() { close(p.stop) })
	if !p.started.Swap(true) {
		close(p.exited)
	}
}

// queueFor is the queue of the writer that places uid's bets.
func (p *placer) queueFor(uid int64) chan *placeJob {
	return p.queues[uint64(uid)%uint64(len(p.queues))]
}

func (p *placer) run(worker int) {
	max := p.db.cfg.GroupCommitMax
	queue := p.queues[worker]
	// Only the first writer runs chores; SQLite has only the one.
	var chores chan chore
	if worker == 0 {
		chores = p.chores
	}
	for {
		// Queued placements go first; after their batch, one chore that
		// is waiting. When both wait they alternate.
		var first *placeJob
		select {
		case first = <-queue:
		default:
			select {
			case first = <-queue:
			case c := <-chores:
				c.done <- c.run()
				continue
			case <-p.stop:
				p.drain(queue, worker)
				return
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
		p.db.placeBatch(batch, worker)
		select {
		case c := <-chores:
			c.done <- c.run()
		default:
		}
	}
}

// drain places what is still queued, in batches, until the queue is
// empty. Callers stop queueing once p.stop is closed; one that raced it
// and comes after the drain is answered when the writers have exited.
func (p *placer) drain(queue chan *placeJob, worker int) {
	for {
		var batch []*placeJob
	gather:
		for len(batch) < p.db.cfg.GroupCommitMax {
			select {
			case j := <-queue:
				batch = append(batch, j)
			default:
				break gather
			}
		}
		if len(batch) == 0 {
			return
		}
		p.db.placeBatch(batch, worker)
	}
}

// inTurn runs fn on the placement writer, between two placement batches,
// and returns what it returned.
func (p *placer) inTurn(ctx context.Context, fn func() error) error {
	c := chore{run: fn, done: make(chan error, 1)}
	select {
	case p.chores <- c:
	case <-p.stop:
		return fault.ErrUnavailable
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", fault.ErrUnavailable, ctx.Err())
	}
	return <-c.done
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
	case <-db.placer.exited:
		// A writer answers before it exits: no answer now means the job
		// was queued after the last drain and will never be placed.
		select {
		case r := <-job.done:
			return r.bet, r.replay, r.err
		default:
			return nil, nil, fault.ErrUnavailable
		}
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
	var results []placeResult
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
		offers, err := db.loadOffers(ctx, tx, live)
		if err != nil {
			return err
		}
		guards, err := db.loadGuards(ctx, tx, live)
		if err != nil {
			return err
		}
		for _, j := range live {
			j.offers, j.guard = offers, guards[j.uid]
		}
		if results, err = db.placeJobs(ctx, tx, live, now, worker); err != nil {
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
				rs, err := db.placeJobs(ctx, tx, []*placeJob{j}, db.Now(), worker)
				if err == nil {
					r = rs[0]
				}
				return err
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

// placeJobs places the bets of jobs inside tx, answering each in order. A
// rule refusal is an answer (nothing written but the idempotency record);
// a returned error means a statement failed and the transaction must be
// abandoned.
//
// Each bet is checked against everything that can be known before
// writing (shape, blocks, offers, prices, the caps against an empty
// tally), then written, then refusals that only the write could find
// (balance, tally) are explained. The bets that pass the checks are
// written in rounds in which no player appears twice: on PostgreSQL each
// round is one statement (writeBetsPG), on SQLite one statement per step
// (writeBetsSQLite).
//
// The write claims a bet's idempotency key, storing the response rendered
// in advance under a reserved bet id; a key needs a separate claim only
// when the bet is refused before the write, or when the write finds the
// key taken (a replay).
//
// The placed stakes are credited to the house balance last, in one update
// of the writer's shard row (creditHouse). Taking the house row last,
// after every player row, gives all placement transactions one lock
// order, so concurrent batches on PostgreSQL never deadlock; and one
// update per batch instead of one per bet keeps the row's lock short.
func (db *DB) placeJobs(ctx context.Context, tx *sql.Tx, jobs []*placeJob, now time.Time, writer int) ([]placeResult, error) {
	results := make([]placeResult, len(jobs))
	if err := db.reserveBetIDs(ctx, tx, jobs); err != nil {
		return nil, err
	}
	var pending []*pendingBet
	for i, j := range jobs {
		p, refusal, err := db.checkBet(ctx, tx, j, now)
		if err != nil {
			return nil, err
		}
		if refusal != nil {
			if results[i], err = db.refuse(ctx, tx, j, refusal, false, now); err != nil {
				return nil, err
			}
			continue
		}
		p.i = i
		pending = append(pending, p)
	}
	write := db.writeBetsPG
	if db.d == dialectSQLite {
		write = db.writeBetsSQLite
	}
	for len(pending) > 0 {
		var round []*pendingBet
		round, pending = onePerPlayer(pending)
		outcomes, err := write(ctx, tx, round, now)
		if err != nil {
			return nil, err
		}
		for k, p := range round {
			if results[p.i], err = db.answer(ctx, tx, p, outcomes[k], now); err != nil {
				return nil, err
			}
		}
	}
	var house int64
	for _, r := range results {
		if r.bet != nil {
			house += r.bet.Stake
		}
	}
	return results, db.creditHouse(ctx, tx, house, writer)
}

// pendingBet is a bet that passed every check made before writing.
type pendingBet struct {
	j        *placeJob
	i        int // its place in the answers
	bet      *betting.Bet
	combined odds.Odds
	st       *stakeTally
	// status and body are the response stored under the bet's
	// idempotency key (PostgreSQL, which writes them with the bet).
	status int
	body   []byte
}

// onePerPlayer splits bets into a round with each player's first bet and
// the rest, keeping order: a player's second bet is written after their
// first, and sees its debit. An idempotency key, too, appears at most
// once in a round, so that the round's claim of it is one bet's.
func onePerPlayer(bets []*pendingBet) (round, rest []*pendingBet) {
	players := make(map[int64]bool, len(bets))
	keys := map[[2]string]bool{}
	for _, p := range bets {
		var key [2]string
		if idem := p.j.req.Idempotency; idem != nil {
			key = [2]string{idem.Owner, idem.Key}
		}
		if players[p.j.uid] || key != ([2]string{}) && keys[key] {
			rest = append(rest, p)
			continue
		}
		players[p.j.uid], keys[key] = true, true
		round = append(round, p)
	}
	return round, rest
}

// checkBet runs the checks that need no write. refusal is a rule refusal.
func (db *DB) checkBet(ctx context.Context, tx *sql.Tx, j *placeJob, now time.Time) (p *pendingBet, refusal error, err error) {
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
	// limits) are checked and the stake counted in one statement with the
	// debit; a bet the balance then refuses is taken back out (answer).
	st := db.newStakeTally(guard, now)
	if !st.caps.Allows(playlimit.Tally{}, slip.Stake) {
		return nil, st.caps.Refusal(playlimit.Tally{}, slip.Stake), nil
	}
	p = &pendingBet{j: j, combined: combined, st: st, bet: &betting.Bet{UserID: j.req.UserID, State: betting.Open,
		Stake: slip.Stake, Odds: combined, PotentialPayout: potential, OddsPolicy: slip.OddsPolicy, PlacedAt: now, Legs: legs}}
	if j.betID != 0 {
		p.bet.ID = fmtID(pBet, j.betID)
		if idem := j.req.Idempotency; idem != nil {
			p.status, p.body = idem.Render(p.bet, nil)
		}
	}
	return p, nil, nil
}

// refuse answers a refused bet, storing the refusal under its idempotency
// key. A key not yet claimed is claimed first, and if it turns out to be
// taken the stored response is the answer: a replay is answered as it was
// the first time, even if the request would now be refused otherwise.
// A nil refusal means the write found the key taken.
func (db *DB) refuse(ctx context.Context, tx *sql.Tx, j *placeJob, refusal error, claimed bool, now time.Time) (placeResult, error) {
	idem := j.req.Idempotency
	if idem == nil {
		return placeResult{err: refusal}, nil
	}
	if !claimed {
		replay, err := db.claimKey(ctx, tx, idem, now)
		if err != nil || replay != nil {
			return placeResult{replay: replay}, err
		}
		if refusal == nil {
			// The write found the key taken and now it is free: only a
			// purge between the two could do that.
			return placeResult{}, errors.New("idempotency key changed hands during placement")
		}
	}
	return placeResult{err: refusal}, db.storeKey(ctx, tx, idem, nil, refusal)
}

// answer turns a write's outcome into the bet's answer.
func (db *DB) answer(ctx context.Context, tx *sql.Tx, p *pendingBet, outcome writeOutcome, now time.Time) (placeResult, error) {
	j, stake := p.j, p.bet.Stake
	switch outcome {
	case keyTaken:
		return db.refuse(ctx, tx, j, nil, false, now)
	case overLimit:
		e, err := db.tallyRefusal(ctx, tx, j.uid, stake, p.st, now)
		if err != nil {
			return placeResult{}, err
		}
		return db.refuse(ctx, tx, j, e, true, now)
	case lowBalance:
		if err := db.untallyStake(ctx, tx, j.uid, stake); err != nil {
			return placeResult{}, err
		}
		var have int64
		if err := tx.QueryRowContext(ctx, `SELECT b.amount FROM balances b JOIN accounts a ON a.id = b.account_id WHERE a.user_id = $1 AND b.shard = 0`, j.uid).Scan(&have); err != nil {
			return placeResult{}, err
		}
		return db.refuse(ctx, tx, j, insufficient(have, stake), true, now)
	}
	if idem := j.req.Idempotency; idem != nil && p.body == nil {
		// SQLite: the key was claimed first and takes the response now.
		if err := db.storeKey(ctx, tx, idem, p.bet, nil); err != nil {
			return placeResult{}, err
		}
	}
	return placeResult{bet: p.bet}, nil
}

// reserveBetIDs gives each job the id its bet will have. PostgreSQL takes
// ids from the bets sequence, in one round trip, for the jobs that have
// none yet; ids of refused bets are simply not used. On SQLite the ids
// follow the largest one written, and hold only inside this transaction,
// which has the database's one write lock: every job gets a fresh one,
// since a transaction that failed may have been overtaken by another.
func (db *DB) reserveBetIDs(ctx context.Context, tx *sql.Tx, jobs []*placeJob) error {
	if db.d == dialectSQLite {
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM bets`).Scan(&last); err != nil {
			return err
		}
		for _, j := range jobs {
			last++
			j.betID = last
		}
		return nil
	}
	var need []*placeJob
	for _, j := range jobs {
		if j.betID == 0 {
			need = append(need, j)
		}
	}
	if len(need) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence('bets', 'id')) FROM generate_series(1, $1)`, len(need))
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for ; rows.Next() && i < len(need); i++ {
		if err := rows.Scan(&need[i].betID); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != len(need) {
		return fmt.Errorf("reserved %d bet ids for %d bets", i, len(need))
	}
	return nil
}

// writeOutcome says whether a write placed the bet.
type writeOutcome int

const (
	placed     writeOutcome = iota
	overLimit               // the stake does not fit under a ceiling: nothing written
	lowBalance              // the balance does not cover it: only the tally was counted
	keyTaken                // the idempotency key is already stored: nothing written
)

// A write counts each stake in the player's tally under their ceilings,
// debits it from the wallet only if the balance covers it (a conditional
// UPDATE is the check and the debit at once, so two bets can never spend
// the same points), and writes the bet, its legs, the stake's ledger
// transaction and its two postings.

// writeBetsSQLite writes a round of bets, at most one per player and per
// idempotency key, as writeBetsPG does but in one multi-row statement per
// step, since SQLite has no data-modifying CTEs: claim the keys, count the
// stakes under the caps, debit the wallets that cover them, then write
// the bets, legs, stake transactions and postings of the debited ones.
// SQLite runs in-process, so what a statement costs is its start, binding
// and finish rather than a round trip; one bet at a time ran eight of
// them per bet on the one writer, which placement and settlement share.
// The bets' ids were reserved for the transaction (reserveBetIDs), so the
// response stored under a key is written with the claim.
func (db *DB) writeBetsSQLite(ctx context.Context, tx *sql.Tx, round []*pendingBet, now time.Time) ([]writeOutcome, error) {
	out := make([]writeOutcome, len(round))
	ts := db.d.ts(now)
	// 1. Claim the keys; a bet whose key is taken goes no further.
	claimed := map[[2]string]bool{}
	var keyed []*pendingBet
	for _, p := range round {
		if p.j.req.Idempotency != nil {
			keyed = append(keyed, p)
		}
	}
	err := inChunks(len(keyed), func(lo, hi int) error {
		flat := make([]any, 0, (hi-lo)*6)
		for _, p := range keyed[lo:hi] {
			idem := p.j.req.Idempotency
			flat = append(flat, idem.Owner, idem.Key, idem.Hash, int64(p.status), p.body, ts)
		}
		return scanRows(ctx, tx, `INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at) VALUES `+placeholders(hi-lo, 6, 0)+`
			ON CONFLICT DO NOTHING RETURNING owner, key`, flat, func(r *sql.Rows) error {
			var k [2]string
			err := r.Scan(&k[0], &k[1])
			claimed[k] = true
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	var live []int // indexes into round of the bets still going
	for k, p := range round {
		if idem := p.j.req.Idempotency; idem != nil && !claimed[[2]string{idem.Owner, idem.Key}] {
			out[k] = keyTaken
			continue
		}
		live = append(live, k)
	}
	// 2. Count the stakes under the caps.
	fits := map[int64]bool{}
	err = inChunks(len(live), func(lo, hi int) error {
		flat := make([]any, 0, (hi-lo)*8)
		for _, k := range live[lo:hi] {
			p := round[k]
			flat = append(flat, p.j.uid, p.st.day, p.st.week, p.st.month, p.bet.Stake, p.st.caps.Day, p.st.caps.Week, p.st.caps.Month)
		}
		v, args := db.d.rowsOf("v", []string{"uid", "day", "week", "month", "stake", "cap_d", "cap_w", "cap_m"},
			[]string{"BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"}, 1, flat)
		return scanRows(ctx, tx, `WITH `+v+` `+roundTallyUpsert("v"), args, func(r *sql.Rows) error {
			var uid int64
			err := r.Scan(&uid)
			fits[uid] = true
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	var counted []int
	for _, k := range live {
		if !fits[round[k].j.uid] {
			out[k] = overLimit
			continue
		}
		counted = append(counted, k)
	}
	// 3. Debit the wallets that cover their stake. A player with no
	// wallet is refused as one whose balance does not cover it.
	wallet := map[int64]int64{} // user → account
	err = inChunks(len(counted), func(lo, hi int) error {
		uids := make([]any, 0, hi-lo)
		for _, k := range counted[lo:hi] {
			uids = append(uids, round[k].j.uid)
		}
		return scanPairs(ctx, tx, `SELECT user_id, id FROM accounts WHERE user_id IN (`+inList(hi-lo, 0)+`)`, uids, wallet)
	})
	if err != nil {
		return nil, err
	}
	after := map[int64]int64{} // account → balance after the debit
	err = inChunks(len(counted), func(lo, hi int) error {
		flat := make([]any, 0, (hi-lo)*2)
		for _, k := range counted[lo:hi] {
			flat = append(flat, wallet[round[k].j.uid], round[k].bet.Stake)
		}
		v, args := db.d.rowsOf("v", []string{"account_id", "stake"}, []string{"BIGINT", "BIGINT"}, 1, flat)
		return scanPairs(ctx, tx, `WITH `+v+`
			UPDATE balances SET amount = balances.amount - v.stake FROM v
			WHERE balances.account_id = +v.account_id AND balances.shard = 0 AND balances.amount >= v.stake
			RETURNING balances.account_id, balances.amount`, args, after)
	})
	if err != nil {
		return nil, err
	}
	var debited []*pendingBet
	for _, k := range counted {
		p := round[k]
		if _, ok := after[wallet[p.j.uid]]; !ok {
			out[k] = lowBalance
			continue
		}
		debited = append(debited, p)
	}
	if len(debited) == 0 {
		return out, nil
	}
	// 4. The bets, their legs, and each stake's ledger transaction with
	// its two postings. Ledger ids are taken here as the bets' were: the
	// transaction holds SQLite's one write lock.
	var lastTx int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM ledger_tx`).Scan(&lastTx); err != nil {
		return nil, err
	}
	house := db.systemAccount(ledger.HouseAccount)
	err = inChunks(len(debited), func(lo, hi int) error {
		part := debited[lo:hi]
		bets := make([]any, 0, len(part)*9)
		txs := make([]any, 0, len(part)*4)
		posts := make([]any, 0, len(part)*10)
		var legs []any
		for i, p := range part {
			acct, txID := wallet[p.j.uid], lastTx+int64(lo+i+1)
			bets = append(bets, p.j.betID, p.j.uid, acct, p.bet.Stake, int64(p.combined), p.bet.PotentialPayout, string(p.bet.OddsPolicy), string(betting.Open), ts)
			legs = legRows(legs, p.j.betID, p.bet.Legs)
			txs = append(txs, txID, string(ledger.Stake), "bet:"+strconv.FormatInt(p.j.betID, 10)+":stake", ts)
			posts = append(posts, txID, acct, -p.bet.Stake, after[acct], ts, txID, house, p.bet.Stake, nil, ts)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bets (id, user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
			VALUES `+placeholders(len(part), 9, 0), bets...); err != nil {
			return err
		}
		width := len(legRowCols)
		if err := inChunks(len(legs)/width, func(lo, hi int) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO bet_legs (`+strings.Join(legRowCols, ", ")+`) VALUES `+placeholders(hi-lo, width, 0), legs[lo*width:hi*width]...)
			return err
		}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_tx (id, kind, reference, created_at) VALUES `+placeholders(len(part), 4, 0), txs...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at) VALUES `+placeholders(2*len(part), 5, 0), posts...)
		return err
	})
	return out, err
}

// chunkRows bounds the rows of one multi-row statement. inChunks cuts n
// rows into pieces whose sizes are powers of two up to chunkRows, so that
// the statement texts, one per size, stay few and stay compiled in the
// connection's statement cache (stmtcache.go) whatever the batch size.
const chunkRows = 128

func inChunks(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := chunkRows
		for size > n-lo {
			size /= 2
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// scanRows runs a query and calls each for every row it returns.
func scanRows(ctx context.Context, q queryer, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanPairs runs a query of two integer columns and sets into[first] to
// second for each row: ids to ids, or accounts to balances.
func scanPairs(ctx context.Context, q queryer, query string, args []any, into map[int64]int64) error {
	return scanRows(ctx, q, query, args, func(r *sql.Rows) error {
		var k, v int64
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		into[k] = v
		return nil
	})
}

// legRows appends the rows of a bet's legs to flat, in the order of
// legRowCols.
func legRows(flat []any, betID int64, legs []*betting.Leg) []any {
	for i, l := range legs {
		mid, _ := parseID(pMatch, l.MatchID)
		mkid, _ := parseID(pMarket, l.MarketID)
		sid, _ := parseID(pSelection, l.SelectionID)
		var line any
		if l.Line != nil {
			line = int64(*l.Line)
		}
		flat = append(flat, betID, int64(i), mid, mkid, sid, string(l.MarketKind), l.Selection, line, int64(l.Odds), l.ImpliedPPM, string(betting.LegOpen))
	}
	return flat
}

// The columns of writeBetsPG's rows of bets and of legs, and their types.
var (
	betRowCols  = []string{"i", "id", "uid", "stake", "odds", "potential", "policy", "day", "week", "month", "cap_d", "cap_w", "cap_m", "owner", "key", "hash", "status", "body"}
	betRowTypes = []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT", "BYTEA"}
	legRowCols  = []string{"bet_id", "leg_no", "match_id", "market_id", "selection_id", "market_kind", "selection_name", "line", "odds", "implied_ppm", "state"}
	legRowTypes = []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT"}
)

// writeBetsPG writes a round of bets, at most one per player, in one
// statement of chained data-modifying CTEs: one round trip and one
// executor start for the round instead of several per bet, which is most
// of a bet's cost on PostgreSQL. Every data-modifying CTE runs whether or
// not it is referenced, so each step takes only the rows the one before
// let through: k claims the keys, c keeps the bets whose key was claimed
// (or that have none), g counts the stakes that fit under the caps, d
// debits the wallets that cover them, and the bet, legs, ledger
// transaction and postings follow for each debit. The rows go as one
// array per column (rowsOf), so the statement's text, and its prepared
// plan, do not depend on the number of bets.
func (db *DB) writeBetsPG(ctx context.Context, tx *sql.Tx, bets []*pendingBet, now time.Time) ([]writeOutcome, error) {
	flat := make([]any, 0, len(bets)*len(betRowCols))
	var legFlat []any
	for k, p := range bets {
		b, st := p.bet, p.st
		var owner, key, hash, status, body any
		if idem := p.j.req.Idempotency; idem != nil {
			owner, key, hash, status, body = idem.Owner, idem.Key, idem.Hash, int64(p.status), p.body
		}
		flat = append(flat, int64(k), p.j.betID, p.j.uid, b.Stake, int64(p.combined), b.PotentialPayout, string(b.OddsPolicy),
			st.day, st.week, st.month, st.caps.Day, st.caps.Week, st.caps.Month, owner, key, hash, status, body)
		legFlat = legRows(legFlat, p.j.betID, b.Legs)
	}
	rows, args := db.d.rowsOf("v", betRowCols, betRowTypes, 1, flat)
	legs, legArgs := db.d.rowsOf("lv", legRowCols, legRowTypes, 1+len(args), legFlat)
	args = append(args, legArgs...)
	n := len(args)
	args = append(args, db.d.ts(now), db.systemAccount(ledger.HouseAccount))
	ts, house := "CAST($"+strconv.Itoa(n+1)+" AS TIMESTAMPTZ)", "CAST($"+strconv.Itoa(n+2)+" AS BIGINT)"
	q, err := tx.QueryContext(ctx, `WITH `+rows+`, `+legs+`,
		k AS (
			INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at)
			SELECT owner, key, hash, status, body, `+ts+` FROM v WHERE owner IS NOT NULL
			ON CONFLICT DO NOTHING RETURNING owner, key),
		c AS (SELECT v.* FROM v WHERE v.owner IS NULL OR (v.owner, v.key) IN (SELECT owner, key FROM k)),
		g AS (`+roundTallyUpsert("c")+`),
		d AS (
			UPDATE balances SET amount = balances.amount - c.stake
			FROM c JOIN accounts a ON a.user_id = c.uid
			WHERE balances.account_id = a.id AND balances.shard = 0 AND balances.amount >= c.stake
				AND c.uid IN (SELECT user_id FROM g)
			RETURNING c.i, balances.account_id, balances.amount),
		b AS (
			INSERT INTO bets (id, user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
			SELECT c.id, c.uid, d.account_id, c.stake, c.odds, c.potential, c.policy, 'open', `+ts+` FROM c JOIN d ON d.i = c.i
			RETURNING id),
		l AS (
			INSERT INTO bet_legs (`+strings.Join(legRowCols, ", ")+`)
			SELECT `+strings.Join(legRowCols, ", ")+` FROM lv WHERE lv.bet_id IN (SELECT id FROM b)),
		t AS (
			INSERT INTO ledger_tx (kind, reference, created_at)
			SELECT 'stake', 'bet:' || b.id || ':stake', `+ts+` FROM b RETURNING id, reference),
		p AS (
			INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at)
			SELECT t.id, CASE WHEN side.house THEN `+house+` ELSE d.account_id END,
				CASE WHEN side.house THEN c.stake ELSE -c.stake END,
				CASE WHEN side.house THEN NULL ELSE d.amount END, `+ts+`
			FROM c JOIN d ON d.i = c.i JOIN t ON t.reference = 'bet:' || c.id || ':stake',
				(VALUES (FALSE), (TRUE)) AS side(house)
			ORDER BY c.i, side.house)
		SELECT v.i, EXISTS (SELECT 1 FROM c WHERE c.i = v.i), EXISTS (SELECT 1 FROM g WHERE g.user_id = v.uid),
			EXISTS (SELECT 1 FROM d WHERE d.i = v.i)
		FROM v`, args...)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	out := make([]writeOutcome, len(bets))
	seen := 0
	for q.Next() {
		var i int64
		var claimed, fits, debited bool
		if err := q.Scan(&i, &claimed, &fits, &debited); err != nil {
			return nil, err
		}
		if i < 0 || int(i) >= len(out) {
			return nil, fmt.Errorf("bet write answered for row %d of %d", i, len(out))
		}
		switch {
		case !claimed:
			out[i] = keyTaken
		case !fits:
			out[i] = overLimit
		case !debited:
			out[i] = lowBalance
		default:
			out[i] = placed
		}
		seen++
	}
	if err := q.Err(); err != nil {
		return nil, err
	}
	if seen != len(out) {
		return nil, fmt.Errorf("bet write answered for %d of %d bets", seen, len(out))
	}
	return out, nil
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
