package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/live"
)

// AfterCommit, when set, receives the events of a change once its
// transaction has committed (settlement's bet.settled, a programme's
// points.credited). It must not block: the server hands them to a
// live.Relay, whose Send never waits. Set it before the store is used.
func (db *DB) SetAfterCommit(fn func(...live.Event) bool) { db.afterCommit = fn }

// published passes the events of a committed transaction on.
func (db *DB) published(evs []live.Event) {
	if db.afterCommit != nil && len(evs) > 0 {
		db.afterCommit(evs...)
	}
}

// noticeOf is one personal event to store: the player's wallet account
// and the event's payload, encoded once.
type noticeOf struct {
	account int64
	data    []byte
}

// addNotices stores one notice of type typ for each of ns inside tx, in
// one statement, and returns the live events to publish after commit on
// each player's own channel. A notice is addressed by wallet account,
// which is what the money paths hold.
func (db *DB) addNotices(ctx context.Context, tx *sql.Tx, typ string, now time.Time, ns []noticeOf) ([]live.Event, error) {
	if len(ns) == 0 {
		return nil, nil
	}
	flat := make([]any, 0, 2*len(ns))
	for _, n := range ns {
		flat = append(flat, n.account, string(n.data))
	}
	v, args := db.d.rowsOf("v", []string{"account_id", "data"}, []string{"BIGINT", "TEXT"}, 1, flat)
	args = append(args, typ, db.d.ts(now))
	rows, err := tx.QueryContext(ctx, `WITH `+v+` INSERT INTO notices (user_id, type, data, created_at)
		SELECT a.user_id, `+db.d.param(len(args)-1, "TEXT")+`, v.data, `+db.d.param(len(args), db.d.tsType)+`
		FROM v JOIN accounts a ON a.id = +v.account_id WHERE a.user_id IS NOT NULL
		RETURNING user_id, data`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	evs := make([]live.Event, 0, len(ns))
	for rows.Next() {
		var uid int64
		var data string
		if err := rows.Scan(&uid, &data); err != nil {
			return nil, err
		}
		evs = append(evs, live.Event{Type: typ, Channel: live.UserChannel(fmtID(pUser, uid)), Data: json.RawMessage(data)})
	}
	return evs, rows.Err()
}

// Notices lists a player's notices with ids above after, oldest first, up
// to limit (1 to 100; 50 when 0).
//
// Codes: user_not_found (a malformed id), invalid_limit.
func (db *DB) Notices(ctx context.Context, userID string, after int64, limit int) ([]live.Stored, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, fault.New(fault.NotFound, "user_not_found", "No such user.")
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 100 {
		return nil, fault.New(fault.Invalid, "invalid_limit", "The limit must be between 1 and 100.")
	}
	rows, err := db.rw.QueryContext(ctx, `SELECT id, type, data, created_at FROM notices WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`, uid, after, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := []live.Stored{}
	for rows.Next() {
		var n live.Stored
		var data string
		if err := rows.Scan(&n.ID, &n.Type, &data, scanTime{&n.At}); err != nil {
			return nil, classify(err)
		}
		n.Data = json.RawMessage(data)
		out = append(out, n)
	}
	return out, classify(rows.Err())
}

// creditNoticed is credit with the player's points.credited notice
// (what: "topup", "checkin", "grant", "partner"), whose event it returns
// for after the commit.
func (db *DB) creditNoticed(ctx context.Context, tx *sql.Tx, kind ledger.Kind, what, ref string, wallet, programme, amount int64, now time.Time) ([]live.Event, error) {
	if err := db.credit(ctx, tx, kind, ref, wallet, programme, amount, now); err != nil {
		return nil, err
	}
	data := live.New(live.PointsCredited, "", live.PointsCreditedData{Kind: what, Amount: amount, Reference: ref}).Data
	return db.addNotices(ctx, tx, live.PointsCredited, now, []noticeOf{{wallet, data}})
}
