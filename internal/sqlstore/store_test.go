package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/storetest"
)

func openSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, _ := openPostgresURL(t)
	return db
}

// openPostgresURL is openPostgres for a caller that also needs the
// database's URL.
func openPostgresURL(t testing.TB) (*sqlstore.DB, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, url
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openPostgres)
}

// Instances behind a load balancer start at the same moment on an empty
// database: every one of them must come up (migrations, system accounts).
func TestConcurrentFirstStart(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent first start: %v", err)
		}
	}
}
