package sqlstore

import (
	"context"
	"database/sql"
)

// Settlement's writes on PostgreSQL; see writer.go.

// settleWorkers is PB_SETTLE_WORKERS: batches are independent (each bet
// is in one), so they settle on several connections at once.
func (w postgresWriter) settleWorkers() int { return w.db.cfg.SettleWorkers }

// settleWrite runs fn as it is, on a connection of its own.
func (w postgresWriter) settleWrite(_ context.Context, fn func() error) error { return fn() }

// lockWallets locks the wallets in id order, the order placement takes
// them in, so that settlement and placement never wait on each other in a
// cycle; wallet rows shared between batches wait, never deadlock.
func (w postgresWriter) lockWallets(ctx context.Context, tx *sql.Tx, accounts []int64) error {
	among, args := w.db.d.among("account_id", 1, accounts)
	rows, err := tx.QueryContext(ctx, `SELECT account_id FROM balances WHERE shard = 0 AND `+among+` ORDER BY account_id`+w.db.d.forUpdate, args...)
	if err != nil {
		return err
	}
	return rows.Close()
}
