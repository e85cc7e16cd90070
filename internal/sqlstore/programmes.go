package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/programme"
)

// Prefixes of programme ids.
const (
	pPartnerCredit = "pc_"
	pGrant         = "g_"
)

// programmeState is a player's programme row, locked for the rest of the
// transaction.
type programmeState struct {
	uid         int64
	account     int64
	balance     int64
	timeZone    string
	topups      int64
	lastTopup   *time.Time
	streak      int
	lastCheckin programme.Day
}

// lockProgramme locks the player's programme row (creating it on first
// use) and reads what the programme rules need. Every top-up and
// check-in of one player queues here, so two concurrent requests cannot
// both find the player eligible; the unique ledger reference is the
// second guard.
//
// Top-up and check-in are also refused during a cool-off or
// self-exclusion (lockPlaying takes this lock and checks that, inside the same
// transaction as the credit). Partner credits take this lock too but are
// not blocked: those points were earned with the partner.
func (db *DB) lockProgramme(ctx context.Context, tx *sql.Tx, uid int64) (*programmeState, error) {
	s := &programmeState{uid: uid}
	err := tx.QueryRowContext(ctx, `SELECT a.id, u.time_zone FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.user_id = $1`, uid).Scan(&s.account, &s.timeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser()
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO programme_state (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, uid); err != nil {
		return nil, err
	}
	var last sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT topups, last_topup_at, checkin_streak, last_checkin_day FROM programme_state WHERE user_id = $1`+db.d.forUpdate, uid).
		Scan(&s.topups, scanNullTime{&s.lastTopup}, &s.streak, &last)
	if err != nil {
		return nil, err
	}
	s.lastCheckin = programme.Day(last.String)
	// Read after the lock: the balance a concurrent top-up left behind.
	if err := tx.QueryRowContext(ctx, `SELECT amount FROM balances WHERE account_id = $1 AND shard = 0`, s.account).Scan(&s.balance); err != nil {
		return nil, err
	}
	return s, nil
}

// claim runs the idempotency key's claim inside tx, if there is a key.
func (db *DB) claim(ctx context.Context, tx *sql.Tx, idem *idempotency.Key, now time.Time) (*idempotency.Replay, error) {
	if idem == nil {
		return nil, nil
	}
	return db.claimKey(ctx, tx, idem, now)
}

// settle stores the outcome for the idempotency key, if there is one.
func (db *DB) settle(ctx context.Context, tx *sql.Tx, idem *idempotency.Key, v any, refusal error) error {
	if idem == nil {
		return nil
	}
	if refusal != nil {
		v = nil
	}
	return db.storeKey(ctx, tx, idem, v, refusal)
}

// programmeTx is the shape shared by the player programmes: claim the
// key, run fn (which returns a value or a rule refusal), store the
// outcome for the key, commit. A refusal commits too, so that the key's
// stored answer survives; fn writes nothing before it refuses.
func (db *DB) programmeTx(ctx context.Context, idem *idempotency.Key, fn func(tx *sql.Tx, now time.Time) (any, error, error)) (any, *idempotency.Replay, error) {
	var (
		out     any
		refusal error
		replay  *idempotency.Replay
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out, refusal, replay = nil, nil, nil // a retried transaction starts over
		now := db.Now()
		var err error
		if replay, err = db.claim(ctx, tx, idem, now); err != nil || replay != nil {
			return err
		}
		if out, refusal, err = fn(tx, now); err != nil {
			return err
		}
		return db.settle(ctx, tx, idem, out, refusal)
	})
	switch {
	case err != nil:
		return nil, nil, err
	case replay != nil:
		return nil, replay, nil
	case refusal != nil:
		return nil, nil, refusal
	}
	return out, nil, nil
}

// Topup refills the player's balance to rules.TopupTarget when it is
// below it and the last top-up is at least rules.TopupInterval ago. A
// balance below zero (a debt left by a corrected result) is refilled to
// the target as well. The credit's reference is topup:<user>:<n>.
//
// Codes: user_not_found, topup_not_allowed, idempotency_key_reused.
func (db *DB) Topup(ctx context.Context, req programme.TopupRequest) (*programme.TopupResult, *idempotency.Replay, error) {
	uid, ok := parseID(pUser, req.UserID)
	if !ok {
		return nil, nil, errNoUser()
	}
	src := db.systemAccount(ledger.TopupAccount)
	var evs []live.Event
	v, replay, err := db.programmeTx(ctx, req.Idempotency, func(tx *sql.Tx, now time.Time) (any, error, error) {
		evs = nil
		s, refusal, err := db.lockPlaying(ctx, tx, uid, now)
		if refusal != nil || err != nil {
			return nil, refusal, err
		}
		amount, next, refusal := req.Rules.TopupAmount(s.balance, s.lastTopup, now)
		if refusal != nil {
			return nil, refusal, nil
		}
		ref := fmt.Sprintf("topup:%d:%d", uid, s.topups+1)
		if evs, err = db.creditNoticed(ctx, tx, ledger.Topup, "topup", ref, s.account, src, amount, now); err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE programme_state SET topups = topups + 1, last_topup_at = $1 WHERE user_id = $2`, db.d.ts(now), uid); err != nil {
			return nil, nil, err
		}
		return &programme.TopupResult{Amount: amount, Balance: s.balance + amount, NextAllowedAt: next.UTC(), Reference: ref}, nil, nil
	})
	if v == nil {
		return nil, replay, err
	}
	db.published(evs)
	res := v.(*programme.TopupResult)
	db.observeCredit(ledger.Topup, res.Amount)
	return res, replay, err
}

