package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pointsbook/pointsbook/internal/pgtest"
)

func TestRequired(t *testing.T) {
	tests := []struct {
		env    string
		server string
		want   bool
	}{
		{"", "postgres", false},
		{"postgres", "postgres", true},
		{"redis,postgres,browser", "postgres", true},
		{" redis , Postgres ,browser ", "postgres", true},
		{"POSTGRES", "postgres", true},
		{"postgres", "POSTGRES", true},
		{"postgresql", "postgres", false}, // whole names only, no prefixes
		{"redis,browser", "postgres", false},
		{",,", "", false}, // empty entries never match
		{"postgres", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%q", tt.env, tt.server), func(t *testing.T) {
			t.Setenv("PB_TEST_REQUIRE", tt.env)
			if got := pgtest.Required(tt.server); got != tt.want {
				t.Errorf("Required(%q) with PB_TEST_REQUIRE=%q = %v, want %v", tt.server, tt.env, got, tt.want)
			}
		})
	}
}

// recordingTB captures how Unavailable ends a test without ending this one.
// Embedding testing.TB satisfies its unexported method; only the methods
// Unavailable calls are implemented.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recordingTB) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestUnavailable(t *testing.T) {
	t.Setenv("PB_TEST_REQUIRE", "redis")
	var tb recordingTB
	pgtest.Unavailable(&tb, "postgres", "no %s", "server")
	if tb.fatal != "" || !strings.Contains(tb.skip, "postgres") || !strings.Contains(tb.skip, "no server") {
		t.Errorf("not required: fatal=%q skip=%q, want a skip naming server and reason", tb.fatal, tb.skip)
	}

	t.Setenv("PB_TEST_REQUIRE", "redis,postgres")
	tb = recordingTB{}
	pgtest.Unavailable(&tb, "postgres", "no %s", "server")
	if tb.skip != "" || tb.fatal == "" {
		t.Errorf("required: fatal=%q skip=%q, want a failure only", tb.fatal, tb.skip)
	}
	if !strings.Contains(tb.fatal, "postgres") || !strings.Contains(tb.fatal, "no server") {
		t.Errorf("message %q lacks the server name or the reason", tb.fatal)
	}
}

func TestNewDatabase(t *testing.T) {
	url1, url2 := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if url1 == url2 {
		t.Fatalf("NewDatabase returned the same URL twice: %s", url1)
	}
	ctx := t.Context()
	db1, db2 := connect(t, url1), connect(t, url2)

	var name1, name2 string
	mustScan(t, db1.QueryRow(ctx, "SELECT current_database()"), &name1)
	mustScan(t, db2.QueryRow(ctx, "SELECT current_database()"), &name2)
	if name1 == name2 {
		t.Fatalf("both URLs lead to database %s", name1)
	}

	if _, err := db1.Exec(ctx, "CREATE TABLE only_here (id int)"); err != nil {
		t.Fatal(err)
	}
	var visible bool
	mustScan(t, db2.QueryRow(ctx, "SELECT to_regclass('only_here') IS NOT NULL"), &visible)
	if visible {
		t.Errorf("table created in %s is visible in %s", name1, name2)
	}
}

func TestClusterReplica(t *testing.T) {
	primary := pgtest.StartCluster(t)
	replica := primary.StartReplica(t)
	if primary.Port() == replica.Port() {
		t.Fatalf("primary and replica share port %d", primary.Port())
	}
	ctx := t.Context()

	pdb := connect(t, primary.URL())
	if _, err := pdb.Exec(ctx, "CREATE TABLE points (id int PRIMARY KEY, amount int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pdb.Exec(ctx, "INSERT INTO points VALUES (1, 42)"); err != nil {
		t.Fatal(err)
	}
	primary.WaitReplayed(t, replica, 10*time.Second)

	rdb := connect(t, replica.URL())
	var amount int
	mustScan(t, rdb.QueryRow(ctx, "SELECT amount FROM points WHERE id = 1"), &amount)
	if amount != 42 {
		t.Errorf("replica amount = %d, want 42", amount)
	}
	var inRecovery bool
	mustScan(t, rdb.QueryRow(ctx, "SELECT pg_is_in_recovery()"), &inRecovery)
	if !inRecovery {
		t.Error("replica is not in recovery")
	}
	_, err := rdb.Exec(ctx, "INSERT INTO points VALUES (2, 1)")
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "25006" {
		t.Errorf("write on replica: err = %v, want SQLSTATE 25006 (read_only_sql_transaction)", err)
	}

	// Outage: the primary goes away, then comes back on the same port.
	pdb.Close(ctx)
	primary.Stop(t)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(cctx, primary.URL()); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped primary")
	}
	port := primary.Port()
	primary.Start(t)
	if primary.Port() != port {
		t.Errorf("port changed across restart: %d -> %d", port, primary.Port())
	}
	pdb = connect(t, primary.URL())
	mustScan(t, pdb.QueryRow(ctx, "SELECT amount FROM points WHERE id = 1"), &amount)
	if amount != 42 {
		t.Errorf("after restart amount = %d, want 42", amount)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	// Close before pgtest's cleanups (registered earlier, so run later)
	// drop databases or stop servers.
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustScan(t *testing.T, row pgx.Row, dest ...any) {
	t.Helper()
	if err := row.Scan(dest...); err != nil {
		t.Fatal(err)
	}
}
