package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
)

const pAudit = "au_"

// SetAuditLog sets where committed audit events are emitted, one line
// each (audit.Log); nil, the default, emits none.
func (db *DB) SetAuditLog(log *slog.Logger) { db.auditLog.Store(log) }

// audited runs fn in a transaction that also writes ev when fn succeeds,
// and emits ev once the transaction has committed. A nil ev is a plain
// transaction: the callers that audit nothing (seeding, the feed, tests)
// pass none.
func (db *DB) audited(ctx context.Context, ev *audit.Event, fn func(*sql.Tx) error) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return db.insertAudit(ctx, tx, ev)
	})
	if err == nil {
		db.emitAudit(ctx, ev)
	}
	return err
}

// RecordAudit writes events in a transaction of their own: a refused
// change's failed attempt, a denied access, or an action that changes
// nothing in the database (an announcement, a read of the trail).
func (db *DB) RecordAudit(ctx context.Context, evs ...*audit.Event) error {
	err := db.tx(ctx, func(tx *sql.Tx) error { return db.insertAudit(ctx, tx, evs...) })
	if err == nil {
		db.emitAudit(ctx, evs...)
	}
	return err
}

// insertAudit writes evs in tx; nil events are skipped. An event's time
// is the transaction's clock reading unless it has one.
func (db *DB) insertAudit(ctx context.Context, tx *sql.Tx, evs ...*audit.Event) error {
	now := db.Now()
	for _, e := range evs {
		if e == nil {
			continue
		}
		e.Clean()
		if e.At.IsZero() {
			e.At = now
		}
		var country, name, city string
		var lat, lon sql.NullFloat64
		if g := e.Geo; g != nil {
			country, name, city = g.CountryISO, g.CountryName, g.City
			if g.Lat != nil && g.Lon != nil {
				lat, lon = sql.NullFloat64{Float64: *g.Lat, Valid: true}, sql.NullFloat64{Float64: *g.Lon, Valid: true}
			}
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO audit_events (at, actor, user_id, username, action, target, outcome, reason,
			client_ip, geo_country, geo_name, geo_city, geo_lat, geo_lon, request_id, trace_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			db.d.ts(e.At), e.Actor, e.UserID, e.Username, e.Action, e.Target, e.Outcome, e.Reason,
			e.ClientIP, country, name, city, lat, lon, e.RequestID, e.TraceID).Scan(&id)
		if err != nil {
			return err
		}
		e.ID = fmtID(pAudit, id)
	}
	return nil
}

// emitAudit logs committed events.
func (db *DB) emitAudit(ctx context.Context, evs ...*audit.Event) {
	log := db.auditLog.Load()
	if log == nil {
		return
	}
	for _, e := range evs {
		if e != nil {
			audit.Log(ctx, log, e)
		}
	}
}

// AuditEvents lists events newest first under f, a page at a time: the
// cursor is the last event's id.
//
// Codes: invalid_cursor.
func (db *DB) AuditEvents(ctx context.Context, f audit.Filter) ([]*audit.Event, string, error) {
	if f.Limit < 1 || f.Limit > audit.MaxPage {
		f.Limit = audit.DefaultPage
	}
	where, args := []string{"1 = 1"}, []any{}
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Cursor != "" {
		id, ok := parseID(pAudit, f.Cursor)
		if !ok {
			return nil, "", fault.New(fault.Invalid, "invalid_cursor", "The cursor is not valid.")
		}
		arg("id < ?", id)
	}
	if f.Actor != "" {
		arg("actor = ?", f.Actor)
	}
	if stem, ok := strings.CutSuffix(f.Action, "*"); ok {
		arg("substr(action, 1, "+strconv.Itoa(len(stem))+") = ?", stem)
	} else if f.Action != "" {
		arg("action = ?", f.Action)
	}
	if f.Target != "" {
		arg("target = ?", f.Target)
	}
	if f.Outcome != "" {
		arg("outcome = ?", f.Outcome)
	}
	if !f.From.IsZero() {
		arg("at >= ?", db.d.ts(f.From))
	}
	if !f.To.IsZero() {
		arg("at < ?", db.d.ts(f.To))
	}
	args = append(args, f.Limit+1)
	q := `SELECT id, at, actor, user_id, username, action, target, outcome, reason, client_ip,
		geo_country, geo_name, geo_city, geo_lat, geo_lon, request_id, trace_id
		FROM audit_events WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	var out []*audit.Event
	err := scanRows(ctx, db.rw, q, args, func(rows *sql.Rows) error {
		var e audit.Event
		var id int64
		var at time.Time
		var country, name, city string
		var lat, lon sql.NullFloat64
		if err := rows.Scan(&id, scanTime{&at}, &e.Actor, &e.UserID, &e.Username, &e.Action, &e.Target, &e.Outcome, &e.Reason,
			&e.ClientIP, &country, &name, &city, &lat, &lon, &e.RequestID, &e.TraceID); err != nil {
			return err
		}
		e.ID, e.At = fmtID(pAudit, id), at
		if country != "" || name != "" || city != "" || lat.Valid {
			e.Geo = &audit.Geo{CountryISO: country, CountryName: name, City: city}
			if lat.Valid && lon.Valid {
				e.Geo.Lat, e.Geo.Lon = &lat.Float64, &lon.Float64
			}
		}
		out = append(out, &e)
		return nil
	})
	if err != nil {
		return nil, "", classify(err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[f.Limit-1].ID
	}
	return out, next, nil
}