// Checkin credits the daily check-in bonus: once per calendar day in the
// player's time zone, growing with the streak of consecutive days. The
// credit's reference is checkin:<user>:<day>.
//
// Codes: user_not_found, already_checked_in, idempotency_key_reused.
func (db *DB) Checkin(ctx context.Context, req programme.CheckinRequest) (*programme.CheckinResult, *idempotency.Replay, error) {
	uid, ok := parseID(pUser, req.UserID)
	if !ok {
		return nil, nil, errNoUser()
	}
	src := db.systemAccount(ledger.CheckinAccount)
	var evs []live.Event
	v, replay, err := db.programmeTx(ctx, req.Idempotency, func(tx *sql.Tx, now time.Time) (any, error, error) {
		evs = nil
		s, refusal, err := db.lockPlaying(ctx, tx, uid, now)
		if refusal != nil || err != nil {
			return nil, refusal, err
		}
		loc := programme.Location(s.timeZone)
		today, nextAt := programme.DayIn(now, loc), programme.NextDayStart(now, loc)
		streak, points, refusal := req.Rules.Checkin(s.lastCheckin, s.streak, today, nextAt)
		if refusal != nil {
			return nil, refusal, nil
		}
		ref := fmt.Sprintf("checkin:%d:%s", uid, today)
		if evs, err = db.creditNoticed(ctx, tx, ledger.Checkin, "checkin", ref, s.account, src, points, now); err != nil {
			if errors.Is(err, errPosted) {
				// Only reachable if the state row and the ledger disagree;
				// the ledger wins: that day is done.
				return nil, fault.New(fault.Conflict, "already_checked_in", "You have already checked in today (%s).", today), nil
			}
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE programme_state SET checkin_streak = $1, last_checkin_day = $2 WHERE user_id = $3`, streak, string(today), uid); err != nil {
			return nil, nil, err
		}
		return &programme.CheckinResult{Day: today, Streak: streak, Points: points, Balance: s.balance + points, NextAt: nextAt, Reference: ref}, nil, nil
	})
	if v == nil {
		return nil, replay, err
	}
	db.published(evs)
	res := v.(*programme.CheckinResult)
	db.observeCredit(ledger.Checkin, res.Points)
	return res, replay, err
}

// CheckinStatus reports whether the player has checked in today, the
// current streak and the next bonus.
//
// Codes: user_not_found.
func (db *DB) CheckinStatus(ctx context.Context, userID string, rules programme.Rules) (*programme.CheckinStatus, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, errNoUser()
	}
	var zone string
	var streak sql.NullInt64
	var last sql.NullString
	err := db.rw.QueryRowContext(ctx, `SELECT u.time_zone, p.checkin_streak, p.last_checkin_day FROM users u LEFT JOIN programme_state p ON p.user_id = u.id WHERE u.id = $1`, uid).
		Scan(&zone, &streak, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser()
	}
	if err != nil {
		return nil, classify(err)
	}
	now := db.Now()
	loc := programme.Location(zone)
	s := rules.Status(programme.Day(last.String), int(streak.Int64), programme.DayIn(now, loc), loc.String(), programme.NextDayStart(now, loc))
	return &s, nil
}

// Grant credits points to a player from the grants programme, on an
// operator's word, with the reason recorded. The credit's reference is
// grant:<grant id>.
//
// Codes: invalid_username, reason_required, invalid_points (from
// GrantRequest.Check, which the caller runs), user_not_found,
// idempotency_key_reused.
func (db *DB) Grant(ctx context.Context, req programme.GrantRequest) (*programme.Grant, *idempotency.Replay, error) {
	admin, ok := parseID(pUser, req.AdminID)
	if !ok {
		return nil, nil, fault.New(fault.NotFound, "user_not_found", "No such operator.")
	}
	src := db.systemAccount(ledger.GrantAccount)
	var evs []live.Event
	v, replay, err := db.programmeTx(ctx, req.Idempotency, func(tx *sql.Tx, now time.Time) (any, error, error) {
		evs = nil
		var uid, acct int64
		var username, adminName string
		err := tx.QueryRowContext(ctx, `SELECT u.id, u.username, a.id FROM users u JOIN accounts a ON a.user_id = u.id WHERE u.username_key = $1`, strings.ToLower(req.Username)).
			Scan(&uid, &username, &acct)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fault.New(fault.NotFound, "user_not_found", "No player is called %q.", req.Username), nil
		}
		if err != nil {
			return nil, nil, err
		}
		if err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, admin).Scan(&adminName); err != nil {
			return nil, nil, err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO grants (user_id, admin_id, points, reason, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			uid, admin, req.Points, req.Reason, db.d.ts(now)).Scan(&id); err != nil {
			return nil, nil, err
		}
		ref := fmt.Sprintf("grant:%d", id)
		if evs, err = db.creditNoticed(ctx, tx, ledger.Grant, "grant", ref, acct, src, req.Points, now); err != nil {
			return nil, nil, err
		}
		if req.Audit != nil {
			req.Audit.Target = "user:" + fmtID(pUser, uid)
			if err := db.insertAudit(ctx, tx, req.Audit); err != nil {
				return nil, nil, err
			}
		}
		var bal int64
		if err := tx.QueryRowContext(ctx, `SELECT amount FROM balances WHERE account_id = $1 AND shard = 0`, acct).Scan(&bal); err != nil {
			return nil, nil, err
		}
		return &programme.Grant{ID: fmtID(pGrant, id), Username: username, Points: req.Points, Reason: req.Reason, Balance: bal,
			GrantedBy: adminName, GrantedAt: now, Reference: ref}, nil, nil
	})
	if v == nil {
		return nil, replay, err
	}
	db.published(evs)
	g := v.(*programme.Grant)
	if replay == nil && err == nil {
		db.emitAudit(ctx, req.Audit)
	}
	db.observeCredit(ledger.Grant, g.Points)
	return g, replay, err
}

// CreatePartner stores a new partner with its sealed secret.
//
// ev, when set, is written with it.
//
// Codes: invalid_partner_id, invalid_rate, invalid_daily_cap,
// invalid_partner_name, partner_exists.
func (db *DB) CreatePartner(ctx context.Context, p *programme.Partner, ev *audit.Event) error {
	if err := programme.CheckPartnerID(p.ID); err != nil {
		return err
	}
	if err := p.Rate.Check(); err != nil {
		return err
	}
	if p.DailyCap < 1 || p.DailyCap > 1<<40 {
		return fault.New(fault.Invalid, "invalid_daily_cap", "The daily cap must be at least 1 point.")
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 100 {
		return fault.New(fault.Invalid, "invalid_partner_name", "A partner needs a name (at most 100 characters).")
	}
	now := db.Now()
	err := db.audited(ctx, ev, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO partners (id, name, rate_num, rate_den, daily_cap, secret_sealed, created_at, secret_rotated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			p.ID, p.Name, p.Rate.Num, p.Rate.Den, p.DailyCap, p.SealedSecret, db.d.ts(now))
		return err
	})
	if isUnique(err) {
		return fault.New(fault.Conflict, "partner_exists", "A partner with id %q exists.", p.ID)
	}
	if err != nil {
		return classify(err)
	}
	p.CreatedAt, p.RotatedAt = now, now
	return nil
}

const partnerCols = `id, name, rate_num, rate_den, daily_cap, secret_sealed, created_at, secret_rotated_at, disabled_at`

func scanPartner(row interface{ Scan(...any) error }) (*programme.Partner, error) {
	var p programme.Partner
	if err := row.Scan(&p.ID, &p.Name, &p.Rate.Num, &p.Rate.Den, &p.DailyCap, &p.SealedSecret, scanTime{&p.CreatedAt}, scanTime{&p.RotatedAt}, scanNullTime{&p.DisabledAt}); err != nil {
		return nil, err
	}
	p.Disabled = p.DisabledAt != nil
	return &p, nil
}

// FindPartner returns a partner, disabled or not.
//
// Codes: partner_not_found.
func (db *DB) FindPartner(ctx context.Context, id string) (*programme.Partner, error) {
	p, err := scanPartner(db.rw.QueryRowContext(ctx, `SELECT `+partnerCols+` FROM partners WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "partner_not_found", "No partner has id %q.", id)
	}
	return p, classify(err)
}

// ListPartners returns every partner by id.
func (db *DB) ListPartners(ctx context.Context) ([]*programme.Partner, error) {
	rows, err := db.rw.QueryContext(ctx, `SELECT `+partnerCols+` FROM partners ORDER BY id`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []*programme.Partner
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, classify(rows.Err())
}

// RotatePartnerSecret replaces a partner's sealed secret; the old one
// stops working at once.
//
// Codes: partner_not_found.
func (db *DB) RotatePartnerSecret(ctx context.Context, id string, sealed []byte, ev *audit.Event) error {
	return db.audited(ctx, ev, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partners SET secret_sealed = $1, secret_rotated_at = $2 WHERE id = $3`, sealed, db.d.ts(db.Now()), id)
		return db.one(res, err, id)
	})
}

// DisablePartner stops a partner's credits; its history stays. Disabling
// a disabled partner changes nothing.
//
// Codes: partner_not_found.
func (db *DB) DisablePartner(ctx context.Context, id string, ev *audit.Event) error {
	return db.audited(ctx, ev, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partners SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2`, db.d.ts(db.Now()), id)
		return db.one(res, err, id)
	})
}

