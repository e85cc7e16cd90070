package sqlstore

import (
	"strings"
	"testing"
	"time"
)

// fakeRow scans fixed driver values, as database/sql stores them in *any
// destinations.
type fakeRow []any

func (f fakeRow) Scan(dest ...any) error {
	for i, d := range dest {
		*d.(*any) = f[i]
	}
	return nil
}

func TestRowValues(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 8, 1, 2, 3, 4000, time.UTC)
	r := newRowValues(9)
	row := fakeRow{int64(7), nil, "text", []byte("bytes"), "2026-12-08T01:02:03.000004Z", at.In(time.FixedZone("KST", 9*3600)), nil, nil, int64(1)}
	if err := r.scan(row); err != nil {
		t.Fatal(err)
	}
	if v := r.int(); v != 7 {
		t.Errorf("int = %d", v)
	}
	if v, ok := r.nullInt(); ok || v != 0 {
		t.Errorf("nullInt of NULL = %d, %v", v, ok)
	}
	if s, b := r.str(), r.str(); s != "text" || b != "bytes" {
		t.Errorf("str = %q, %q", s, b)
	}
	if a, b := r.time(), r.time(); !a.Equal(at) || b != at {
		t.Errorf("time = %v, %v; want %v in UTC", a, b, at)
	}
	if v := r.nullTime(); v != nil {
		t.Errorf("nullTime of NULL = %v", v)
	}
	if s, ok := r.nullStr(); ok || s != "" {
		t.Errorf("nullStr of NULL = %q, %v", s, ok)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if s := r.str(); s != "" || r.err == nil || !strings.Contains(r.err.Error(), "column 8: int64 is not text") {
		t.Errorf("str of an integer = %q, error %v", s, r.err)
	}
	// A new row starts at the first column again; the first error stays.
	if err := r.scan(row); err != nil || r.int() != 7 || !strings.Contains(r.err.Error(), "column 8") {
		t.Errorf("after a new scan: %v, %v", err, r.err)
	}
}
