// Package sqlstore stores every domain in SQL through database/sql: SQLite
// (modernc.org/sqlite, pure Go) by default and PostgreSQL (pgx) in
// production. Both dialects run the same hand-written SQL; small
// differences live in dialect.go, and the bet and settlement writes that
// each database does its own way sit behind the writer interface
// (writer.go, betwrite_*.go, settlewrite_*.go).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/trace"
	"modernc.org/sqlite"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/worker"
	"github.com/pointsbook/pointsbook/migrations"
)

// Config says where the data lives.
type Config struct {
	// URL is "postgres://…" for PostgreSQL, or a SQLite file path
	// (optionally "sqlite://path" or "file:path").
	URL string
	// ReplicaURL, when set with PostgreSQL, receives catalogue, history
	// and leaderboard reads.
	ReplicaURL string
	// MaxConns bounds the PostgreSQL pool (and SQLite readers).
	MaxConns int
	// Limits are the bet limits checked at placement.
	Limits betting.Limits
	// GroupCommitMax bounds how many bet placements share one commit.
	GroupCommitMax int
	// GroupCommitWait is how long the first placement of a batch waits
	// for company before committing; zero commits whatever is queued.
	GroupCommitWait time.Duration
	// Writers is how many placement batches may commit at once
	// (PostgreSQL; SQLite always uses one writer).
	Writers int
	// SettleWorkers is how many settlement batches of one match are
	// written at once (PostgreSQL; SQLite always uses one).
	SettleWorkers int
	// HouseShards spreads the house balance over this many rows.
	HouseShards int
	// DailyStakeCap caps what one player may stake in a calendar day of
	// their time zone, in points; 0 means no cap.
	DailyStakeCap int64
	// Tracer, when set, gets spans of bet placement and of the commits of
	// traced requests (tracing.go); nil: no spans, at no cost.
	Tracer trace.TracerProvider
	// ListCacheTTL keeps match lists and sport counts that long (see
	// listCache); 0 reads every time.
	ListCacheTTL time.Duration
}

// DB is the store.
type DB struct {
	cfg Config
	d   dialect
	// w writes bets and settlements the database's way (writer.go).
	w writer
	// rw takes every write and reads that must see the latest state (a
	// player's own balance and bets). SQLite has exactly one writer
	// connection so writers queue in Go instead of spinning on
	// SQLITE_BUSY.
	rw *sql.DB
	// ro serves reads that may lag: the replica on PostgreSQL, a pool of
	// read-only connections on SQLite (WAL lets them run beside the writer).
	ro *sql.DB
	// replica is true when ro is a separate server.
	replica bool
	// ckpt copies SQLite's write-ahead log into the database file, off
	// the writer connection; nil on PostgreSQL.
	ckpt *checkpointer
	// own runs the workers when Open started them; nil after Connect,
	// whose caller runs Workers itself.
	own *worker.Group

	// Now is the clock; tests freeze it. Every row written by one
	// transaction uses one reading of it.
	Now func() time.Time

	placer *placer

	// lists keeps day lists for a moment; nil when Config.ListCacheTTL is 0.
	lists *listCache

	// hooks are run at the moments of settlement that tests order
	// (settle_race_test.go); all nil outside tests.
	hooks settleHooks

	// afterCommit receives the events of committed changes (notices.go).
	afterCommit func(...live.Event) bool
	// observer counts committed settlements and credits (observe.go).
	observer Observer

	// auditLog receives committed audit events (audit.go).
	auditLog atomic.Pointer[slog.Logger]

	// tracer is Config.Tracer's, nil when tracing is off.
	tracer trace.Tracer

	// dailyCap is Config.DailyStakeCap, changeable at run time.
	dailyCap atomic.Int64

	accountsMu sync.Mutex
	system     map[string]int64 // system account code → id
}

// Open connects, applies migrations and starts the store's workers in a
// group of its own, which Close stops. It is for tools and tests; the
// server uses Connect and runs Workers beside its other background work.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db.own = &worker.Group{}
	db.own.Start(ctx, db.Workers()...)
	return db, nil
}

