package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/ledger"
)

// Bet placement's writes on PostgreSQL; see writer.go.

// reserveBetIDs takes ids from the bets sequence, in one round trip, for
// the jobs that have none yet; ids of refused bets are simply not used.
func (w postgresWriter) reserveBetIDs(ctx context.Context, tx *sql.Tx, jobs []*placeJob) error {
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

// The columns of the bet write's rows of bets, and their types; ref is
// the reference of the stake's ledger transaction.
var (
	betRowCols  = []string{"i", "id", "uid", "stake", "odds", "potential", "policy", "day", "week", "month", "cap_d", "cap_w", "cap_m", "owner", "key", "hash", "status", "body", "ref"}
	betRowTypes = []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT", "BYTEA", "TEXT"}
)

// writeBets writes a round of bets, at most one per player, in one
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
func (w postgresWriter) writeBets(ctx context.Context, tx *sql.Tx, bets []*pendingBet, now time.Time) ([]writeOutcome, error) {
	db := w.db
	houseID := db.systemAccount(ledger.HouseAccount)
	flat := make([]any, 0, len(bets)*len(betRowCols))
	var legFlat []any
	for k, p := range bets {
		b, st := p.bet, p.st
		var owner, key, hash, status, body any
		if idem := p.j.req.Idempotency; idem != nil {
			owner, key, hash, status, body = idem.Owner, idem.Key, idem.Hash, int64(p.status), p.body
		}
		// The stake's transaction is checked as the journal checks every
		// other (ledgerwrite.go); the statement finds the wallet (0 here)
		// when it debits it, and writes the reference and the two
		// postings checked: -stake from the wallet, +stake to the house.
		stake := stakeTransaction(p, 0, houseID)
		if err := stake.Check(); err != nil {
			return nil, err
		}
		flat = append(flat, int64(k), p.j.betID, p.j.uid, b.Stake, int64(p.combined), b.PotentialPayout, string(b.OddsPolicy),
			st.day, st.week, st.month, st.caps.Day, st.caps.Week, st.caps.Month, owner, key, hash, status, body, stake.Reference)
		legFlat = legRows(legFlat, p.j.betID, b.Legs)
	}
	rows, args := db.d.rowsOf("v", betRowCols, betRowTypes, 1, flat)
	legs, legArgs := db.d.rowsOf("lv", legRowCols, legRowTypes, 1+len(args), legFlat)
	args = append(args, legArgs...)
	n := len(args)
	args = append(args, db.d.ts(now), houseID)
	q, err := tx.QueryContext(ctx, betWriteSQL(rows, legs, n), args...)
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

// betWriteSQL is the bet write's statement: rows and legs are the WITH
// clause's tables v (betRowCols) and lv (legRowCols), and $n+1 and $n+2
// the time and the house account.
func betWriteSQL(rows, legs string, n int) string {
	ts, house := "CAST($"+strconv.Itoa(n+1)+" AS TIMESTAMPTZ)", "CAST($"+strconv.Itoa(n+2)+" AS BIGINT)"
	return `WITH ` + rows + `, ` + legs + `,
		k AS (
			INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at)
			SELECT owner, key, hash, status, body, ` + ts + ` FROM v WHERE owner IS NOT NULL
			ON CONFLICT DO NOTHING RETURNING owner, key),
		c AS (SELECT v.* FROM v WHERE v.owner IS NULL OR (v.owner, v.key) IN (SELECT owner, key FROM k)),
		g AS (` + roundTallyUpsert("c") + `),
		d AS (
			UPDATE balances SET amount = balances.amount - c.stake
			FROM c JOIN accounts a ON a.user_id = c.uid
			WHERE balances.account_id = a.id AND balances.shard = 0 AND balances.amount >= c.stake
				AND c.uid IN (SELECT user_id FROM g)
			RETURNING c.i, balances.account_id, balances.amount),
		b AS (
			INSERT INTO bets (id, user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
			SELECT c.id, c.uid, d.account_id, c.stake, c.odds, c.potential, c.policy, 'open', ` + ts + ` FROM c JOIN d ON d.i = c.i
			RETURNING id),
		l AS (
			INSERT INTO bet_legs (` + strings.Join(legRowCols, ", ") + `)
			SELECT ` + strings.Join(legRowCols, ", ") + ` FROM lv WHERE lv.bet_id IN (SELECT id FROM b)),
		t AS (
			INSERT INTO ledger_tx (kind, reference, created_at)
			SELECT 'stake', c.ref, ` + ts + ` FROM c JOIN b ON b.id = c.id RETURNING id, reference),
		sp AS (
			SELECT t.id AS tx_id, CASE WHEN side.house THEN ` + house + ` ELSE d.account_id END AS account_id,
				CASE WHEN side.house THEN c.stake ELSE -c.stake END AS amount,
				CASE WHEN side.house THEN NULL ELSE d.amount END AS balance_after
			FROM c JOIN d ON d.i = c.i JOIN t ON t.reference = c.ref,
				(VALUES (FALSE), (TRUE)) AS side(house)
			ORDER BY c.i, side.house),
		p AS (` + postingsInsert("sp", ts) + `)
		SELECT v.i, EXISTS (SELECT 1 FROM c WHERE c.i = v.i), EXISTS (SELECT 1 FROM g WHERE g.user_id = v.uid),
			EXISTS (SELECT 1 FROM d WHERE d.i = v.i)
		FROM v`
}
