package sqlstore

import (
	"context"
	"database/sql"
)

// Settlement's writes on SQLite; see writer.go.

// settleWorkers is two: SQLite has one writer, so while one batch writes
// in its turn the other reads and grades its own beside it.
func (w sqliteWriter) settleWorkers() int { return 2 }

// settleWrite runs fn on the placement writer, between two placement
// batches (placer.inTurn), so that settlement and placement take turns
// on the one writing connection.
func (w sqliteWriter) settleWrite(ctx context.Context, fn func() error) error {
	return w.db.placer.inTurn(ctx, fn)
}

// lockWallets needs no lock: SQLite's single writer (BEGIN IMMEDIATE)
// already excludes every other writer.
func (w sqliteWriter) lockWallets(context.Context, *sql.Tx, []int64) error { return nil }
