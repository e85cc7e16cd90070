package sqlstore

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"regexp"
	"strconv"

	"modernc.org/sqlite"
)

// SQLite compiles every statement text into a program before running it,
// and database/sql asks the driver to do so afresh for each Exec and
// Query. Measured on bet placement, compiling took about 60 % of the CPU
// the store spent; a bet runs the same few statements every time. So each
// SQLite connection keeps its recently used compiled statements, keyed by
// text, and runs a cached one when the same text comes again. PostgreSQL
// needs none of this: pgx already keeps prepared statements per connection.

// stmtCacheSize bounds the compiled statements one connection keeps. The
// fixed statements number a few dozen; the rest are the multi-row lists
// of placement and settlement batches, one text per row count.
const stmtCacheSize = 256

// stmtConnector opens modernc.org/sqlite connections that cache their
// compiled statements.
type stmtConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c stmtConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &stmtConn{base: conn.(sqliteConn), lru: list.New(), byText: map[string]*list.Element{}}, nil
}

func (c stmtConnector) Driver() driver.Driver { return c.drv }

// sqliteConn is what modernc.org/sqlite's connection provides and
// database/sql uses.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is what a modernc.org/sqlite statement provides.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type cachedStmt struct {
	text string
	stmt sqliteStmt
	// busy is set while rows read from the statement are open: SQLite
	// cannot run a statement again before its last run is reset, so a
	// second use meanwhile (a query inside a loop over the same query)
	// gets a statement of its own.
	busy bool
}

// stmtConn is used by one goroutine at a time (database/sql holds the
// connection's lock around every call), so the cache needs no lock of
// its own.
type stmtConn struct {
	base   sqliteConn
	lru    *list.List // of *cachedStmt, most recently used first
	byText map[string]*list.Element
}

func (c *stmtConn) Prepare(query string) (driver.Stmt, error) {
	return c.base.Prepare(numbered(query))
}

func (c *stmtConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.base.PrepareContext(ctx, numbered(query))
}

func (c *stmtConn) Begin() (driver.Tx, error) {
	return c.base.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *stmtConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.base.BeginTx(ctx, opts)
}

func (c *stmtConn) Ping(ctx context.Context) error         { return c.base.Ping(ctx) }
func (c *stmtConn) ResetSession(ctx context.Context) error { return c.base.ResetSession(ctx) }
func (c *stmtConn) IsValid() bool                          { return c.base.IsValid() }

func (c *stmtConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		errs = append(errs, e.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	clear(c.byText)
	return errors.Join(append(errs, c.base.Close())...)
}

// get returns the cached statement for query, compiling it on a miss. If
// the cached one is busy it returns own instead, a statement the caller
// must use and close.
func (c *stmtConn) get(ctx context.Context, query string) (cs *cachedStmt, own sqliteStmt, err error) {
	e, hit := c.byText[query]
	if hit && !e.Value.(*cachedStmt).busy {
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt), nil, nil
	}
	s, err := c.base.PrepareContext(ctx, numbered(query))
	if err != nil {
		return nil, nil, err
	}
	if hit {
		return nil, s.(sqliteStmt), nil
	}
	cs = &cachedStmt{text: query, stmt: s.(sqliteStmt)}
	c.byText[query] = c.lru.PushFront(cs)
	return cs, nil, c.evict()
}

// evict closes the least recently used statements that are not running
// until the cache is back within its bound. The newest, about to be used,
// is never taken; if the others are all running, the cache runs over
// until they finish.
func (c *stmtConn) evict() error {
	for e := c.lru.Back(); c.lru.Len() > stmtCacheSize && e != c.lru.Front(); {
		prev := e.Prev()
		if old := e.Value.(*cachedStmt); !old.busy {
			c.lru.Remove(e)
			delete(c.byText, old.text)
			if err := old.stmt.Close(); err != nil {
				return err
			}
		}
		e = prev
	}
	return nil
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, own, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if own != nil {
		defer own.Close()
		return own.ExecContext(ctx, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, own, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if own != nil {
		r, err := own.QueryContext(ctx, args)
		if err != nil {
			own.Close()
			return nil, err
		}
		return &stmtRows{Rows: r, done: func() error { return own.Close() }}, nil
	}
	r, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &stmtRows{Rows: r, done: func() error { cs.busy = false; return nil }}, nil
}

// stmtRows releases its statement when closed.
type stmtRows struct {
	driver.Rows
	done func() error
}

func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		err = errors.Join(err, r.done())
		r.done = nil
	}
	return err
}

// dollarParam matches a $N placeholder.
var dollarParam = regexp.MustCompile(`\$([0-9]+)`)

// numbered adapts a query's $N placeholders to SQLite. SQLite treats $N
// as a named parameter and resolves each through a linear list, so
// compiling a statement with thousands of them (the multi-row lists of
// settlement and imports) takes quadratic time; plain ? parameters skip
// the list. When the $N appear in the text as exactly $1, $2, … in order,
// they become plain ?; otherwise ?N, which SQLite binds by number. It
// runs once per statement text and connection, when the text is compiled.
func numbered(q string) string {
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