func (db *DB) one(res sql.Result, err error, id string) error {
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "partner_not_found", "No partner has id %q.", id)
	}
	return nil
}

// CreditPartner converts a partner's mileage into points for a player,
// once per (partner, partner_tx_id): the same id again returns the first
// answer with replayed=true, and the same id with another username or
// mileage is a conflict. The per-player daily cap counts the partner's
// credits to that player on the current calendar day in Korea (KST), the
// partners' own business day, whatever the player's zone. The credit's
// reference is partner:<partner>:<partner_tx_id>.
//
// Codes: partner_disabled, partner_tx_id_reused, user_not_found,
// invalid_mileage, mileage_too_small, partner_daily_cap_exceeded.
func (db *DB) CreditPartner(ctx context.Context, req programme.PartnerCredit) (credit *programme.Credit, replayed bool, err error) {
	p := req.Partner
	src := db.systemAccount(ledger.PartnerAccount)
	kst := programme.Location(programme.DefaultZone)
	var evs []live.Event
	err = db.tx(ctx, func(tx *sql.Tx) error {
		credit, replayed, evs = nil, false, nil
		now := db.Now()
		var disabled sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT CAST(disabled_at AS TEXT) FROM partners WHERE id = $1`, p.ID).Scan(&disabled); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fault.New(fault.Unauthenticated, "unknown_partner", "No such partner.")
			}
			return err
		}
		if disabled.Valid {
			return fault.New(fault.Forbidden, "partner_disabled", "This partner is disabled; contact the operator.")
		}
		if c, err := db.partnerReplay(ctx, tx, p.ID, &req.CreditRequest); err != nil || c != nil {
			credit, replayed = c, c != nil
			return err
		}
		var uid int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username_key = $1`, strings.ToLower(req.Username)).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "user_not_found", "No player is called %q.", req.Username)
		}
		if err != nil {
			return err
		}
		points, err := p.Rate.Points(req.Mileage)
		if err != nil {
			return err
		}
		// Credits to one player queue on the player's row, so the cap is
		// read and respected by one transaction at a time.
		s, err := db.lockProgramme(ctx, tx, uid)
		if err != nil {
			return err
		}
		day := programme.DayIn(now, kst)
		var used int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(points), 0) FROM partner_credits WHERE partner_id = $1 AND user_id = $2 AND day = $3`, p.ID, uid, string(day)).Scan(&used); err != nil {
			return err
		}
		if used+points > p.DailyCap {
			return fault.New(fault.Refused, "partner_daily_cap_exceeded",
				"This credit of %s points would take %s past %s's daily cap of %s points for this player (%s credited on %s KST).",
				ledger.FormatPoints(points), req.Username, p.Name, ledger.FormatPoints(p.DailyCap), ledger.FormatPoints(used), day).
				With("daily_cap", p.DailyCap).With("used", used).With("remaining", p.DailyCap-used).With("day", string(day))
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO partner_credits (partner_id, partner_tx_id, user_id, username, mileage, points, day, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (partner_id, partner_tx_id) DO NOTHING RETURNING id`,
			p.ID, req.PartnerTxID, uid, req.Username, req.Mileage, points, string(day), db.d.ts(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// A concurrent request with the same id committed first.
			c, err := db.partnerReplay(ctx, tx, p.ID, &req.CreditRequest)
			credit, replayed = c, c != nil
			if err == nil && c == nil {
				err = errors.New("partner credit vanished")
			}
			return err
		}
		if err != nil {
			return err
		}
		if evs, err = db.creditNoticed(ctx, tx, ledger.Partner, "partner", "partner:"+p.ID+":"+req.PartnerTxID, s.account, src, points, now); err != nil {
			return err
		}
		if req.Audit != nil {
			req.Audit.Target = "user:" + fmtID(pUser, uid)
			if err := db.insertAudit(ctx, tx, req.Audit); err != nil {
				return err
			}
		}
		credit = &programme.Credit{CreditID: fmtID(pPartnerCredit, id), Points: points, PartnerTxID: req.PartnerTxID, Username: req.Username, Mileage: req.Mileage, CreditedAt: now}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	db.published(evs)
	if !replayed {
		db.emitAudit(ctx, req.Audit)
		db.observeCredit(ledger.Partner, credit.Points)
	}
	return credit, replayed, nil
}

