package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// settleBatch bounds how many bets one settlement transaction touches, so
// bet placement (which shares SQLite's single writer) never waits long.
const settleBatch = 500

// RecordResult gives a match its outcome and settles every bet on it.
// On a match without a result this is the first settlement. On a match
// with one, a different outcome is a correction: every bet is re-settled
// with reversal postings and the history kept; the same outcome again
// changes nothing (changed=false). An operator's outcome locks the match
// against the feed; the feed's outcome on a locked match is refused.
//
// Codes: match_not_found, match_locked, reason_required, invalid_result.
//
// ev, when set, is written in the transaction that records the outcome
// (also when it changes nothing: the operator's action is recorded).
func (db *DB) RecordResult(ctx context.Context, matchID string, o sport.Outcome, operator bool, ev *audit.Event) (changed bool, err error) {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return false, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	if !o.Void && o.Score.Check() != nil {
		return false, fault.New(fault.Invalid, "invalid_result", "Scores must be between 0 and 1000, and the regulation score cannot exceed the final score.")
	}
	if o.State == "" {
		o.State = sport.Finished
		if o.Void {
			o.State = sport.Cancelled
		}
	}
	if changed, err = db.recordOutcome(ctx, mid, o, operator, ev); err != nil || !changed {
		return changed, err
	}
	// Viewers see the final state and score and the closed markets before
	// the bets are settled.
	db.publishMatchChanges(ctx, []matchChange{{id: mid, state: true, score: true, odds: true}})
	// The result is recorded; settling must not stop because the caller
	// (an HTTP request with its own deadline) gave up waiting. If the
	// process dies meanwhile, settle_pending makes it resume.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	return true, db.SettleMatch(sctx, matchID)
}

// recordOutcome is RecordResult's transaction: it stores the outcome,
// closes the match's markets and marks the match for settlement.
func (db *DB) recordOutcome(ctx context.Context, mid int64, o sport.Outcome, operator bool, ev *audit.Event) (changed bool, err error) {
	defer db.lists.changed() // after the commit: see listCache
	now := db.Now()
	if o.Evidence.FetchedAt.IsZero() {
		o.Evidence.FetchedAt = now
	}
	err = db.audited(ctx, ev, func(tx *sql.Tx) error {
		changed = false
		var sp string
		var resultID sql.NullInt64
		var locked bool
		err := tx.QueryRowContext(ctx, `SELECT sport, result_id, locked FROM matches WHERE id = $1`+db.d.forUpdate, mid).Scan(&sp, &resultID, &locked)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "match_not_found", "No such match.")
		}
		if err != nil {
			return err
		}
		if locked && !operator {
			return fault.New(fault.Conflict, "match_locked", "An operator has set this match's result; the feed may not change it.")
		}
		if resultID.Valid {
			cur, err := db.loadOutcome(ctx, tx, resultID.Int64)
			if err != nil {
				return err
			}
			if cur.Same(o) {
				return nil
			}
			if operator && strings.TrimSpace(o.Evidence.Reason) == "" {
				return fault.New(fault.Invalid, "reason_required", "A correction needs a reason.")
			}
		}
		var rid int64
		var h, a, rh, ra sql.NullInt64
		outcome := "void"
		if !o.Void {
			outcome = "result"
			h, a = sql.NullInt64{Int64: int64(o.Score.Home), Valid: true}, sql.NullInt64{Int64: int64(o.Score.Away), Valid: true}
			rh, ra = sql.NullInt64{Int64: int64(o.Score.Regulation.Home), Valid: true}, sql.NullInt64{Int64: int64(o.Score.Regulation.Away), Valid: true}
		}
		ev := o.Evidence
		if err := tx.QueryRowContext(ctx, `INSERT INTO match_results (match_id, outcome, home, away, reg_home, reg_away, source, provider_match_id, status, fetched_at, actor, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			mid, outcome, h, a, rh, ra, ev.Source, ev.ProviderMatchID, ev.Status, db.d.ts(ev.FetchedAt), ev.Actor, ev.Reason, db.d.ts(now)).Scan(&rid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE matches SET result_id = $1, state = $2, locked = $3, settle_pending = TRUE, updated_at = $4 WHERE id = $5`,
			rid, string(o.State), locked || operator, db.d.ts(now), mid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE markets SET open = FALSE WHERE match_id = $1`, mid); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, err
}

func (db *DB) loadOutcome(ctx context.Context, q queryer, rid int64) (sport.Outcome, error) {
	var o sport.Outcome
	var outcome string
	var h, a, rh, ra sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT outcome, home, away, reg_home, reg_away FROM match_results WHERE id = $1`, rid).Scan(&outcome, &h, &a, &rh, &ra)
	o.Void = outcome == "void"
	o.Score = sport.Score{Home: int(h.Int64), Away: int(a.Int64), Regulation: sport.Pair{Home: int(rh.Int64), Away: int(ra.Int64)}}
	return o, err
}

