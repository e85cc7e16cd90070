package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pointsbook/pointsbook/internal/ledger"
)

// Every ledger transaction the store writes (stakes, payouts, refunds,
// reversals, each programme's credits) goes through writeJournal: it is
// built as a ledger.Transaction, checked in Go when it joins a journal
// (journal.add), and written with the others of its batch in multi-row
// statements, one for the transactions and one for their postings per
// chunk of the dialect's parameter limit. The one exception in form is
// PostgreSQL's bet write (betwrite_postgres.go), which runs in a single
// statement; its transactions are checked the same way and its postings
// are inserted by postingsInsert, the same INSERT.
//
// Balances are not the journal's: each caller updates them its own way
// (a conditional debit, a batch's sum per wallet, a house shard row) and
// records the player's balance after the posting for the statements.

// errPosted means a transaction with the same reference exists: the
// movement already happened and must not happen again.
var errPosted = errors.New("ledger reference already posted")

// journalEntry is one checked transaction of a journal.
type journalEntry struct {
	ledger.Transaction
	// id is the ledger_tx row's id: reserved by the caller (SQLite's
	// placement, which holds the one write lock), or set by writeJournal.
	id int64
	// after is the player's balance after the transaction, written on
	// the player's posting (a transaction has at most one); the
	// operator's postings have none, their balances being spread over
	// shard rows.
	after sql.NullInt64
}

// journal is a batch of transactions on their way to the database.
type journal struct {
	entries []journalEntry
}

func newJournal(n int) *journal { return &journal{entries: make([]journalEntry, 0, n)} }

// ifPosted says what a reference that is already posted means to a
// write. For a stake or a settlement it would be paying twice, which the
// bet's version already prevents: the unique index fails the write, and
// the transaction rows go in with a plain INSERT, the cheapest. For a
// credit it is the way retries are made safe (a top-up's or a partner's
// reference): the write stops with errPosted.
type ifPosted bool

const (
	postedFails    ifPosted = false
	postedIsAnswer ifPosted = true
)

// add checks t (two postings or more, summing to zero, never between two
// players) and appends it with the reserved ledger id (0: none). A
// transaction the check refuses is never written.
func (j *journal) add(t ledger.Transaction, id int64) error {
	if err := t.Check(); err != nil {
		return err
	}
	players := 0
	for _, p := range t.Postings {
		if p.Kind == ledger.Player {
			players++
		}
	}
	if players > 1 {
		return fmt.Errorf("ledger transaction %s posts to a player's wallet %d times; at most once", t.Reference, players)
	}
	j.entries = append(j.entries, journalEntry{Transaction: t, id: id})
	return nil
}

// writeJournal writes entries inside tx: the transactions, then (once
// every id is known) balances, the caller's update of the balances, which
// sets each entry's after, then the postings. A reference already posted
// fails the whole write before any balance moves, with errPosted if
// posted is postedIsAnswer.
func (db *DB) writeJournal(ctx context.Context, tx *sql.Tx, entries []journalEntry, posted ifPosted, now time.Time, balances func() error) error {
	if len(entries) == 0 {
		return nil
	}
	ts := db.d.ts(now)
	if err := db.insertTransactions(ctx, tx, entries, posted, ts); err != nil {
		return err
	}
	if balances != nil {
		if err := balances(); err != nil {
			return err
		}
	}
	return db.insertPostings(ctx, tx, entries, ts)
}

