package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// writer is what SQLite and PostgreSQL do each their own way on the two
// write paths that carry the load, bet placement and settlement. Open
// picks one for the database (sqliteWriter or postgresWriter); the
// implementations are in betwrite_sqlite.go / betwrite_postgres.go and
// settlewrite_sqlite.go / settlewrite_postgres.go. Smaller differences
// (a lock clause, a type name, how a list of rows is sent) are fields and
// methods of dialect, in dialect.go.
type writer interface {
	// reserveBetIDs gives each job the id its bet will have.
	reserveBetIDs(ctx context.Context, tx *sql.Tx, jobs []*placeJob) error
	// writeBets writes a round of bets, at most one per player and per
	// idempotency key, and says what became of each.
	writeBets(ctx context.Context, tx *sql.Tx, round []*pendingBet, now time.Time) ([]writeOutcome, error)
	// settleWorkers is how many batches of one match settle at once.
	settleWorkers() int
	// settleWrite runs a settlement batch's write transaction, fn.
	settleWrite(ctx context.Context, fn func() error) error
	// lockWallets locks the wallet rows a settlement batch moves, in id
	// order, the order placement takes them in.
	lockWallets(ctx context.Context, tx *sql.Tx, accounts []int64) error
}

// sqliteWriter writes to SQLite, which has one writer connection.
type sqliteWriter struct{ db *DB }

// postgresWriter writes to PostgreSQL, on several connections at once.
type postgresWriter struct{ db *DB }
