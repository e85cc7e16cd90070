package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

// Bet placement's writes on SQLite; see writer.go.

// reserveBetIDs gives each job the id its bet will have: the ids follow
// the largest one written, and hold only inside this transaction, which
// has the database's one write lock. Every job gets a fresh one, since a
// transaction that failed may have been overtaken by another.
func (w sqliteWriter) reserveBetIDs(ctx context.Context, tx *sql.Tx, jobs []*placeJob) error {
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

// writeBets writes a round of bets, at most one per player and per
// idempotency key, as PostgreSQL's does (betwrite_postgres.go) but in one
// multi-row statement per step, since SQLite has no data-modifying CTEs:
// claim the keys, count the stakes under the caps, debit the wallets that
// cover them, then write the bets, legs, stake transactions and postings
// of the debited ones.
// SQLite runs in-process, so what a statement costs is its start, binding
// and finish rather than a round trip; written one bet at a time, each
// bet would take eight of them on the one writer, which placement and
// settlement share.
// The bets' ids were reserved for the transaction (reserveBetIDs), so the
// response stored under a key is written with the claim.
func (w sqliteWriter) writeBets(ctx context.Context, tx *sql.Tx, round []*pendingBet, now time.Time) ([]writeOutcome, error) {
	db := w.db
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
		return scanRows(ctx, tx, keyClaimSQL(hi-lo), flat, func(r *sql.Rows) error {
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
		return scanPairs(ctx, tx, walletsOfSQL(hi-lo), uids, wallet)
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
		return scanPairs(ctx, tx, `WITH `+v+` `+debitSQL("v"), args, after)
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
	// its two postings, through the journal. Ledger ids are taken here as
	// the bets' were: the transaction holds SQLite's one write lock.
	var lastTx int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM ledger_tx`).Scan(&lastTx); err != nil {
		return nil, err
	}
	house := db.systemAccount(ledger.HouseAccount)
	j := newJournal(len(debited))
	for i, p := range debited {
		acct := wallet[p.j.uid]
		if err := j.add(stakeTransaction(p, acct, house), lastTx+int64(i+1)); err != nil {
			return nil, err
		}
		j.entries[i].after = sql.NullInt64{Int64: after[acct], Valid: true}
	}
	err = inChunks(len(debited), func(lo, hi int) error {
		part := debited[lo:hi]
		bets := make([]any, 0, len(part)*9)
		var legs []any
		for _, p := range part {
			bets = append(bets, p.j.betID, p.j.uid, wallet[p.j.uid], p.bet.Stake, int64(p.combined), p.bet.PotentialPayout, string(p.bet.OddsPolicy), string(betting.Open), ts)
			legs = legRows(legs, p.j.betID, p.bet.Legs)
		}
		if _, err := tx.ExecContext(ctx, betInsert(len(part)), bets...); err != nil {
			return err
		}
		width := len(legRowCols)
		if err := inChunks(len(legs)/width, func(lo, hi int) error {
			_, err := tx.ExecContext(ctx, legInsert(hi-lo), legs[lo*width:hi*width]...)
			return err
		}); err != nil {
			return err
		}
		return db.writeJournal(ctx, tx, j.entries[lo:hi], postedFails, now, nil)
	})
	return out, err
}

// betInsert inserts n bets from parameters (id, user_id, account_id,
// stake, odds, potential_payout, odds_policy, state, placed_at) per row.
func betInsert(n int) string {
	return `INSERT INTO bets (id, user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
		VALUES ` + placeholders(n, 9, 0)
}

// legInsert inserts n legs from parameters in the order of legRowCols.
func legInsert(n int) string {
	return `INSERT INTO bet_legs (` + strings.Join(legRowCols, ", ") + `) VALUES ` + placeholders(n, len(legRowCols), 0)
}

// keyClaimSQL claims n idempotency keys, from parameters (owner, key,
// request_hash, status, body, created_at) per row, and returns those it
// claimed.
func keyClaimSQL(n int) string {
	return `INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at) VALUES ` + placeholders(n, 6, 0) + `
		ON CONFLICT DO NOTHING RETURNING owner, key`
}

// walletsOfSQL returns the (user, wallet) pairs of n users.
func walletsOfSQL(n int) string {
	return `SELECT user_id, id FROM accounts WHERE user_id IN (` + inList(n, 0) + `)`
}

// debitSQL takes each stake of src(account_id, stake) from its wallet if
// the balance covers it, and returns the debited wallets' new balances.
func debitSQL(src string) string {
	return `UPDATE balances SET amount = balances.amount - ` + src + `.stake FROM ` + src + `
		WHERE balances.account_id = +` + src + `.account_id AND balances.shard = 0 AND balances.amount >= ` + src + `.stake
		RETURNING balances.account_id, balances.amount`
}
