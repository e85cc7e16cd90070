package sqlstore

import (
	"fmt"
	"time"
)

// rowValues reads a wide row as the driver's own values. database/sql
// stores a value into an *any as it is, where a typed destination (an
// *int64, a named string type, a Scanner) costs it a reflection or
// interface call per column; over the dozens of columns of a page of bets
// and their matches that was a tenth of the read. The getters take the
// columns in the order of the SELECT list.
type rowValues struct {
	vals []any
	dest []any // &vals[i], what Scan fills
	next int   // the column the next getter reads
	err  error // the first column of an unexpected type
}

func newRowValues(n int) *rowValues {
	r := &rowValues{vals: make([]any, n), dest: make([]any, n)}
	for i := range r.vals {
		r.dest[i] = &r.vals[i]
	}
	return r
}

// scan reads the current row of rows.
func (r *rowValues) scan(rows interface{ Scan(...any) error }) error {
	r.next = 0
	return rows.Scan(r.dest...)
}

func (r *rowValues) take() any {
	v := r.vals[r.next]
	r.next++
	return v
}

func (r *rowValues) fail(v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("column %d: %T is not %s", r.next-1, v, want)
	}
}

// int reads an integer column (both drivers give int64).
func (r *rowValues) int() int64 {
	v, _ := r.nullInt()
	return v
}

// nullInt reads an integer column that may be NULL.
func (r *rowValues) nullInt() (int64, bool) {
	switch v := r.take().(type) {
	case int64:
		return v, true
	case nil:
		return 0, false
	default:
		r.fail(v, "an integer")
		return 0, false
	}
}

// str reads a text column.
func (r *rowValues) str() string {
	switch v := r.take().(type) {
	case string:
		return v
	case []byte:
		return string(v)
	default:
		r.fail(v, "text")
		return ""
	}
}

// time reads a timestamp column of either dialect, as scanTime does.
func (r *rowValues) time() time.Time {
	var t time.Time
	if err := (scanTime{&t}).Scan(r.take()); err != nil && r.err == nil {
		r.err = fmt.Errorf("column %d: %w", r.next-1, err)
	}
	return t
}

// nullTime reads a timestamp column that may be NULL.
func (r *rowValues) nullTime() *time.Time {
	if r.vals[r.next] == nil {
		r.next++
		return nil
	}
	t := r.time()
	return &t
}

// nullStr reads a text column that may be NULL.
func (r *rowValues) nullStr() (string, bool) {
	if r.vals[r.next] == nil {
		r.next++
		return "", false
	}
	return r.str(), true
}
