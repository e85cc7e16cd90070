package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/fault"
)

var (
	errNoMatch   = fault.New(fault.NotFound, "match_not_found", "No such match.")
	errNoMessage = fault.New(fault.NotFound, "chat_message_not_found", "No such chat message.")
)

// PostChat stores a message under the room's next id: the counter row is
// bumped in the same transaction, so ids grow within a room without gaps
// from concurrent posts.
func (db *DB) PostChat(ctx context.Context, m chat.NewMessage) (*chat.Message, error) {
	mid, ok := parseID(pMatch, m.MatchID)
	uid, ok2 := parseID(pUser, m.UserID)
	if !ok || !ok2 {
		return nil, errNoMatch
	}
	out := &chat.Message{MatchID: m.MatchID, UserID: m.UserID, Text: m.Text, At: m.At.UTC().Truncate(time.Microsecond)}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM matches WHERE id = $1`, mid).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return errNoMatch
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO chat_rooms (match_id, last_id) VALUES ($1, 1)
			ON CONFLICT (match_id) DO UPDATE SET last_id = chat_rooms.last_id + 1 RETURNING last_id`, mid).Scan(&out.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_messages (match_id, id, user_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
			mid, out.ID, uid, m.Text, db.d.ts(out.At)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT nickname FROM users WHERE id = $1`, uid).Scan(&out.Nickname)
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// ChatHistory lists a room's visible messages, oldest first: with after >
// 0 the first limit after it, else the last limit before `before` (0: the
// newest).
func (db *DB) ChatHistory(ctx context.Context, matchID string, before, after int64, limit int) ([]*chat.Message, error) {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return nil, errNoMatch
	}
	const cols = `SELECT c.id, c.user_id, u.nickname, c.body, c.created_at FROM chat_messages c JOIN users u ON u.id = c.user_id
		WHERE c.match_id = $1 AND c.deleted_at IS NULL`
	var rows *sql.Rows
	var err error
	switch {
	case after > 0:
		rows, err = db.rw.QueryContext(ctx, cols+` AND c.id > $2 ORDER BY c.id LIMIT $3`, mid, after, limit)
	case before > 0:
		rows, err = db.rw.QueryContext(ctx, cols+` AND c.id < $2 ORDER BY c.id DESC LIMIT $3`, mid, before, limit)
	default:
		rows, err = db.rw.QueryContext(ctx, cols+` ORDER BY c.id DESC LIMIT $2`, mid, limit)
	}
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := []*chat.Message{}
	for rows.Next() {
		m := &chat.Message{MatchID: matchID}
		var uid int64
		if err := rows.Scan(&m.ID, &uid, &m.Nickname, &m.Text, scanTime{&m.At}); err != nil {
			return nil, classify(err)
		}
		m.UserID = fmtID(pUser, uid)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	if after == 0 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// DeleteChat hides a message from history and resumes; ev, when set, is
// written with the change.
func (db *DB) DeleteChat(ctx context.Context, matchID string, id int64, ev *audit.Event) error {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return errNoMessage
	}
	return db.audited(ctx, ev, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE chat_messages SET deleted_at = $3 WHERE match_id = $1 AND id = $2 AND deleted_at IS NULL`,
			mid, id, db.d.ts(db.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoMessage
		}
		return nil
	})
}

