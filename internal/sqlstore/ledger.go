package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

// ensureSystemAccounts creates the operator's accounts and their balance
// rows where missing, and notes their ids.
func (db *DB) ensureSystemAccounts(ctx context.Context) error {
	db.accountsMu.Lock()
	defer db.accountsMu.Unlock()
	db.system = make(map[string]int64, len(ledger.SystemAccounts))
	// In one order on every instance: instances starting at once on an
	// empty database would otherwise take the unique index's locks in
	// their own map orders and deadlock each other.
	codes := slices.Sorted(maps.Keys(ledger.SystemAccounts))
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, code := range codes {
			kind := ledger.SystemAccounts[code]
			// Insert-if-missing, then read: two instances starting at once on
			// an empty database both get here, and a look-then-insert would
			// fail the second on the unique code.
			if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (kind, code, created_at) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING`,
				string(kind), code, db.d.ts(db.Now())); err != nil {
				return fmt.Errorf("system account %s: %w", code, err)
			}
			var id int64
			if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE code = $1`, code).Scan(&id); err != nil {
				return fmt.Errorf("system account %s: %w", code, err)
			}
			for s := 0; s < db.cfg.HouseShards; s++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO balances (account_id, shard, amount) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`, id, s); err != nil {
					return err
				}
			}
			db.system[code] = id
		}
		return nil
	})
}

func (db *DB) systemAccount(code string) int64 {
	db.accountsMu.Lock()
	defer db.accountsMu.Unlock()
	return db.system[code]
}

// createPlayerAccount opens a wallet for a new user inside tx.
func (db *DB) createPlayerAccount(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO accounts (kind, code, user_id, created_at) VALUES ('player', $1, $2, $3) RETURNING id`,
		fmt.Sprintf("player:%d", userID), userID, db.d.ts(now)).Scan(&id)
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO balances (account_id, shard, amount) VALUES ($1, 0, 0)`, id)
	return id, err
}

// post writes one ledger transaction inside tx through the journal:
// the transaction row, the balance of each account and the postings.
// Postings' account kinds must be correct; callers outside this package
// go through Post, which looks them up. A player posting that would take
// the balance below zero fails with insufficient_points unless
// t.AllowDebt. The reference makes it happen at most once (errPosted
// otherwise).
func (db *DB) post(ctx context.Context, tx *sql.Tx, t ledger.Transaction, now time.Time) error {
	j := newJournal(1)
	if err := j.add(t, 0); err != nil {
		return err
	}
	e := &j.entries[0]
	return db.writeJournal(ctx, tx, j.entries, postedIsAnswer, now, func() error {
		for _, p := range e.Postings {
			if p.Kind != ledger.Player {
				shard := e.id % int64(db.cfg.HouseShards)
				if _, err := tx.ExecContext(ctx, `UPDATE balances SET amount = amount + $1 WHERE account_id = $2 AND shard = $3`, p.Amount, p.AccountID, shard); err != nil {
					return err
				}
				continue
			}
			q := `UPDATE balances SET amount = amount + $1 WHERE account_id = $2 AND shard = 0`
			if p.Amount < 0 && !e.AllowDebt {
				q += ` AND amount + $1 >= 0`
			}
			err := tx.QueryRowContext(ctx, q+` RETURNING amount`, p.Amount, p.AccountID).Scan(&e.after)
			if errors.Is(err, sql.ErrNoRows) {
				var have int64
				_ = tx.QueryRowContext(ctx, `SELECT amount FROM balances WHERE account_id = $1 AND shard = 0`, p.AccountID).Scan(&have)
				return insufficient(have, -p.Amount)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// credit posts amount from a programme account to a player's wallet
// inside tx: a bonus, a top-up, a check-in, a grant or a partner credit.
// The reference makes it happen at most once (errPosted otherwise).
func (db *DB) credit(ctx context.Context, tx *sql.Tx, kind ledger.Kind, ref string, wallet, programme, amount int64, now time.Time) error {
	return db.post(ctx, tx, ledger.ToPlayer(kind, ref, wallet, programme, ledger.Programme, amount), now)
}

// insufficient is the refusal of a debit the balance does not cover.
func insufficient(have, need int64) *fault.Error {
	if have < 0 {
		return fault.New(fault.Refused, "insufficient_points", "Your balance is %s points (a debt from a corrected result); it must be covered before you can bet.", ledger.FormatPoints(have)).
			With("balance", have)
	}
	return fault.New(fault.Refused, "insufficient_points", "You have %s points; the stake is %s.", ledger.FormatPoints(have), ledger.FormatPoints(need)).
		With("balance", have)
}

// PlayerAccount returns the wallet id of a user.
func (db *DB) PlayerAccount(ctx context.Context, userID string) (int64, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return 0, errNoUser()
	}
	var id int64
	err := db.rw.QueryRowContext(ctx, `SELECT id FROM accounts WHERE user_id = $1`, uid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNoUser()
	}
	return id, classify(err)
}

// Balance returns an account's balance, always from the primary.
func (db *DB) Balance(ctx context.Context, accountID int64) (int64, error) {
	var b int64
	err := db.rw.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM balances WHERE account_id = $1`, accountID).Scan(&b)
	return b, classify(err)
}

