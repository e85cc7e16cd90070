package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// The helpers every statement builder shares: numbered placeholder lists,
// chunking of multi-row statements, and scanning of returned rows. What
// differs between SQLite and PostgreSQL is in dialect.go; statements
// written once per database are in the *_sqlite.go and *_postgres.go
// files.

// inList returns "$start+1, …, $start+n".
func inList(n, start int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(start+i))
	}
	return b.String()
}

// placeholders returns "($k+1, …), (…)" for rows×cols parameters starting
// at $start+1, for multi-row VALUES lists. casts, when given, wraps each
// column in CAST(… AS type) because PostgreSQL cannot infer the types of
// parameters in a VALUES list that is joined against.
func placeholders(rows, cols, start int, casts ...string) string {
	// Settlement and placement build lists of thousands of parameters per
	// batch; fmt here was 6 % of settlement's CPU.
	b := make([]byte, 0, rows*cols*7)
	n := int64(start)
	for r := 0; r < rows; r++ {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b = append(b, ", "...)
			}
			n++
			if c < len(casts) && casts[c] != "" {
				b = append(b, "CAST($"...)
				b = strconv.AppendInt(b, n, 10)
				b = append(b, " AS "...)
				b = append(b, casts[c]...)
				b = append(b, ')')
			} else {
				b = append(b, '$')
				b = strconv.AppendInt(b, n, 10)
			}
		}
		b = append(b, ')')
	}
	return string(b)
}

// chunkRows bounds the rows of one multi-row statement. inChunks cuts n
// rows into pieces whose sizes are powers of two up to chunkRows, so that
// the statement texts, one per size, stay few and stay compiled in the
// connection's statement cache (stmtcache_sqlite.go) whatever the batch size.
const chunkRows = 128

func inChunks(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := chunkRows
		for size > n-lo {
			size /= 2
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// scanRows runs a query and calls each for every row it returns.
func scanRows(ctx context.Context, q queryer, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanIDs runs a query of one integer column and returns its values.
func scanIDs(ctx context.Context, q queryer, query string, args ...any) ([]int64, error) {
	var ids []int64
	err := scanRows(ctx, q, query, args, func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

// scanPairs runs a query of two integer columns and sets into[first] to
// second for each row: ids to ids, or accounts to balances.
func scanPairs(ctx context.Context, q queryer, query string, args []any, into map[int64]int64) error {
	return scanRows(ctx, q, query, args, func(r *sql.Rows) error {
		var k, v int64
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		into[k] = v
		return nil
	})
}

// queryer is satisfied by *sql.DB and *sql.Tx.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
