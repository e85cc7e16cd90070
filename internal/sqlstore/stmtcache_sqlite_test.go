package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"modernc.org/sqlite"
)

// openCached opens one SQLite connection through stmtConnector and
// returns it with a function that reports its cache's size.
func openCached(t *testing.T) (*sql.Conn, func() int) {
	t.Helper()
	db := sql.OpenDB(stmtConnector{dsn: "file:" + filepath.Join(t.TempDir(), "c.db"), drv: &sqlite.Driver{}})
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	size := func() int {
		var n int
		if err := conn.Raw(func(dc any) error {
			c := dc.(*stmtConn)
			if c.lru.Len() != len(c.byText) {
				return fmt.Errorf("list holds %d statements, index %d", c.lru.Len(), len(c.byText))
			}
			n = c.lru.Len()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return conn, size
}

func TestStmtCacheReuses(t *testing.T) {
	t.Parallel()
	conn, size := openCached(t)
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	before := size()
	for i := 1; i <= 50; i++ {
		if _, err := conn.ExecContext(ctx, `INSERT INTO t (id, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := size(); got != before+1 {
		t.Fatalf("50 runs of one statement left %d cached statements, want %d", got, before+1)
	}
	var v string
	if err := conn.QueryRowContext(ctx, `SELECT v FROM t WHERE id = $1`, 42).Scan(&v); err != nil || v != "v42" {
		t.Fatalf("got %q, %v; want v42", v, err)
	}
	// Parameters out of order and repeated are bound by number.
	var a, b int64
	if err := conn.QueryRowContext(ctx, `SELECT $2 + 0, $1 + $2`, 1, 10).Scan(&a, &b); err != nil || a != 10 || b != 11 {
		t.Fatalf("got %d, %d, %v; want 10, 11", a, b, err)
	}
}

// A statement whose rows are still being read may be run again (a query
// inside a loop over the same query): the second run gets a statement of
// its own rather than resetting the first under the reader.
func TestStmtCacheBusyStatement(t *testing.T) {
	t.Parallel()
	conn, _ := openCached(t)
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := conn.ExecContext(ctx, `INSERT INTO t (id) VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT id FROM t WHERE id >= $1 ORDER BY id`
	outer, err := conn.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close() // before the connection closes, should a check fail
	var seen []int64
	for outer.Next() {
		var id int64
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, id)
		if len(seen) > 5 {
			t.Fatalf("outer loop saw %v: its statement was reset under it", seen)
		}
		// The same text again while the outer rows are open.
		var got []int64
		for id := range 5 {
			var n int64
			err := conn.QueryRowContext(ctx, q, 4+id).Scan(&n)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if fmt.Sprint(got) != "[4 5]" {
			t.Fatalf("inner query saw %v, want [4 5]", got)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[1 2 3 4 5]" {
		t.Fatalf("outer loop saw %v, want [1 2 3 4 5]", seen)
	}
}

func TestStmtCacheBounded(t *testing.T) {
	t.Parallel()
	conn, size := openCached(t)
	ctx := context.Background()
	for i := 0; i < stmtCacheSize+40; i++ {
		var n int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("SELECT %d: got %d, %v", i, n, err)
		}
	}
	if got := size(); got != stmtCacheSize {
		t.Fatalf("cache holds %d statements, want the bound %d", got, stmtCacheSize)
	}
	// The most recent statements are the ones kept: running one again
	// adds nothing.
	var n int
	if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, stmtCacheSize+39)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if got := size(); got != stmtCacheSize {
		t.Fatalf("cache holds %d statements after a hit, want %d", got, stmtCacheSize)
	}
}

func TestNumbered(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT $1, $2, $3`, `SELECT ?, ?, ?`},
		{`VALUES ($1, $2), ($3, $4)`, `VALUES (?, ?), (?, ?)`},
		{`SELECT $2, $1`, `SELECT ?2, ?1`},
		{`SELECT $1 WHERE $1 > 0`, `SELECT ?1 WHERE ?1 > 0`},
		{`SELECT $1, $3`, `SELECT ?1, ?3`},
	} {
		if got := numbered(c.in); got != c.want {
			t.Errorf("numbered(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzNumbered(f *testing.F) {
	for _, s := range []string{`SELECT $1, $2`, `SELECT $2, $1`, `$10$1`, `$$1`, `x`} {
		f.Add(s)
	}
	leftover := regexp.MustCompile(`\$[0-9]`)
	f.Fuzz(func(t *testing.T, q string) {
		out := numbered(q)
		if leftover.MatchString(out) {
			t.Fatalf("numbered(%q) = %q still holds a $N", q, out)
		}
		if numbered(out) != out {
			t.Fatalf("numbered is not idempotent on %q", q)
		}
	})
}

// With every cached statement still running, a new one is cached and used
// rather than evicted before its first run; the cache runs over its bound
// until the others finish.
func TestStmtCacheAllBusy(t *testing.T) {
	t.Parallel()
	conn, size := openCached(t)
	ctx := context.Background()
	var open []*sql.Rows
	defer func() {
		for _, r := range open {
			r.Close()
		}
	}()
	for i := 0; i < stmtCacheSize; i++ {
		r, err := conn.QueryContext(ctx, fmt.Sprintf(`SELECT %d UNION ALL SELECT %d`, i, i+1))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, r)
		if !r.Next() {
			t.Fatalf("query %d: no row: %v", i, r.Err())
		}
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT 4242`).Scan(&n); err != nil || n != 4242 {
		t.Fatalf("a new statement beside %d running ones: got %d, %v", stmtCacheSize, n, err)
	}
	if got := size(); got != stmtCacheSize+1 {
		t.Fatalf("cache holds %d statements, want %d while all others run", got, stmtCacheSize+1)
	}
	for _, r := range open {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	open = nil
	if err := conn.QueryRowContext(ctx, `SELECT 4343`).Scan(&n); err != nil || n != 4343 {
		t.Fatalf("got %d, %v", n, err)
	}
	if got := size(); got != stmtCacheSize {
		t.Fatalf("cache holds %d statements once they finished, want %d", got, stmtCacheSize)
	}
}
