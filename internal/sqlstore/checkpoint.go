package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointEvery is how often the checkpointer copies the write-ahead
// log back into the database file. At full load the log grows by tens of
// megabytes a second, so a checkpoint is never far behind.
const checkpointEvery = 100 * time.Millisecond

// checkpointer copies SQLite's write-ahead log into the database file on
// a connection of its own. SQLite's default is that the commit which
// takes the log past 1,000 pages does it, fsync of the database file
// included, while every placement queued behind the one writer waits:
// in a settlement profile that was a fifth of the writer's time. Here the
// writer only appends to the log; the copy runs beside it (a PASSIVE
// checkpoint takes no lock a writer or reader waits on).
type checkpointer struct {
	conn *sql.DB
}

// Name is the checkpointer's name as a worker.
func (c *checkpointer) Name() string { return "sqlite-checkpointer" }

// Run checkpoints every checkpointEvery until ctx ends.
func (c *checkpointer) Run(ctx context.Context) error {
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := c.checkpoint(ctx); err != nil && ctx.Err() == nil {
			// The next tick tries again; the log only grows meanwhile.
			slog.Warn("sqlite checkpoint", "err", err)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint: it copies what no reader
// still needs from the log and leaves the rest for a later one.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	// The pragma answers busy, the log's length and the frames copied;
	// nothing here needs them.
	var busy, logFrames, copied int
	return c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &copied)
}