// partnerReplay returns the stored credit of (partner, partner_tx_id),
// or nil when there is none. The same username (in any letter case) and
// mileage make the same request; anything else is a conflict.
//
// Codes: partner_tx_id_reused.
func (db *DB) partnerReplay(ctx context.Context, tx *sql.Tx, partnerID string, req *programme.CreditRequest) (*programme.Credit, error) {
	var c programme.Credit
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id, points, partner_tx_id, username, mileage, created_at FROM partner_credits WHERE partner_id = $1 AND partner_tx_id = $2`, partnerID, req.PartnerTxID).
		Scan(&id, &c.Points, &c.PartnerTxID, &c.Username, &c.Mileage, scanTime{&c.CreditedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(c.Username, req.Username) || c.Mileage != req.Mileage {
		return nil, fault.New(fault.Conflict, "partner_tx_id_reused",
			"partner_tx_id %q was already credited with another username or mileage; use a new id for a new credit.", req.PartnerTxID).
			With("credit_id", fmtID(pPartnerCredit, id))
	}
	c.CreditID = fmtID(pPartnerCredit, id)
	return &c, nil
}

// SystemAccountID returns the ledger account id of an operator account
// by code.
func (db *DB) SystemAccountID(code string) (int64, error) {
	if id := db.systemAccount(code); id != 0 {
		return id, nil
	}
	return 0, fmt.Errorf("unknown system account %q", code)
}

// lockPlaying is lockProgramme for the programmes a cool-off or a
// self-exclusion stops (top-up, check-in): such a block comes back as a
// refusal, which the programme transaction stores for an idempotent
// replay, apart from failures.
func (db *DB) lockPlaying(ctx context.Context, tx *sql.Tx, uid int64, now time.Time) (_ *programmeState, refusal, err error) {
	s, err := db.lockProgramme(ctx, tx, uid)
	if err != nil {
		return nil, nil, err
	}
	err = db.checkPlayAllowed(ctx, tx, uid, now)
	if _, ok := fault.As(err); ok {
		return nil, err, nil
	}
	return s, nil, err
}
