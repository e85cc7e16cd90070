package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file holds the small differences between SQLite and PostgreSQL:
// a lock clause, a type name, how a list of rows or ids is sent, how
// times are stored, which errors mean what. The bet and settlement writes
// that each database does its own way are behind the writer interface
// (writer.go). Every query uses $N placeholders (modernc.org/sqlite binds them by
// number, as PostgreSQL does), RETURNING, ON CONFLICT and CAST(… AS
// BIGINT), which both dialects understand.

type dialect struct {
	name string
	// forUpdate locks rows read inside a transaction. SQLite has a single
	// writer (BEGIN IMMEDIATE), so a write transaction already excludes
	// every other writer and needs no row locks.
	forUpdate string
	// tsType is the type to CAST a timestamp parameter to where the
	// context does not fix its type (PostgreSQL cannot infer it there).
	tsType string
	// maxParams bounds the parameters of one multi-row statement
	// (inParamChunks); 0: none, as on PostgreSQL, where rowsOf sends a
	// column as one array whatever the number of rows. SQLite's limit is
	// 32766; a quarter of it keeps each statement's binding short.
	maxParams int
	// migrationLock serialises two instances migrating at once
	// (PostgreSQL, where even CREATE TABLE IF NOT EXISTS races without
	// it); SQLite's single writer already does.
	migrationLock string
	// pingReader pings a reading connection rather than the primary:
	// SQLite's one writer connection may be busy with a long import, and a
	// read connection proves the database answers without queueing
	// behind it.
	pingReader bool
}

var (
	dialectSQLite   = dialect{name: "sqlite", tsType: "TEXT", maxParams: 8000, pingReader: true}
	dialectPostgres = dialect{name: "postgres", forUpdate: " FOR UPDATE", tsType: "TIMESTAMPTZ", migrationLock: `SELECT pg_advisory_xact_lock(7355608)`}
)

// timeLayout stores SQLite times as fixed-width UTC text, so that string
// order is time order and comparisons in SQL are correct.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// keyedBy narrows an UPDATE joined against a VALUES list to the rows
// whose col is among keys, with the keys as parameter $n. PostgreSQL's
// planner sees the list only as N rows of unknown content, and for a few
// hundred of them it hashes the list and scans the whole table (measured:
// every settlement batch read all of bet_legs); col = ANY($n) it answers
// from the index. SQLite needs nothing: the join's +v.col makes it loop
// over the list and look each row up by key. It returns the condition to
// append and the parameters to add (none on SQLite).
func (d dialect) keyedBy(col string, n int, keys []int64) (string, []any) {
	if d != dialectPostgres {
		return "", nil
	}
	cond, args := d.among(col, n, keys)
	return " AND " + cond, args
}

// Settlement sends hundreds of rows per statement. On SQLite they go as a
// VALUES list (plain ? parameters, see numbered) or an IN list.
// PostgreSQL plans a statement of thousands of parameters afresh at every
// run (a few milliseconds for 500 rows, more than running it), so there
// each column goes as one array parameter: the text no longer depends on
// the row count, and pgx prepares it once per connection.

