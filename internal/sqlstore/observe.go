package sqlstore

import (
	"context"
	"database/sql"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

// Observer is told of committed movements that operators count and log:
// the bets each settlement batch moved, and each programme credit. It is
// called on the goroutine that committed, after the commit, so it must be
// quick and never block.
type Observer interface {
	BetsSettled(bets []SettledBet)
	Credited(kind ledger.Kind, points int64)
}

// SettledBet is a bet that a settlement moved to its next version.
type SettledBet struct {
	ID    string
	Sport string        // the legs' sport, or betting.Mixed
	State betting.State // won, lost or void
	// Paid is what this settlement moved to the player: the payout on a
	// first settlement, the difference on a correction (negative when it
	// takes points back).
	Paid int64
	// Version is 1 for the first settlement, more for a correction.
	Version int
}

// SetObserver sets the observer of committed settlements and credits.
// Set it before the store is used.
func (db *DB) SetObserver(o Observer) { db.observer = o }

// observeSettled reports the bets of a committed settlement batch.
func (db *DB) observeSettled(rows []*betRow) {
	if db.observer == nil || len(rows) == 0 {
		return
	}
	out := make([]SettledBet, len(rows))
	for i, b := range rows {
		out[i] = SettledBet{ID: fmtID(pBet, b.id), Sport: b.sport, State: b.newState, Paid: b.newPayout - b.payout, Version: b.version + 1}
	}
	db.observer.BetsSettled(out)
}

// observeCredit reports a committed programme credit.
func (db *DB) observeCredit(kind ledger.Kind, points int64) {
	if db.observer != nil && points != 0 {
		db.observer.Credited(kind, points)
	}
}

// LedgerTotal is the balance of one operator account, or of every player
// wallet together (Kind ledger.Player, Account "players").
type LedgerTotal struct {
	Kind    ledger.AccountKind
	Account string
	Points  int64
}

// LedgerTotals reads the balance of each operator account and the
// players' total. It reads only the operator accounts' balance rows
// (a few per account, by primary key), however many players there are:
// every transaction sums to zero, so the wallets hold exactly what the
// operator accounts have given out. verify-ledger checks that premise.
// It reads where reads may lag (the replica, or SQLite's readers): a
// scrape does not need the last commit.
func (db *DB) LedgerTotals(ctx context.Context) ([]LedgerTotal, error) {
	db.accountsMu.Lock()
	ids := make([]int64, 0, len(db.system))
	codes := make(map[int64]string, len(db.system))
	for code, id := range db.system {
		ids = append(ids, id)
		codes[id] = code
	}
	db.accountsMu.Unlock()
	if len(ids) == 0 {
		return nil, nil
	}
	among, args := db.d.among("account_id", 1, ids)
	rows, err := db.ro.QueryContext(ctx, `SELECT account_id, CAST(SUM(amount) AS BIGINT) FROM balances WHERE `+among+` GROUP BY account_id`, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []LedgerTotal
	var operators int64
	for rows.Next() {
		var id, sum int64
		if err := rows.Scan(&id, &sum); err != nil {
			return nil, classify(err)
		}
		code := codes[id]
		out = append(out, LedgerTotal{Kind: ledger.SystemAccounts[code], Account: code, Points: sum})
		operators += sum
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	out = append(out, LedgerTotal{Kind: ledger.Player, Account: "players", Points: -operators})
	return out, nil
}

// Pools names the store's connection pools, for their statistics
// (sql.DB.Stats): "primary", which takes every write, and the pool that
// serves reads that may lag: "replica" on PostgreSQL with a replica,
// "readers" on SQLite (read-only connections beside the one writer).
func (db *DB) Pools() map[string]*sql.DB {
	pools := map[string]*sql.DB{"primary": db.rw}
	switch {
	case db.replica:
		pools["replica"] = db.ro
	case db.ro != db.rw:
		pools["readers"] = db.ro
	}
	return pools
}
