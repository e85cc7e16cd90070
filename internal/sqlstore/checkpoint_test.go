package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The writer connection never checkpoints, so what it commits reaches the
// database file only through the checkpointer. Until a checkpoint, the
// file does not grow: its size shows whether the checkpointer ran.
func TestCheckpointerCopiesTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pb.db")
	db, err := Open(context.Background(), Config{URL: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var auto int
	if err := db.rw.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	before := fileSize(t, path)
	// 4 MB of rows, about a thousand pages.
	if _, err := db.rw.ExecContext(ctx, `CREATE TABLE filler (x BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.rw.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
		INSERT INTO filler SELECT randomblob(1000) FROM n`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, path) < before+4_000_000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file is %d bytes 5 s after the write (was %d): the log was not checkpointed", fileSize(t, path), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
