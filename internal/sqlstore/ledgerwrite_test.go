package sqlstore

import (
	"context"
	"database/sql"
	"testing"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

// The journal refuses a transaction that breaks the ledger's rules before
// anything is written, whichever caller builds it.
func TestJournalRefusesUnbalanced(t *testing.T) {
	t.Parallel()
	p := func(id int64, k ledger.AccountKind, amount int64) ledger.Posting {
		return ledger.Posting{AccountID: id, Kind: k, Amount: amount}
	}
	for _, c := range []struct {
		name string
		tx   ledger.Transaction
		code string
	}{
		{"unbalanced", ledger.Transaction{Kind: ledger.Payout, Reference: "bet:1:v1", Postings: []ledger.Posting{p(7, ledger.Player, 100), p(1, ledger.House, -99)}}, "invalid_transaction"},
		{"one posting", ledger.Transaction{Kind: ledger.Stake, Reference: "bet:1:stake", Postings: []ledger.Posting{p(7, ledger.Player, -100)}}, "invalid_transaction"},
		{"between players", ledger.Transaction{Kind: ledger.Grant, Reference: "g:1", Postings: []ledger.Posting{p(7, ledger.Player, -100), p(8, ledger.Player, 100)}}, "player_transfer_forbidden"},
		{"the same wallet twice", ledger.Transaction{Kind: ledger.Grant, Reference: "g:2", Postings: []ledger.Posting{p(7, ledger.Player, 100), p(7, ledger.Player, -50), p(2, ledger.Programme, -50)}}, ""},
	} {
		j := newJournal(1)
		err := j.add(c.tx, 0)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
		} else if got := fault.Code(err); c.code != "" && got != c.code {
			t.Errorf("%s: code %q, want %q (%v)", c.name, got, c.code, err)
		}
		if len(j.entries) != 0 {
			t.Errorf("%s: the journal holds %d entries, want none", c.name, len(j.entries))
		}
	}
	j := newJournal(1)
	if err := j.add(ledger.ToPlayer(ledger.Payout, "bet:1:v1", 7, 1, ledger.House, 100), 0); err != nil || len(j.entries) != 1 {
		t.Fatalf("a balanced payout: %v, %d entries", err, len(j.entries))
	}
}

// An unbalanced transaction written through the store leaves no trace on
// either database: no transaction row, no posting, no balance moved.
func TestUnbalancedTransactionWritesNothing(t *testing.T) {
	t.Parallel()
	raceStores(t, func(t *testing.T, db *DB, _ *clocktest.Clock) {
		ctx := context.Background()
		u, err := db.CreateUser(ctx, account.NewUser{Username: "lopsided", Nickname: "lopsided", Email: "l@example.com",
			PasswordHash: "x", Role: account.Player, Bonus: 1000})
		if err != nil {
			t.Fatal(err)
		}
		wallet, err := db.PlayerAccount(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = db.tx(ctx, func(tx *sql.Tx) error {
			return db.post(ctx, tx, ledger.Transaction{Kind: ledger.Grant, Reference: "lopsided:1", Postings: []ledger.Posting{
				{AccountID: wallet, Kind: ledger.Player, Amount: 500},
				{AccountID: db.systemAccount(ledger.GrantAccount), Kind: ledger.Programme, Amount: -499},
			}}, db.Now())
		})
		if got := fault.Code(err); got != "invalid_transaction" {
			t.Fatalf("posting an unbalanced transaction: %v (code %q), want invalid_transaction", err, got)
		}
		var n int
		if err := db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_tx WHERE reference = 'lopsided:1'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d transactions with the reference (%v), want none", n, err)
		}
		if b, err := db.Balance(ctx, wallet); err != nil || b != 1000 {
			t.Fatalf("balance %d (%v), want the sign-up bonus of 1000 alone", b, err)
		}
		if d, err := db.VerifyLedger(ctx); err != nil || len(d) != 0 {
			t.Fatalf("VerifyLedger: %v, %v", d, err)
		}
	})
}
