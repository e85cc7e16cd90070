package sqlstore

import (
	"cmp"
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
	if db.tracer == nil {
		return db.placeBet(ctx, req)
	}
	ctx, span := db.startCall(ctx, "sqlstore.PlaceBet")
	bet, replay, err := db.placeBet(ctx, req)
	endCall(span, err)
	return bet, replay, err
}

func (db *DB) placeBet(ctx context.Context, req *betting.PlaceRequest) (*betting.Bet, *idempotency.Replay, error) {
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
	ctx, span := db.startBatch(ctx, live, worker)
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
		commitErr = db.commit(ctx, tx)
		return nil
	}()
	endSpan(span, cmp.Or(err, commitErr))
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
// round is one statement, on SQLite one statement per step (writer.go).
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
	if err := db.w.reserveBetIDs(ctx, tx, jobs); err != nil {
		return nil, err
	}
	var pending []*pendingBet
	for i, j := range jobs {
		c, err := db.checkBet(ctx, tx, j, now)
		if err != nil {
			return nil, err
		}
		if c.refusal != nil {
			if results[i], err = db.refuse(ctx, tx, j, c.refusal, false, now); err != nil {
				return nil, err
			}
			continue
		}
		c.pending.i = i
		pending = append(pending, c.pending)
	}
	for len(pending) > 0 {
		var round []*pendingBet
		round, pending = onePerPlayer(pending)
		outcomes, err := db.w.writeBets(ctx, tx, round, now)
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

// betCheck is the verdict of the checks made before writing: a bet
// ready to write, or the refusal of a rule it breaks, which is the
// player's answer and never a failed statement.
type betCheck struct {
	pending *pendingBet
	refusal *fault.Error
}

// refused is the verdict on a bet a rule refuses. The rules answer with
// fault errors; anything else is a failure, not a refusal.
func refused(rule error) (betCheck, error) {
	if f, ok := fault.As(rule); ok {
		return betCheck{refusal: f}, nil
	}
	return betCheck{}, rule
}

// checkBet runs the checks that need no write.
func (db *DB) checkBet(ctx context.Context, tx *sql.Tx, j *placeJob, now time.Time) (betCheck, error) {
	slip := j.req.Slip
	lim := db.cfg.Limits
	if e := slip.Check(lim); e != nil {
		return refused(e)
	}
	guard, err := db.guard(ctx, tx, j)
	if err != nil {
		return betCheck{}, err
	}
	if guard.block.Active(now) {
		return betCheck{refusal: playlimit.Blocked(guard.block.Kind, guard.block.EndsAt)}, nil
	}
	offers, err := db.offers(ctx, tx, j)
	if err != nil {
		return betCheck{}, err
	}
	legs, potential, e := betting.Price(&slip, offers, lim, now)
	if e != nil {
		return refused(e)
	}
	prices := make([]odds.Odds, len(legs))
	sp := ""
	for i, l := range legs {
		prices[i] = l.Odds
		sp = betting.WithSport(sp, offers[i].Sport)
	}
	combined, _ := odds.Combined(prices)
	// The stake ceilings (the operator's daily cap, the player's own
	// limits) are checked and the stake counted in one statement with the
	// debit; a bet the balance then refuses is taken back out (answer).
	st := db.newStakeTally(guard, now)
	if !st.caps.Allows(playlimit.Tally{}, slip.Stake) {
		return betCheck{refusal: st.caps.Refusal(playlimit.Tally{}, slip.Stake)}, nil
	}
	p := &pendingBet{j: j, combined: combined, st: st, bet: &betting.Bet{UserID: j.req.UserID, State: betting.Open,
		Stake: slip.Stake, Odds: betting.TotalOf(prices), PotentialPayout: potential, OddsPolicy: slip.OddsPolicy, PlacedAt: now, Legs: legs, Sport: sp}}
	if j.betID != 0 {
		p.bet.ID = fmtID(pBet, j.betID)
		if idem := j.req.Idempotency; idem != nil {
			p.status, p.body = idem.Render(p.bet, nil)
		}
	}
	return betCheck{pending: p}, nil
}

// refuse answers a refused bet, storing the refusal under its idempotency
// key. A key not yet claimed is claimed first, and if it turns out to be
// taken the stored response is the answer: a replay is answered as it was
// the first time, even if the request would now be refused otherwise.
// A nil refusal means the write found the key taken.
func (db *DB) refuse(ctx context.Context, tx *sql.Tx, j *placeJob, refusal *fault.Error, claimed bool, now time.Time) (placeResult, error) {
	// A nil *fault.Error must not become a non-nil error.
	var answer error
	if refusal != nil {
		answer = refusal
	}
	idem := j.req.Idempotency
	if idem == nil {
		return placeResult{err: answer}, nil
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
	return placeResult{err: answer}, db.storeKey(ctx, tx, idem, nil, answer)
}

// answer turns a write's outcome into the bet's answer, and writes what
// that takes: the response or refusal stored under the idempotency key,
// and a stake the balance did not cover taken back out of the tally.
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

// The columns of a bet's legs, and their types.
var (
	legRowCols  = []string{"bet_id", "leg_no", "match_id", "market_id", "selection_id", "market_kind", "selection_name", "line", "odds", "implied_ppm", "state"}
	legRowTypes = []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT"}
)

// stakeTransaction is the ledger transaction of a bet's stake: from the
// player's wallet into the house.
func stakeTransaction(p *pendingBet, wallet, house int64) ledger.Transaction {
	return ledger.ToPlayer(ledger.Stake, "bet:"+strconv.FormatInt(p.j.betID, 10)+":stake", wallet, house, ledger.House, -p.bet.Stake)
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
		flat = append(flat, betID, int64(i), mid, mkid, sid, string(l.MarketKind), l.Selection, line, int64(l.Odds), int64(l.ImpliedPPM), string(betting.LegOpen))
	}
	return flat
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
	rows, err := tx.QueryContext(ctx, `SELECT s.id, s.name, s.odds, s.implied_ppm, mk.id, mk.kind, mk.line, mk.open, m.id, m.state, m.kickoff_at, m.sport
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
		if err := rows.Scan(&sid, &o.Selection, &price, &o.ImpliedPPM, &mkid, &kind, &line, &o.MarketOpen, &mid, &state, scanTime{&o.KickoffAt}, &o.Sport); err != nil {
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

// PurgeIdempotencyKeys deletes keys older than age (docs/api.md promises
// at least 24 hours).
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, age time.Duration) (int64, error) {
	res, err := db.rw.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, db.d.ts(db.Now().Add(-age)))
	if err != nil {
		return 0, classify(err)
	}
	return res.RowsAffected()
}