// among returns the condition "col is one of ids", its parameters
// numbered from $n.
func (d dialect) among(col string, n int, ids []int64) (string, []any) {
	if d == dialectPostgres {
		return col + " = ANY($" + strconv.Itoa(n) + ")", []any{ids}
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return col + " IN (" + inList(len(ids), n-1) + ")", args
}

// rowsOf returns a common table expression name(cols…) holding the rows
// in flat (row by row, len(cols) values each), for a WITH clause, and its
// parameters numbered from $n. types are the columns' SQL types, BIGINT,
// TEXT or BYTEA; a nil value is NULL.
func (d dialect) rowsOf(name string, cols, types []string, n int, flat []any) (string, []any) {
	head := name + "(" + strings.Join(cols, ", ") + ") AS "
	if d != dialectPostgres {
		return head + "(VALUES " + placeholders(len(flat)/len(cols), len(cols), n-1) + ")", flat
	}
	unnest := make([]string, len(cols))
	args := make([]any, len(cols))
	for c, typ := range types {
		unnest[c] = "CAST($" + strconv.Itoa(n+c) + " AS " + typ + "[])"
		switch typ {
		case "BIGINT":
			args[c] = pgColumn(flat, c, len(cols), func(v any) (pgtype.Int8, bool) {
				switch x := v.(type) {
				case int64:
					return pgtype.Int8{Int64: x, Valid: true}, true
				case int:
					return pgtype.Int8{Int64: int64(x), Valid: true}, true
				}
				return pgtype.Int8{}, v == nil
			})
		case "TEXT":
			args[c] = pgColumn(flat, c, len(cols), func(v any) (pgtype.Text, bool) {
				x, ok := v.(string)
				return pgtype.Text{String: x, Valid: ok}, ok || v == nil
			})
		case "BYTEA":
			args[c] = pgColumn(flat, c, len(cols), func(v any) ([]byte, bool) {
				x, ok := v.([]byte)
				return x, ok || v == nil
			})
		default:
			panic("rowsOf: unsupported type " + typ)
		}
	}
	return head + "(SELECT * FROM unnest(" + strings.Join(unnest, ", ") + "))", args
}

// pgColumn gathers column c of rows width values wide into one array
// parameter. A value conv does not take is a mistake in the caller.
func pgColumn[T any](flat []any, c, width int, conv func(any) (T, bool)) []T {
	out := make([]T, len(flat)/width)
	for r := range out {
		v, ok := conv(flat[r*width+c])
		if !ok {
			panic(fmt.Sprintf("rowsOf: a %T in column %d of type %T", flat[r*width+c], c, v))
		}
		out[r] = v
	}
	return out
}

// inParamChunks cuts rows of width parameters each into pieces that fit
// one statement, and calls fn for each: one piece on PostgreSQL.
func (d dialect) inParamChunks(rows, width int, fn func(lo, hi int) error) error {
	size := rows
	if d.maxParams > 0 {
		size = max(d.maxParams/width, 1)
	}
	for lo := 0; lo < rows; lo += size {
		if err := fn(lo, min(lo+size, rows)); err != nil {
			return err
		}
	}
	return nil
}

// param is parameter $n cast to typ, for where the context does not fix
// its type (PostgreSQL cannot infer it there).
func (d dialect) param(n int, typ string) string {
	return "CAST($" + strconv.Itoa(n) + " AS " + typ + ")"
}

// ts converts a time for a query parameter.
func (d dialect) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	if d == dialectSQLite {
		return t.Format(timeLayout)
	}
	return t
}

// scanTime scans a timestamp column from either dialect.
type scanTime struct{ t *time.Time }

func (s scanTime) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*s.t = x.UTC()
	case string:
		return s.parse(x)
	case []byte:
		return s.parse(string(x))
	default:
		return fmt.Errorf("cannot scan %T into a time", v)
	}
	return nil
}

func (s scanTime) parse(x string) error {
	t, err := time.Parse(time.RFC3339Nano, x)
	if err != nil {
		return err
	}
	*s.t = t.UTC()
	return nil
}

// scanNullTime scans a nullable timestamp.
type scanNullTime struct{ t **time.Time }

func (s scanNullTime) Scan(v any) error {
	if v == nil {
		*s.t = nil
		return nil
	}
	var t time.Time
	if err := (scanTime{&t}).Scan(v); err != nil {
		return err
	}
	*s.t = &t
	return nil
}

// isUnique reports a unique-constraint violation.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// retryable reports a transient conflict worth running the transaction
// again for: PostgreSQL deadlocks and serialization failures, SQLite busy.
func (d dialect) retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}

// unavailable reports an error that means the database cannot be reached,
// as opposed to a query that failed.
func unavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08: connection exception; 57P0x: the server is shutting
		// down, crashed, or not yet accepting connections.
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P")
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	// database/sql's "database is closed" has no exported value.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection refused") || strings.Contains(msg, "sql: database is closed")
}

// parsePostgresURL parses a pgx URL and bounds connection attempts, so a
// request arriving while PostgreSQL is down fails within about a second
// (503) instead of hanging.
func parsePostgresURL(u string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", redactErr(err))
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 2*time.Second {
		cfg.ConnectTimeout = time.Second
	}
	return cfg, nil
}

// redactErr drops an error's text when it may echo a URL with a password.
func redactErr(err error) error {
	if strings.Contains(err.Error(), "@") {
		return errors.New("invalid URL (details withheld: it may contain a password)")
	}
	return err
}

// IDs are integers in the database and prefixed strings in the API ("b_77"),
// so a bet id pasted where a match id belongs is simply not found.
func fmtID(prefix string, id int64) string {
	// Built in a stack buffer: one allocation, where prefix+FormatInt
	// made two (lists format several ids per row).
	var buf [24]byte
	return string(strconv.AppendInt(append(buf[:0], prefix...), id, 10))
}

func parseID(prefix, s string) (int64, bool) {
	if !strings.HasPrefix(s, prefix) {
		return 0, false
	}
	id, err := strconv.ParseInt(s[len(prefix):], 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s[len(prefix):] {
		return 0, false
	}
	return id, true
}

// Prefixes of public ids.
const (
	pUser      = "u_"
	pLeague    = "l_"
	pTeam      = "t_"
	pMatch     = "m_"
	pMarket    = "mk_"
	pSelection = "s_"
	pBet       = "b_"
	pEntry     = "e_"
)