// insertTransactions writes the ledger_tx rows of entries. With reserved
// ids they go as given; otherwise the database numbers them and the ids
// come back by reference.
func (db *DB) insertTransactions(ctx context.Context, tx *sql.Tx, entries []journalEntry, posted ifPosted, ts any) error {
	if entries[0].id != 0 {
		return inChunks(len(entries), func(lo, hi int) error {
			flat := make([]any, 0, (hi-lo)*4)
			for _, e := range entries[lo:hi] {
				flat = append(flat, e.id, string(e.Kind), e.Reference, ts)
			}
			_, err := tx.ExecContext(ctx, ledgerTxInsertReserved(hi-lo), flat...)
			return err
		})
	}
	at := make(map[string]int, len(entries))
	return db.d.inParamChunks(len(entries), 2, func(lo, hi int) error {
		flat := make([]any, 0, (hi-lo)*2)
		for i, e := range entries[lo:hi] {
			flat = append(flat, string(e.Kind), e.Reference)
			at[e.Reference] = lo + i
		}
		v, args := db.d.rowsOf("v", ledgerTxCols, ledgerTxTypes, 1, flat)
		got := 0
		err := scanRows(ctx, tx, `WITH `+v+` `+ledgerTxInsert("v", db.d.param(len(args)+1, db.d.tsType), posted), append(args, ts), func(r *sql.Rows) error {
			var id int64
			var ref string
			if err := r.Scan(&id, &ref); err != nil {
				return err
			}
			entries[at[ref]].id = id
			got++
			return nil
		})
		if err == nil && got != hi-lo {
			return errPosted
		}
		return err
	})
}

// insertPostings writes the postings of entries, whose ids are known.
func (db *DB) insertPostings(ctx context.Context, tx *sql.Tx, entries []journalEntry, ts any) error {
	n := 0
	for _, e := range entries {
		n += len(e.Postings)
	}
	flat := make([]any, 0, n*len(postingCols))
	for _, e := range entries {
		for _, p := range e.Postings {
			var after any
			if p.Kind == ledger.Player && e.after.Valid {
				after = e.after.Int64
			}
			flat = append(flat, e.id, p.AccountID, p.Amount, after)
		}
	}
	width := len(postingCols)
	return db.d.inParamChunks(len(flat)/width, width, func(lo, hi int) error {
		v, args := db.d.rowsOf("v", postingCols, postingTypes, 1, flat[lo*width:hi*width])
		_, err := tx.ExecContext(ctx, `WITH `+v+` `+postingsInsert("v", db.d.param(len(args)+1, db.d.tsType)), append(args, ts)...)
		return err
	})
}

// The rows the journal's statements take.
var (
	ledgerTxCols  = []string{"kind", "reference"}
	ledgerTxTypes = []string{"TEXT", "TEXT"}
	postingCols   = []string{"tx_id", "account_id", "amount", "balance_after"}
	postingTypes  = []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT"}
)

// ledgerTxInsert inserts the transactions of src(kind, reference),
// created at ts, and returns the id of each by reference. A reference
// already taken fails the statement, or with postedIsAnswer returns
// nothing. The WHERE TRUE is SQLite's: an INSERT … SELECT followed by ON
// CONFLICT is ambiguous to its parser without one.
func ledgerTxInsert(src, ts string, posted ifPosted) string {
	q := `INSERT INTO ledger_tx (kind, reference, created_at)
		SELECT kind, reference, ` + ts + ` FROM ` + src
	if posted == postedIsAnswer {
		q += ` WHERE TRUE
		ON CONFLICT (reference) DO NOTHING`
	}
	return q + `
		RETURNING id, reference`
}

// ledgerTxInsertReserved inserts n transactions whose ids the caller
// reserved, from parameters (id, kind, reference, created_at) per row.
func ledgerTxInsertReserved(n int) string {
	return `INSERT INTO ledger_tx (id, kind, reference, created_at) VALUES ` + placeholders(n, 4, 0)
}

// postingsInsert inserts the postings of src(tx_id, account_id, amount,
// balance_after), created at ts. src is a WITH clause's table: rows sent
// by insertPostings, or the postings PostgreSQL's bet write derives from
// its debits.
func postingsInsert(src, ts string) string {
	return `INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at)
		SELECT tx_id, account_id, amount, balance_after, ` + ts + ` FROM ` + src
}