// ReportChat records one player's report of a visible message, once.
func (db *DB) ReportChat(ctx context.Context, r chat.Report) error {
	mid, ok := parseID(pMatch, r.MatchID)
	uid, ok2 := parseID(pUser, r.ReporterID)
	if !ok || !ok2 {
		return errNoMessage
	}
	res, err := db.rw.ExecContext(ctx, `INSERT INTO chat_reports (match_id, message_id, reporter_id, reason, created_at)
		SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM chat_messages WHERE match_id = $1 AND id = $2 AND deleted_at IS NULL)
		ON CONFLICT (match_id, message_id, reporter_id) DO NOTHING`, mid, r.MessageID, uid, r.Reason, db.d.ts(r.At))
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var exists int
	if err := db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_messages WHERE match_id = $1 AND id = $2 AND deleted_at IS NULL`, mid, r.MessageID).Scan(&exists); err != nil {
		return classify(err)
	}
	if exists == 0 {
		return errNoMessage
	}
	return fault.New(fault.Conflict, "already_reported", "You have already reported this message.")
}

// ChatReports is the reports queue, newest first, with the messages
// (deleted ones are left out: they were dealt with).
func (db *DB) ChatReports(ctx context.Context, limit int) ([]*chat.Report, error) {
	rows, err := db.rw.QueryContext(ctx, `SELECT r.match_id, r.message_id, r.reporter_id, r.reason, r.created_at,
			c.user_id, u.nickname, c.body, c.created_at
		FROM chat_reports r JOIN chat_messages c ON c.match_id = r.match_id AND c.id = r.message_id JOIN users u ON u.id = c.user_id
		WHERE c.deleted_at IS NULL ORDER BY r.created_at DESC, r.match_id, r.message_id, r.reporter_id LIMIT $1`, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := []*chat.Report{}
	for rows.Next() {
		var mid, rid, aid int64
		r := &chat.Report{Message: &chat.Message{}}
		if err := rows.Scan(&mid, &r.MessageID, &rid, &r.Reason, scanTime{&r.At}, &aid, &r.Message.Nickname, &r.Message.Text, scanTime{&r.Message.At}); err != nil {
			return nil, classify(err)
		}
		r.MatchID, r.ReporterID = fmtID(pMatch, mid), fmtID(pUser, rid)
		r.Message.ID, r.Message.MatchID, r.Message.UserID = r.MessageID, r.MatchID, fmtID(pUser, aid)
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// MuteChat records a mute, and m.Audit with it.
func (db *DB) MuteChat(ctx context.Context, m chat.Mute) error {
	uid, ok := parseID(pUser, m.UserID)
	if !ok {
		return fault.New(fault.NotFound, "user_not_found", "No such user.")
	}
	return db.audited(ctx, m.Audit, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO chat_mutes (user_id, until, reason, muted_by, created_at)
			SELECT id, $2, $3, $4, $5 FROM users WHERE id = $1`, uid, db.d.ts(m.Until), m.Reason, m.By, db.d.ts(m.At))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.New(fault.NotFound, "user_not_found", "No such user.")
		}
		return nil
	})
}

// ActiveMute is the player's mute running longest at now, or nil.
func (db *DB) ActiveMute(ctx context.Context, userID string, now time.Time) (*chat.Mute, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, nil
	}
	m := &chat.Mute{UserID: userID}
	err := db.rw.QueryRowContext(ctx, `SELECT until, reason, muted_by, created_at FROM chat_mutes WHERE user_id = $1 AND until > $2
		ORDER BY until DESC LIMIT 1`, uid, db.d.ts(now)).Scan(scanTime{&m.Until}, &m.Reason, &m.By, scanTime{&m.At})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(err)
	}
	return m, nil
}

// SetSlowMode sets a room's slow mode (0: off); ev, when set, is written
// with the change.
func (db *DB) SetSlowMode(ctx context.Context, matchID string, every time.Duration, ev *audit.Event) error {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return errNoMatch
	}
	return db.audited(ctx, ev, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO chat_rooms (match_id, slow_seconds) SELECT id, $2 FROM matches WHERE id = $1
			ON CONFLICT (match_id) DO UPDATE SET slow_seconds = excluded.slow_seconds`, mid, int(every/time.Second))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoMatch
		}
		return nil
	})
}

// SlowMode is a room's slow mode (0: off).
func (db *DB) SlowMode(ctx context.Context, matchID string) (time.Duration, error) {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return 0, nil
	}
	var s int
	err := db.rw.QueryRowContext(ctx, `SELECT slow_seconds FROM chat_rooms WHERE match_id = $1`, mid).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, classify(err)
	}
	return time.Duration(s) * time.Second, nil
}

var _ chat.Store = (*DB)(nil)