// SystemBalance returns the balance of an operator account by code.
func (db *DB) SystemBalance(ctx context.Context, code string) (int64, error) {
	return db.Balance(ctx, db.systemAccount(code))
}

// Credit moves amount points from an operator account (by code) to a
// player's wallet in one transaction. reference makes it idempotent: a
// second credit with the same reference returns posted=false and moves
// nothing.
//
// Codes: insufficient_points (negative amounts), player_transfer_forbidden.
func (db *DB) Credit(ctx context.Context, userID string, from string, kind ledger.Kind, reference string, amount int64) (posted bool, err error) {
	acct, err := db.PlayerAccount(ctx, userID)
	if err != nil {
		return false, err
	}
	src := db.systemAccount(from)
	if src == 0 {
		return false, fmt.Errorf("unknown system account %q", from)
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		return db.post(ctx, tx, ledger.ToPlayer(kind, reference, acct, src, ledger.SystemAccounts[from], amount), db.Now())
	})
	if errors.Is(err, errPosted) {
		return false, nil
	}
	return err == nil, err
}

// Post writes an arbitrary transaction after looking up the kind of every
// account it touches, so the player-to-player rule cannot be bypassed by
// a caller that mislabels an account.
func (db *DB) Post(ctx context.Context, t ledger.Transaction) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		for i, p := range t.Postings {
			var kind string
			if err := tx.QueryRowContext(ctx, `SELECT kind FROM accounts WHERE id = $1`, p.AccountID).Scan(&kind); err != nil {
				return fmt.Errorf("account %d: %w", p.AccountID, err)
			}
			t.Postings[i].Kind = ledger.AccountKind(kind)
		}
		return db.post(ctx, tx, t, db.Now())
	})
}

// Statement lists an account's entries, newest first. cursor is the id of
// the last entry of the previous page ("" for the first page).
func (db *DB) Statement(ctx context.Context, accountID int64, cursor string, limit int) ([]*ledger.Entry, string, error) {
	before := int64(1<<63 - 1)
	if cursor != "" {
		id, ok := parseID(pEntry, cursor)
		if !ok {
			return nil, "", fault.New(fault.Invalid, "invalid_cursor", "The cursor is not valid.")
		}
		before = id
	}
	rows, err := db.rw.QueryContext(ctx, `
		SELECT p.id, p.created_at, t.kind, p.amount, COALESCE(p.balance_after, 0), t.reference
		FROM postings p JOIN ledger_tx t ON t.id = p.tx_id
		WHERE p.account_id = $1 AND p.id < $2
		ORDER BY p.id DESC LIMIT $3`, accountID, before, limit+1)
	if err != nil {
		return nil, "", classify(err)
	}
	defer rows.Close()
	var out []*ledger.Entry
	for rows.Next() {
		var e ledger.Entry
		var id int64
		if err := rows.Scan(&id, scanTime{&e.At}, &e.Kind, &e.Amount, &e.BalanceAfter, &e.Reference); err != nil {
			return nil, "", err
		}
		e.ID = fmtID(pEntry, id)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// VerifyLedger recomputes every balance from postings and checks that
// each transaction sums to zero. It returns one Discrepancy per account
// whose stored balance differs, and an error naming any unbalanced
// transaction.
func (db *DB) VerifyLedger(ctx context.Context) ([]ledger.Discrepancy, error) {
	rows, err := db.rw.QueryContext(ctx, `
		SELECT a.id, a.code, COALESCE(b.total, 0), COALESCE(p.total, 0)
		FROM accounts a
		LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM balances GROUP BY account_id) b ON b.account_id = a.id
		LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) p ON p.account_id = a.id
		WHERE COALESCE(b.total, 0) <> COALESCE(p.total, 0)`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []ledger.Discrepancy
	for rows.Next() {
		var d ledger.Discrepancy
		if err := rows.Scan(&d.AccountID, &d.Code, &d.Stored, &d.Postings); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	var unbalanced, total int64
	if err := db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT tx_id FROM postings GROUP BY tx_id HAVING SUM(amount) <> 0 OR COUNT(*) < 2) x`).Scan(&unbalanced); err != nil {
		return out, classify(err)
	}
	if err := db.rw.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM postings`).Scan(&total); err != nil {
		return out, classify(err)
	}
	if unbalanced != 0 || total != 0 {
		return out, fmt.Errorf("%d unbalanced transactions; postings sum to %d", unbalanced, total)
	}
	return out, nil
}
