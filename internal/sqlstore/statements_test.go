package sqlstore

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateStatements = flag.Bool("update-statements", false, "rewrite testdata/statements from the builders")

// TestPrintStatements builds the large statements of placement and
// settlement as each database runs them, for two rows, and compares them
// with testdata/statements/<dialect>/<name>.sql: a change to a statement
// shows in review as a change to its file, and each file can be pasted
// into psql or sqlite3 (after EXPLAIN) as it is. -v prints them; after an
// intended change, -update-statements rewrites the files.
func TestPrintStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []dialect{dialectSQLite, dialectPostgres} {
		for _, st := range statements(d) {
			name := filepath.Join("testdata", "statements", d.name, st.name+".sql")
			got := tidySQL(st.sql) + "\n"
			t.Logf("-- %s\n%s", name, got)
			if *updateStatements {
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v (run with -update-statements to write it)", err)
			}
			if string(want) != got {
				t.Errorf("%s differs from what the builders make (run with -update-statements after an intended change):\n%s", name, got)
			}
		}
	}
}

type statement struct{ name, sql string }

// statements are the large statements of placement and settlement on d,
// for two rows, built as the store builds them.
func statements(d dialect) []statement {
	const n = 2
	with := func(cols, types []string, body func(next int) string) string {
		v, args := d.rowsOf("v", cols, types, 1, make([]any, n*len(cols)))
		return "WITH " + v + " " + body(len(args)+1)
	}
	ids := make([]int64, n)
	keyed := func(col string, next int) string {
		only, _ := d.keyedBy(col, next, ids)
		return only
	}
	out := []statement{
		{"settle_grades", with([]string{"bet_id", "leg_no", "state", "rule", "result_id", "was"}, []string{"BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT"},
			func(next int) string { return gradesSQL("v", keyed("bet_legs.bet_id", next)) })},
		{"settle_bets", with([]string{"id", "state", "payout", "version"}, []string{"BIGINT", "TEXT", "BIGINT", "BIGINT"},
			func(next int) string { return betsSettleSQL("v", d.param(next, d.tsType), keyed("bets.id", next+1)) })},
		{"settle_history", with([]string{"bet_id", "version", "state", "payout", "delta"}, []string{"BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT"},
			func(next int) string { return historySQL("v", d.param(next, "TEXT"), d.param(next+1, d.tsType)) })},
		{"settle_wallets", with([]string{"account_id", "delta"}, []string{"BIGINT", "BIGINT"},
			func(next int) string { return walletsMoveBy("v", keyed("balances.account_id", next)) })},
		{"ledger_transactions", with(ledgerTxCols, ledgerTxTypes,
			func(next int) string { return ledgerTxInsert("v", d.param(next, d.tsType), postedFails) })},
		{"ledger_transactions_once", with(ledgerTxCols, ledgerTxTypes,
			func(next int) string { return ledgerTxInsert("v", d.param(next, d.tsType), postedIsAnswer) })},
		{"ledger_postings", with(postingCols, postingTypes,
			func(next int) string { return postingsInsert("v", d.param(next, d.tsType)) })},
	}
	if d == dialectPostgres {
		rows, args := d.rowsOf("v", betRowCols, betRowTypes, 1, make([]any, n*len(betRowCols)))
		legs, legArgs := d.rowsOf("lv", legRowCols, legRowTypes, 1+len(args), make([]any, n*len(legRowCols)))
		return append(out, statement{"place_bets", betWriteSQL(rows, legs, len(args)+len(legArgs))})
	}
	return append(out,
		statement{"place_claim_keys", keyClaimSQL(n)},
		statement{"place_tally", with([]string{"uid", "day", "week", "month", "stake", "cap_d", "cap_w", "cap_m"},
			[]string{"BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"},
			func(int) string { return roundTallyUpsert("v") })},
		statement{"place_wallets", walletsOfSQL(n)},
		statement{"place_debit", with([]string{"account_id", "stake"}, []string{"BIGINT", "BIGINT"},
			func(int) string { return debitSQL("v") })},
		statement{"place_bets", betInsert(n)},
		statement{"place_legs", legInsert(n)},
		statement{"ledger_transactions_reserved", ledgerTxInsertReserved(n)},
	)
}

// tidySQL takes off the indentation a statement's lines have in the Go
// source, keeping their indentation relative to each other (a tab becomes
// two spaces), and trailing blanks.
func tidySQL(q string) string {
	lines := strings.Split(q, "\n")
	cut := -1
	for _, l := range lines[1:] {
		if tabs := len(l) - len(strings.TrimLeft(l, "\t")); strings.TrimSpace(l) != "" && (cut < 0 || tabs < cut) {
			cut = tabs
		}
	}
	for i, l := range lines {
		l = strings.TrimRight(l, " \t")
		if i > 0 && cut > 0 {
			l = strings.TrimPrefix(l, strings.Repeat("\t", cut))
			tabs := len(l) - len(strings.TrimLeft(l, "\t"))
			l = strings.Repeat("  ", tabs+1) + l[tabs:]
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