// VoidMatch voids a match: every bet on it is refunded (a leg of an
// accumulator counts as 1.00). Voiding a match that had a result is a
// correction and re-settles.
func (db *DB) VoidMatch(ctx context.Context, matchID string, ev sport.Evidence, operator bool) (bool, error) {
	return db.RecordResult(ctx, matchID, sport.Outcome{Void: true, Evidence: ev}, operator, nil)
}

// SettleMatch brings every bet on a match in line with its graded legs,
// in bounded batches. It is safe to run any number of times, concurrently
// too: each bet moves from one version to the next at most once.
func (db *DB) SettleMatch(ctx context.Context, matchID string) error {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	var rid sql.NullInt64
	var reason sql.NullString
	if err := db.rw.QueryRowContext(ctx, `SELECT m.result_id, r.reason FROM matches m LEFT JOIN match_results r ON r.id = m.result_id WHERE m.id = $1`, mid).Scan(&rid, &reason); err != nil {
		return classify(err)
	}
	// Batches are independent (each bet is in one), so up to
	// settleWorkers of them settle at once; how each one's write runs is
	// the database's (settlewrite_*.go). The bets are listed beside the
	// writer, which is left to placement and the batches' writes. The
	// first batch to fail stops the listing and the others.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(db.w.settleWorkers())
	write := func(fn func() error) error { return db.w.settleWrite(gctx, fn) }
	walk := db.settlementReader()
	var listErr error
	for after := int64(0); ; {
		ids, err := db.listBets(gctx, walk, mid, after)
		if err != nil || len(ids) == 0 {
			listErr = err
			break
		}
		g.Go(func() error { return db.settleBets(gctx, ids, reason.String, write) })
		after = ids[len(ids)-1]
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if listErr != nil {
		return listErr
	}
	// Cleared only if no newer result arrived meanwhile, which would have
	// set it again and must be settled in turn.
	_, err := db.rw.ExecContext(ctx, `UPDATE matches SET settle_pending = FALSE WHERE id = $1 AND result_id = $2`, mid, rid)
	return classify(err)
}

// listBets lists up to settleBatch bets on match mid with ids above after,
// in id order.
func (db *DB) listBets(ctx context.Context, q queryer, mid, after int64) ([]int64, error) {
	ids, err := scanIDs(ctx, q, `SELECT DISTINCT bet_id FROM bet_legs WHERE match_id = $1 AND bet_id > $2 ORDER BY bet_id LIMIT $3`, mid, after, settleBatch)
	return ids, classify(err)
}

// SettlePending settles matches whose result was recorded but whose bets
// were not all settled, e.g. because the process died in between.
func (db *DB) SettlePending(ctx context.Context) error {
	ids, err := scanIDs(ctx, db.rw, `SELECT id FROM matches WHERE settle_pending = TRUE`)
	if err != nil {
		return classify(err)
	}
	for _, id := range ids {
		if err := db.SettleMatch(ctx, fmtID(pMatch, id)); err != nil {
			return err
		}
	}
	return nil
}

type betRow struct {
	id, account, stake, payout int64
	state                      betting.State
	version                    int
	legs                       []*betting.Leg
	sport                      string // the legs' sport, or betting.Mixed
	// desired
	newState  betting.State
	newPayout int64
}

// legRow is a leg as settlement reads it, with its match's state.
type legRow struct {
	leg                 *betting.Leg
	bet                 int64
	no                  int
	sport, matchState   string
	graded, matchResult sql.NullInt64
}

// legGrade is a leg's new grade, and the result it had been graded on
// (0: none), which the write checks.
type legGrade struct {
	bet       int64
	no        int
	state     betting.LegState
	rule      string
	result    int64
	wasGraded int64
}

// settlementReader is where settlement reads outside its transactions: SQLite's
// reading connections, which run beside the one writer and see every
// commit, or PostgreSQL's primary. Never a replica: one that lags would
// miss bets, or grade from stale rows so that every checked write misses.
func (db *DB) settlementReader() *sql.DB {
	if db.replica {
		return db.rw
	}
	return db.ro
}

// settleBets re-derives the state of each bet of a batch from its legs
// and applies the difference: the bet row moves to the next version
// (guarded by the version it was read at, which makes racing settlements
// apply once), a ledger transaction moves the payout difference, and
// corrections keep a history row. Everything is done with set-based
// statements so that 100,000 bets settle in seconds.
//
// Most bets are singles, and those are read and graded before the
// transaction, on a connection beside the writer (SQLite's writer is the
// bottleneck; placement uses it meanwhile). The write then checks that
// nothing moved since: a leg is graded only from the result it was read
// with, and a bet moves only from the version it was read at. An
// accumulator is settled from legs of several matches that other
// settlements grade concurrently, so it is read again, locked, inside the
// transaction. write runs the transaction (in its turn, on SQLite).
func (db *DB) settleBets(ctx context.Context, ids []int64, reason string, write func(func() error) error) error {
	fresh := db.settlementReader()
	bets, err := db.readBets(ctx, fresh, ids, "")
	if err != nil {
		return classify(err)
	}
	grades, err := db.gradeLegs(ctx, fresh, ids, bets)
	if err != nil {
		return classify(err)
	}
	if db.hooks.planned != nil {
		db.hooks.planned()
	}
	graded := map[int64]legGrade{}
	for _, g := range grades {
		graded[g.bet] = g
	}
	var singles []legGrade
	var again []int64
	for _, id := range ids {
		b := bets[id]
		if b == nil {
			continue
		}
		g, ok := graded[id]
		switch {
		case len(b.legs) == 1 && ok:
			singles = append(singles, g)
		case len(b.legs) > 1 && ok, replan(b):
			// An accumulator with a leg to grade, or a bet whose legs
			// were graded before but which was not settled (a crash in
			// between): both are read again inside the transaction.
			again = append(again, id)
		}
	}
	if len(singles) == 0 && len(again) == 0 {
		return nil
	}
	// evs are the bet.settled events of the attempt that committed: each
	// attempt starts them afresh, and they are handed on only after it.
	var evs []live.Event
	var moved []*betRow
	err = write(func() error {
		return db.tx(ctx, func(tx *sql.Tx) (err error) {
			moved, evs, err = db.settleIn(ctx, tx, bets, singles, again, reason)
			return err
		})
	})
	if errors.Is(err, errStalePlan) {
		// Something moved between the read and the write, which only a
		// settlement racing this one does: the batch is settled again,
		// every bet read inside the transaction.
		err = write(func() error {
			return db.tx(ctx, func(tx *sql.Tx) (err error) {
				moved, evs, err = db.settleIn(ctx, tx, nil, nil, ids, reason)
				return err
			})
		})
	}
	if db.hooks.written != nil {
		db.hooks.written()
	}
	if err == nil {
		db.published(evs)
		db.observeSettled(moved)
	}
	return err
}

// settleHooks are run at two moments of a settlement batch, for tests
// that make settlements race in a given order.
type settleHooks struct {
	// planned runs after a batch has been read and graded and before it
	// is written: the moment another settlement may change what the plan
	// was made from.
	planned func()
	// written runs after a batch's write has committed or failed.
	written func()
}

// errStalePlan aborts a settlement batch whose plan, read before its
// transaction, no longer matches the rows: a leg is no longer graded on
// the result it was read with, or a bet is no longer at the version it
// was read at.
var errStalePlan = errors.New("settlement plan is stale")

// settleIn writes a batch inside tx: the singles graded beforehand
// (bets, as read then), and the bets of again, read and graded here. It
// returns the bets it moved and their bet.settled events, whose notices
// it stored.
func (db *DB) settleIn(ctx context.Context, tx *sql.Tx, bets map[int64]*betRow, singles []legGrade, again []int64, reason string) ([]*betRow, []live.Event, error) {
	now := db.Now()
	var changed []*betRow
	if len(singles) > 0 {
		n, err := db.writeGrades(ctx, tx, singles)
		if err != nil {
			return nil, nil, err
		}
		if n != len(singles) {
			return nil, nil, errStalePlan
		}
		for _, g := range singles {
			if b := bets[g.bet]; replan(b) {
				changed = append(changed, b)
			}
		}
	}
	if len(again) > 0 {
		locked, err := db.readBets(ctx, tx, again, db.d.forUpdate)
		if err != nil {
			return nil, nil, err
		}
		grades, err := db.gradeLegs(ctx, tx, again, locked)
		if err != nil {
			return nil, nil, err
		}
		if _, err := db.writeGrades(ctx, tx, grades); err != nil {
			return nil, nil, err
		}
		for _, id := range again {
			if b := locked[id]; b != nil && replan(b) {
				changed = append(changed, b)
			}
		}
	}
	if len(changed) == 0 {
		return nil, nil, nil
	}
	if err := db.applySettlements(ctx, tx, changed, reason, now); err != nil {
		return nil, nil, err
	}
	ns := make([]noticeOf, len(changed))
	for i, b := range changed {
		ns[i] = noticeOf{b.account, settledData(b)}
	}
	evs, err := db.addNotices(ctx, tx, live.BetSettled, now, ns)
	return changed, evs, err
}

// settledData is the bet.settled payload of a bet moving to its next
// version.
func settledData(b *betRow) []byte {
	return live.New(live.BetSettled, "", live.BetSettledData{
		Bet: fmtID(pBet, b.id), State: string(b.newState), Payout: b.newPayout, Version: b.version + 1,
	}).Data
}

// replan works out what a bet's legs now make of it, sets it as the
// bet's new state and payout (b.newState, b.newPayout), and reports
// whether that differs from its row.
func replan(b *betRow) bool {
	b.newState, b.newPayout = betting.Outcome(b.stake, b.legs)
	return b.newState != b.state || b.newPayout != b.payout
}

// readBets reads the bet rows of ids, with lock appended (FOR UPDATE on
// PostgreSQL inside a transaction, or nothing).
func (db *DB) readBets(ctx context.Context, q queryer, ids []int64, lock string) (map[int64]*betRow, error) {
	among, args := db.d.among("id", 1, ids)
	rows, err := q.QueryContext(ctx, `SELECT id, account_id, stake, payout, state, version FROM bets WHERE `+among+lock, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bets := map[int64]*betRow{}
	for rows.Next() {
		b := &betRow{}
		if err := rows.Scan(&b.id, &b.account, &b.stake, &b.payout, &b.state, &b.version); err != nil {
			return nil, err
		}
		bets[b.id] = b
	}
	return bets, rows.Err()
}

// gradeLegs loads the legs of a batch of bets into bets and grades each
// leg whose match has a result it was not yet graded on; it returns the
// new grades, for writeGrades. Grading batch by batch, rather than all
// legs of a match at once when its result arrives, keeps every
// transaction small: a match with 100,000 bets never holds the writer
// for long.
func (db *DB) gradeLegs(ctx context.Context, q queryer, ids []int64, bets map[int64]*betRow) ([]legGrade, error) {
	among, args := db.d.among("l.bet_id", 1, ids)
	rows, err := q.QueryContext(ctx, `SELECT l.bet_id, l.leg_no, l.market_kind, l.selection_name, l.line, l.state, l.odds, l.result_id,
			m.sport, m.state, m.result_id
		FROM bet_legs l JOIN matches m ON m.id = l.match_id
		WHERE `+among+` ORDER BY l.bet_id, l.leg_no`, args...)
	if err != nil {
		return nil, err
	}
	var legs []legRow
	results := map[int64]*sport.Outcome{}
	for rows.Next() {
		var r legRow
		var kind, name, st string
		var line sql.NullInt64
		var price int64
		if err := rows.Scan(&r.bet, &r.no, &kind, &name, &line, &st, &price, &r.graded, &r.sport, &r.matchState, &r.matchResult); err != nil {
			rows.Close()
			return nil, err
		}
		r.leg = &betting.Leg{MarketKind: betting.MarketKind(kind), Selection: name, State: betting.LegState(st), Odds: odds.Odds(price)}
		if line.Valid {
			l := odds.Line(line.Int64)
			r.leg.Line = &l
		}
		if r.matchResult.Valid {
			results[r.matchResult.Int64] = nil
		}
		legs = append(legs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for rid := range results {
		o, err := db.loadOutcome(ctx, q, rid)
		if err != nil {
			return nil, err
		}
		results[rid] = &o
	}
	var grades []legGrade
	for _, r := range legs {
		if r.matchResult.Valid && r.graded != r.matchResult {
			o := results[r.matchResult.Int64]
			state, rule := betting.LegVoid, "The match was "+r.matchState+"; the leg is void and counts as 1.00."
			if !o.Void {
				sp, _ := sport.Lookup(r.sport)
				state, rule = betting.Grade(sp, r.leg.MarketKind, r.leg.Line, r.leg.Selection, o.Score)
			}
			r.leg.State = state
			grades = append(grades, legGrade{bet: r.bet, no: r.no, state: state, rule: rule, result: r.matchResult.Int64, wasGraded: r.graded.Int64})
		}
		if b := bets[r.bet]; b != nil {
			b.legs = append(b.legs, r.leg)
			b.sport = betting.WithSport(b.sport, r.sport)
		}
	}
	return grades, nil
}

// writeGrades writes leg grades in one statement, each only if its leg is
// still graded on the result it was read with, and returns how many it
// wrote.
func (db *DB) writeGrades(ctx context.Context, tx *sql.Tx, grades []legGrade) (int, error) {
	if len(grades) == 0 {
		return 0, nil
	}
	flat := make([]any, 0, len(grades)*6)
	betIDs := make([]int64, len(grades))
	for i, g := range grades {
		flat = append(flat, g.bet, g.no, string(g.state), g.rule, g.result, g.wasGraded)
		betIDs[i] = g.bet
	}
	v, args := db.d.rowsOf("v", []string{"bet_id", "leg_no", "state", "rule", "result_id", "was"}, []string{"BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT"}, 1, flat)
	only, extra := db.d.keyedBy("bet_legs.bet_id", len(args)+1, betIDs)
	res, err := tx.ExecContext(ctx, `WITH `+v+` `+gradesSQL("v", only), append(args, extra...)...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// keepFirstSettlements writes the history row of version 1 for the bets
// about to be corrected from it, from the bet rows as they still are. A
// row already there is kept: databases may hold one for every first
// settlement, from when each wrote one.
func (db *DB) keepFirstSettlements(ctx context.Context, tx *sql.Tx, bets []*betRow) error {
	var ids []int64
	for _, b := range bets {
		if b.version == 1 {
			ids = append(ids, b.id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	among, args := db.d.among("id", 1, ids)
	_, err := tx.ExecContext(ctx, `INSERT INTO settlements (bet_id, version, state, payout, delta, reason, created_at)
		SELECT id, 1, state, payout, payout, NULL, COALESCE(settled_at, placed_at) FROM bets WHERE version = 1 AND `+among+`
		ON CONFLICT DO NOTHING`, args...)
	return err
}

// In the set-based statements below, join keys from a VALUES list are
// written +v.id: SQLite has no statistics on the list and would otherwise
// scan the whole table once per batch; the unary plus makes it loop over
// the list and look rows up by primary key. PostgreSQL ignores it and is
// given the keys as an array instead (keyedBy).
func (db *DB) applySettlements(ctx context.Context, tx *sql.Tx, changed []*betRow, reason string, now time.Time) error {
	// 1. Move each bet to its next version, only from the version read.
	flat := make([]any, 0, len(changed)*4)
	ids := make([]int64, len(changed))
	for i, b := range changed {
		flat = append(flat, b.id, string(b.newState), b.newPayout, b.version)
		ids[i] = b.id
	}
	settledAt := db.d.ts(now)
	if err := db.keepFirstSettlements(ctx, tx, changed); err != nil {
		return err
	}
	v, args := db.d.rowsOf("v", []string{"id", "state", "payout", "version"}, []string{"BIGINT", "TEXT", "BIGINT", "BIGINT"}, 1, flat)
	args = append(args, settledAt)
	only, extra := db.d.keyedBy("bets.id", len(args)+1, ids)
	res, err := tx.ExecContext(ctx, `WITH `+v+` `+betsSettleSQL("v", db.d.param(len(args), db.d.tsType), only), append(args, extra...)...)
	if err != nil {
		return err
	}
	// Every bet moves or none: one that is no longer at the version read
	// was settled meanwhile, and the batch must be settled afresh.
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != int64(len(changed)) {
		return errStalePlan
	}
	// A bet's first settlement is recorded by the bet row itself (state,
	// payout, settled_at at version 1): with 100,000 bets settled at once,
	// a history row each was a third of the rows written. Corrections get
	// history rows (settlements), the first correction of a bet also one
	// for version 1, copied from the bet row before it changes.
	var moved []*betRow
	var hist []any
	for _, b := range changed {
		delta := b.newPayout - b.payout
		if b.version >= 1 {
			hist = append(hist, b.id, b.version+1, string(b.newState), b.newPayout, delta)
		}
		if delta != 0 {
			moved = append(moved, b)
		}
	}
	if len(hist) > 0 {
		v, args := db.d.rowsOf("v", []string{"bet_id", "version", "state", "payout", "delta"}, []string{"BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT"}, 1, hist)
		if _, err := tx.ExecContext(ctx, `WITH `+v+` `+historySQL("v", db.d.param(len(args)+1, "TEXT"), db.d.param(len(args)+2, db.d.tsType)),
			append(args, reason, settledAt)...); err != nil {
			return err
		}
	}
	if len(moved) == 0 {
		return nil
	}
	// 2. One ledger transaction per bet whose payout changed, from the
	// house to the wallet or back; the unique reference (bet, version) is
	// a second guard against paying twice.
	house := db.systemAccount(ledger.HouseAccount)
	j := newJournal(len(moved))
	for _, b := range moved {
		kind := ledger.Payout
		switch {
		case b.newPayout < b.payout:
			kind = ledger.Reversal
		case b.version == 0 && b.newState == betting.Void:
			kind = ledger.Refund
		}
		t := ledger.ToPlayer(kind, "bet:"+strconv.FormatInt(b.id, 10)+":v"+strconv.Itoa(b.version+1), b.account, house, ledger.House, b.newPayout-b.payout)
		// A reversal may leave a debt; that is the one case a wallet goes
		// below zero.
		t.AllowDebt = kind == ledger.Reversal
		if err := j.add(t, 0); err != nil {
			return err
		}
	}
	return db.writeJournal(ctx, tx, j.entries, postedFails, now, func() error {
		return db.applyPayouts(ctx, tx, moved, j.entries)
	})
}

// applyPayouts moves the balances of a settlement batch's transactions:
// each wallet by the sum of its bets' differences, in one statement, and
// the house by the opposite on one shard row. It sets each entry's
// balance after, worked backwards from its wallet's final amount so that
// statements show the balance after every entry.
func (db *DB) applyPayouts(ctx context.Context, tx *sql.Tx, moved []*betRow, entries []journalEntry) error {
	perAccount := map[int64]int64{}
	var houseDelta int64
	for _, b := range moved {
		perAccount[b.account] += b.newPayout - b.payout
		houseDelta -= b.newPayout - b.payout
	}
	accts := make([]int64, 0, len(perAccount))
	for a := range perAccount {
		accts = append(accts, a)
	}
	sort.Slice(accts, func(i, j int) bool { return accts[i] < accts[j] })
	if err := db.w.lockWallets(ctx, tx, accts); err != nil {
		return err
	}
	flat := make([]any, 0, 2*len(accts))
	for _, a := range accts {
		flat = append(flat, a, perAccount[a])
	}
	v, args := db.d.rowsOf("v", []string{"account_id", "delta"}, []string{"BIGINT", "BIGINT"}, 1, flat)
	only, extra := db.d.keyedBy("balances.account_id", len(args)+1, accts)
	final := map[int64]int64{}
	if err := scanPairs(ctx, tx, `WITH `+v+` `+walletsMoveBy("v", only), append(args, extra...), final); err != nil {
		return err
	}
	if len(final) != len(accts) {
		return fmt.Errorf("settlement: %d of %d wallets updated", len(final), len(accts))
	}
	if houseDelta != 0 {
		shard := moved[0].id % int64(db.cfg.HouseShards)
		if _, err := tx.ExecContext(ctx, `UPDATE balances SET amount = amount + $1 WHERE account_id = $2 AND shard = $3`,
			houseDelta, db.systemAccount(ledger.HouseAccount), shard); err != nil {
			return err
		}
	}
	for i := len(moved) - 1; i >= 0; i-- {
		b := moved[i]
		entries[i].after = sql.NullInt64{Int64: final[b.account], Valid: true}
		final[b.account] -= b.newPayout - b.payout
	}
	return nil
}

// gradesSQL writes the grades of src(bet_id, leg_no, state, rule,
// result_id, was), each only if its leg is still graded on the result it
// was read with (was, 0 for none); only narrows it as keyedBy says.
func gradesSQL(src, only string) string {
	return `UPDATE bet_legs SET state = ` + src + `.state, rule = ` + src + `.rule, result_id = ` + src + `.result_id
		FROM ` + src + ` WHERE bet_legs.bet_id = +` + src + `.bet_id AND bet_legs.leg_no = +` + src + `.leg_no
			AND COALESCE(bet_legs.result_id, 0) = +` + src + `.was` + only
}

// betsSettleSQL moves each bet of src(id, state, payout, version) to its
// next version, only from the version read, settled at the parameter
// settledAt (no time for a bet that is open again); only narrows it as
// keyedBy says.
func betsSettleSQL(src, settledAt, only string) string {
	return `UPDATE bets SET state = ` + src + `.state, payout = ` + src + `.payout, version = bets.version + 1,
			settled_at = CASE WHEN ` + src + `.state = 'open' THEN NULL ELSE ` + settledAt + ` END
		FROM ` + src + ` WHERE bets.id = +` + src + `.id AND bets.version = +` + src + `.version` + only
}

// historySQL records the corrections of src(bet_id, version, state,
// payout, delta), with the parameters reason and at.
func historySQL(src, reason, at string) string {
	return `INSERT INTO settlements (bet_id, version, state, payout, delta, reason, created_at)
		SELECT bet_id, version, state, payout, delta, ` + reason + `, ` + at + ` FROM ` + src
}

// walletsMoveBy adds to each wallet of src(account_id, delta) its delta
// and returns the new amounts; only narrows it as keyedBy says.
func walletsMoveBy(src, only string) string {
	return `UPDATE balances SET amount = balances.amount + ` + src + `.delta FROM ` + src + `
		WHERE balances.account_id = +` + src + `.account_id AND balances.shard = 0` + only + `
		RETURNING balances.account_id, balances.amount`
}

// MatchResult is the result a match's bets are settled on (the latest one
// recorded, a correction included) with its evidence; nil when it has
// none yet.
//
// Codes: match_not_found.
func (db *DB) MatchResult(ctx context.Context, matchID string) (*sport.Outcome, error) {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	var outcome, source, status sql.NullString
	var provider, actor, reason sql.NullString
	var h, a, rh, ra sql.NullInt64
	var fetched sql.NullString
	var state string
	err := db.ro.QueryRowContext(ctx, `SELECT m.state, r.outcome, r.home, r.away, r.reg_home, r.reg_away, r.source, r.provider_match_id, r.status, r.fetched_at, r.actor, r.reason
		FROM matches m LEFT JOIN match_results r ON r.id = m.result_id WHERE m.id = $1`, mid).
		Scan(&state, &outcome, &h, &a, &rh, &ra, &source, &provider, &status, &fetched, &actor, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	if err != nil || !outcome.Valid {
		return nil, classify(err)
	}
	o := &sport.Outcome{Void: outcome.String == "void", State: sport.State(state),
		Score:    sport.Score{Home: int(h.Int64), Away: int(a.Int64), Regulation: sport.Pair{Home: int(rh.Int64), Away: int(ra.Int64)}},
		Evidence: sport.Evidence{Source: source.String, ProviderMatchID: provider.String, Status: status.String, Actor: actor.String, Reason: reason.String}}
	if err := (scanTime{&o.Evidence.FetchedAt}).Scan(fetched.String); err != nil {
		return nil, err
	}
	return o, nil
}
