package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pointsbook/pointsbook/internal/programme"
)

// TopupStatus reports whether the player could top up now under rules,
// and if not why and from when, read from the primary (the balance a
// player must see at once). It locks nothing: Topup decides again inside
// its own transaction.
//
// Codes: user_not_found.
func (db *DB) TopupStatus(ctx context.Context, userID string, rules programme.Rules) (*programme.TopupStatus, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, errNoUser()
	}
	var acct int64
	var last *time.Time
	err := db.rw.QueryRowContext(ctx, `SELECT a.id, p.last_topup_at FROM accounts a LEFT JOIN programme_state p ON p.user_id = a.user_id WHERE a.user_id = $1`, uid).
		Scan(&acct, scanNullTime{&last})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser()
	}
	if err != nil {
		return nil, classify(err)
	}
	balance, err := db.Balance(ctx, acct)
	if err != nil {
		return nil, err
	}
	st := rules.TopupStatus(balance, last, db.Now())
	return &st, nil
}