// Connect connects and applies migrations, and starts nothing: until the
// caller runs Workers, placements and settlement on SQLite wait for a
// writer, and SQLite's write-ahead log is not checkpointed.
func Connect(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.GroupCommitMax <= 0 {
		cfg.GroupCommitMax = 256
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	if cfg.SettleWorkers <= 0 {
		cfg.SettleWorkers = 4
	}
	if cfg.HouseShards <= 0 {
		cfg.HouseShards = 16
	}
	if cfg.Limits == (betting.Limits{}) {
		cfg.Limits = betting.DefaultLimits
	}
	// Microseconds: what PostgreSQL keeps, so a value returned at placement
	// equals the one read back later.
	db := &DB{cfg: cfg, Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }, lists: newListCache(cfg.ListCacheTTL)}
	var err error
	if isPostgres(cfg.URL) {
		db.d, db.w = dialectPostgres, postgresWriter{db}
		db.rw, err = openPostgres(cfg.URL, cfg.MaxConns)
		if err == nil && cfg.ReplicaURL != "" {
			db.ro, err = openPostgres(cfg.ReplicaURL, cfg.MaxConns)
			db.replica = true
		} else {
			db.ro = db.rw
		}
	} else {
		if cfg.ReplicaURL != "" {
			return nil, errors.New("a read replica needs PostgreSQL")
		}
		db.d, db.w = dialectSQLite, sqliteWriter{db}
		cfg.Writers = 1
		db.cfg.Writers = 1
		var ckpt *sql.DB
		db.rw, db.ro, ckpt, err = openSQLite(cfg.URL, cfg.MaxConns)
		if err == nil {
			db.ckpt = &checkpointer{conn: ckpt}
		}
	}
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.ensureSystemAccounts(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.dailyCap.Store(cfg.DailyStakeCap)
	if cfg.Tracer != nil {
		db.tracer = cfg.Tracer.Tracer(tracerScope)
	}
	db.placer = newPlacer(db)
	return db, nil
}

func isPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func openPostgres(u string, maxConns int) (*sql.DB, error) {
	cfg, err := parsePostgresURL(u)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

func openSQLite(path string, readers int) (rw, ro, ckpt *sql.DB, err error) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "sqlite://"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return nil, nil, nil, errors.New("empty SQLite path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	// synchronous=FULL: a bet acknowledged with 201 survives power loss,
	// not only a process crash. busy_timeout covers the readers and
	// another process (pointsbook admin) writing at the same time.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)"
	drv := &sqlite.Driver{}
	// The writer never checkpoints (wal_autocheckpoint 0): the
	// checkpointer's own connection does, beside it.
	rw = sql.OpenDB(stmtConnector{dsn: "file:" + url.PathEscape(path) + "?" + common + "&_pragma=wal_autocheckpoint(0)&_txlock=immediate", drv: drv})
	rw.SetMaxOpenConns(1)
	rw.SetConnMaxIdleTime(0)
	ro = sql.OpenDB(stmtConnector{dsn: "file:" + url.PathEscape(path) + "?" + common + "&_pragma=query_only(1)", drv: drv})
	ro.SetMaxOpenConns(readers)
	ckpt = sql.OpenDB(stmtConnector{dsn: "file:" + url.PathEscape(path) + "?" + common, drv: drv})
	ckpt.SetMaxOpenConns(1)
	ckpt.SetConnMaxIdleTime(0)
	return rw, ro, ckpt, nil
}

// Workers are the store's background work, in the order to start them:
// the SQLite checkpointer (none on PostgreSQL), then the placement
// writers. Stopped in the reverse order, the writers place what is queued
// while the checkpointer still copies the log behind them.
func (db *DB) Workers() []worker.Worker {
	var ws []worker.Worker
	if db.ckpt != nil {
		ws = append(ws, db.ckpt)
	}
	return append(ws, db.placer)
}

// Close stops the workers Open started and closes the connections. A
// caller of Connect stops the workers it runs first; placements and
// settlement batches still waiting for a writer that never ran are
// answered Unavailable.
func (db *DB) Close() error {
	var err error
	if db.own != nil {
		err = db.own.Stop(context.Background())
	}
	if db.placer != nil {
		db.placer.closed()
	}
	if db.ckpt != nil {
		err = errors.Join(err, db.ckpt.conn.Close())
	}
	err = errors.Join(err, db.rw.Close())
	if db.ro != db.rw {
		err = errors.Join(err, db.ro.Close())
	}
	return err
}

// Dialect names the database in use ("sqlite" or "postgres").
func (db *DB) Dialect() string { return db.d.name }

// Ping checks that the primary (and replica) answer, for /readyz.
func (db *DB) Ping(ctx context.Context) error {
	// On SQLite, a reading connection (dialect.pingReader).
	primary := db.rw
	if db.d.pingReader {
		primary = db.ro
	}
	if err := primary.PingContext(ctx); err != nil {
		return classify(err)
	}
	if db.replica {
		if err := db.ro.PingContext(ctx); err != nil {
			return classify(err)
		}
	}
	return nil
}

// Migrate applies the embedded migrations not yet recorded, each in its
// own transaction.
func (db *DB) Migrate(ctx context.Context) error {
	// Two instances starting together: PostgreSQL serialises them on this
	// lock (even CREATE TABLE IF NOT EXISTS races without it), SQLite on
	// its single writer.
	lock := func(tx *sql.Tx) error {
		if db.d.migrationLock == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, db.d.migrationLock)
		return err
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := lock(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	dir := db.d.name
	names, err := fs.Glob(migrations.FS, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return err
		}
		err = db.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := lock(tx); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, db.Now().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return err
		}
	}
	return db.backfillNicknameFolds(ctx)
}

// backfillNicknameFolds fills users.nickname_fold where it is NULL: every
// row when the column is new, and any row an older binary wrote since.
// The key is input.Fold, which SQL cannot compute the same way. Of rows
// that share a key, the oldest gets it and the others keep NULL (the
// unique index allows it): both players keep their nicknames, and the
// name stays taken for everybody else. A sign-up that takes a key while
// this runs leaves the rest for the next start.
func (db *DB) backfillNicknameFolds(ctx context.Context) error {
	type row struct {
		id   int64
		fold string
	}
	var todo []row
	rows, err := db.rw.QueryContext(ctx, `SELECT id, nickname FROM users WHERE nickname_fold IS NULL ORDER BY id`)
	if err != nil {
		return fmt.Errorf("nickname keys: %w", err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var r row
		var nick string
		if err := rows.Scan(&r.id, &nick); err != nil {
			rows.Close()
			return fmt.Errorf("nickname keys: %w", err)
		}
		if r.fold = input.Fold(nick); !seen[r.fold] {
			seen[r.fold] = true
			todo = append(todo, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("nickname keys: %w", err)
	}
	const batch = 500
	for start := 0; start < len(todo); start += batch {
		err := db.tx(ctx, func(tx *sql.Tx) error {
			for _, r := range todo[start:min(start+batch, len(todo))] {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE nickname_fold = $1`, r.fold).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					continue
				}
				if _, err := tx.ExecContext(ctx, `UPDATE users SET nickname_fold = $1 WHERE id = $2 AND nickname_fold IS NULL`, r.fold, r.id); err != nil {
					return err
				}
			}
			return nil
		})
		if isUnique(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("nickname keys: %w", err)
		}
	}
	return nil
}

// tx runs fn in a transaction on the primary and commits it, retrying a
// few times when PostgreSQL reports a deadlock or serialization failure
// (the whole function runs again, so it must not have side effects
// outside the transaction).
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.txOnce(ctx, fn)
		if !db.d.retryable(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 3 * time.Millisecond)
	}
	return err
}

// txOnce runs fn in one transaction on the primary and commits it.
func (db *DB) txOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.rw.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return classify(err)
	}
	return classify(db.commit(ctx, tx))
}

// classify turns connection-level failures into fault.ErrUnavailable so
// the API answers 503 rather than 500; other errors pass unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := fault.As(err); ok {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", fault.ErrUnavailable, err)
	}
	return err
}
