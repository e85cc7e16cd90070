package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file is the one place where SQLite and PostgreSQL differ. Every
// query elsewhere uses $N placeholders (modernc.org/sqlite binds them by
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
}

var (
	dialectSQLite   = dialect{name: "sqlite", tsType: "TEXT"}
	dialectPostgres = dialect{name: "postgres", forUpdate: " FOR UPDATE", tsType: "TIMESTAMPTZ"}
)

// timeLayout stores SQLite times as fixed-width UTC text, so that string
// order is time order and comparisons in SQL are correct.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// dollarParam matches a $N placeholder.
var dollarParam = regexp.MustCompile(`\$([0-9]+)`)

// bind adapts a query with many $N placeholders to the dialect. SQLite
// treats $N (and even ?N) as a named parameter and resolves each through
// a linear list, so preparing a statement with thousands of them takes
// quadratic time; plain ? parameters skip the list. When the $N appear in
// the text as exactly $1, $2, … in order, they become plain ?. Used for
// the multi-row statements of settlement and imports.
func (d dialect) bind(q string) string {
	if d != dialectSQLite {
		return q
	}
	next := 1
	ordered := true
	for _, m := range dollarParam.FindAllStringSubmatch(q, -1) {
		if m[1] != strconv.Itoa(next) {
			ordered = false
			break
		}
		next++
	}
	if !ordered {
		return dollarParam.ReplaceAllString(q, "?$1")
	}
	return dollarParam.ReplaceAllString(q, "?")
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
func fmtID(prefix string, id int64) string { return prefix + strconv.FormatInt(id, 10) }

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

// placeholders returns "($k+1, …), (…)" for rows×cols parameters starting
// at $start+1, for multi-row VALUES lists. casts, when given, wraps each
// column in CAST(… AS type) because PostgreSQL cannot infer the types of
// parameters in a VALUES list that is joined against.
func placeholders(rows, cols, start int, casts ...string) string {
	var b strings.Builder
	n := start
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			if c < len(casts) && casts[c] != "" {
				fmt.Fprintf(&b, "CAST($%d AS %s)", n, casts[c])
			} else {
				fmt.Fprintf(&b, "$%d", n)
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}
