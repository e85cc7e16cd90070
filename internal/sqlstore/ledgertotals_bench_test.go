package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the bulk insert
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// ledgerPlayers is how many wallets BenchmarkLedgerTotals puts beside the
// operator accounts.
const ledgerPlayers = 100_000

// BenchmarkLedgerTotals times what a scrape of /metrics asks of the
// database for the ledger's totals, on a database with 100,000 player
// wallets: LedgerTotals, which reads the operator accounts' balance rows
// only, against the naive sum over every balance row by account kind.
//
//	go test -run='^$' -bench=LedgerTotals ./internal/sqlstore/
func BenchmarkLedgerTotals(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(testing.TB) (*sqlstore.DB, *sql.DB)
	}{{"sqlite", ledgerSQLite}, {"postgres", ledgerPostgres}} {
		b.Run(c.name, func(b *testing.B) {
			db, raw := c.open(b)
			ctx := context.Background()
			// The wallets hold points the signup programme gave out, so
			// the ledger still sums to zero.
			for _, q := range []string{
				`INSERT INTO users (id, username, username_key, nickname, nickname_key, nickname_fold, email, email_key, password_hash, role, time_zone, created_at, nickname_confirmed, email_verified)
				 SELECT 1000000 + n, 'bench' || n, 'bench' || n, 'bench' || n, 'bench' || n, 'bench' || n, 'b' || n || '@example.com', 'b' || n || '@example.com', 'x', 'player', 'Asia/Seoul', (SELECT MIN(created_at) FROM accounts), TRUE, TRUE FROM series`,
				`INSERT INTO accounts (id, kind, code, user_id, created_at) SELECT 1000000 + n, 'player', 'player:' || (1000000 + n), 1000000 + n, (SELECT MIN(created_at) FROM accounts) FROM series`,
				`INSERT INTO balances (account_id, shard, amount) SELECT 1000000 + n, 0, 1000 FROM series`,
				`UPDATE balances SET amount = amount - 1000 * (SELECT COUNT(*) FROM series) WHERE shard = 0 AND account_id = (SELECT id FROM accounts WHERE code = 'programme:signup')`,
			} {
				if _, err := raw.ExecContext(ctx, withSeries(c.name, q)); err != nil {
					b.Fatalf("%v\n%s", err, q)
				}
			}
			b.Run("LedgerTotals", func(b *testing.B) {
				for b.Loop() {
					ts, err := db.LedgerTotals(ctx)
					if err != nil || len(ts) == 0 {
						b.Fatal(ts, err)
					}
				}
			})
			b.Run("sum-every-balance", func(b *testing.B) {
				for b.Loop() {
					rows, err := raw.QueryContext(ctx, `SELECT a.kind, SUM(b.amount) FROM balances b JOIN accounts a ON a.id = b.account_id GROUP BY a.kind`)
					if err != nil {
						b.Fatal(err)
					}
					for rows.Next() {
					}
					rows.Close()
				}
			})
		})
	}
}

// withSeries prefixes q with a CTE "series" of n = 1 … ledgerPlayers.
func withSeries(dialect, q string) string {
	if dialect == "postgres" {
		return `WITH series AS (SELECT generate_series(1, ` + strconv.Itoa(ledgerPlayers) + `) AS n) ` + q
	}
	return `WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < ` + strconv.Itoa(ledgerPlayers) + `) ` + q
}

func ledgerSQLite(tb testing.TB) (*sqlstore.DB, *sql.DB) {
	path := filepath.Join(tb.TempDir(), "pb.db")
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: path})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return db, raw
}

func ledgerPostgres(tb testing.TB) (*sqlstore.DB, *sql.DB) {
	url := pgtest.NewDatabase(tb)
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return db, raw
}
