package sqlstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

// The account lifecycle: e-mail codes, password changes and resets,
// sessions ended in bulk, profile updates and deletion. Secrets never
// reach the database in the clear: codes arrive as an HMAC, reset tokens
// and sessions as a SHA-256 digest.

var errUserNotFound = errNoUser()

func userID(id string) (int64, error) {
	n, ok := parseID(pUser, id)
	if !ok {
		return 0, errUserNotFound
	}
	return n, nil
}

// FindUserByID returns a live (not deleted) user and their password hash.
//
// Codes: user_not_found.
func (db *DB) FindUserByID(ctx context.Context, id string) (*account.User, string, error) {
	n, err := userID(id)
	if err != nil {
		return nil, "", err
	}
	var hash string
	u, err := scanUser(db.rw.QueryRowContext(ctx, `SELECT `+userCols+`, u.password_hash FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL`, n), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errUserNotFound
	}
	return u, hash, classify(err)
}

// FindUserByEmail returns the live user with the address (any letter case).
//
// Codes: user_not_found.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*account.User, error) {
	u, err := scanUser(db.rw.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.email_key = $1 AND u.deleted_at IS NULL`, strings.ToLower(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound
	}
	return u, classify(err)
}

// throttleKey names a throttled mail by a digest of what it is for, so the
// table holds no usernames or addresses.
func throttleKey(purpose, value string) string {
	sum := sha256.Sum256([]byte(purpose + "\x00" + strings.ToLower(value)))
	return hex.EncodeToString(sum[:])
}

// ThrottleMail claims the right to send the mail of purpose ("verify",
// "reset") for value (a username, an address). It returns zero when the
// caller may send, and otherwise how long to wait: mail for the same value
// went out less than every ago. The check and the claim are one statement,
// so two requests racing cannot both send. every = 0 always claims (the
// first code, sent at sign-up, must not be held back by earlier requests
// for the name).
func (db *DB) ThrottleMail(ctx context.Context, purpose, value string, every time.Duration) (time.Duration, error) {
	now := db.Now()
	key := throttleKey(purpose, value)
	var got string
	err := db.rw.QueryRowContext(ctx, `INSERT INTO mail_throttle (key, sent_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET sent_at = excluded.sent_at WHERE mail_throttle.sent_at <= $3
		RETURNING key`, key, db.d.ts(now), db.d.ts(now.Add(-every))).Scan(&got)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, classify(err)
	}
	var sent time.Time
	if err := db.rw.QueryRowContext(ctx, `SELECT sent_at FROM mail_throttle WHERE key = $1`, key).Scan(scanTime{&sent}); err != nil {
		return 0, classify(err)
	}
	wait := sent.Add(every).Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return wait, nil
}

// SetEmailCode stores a new verification code (its keyed hash) for the
// user, replacing any earlier one and its count of wrong attempts.
//
// Codes: user_not_found.
func (db *DB) SetEmailCode(ctx context.Context, id, codeHash string, ttl time.Duration) error {
	n, err := userID(id)
	if err != nil {
		return err
	}
	now := db.Now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = $1 AND deleted_at IS NULL`, n).Scan(&live); err != nil {
			return err
		}
		if live == 0 {
			return errUserNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_codes WHERE user_id = $1`, n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO email_codes (user_id, code_hash, attempts, created_at, expires_at) VALUES ($1, $2, 0, $3, $4)`,
			n, codeHash, db.d.ts(now), db.d.ts(now.Add(ttl)))
		return err
	})
}

// VerifyEmail checks codeHash against the user's live code. A wrong code
// counts an attempt (committed even though the call fails); at
// maxAttempts the code is dead. The right code marks the address verified
// and deletes the code, so it works once.
//
// Codes: user_not_found, email_already_verified, code_expired (none
// waiting, expired or too many wrong attempts), invalid_code.
//
// ev, when set, is written with a successful verification only: a wrong
// code's counted attempt is the caller's to record as a failure.
func (db *DB) VerifyEmail(ctx context.Context, id, codeHash string, maxAttempts int, ev *audit.Event) error {
	n, err := userID(id)
	if err != nil {
		return err
	}
	now := db.Now()
	var outcome error
	err = db.tx(ctx, func(tx *sql.Tx) error {
		outcome = nil
		var verified bool
		err := tx.QueryRowContext(ctx, `SELECT email_verified FROM users WHERE id = $1 AND deleted_at IS NULL`, n).Scan(&verified)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return err
		}
		if verified {
			return fault.New(fault.Conflict, "email_already_verified", "This e-mail address is already verified; you can log in.")
		}
		var stored string
		var attempts int
		var expires time.Time
		// The row lock makes concurrent guesses count one by one.
		err = tx.QueryRowContext(ctx, `SELECT code_hash, attempts, expires_at FROM email_codes WHERE user_id = $1`+db.d.forUpdate, n).
			Scan(&stored, &attempts, scanTime{&expires})
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fault.New(fault.Invalid, "code_expired", "No code is waiting for this account; ask for a new one.")
		case err != nil:
			return err
		case !now.Before(expires):
			return fault.New(fault.Invalid, "code_expired", "The code has expired (codes last 15 minutes); ask for a new one.")
		case attempts >= maxAttempts:
			return fault.New(fault.Invalid, "code_expired", "Too many wrong codes were entered; ask for a new one.")
		}
		if subtle.ConstantTimeCompare([]byte(stored), []byte(codeHash)) != 1 {
			if _, err := tx.ExecContext(ctx, `UPDATE email_codes SET attempts = attempts + 1 WHERE user_id = $1`, n); err != nil {
				return err
			}
			left := maxAttempts - attempts - 1
			fe := fault.New(fault.Invalid, "invalid_code", "The code is wrong; %d more attempts before it stops working.", left)
			if left == 0 {
				fe = fault.New(fault.Invalid, "invalid_code", "The code is wrong, and that was the last attempt: ask for a new code.")
			}
			outcome = fe.With("attempts_left", left)
			return nil // commit the counted attempt
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_verified = TRUE WHERE id = $1`, n); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM email_codes WHERE user_id = $1`, n); err != nil {
			return err
		}
		return db.insertAudit(ctx, tx, ev)
	})
	if err != nil {
		return err
	}
	if outcome == nil {
		db.emitAudit(ctx, ev)
	}
	return outcome
}

// CreatePasswordReset stores a reset token's digest for the user. Earlier
// links of the user stop working: only the newest mail is good.
//
// Codes: user_not_found.
func (db *DB) CreatePasswordReset(ctx context.Context, id, digest string, ttl time.Duration) error {
	n, err := userID(id)
	if err != nil {
		return err
	}
	now := db.Now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1`, n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO password_resets (digest, user_id, created_at, expires_at)
			SELECT $1, id, $2, $3 FROM users WHERE id = $4 AND deleted_at IS NULL`, digest, db.d.ts(now), db.d.ts(now.Add(ttl)), n)
		return err
	})
}

var errBadReset = fault.New(fault.Invalid, "invalid_reset_token", "This reset link is invalid, used or expired; ask for a new one.")

// FindPasswordReset returns the user a live reset token belongs to.
//
// The token is looked up by its SHA-256 digest: the token has 256 random
// bits, so the timing of an index lookup on its digest tells an attacker
// nothing about any real token.
//
// Codes: invalid_reset_token.
func (db *DB) FindPasswordReset(ctx context.Context, digest string) (*account.User, error) {
	u, err := scanUser(db.rw.QueryRowContext(ctx, `SELECT `+userCols+` FROM password_resets r JOIN users u ON u.id = r.user_id
		WHERE r.digest = $1 AND r.expires_at > $2 AND u.deleted_at IS NULL`, digest, db.d.ts(db.Now())))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadReset
	}
	return u, classify(err)
}

// ResetPassword consumes a reset token and sets the password hash. The
// token works once (it is deleted in the same statement that finds it),
// every session of the user ends, and the address counts as verified: the
// link could only be followed from that mailbox.
//
// ev, when set, is written with the change, the user as actor and target.
//
// Codes: invalid_reset_token.
func (db *DB) ResetPassword(ctx context.Context, digest, hash string, ev *audit.Event) (*account.User, error) {
	now := db.Now()
	var out *account.User
	err := db.audited(ctx, ev, func(tx *sql.Tx) error {
		var n int64
		err := tx.QueryRowContext(ctx, `DELETE FROM password_resets WHERE digest = $1 AND expires_at > $2 RETURNING user_id`, digest, db.d.ts(now)).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadReset
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, email_verified = TRUE WHERE id = $2 AND deleted_at IS NULL`, hash, n)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errBadReset
		}
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = $1`, `DELETE FROM password_resets WHERE user_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, n); err != nil {
				return err
			}
		}
		out, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, n))
		if err == nil && ev != nil {
			ev.By(out.ID, out.Username).Target = "user:" + out.ID
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if uid, ok := parseID(pUser, out.ID); ok {
		db.sessionsEnded(uid)
	}
	return out, nil
}

// ChangePassword sets a new password hash and ends every session of the
// user but keep (the one that asked), so a thief holding an old session
// is out. Pending reset links die too.
//
// ev, when set, is written with the change.
//
// Codes: user_not_found.
func (db *DB) ChangePassword(ctx context.Context, id, hash, keep string, ev *audit.Event) error {
	n, err := userID(id)
	if err != nil {
		return err
	}
	err = db.audited(ctx, ev, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND deleted_at IS NULL`, hash, n)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errUserNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND digest <> $2`, n, keep); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1`, n)
		return err
	})
	if err == nil {
		db.sessionsEnded(n)
	}
	return err
}

// DeleteSessions ends every session of the user ("log out everywhere")
// and returns how many there were.
func (db *DB) DeleteSessions(ctx context.Context, id string) (int64, error) {
	n, err := userID(id)
	if err != nil {
		return 0, err
	}
	res, err := db.rw.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, n)
	if err != nil {
		return 0, classify(err)
	}
	k, _ := res.RowsAffected()
	if k > 0 {
		db.sessionsEnded(n)
	}
	return k, nil
}

// UpdateProfile changes the time zone and/or nickname (checked by the
// caller with ProfileUpdate.Check). A nickname is unique by its fold key
// (any letter case, any compatibility form); changing only the case of
// one's own nickname is allowed.
//
// Codes: user_not_found, nickname_taken.
func (db *DB) UpdateProfile(ctx context.Context, id string, p account.ProfileUpdate) (*account.User, error) {
	n, err := userID(id)
	if err != nil {
		return nil, err
	}
	taken := fault.New(fault.Conflict, "nickname_taken", "That nickname is already taken.")
	var out *account.User
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if p.Nickname != nil {
			var k int
			fold := input.Fold(*p.Nickname)
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE nickname_fold = $1 AND id <> $2`, fold, n).Scan(&k); err != nil {
				return err
			}
			if k > 0 {
				return taken
			}
			_, err := tx.ExecContext(ctx, `UPDATE users SET nickname = $1, nickname_key = $2, nickname_fold = $3, nickname_confirmed = TRUE WHERE id = $4 AND deleted_at IS NULL`,
				*p.Nickname, strings.ToLower(*p.Nickname), fold, n)
			if isUnique(err) {
				return taken // taken by a concurrent update since the check
			}
			if err != nil {
				return err
			}
		}
		if p.TimeZone != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET time_zone = $1 WHERE id = $2 AND deleted_at IS NULL`, *p.TimeZone, n); err != nil {
				return err
			}
		}
		if p.Language != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET language = $1 WHERE id = $2 AND deleted_at IS NULL`, *p.Language, n); err != nil {
				return err
			}
		}
		var err error
		out, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL`, n))
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		return err
	})
	return out, err
}

// DeleteUser removes a user's personal data and keeps the row, because the
// wallet, its postings and the bets refer to it: the ledger stays whole and
// balanced, and no posting is touched. Username, nickname and e-mail
// become deleted-<id> in their lookup keys (shapes sign-up never accepts,
// so the old names are free again and can never collide), the e-mail is
// blanked, the password hash is replaced by a value no password matches,
// and sessions, codes, reset links and mail throttles go.
//
// Codes: user_not_found.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	n, err := userID(id)
	if err != nil {
		return err
	}
	now := db.Now()
	anon := account.DeletedName(n)
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var username, email string
		err := tx.QueryRowContext(ctx, `SELECT username, email FROM users WHERE id = $1 AND deleted_at IS NULL`+db.d.forUpdate, n).Scan(&username, &email)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET username = $1, username_key = $1, nickname = $1, nickname_key = $1, nickname_fold = $1,
			email = '', email_key = $1, password_hash = '!deleted', email_verified = FALSE, time_zone = 'Asia/Seoul', language = '', deleted_at = $2
			WHERE id = $3`, anon, db.d.ts(now), n); err != nil {
			return err
		}
		// The identities go too: signing in again with one must create a new
		// player, not hand back the anonymised account.
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = $1`, `DELETE FROM email_codes WHERE user_id = $1`, `DELETE FROM password_resets WHERE user_id = $1`,
			`DELETE FROM user_identities WHERE user_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, n); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM mail_throttle WHERE key IN ($1, $2)`, throttleKey("verify", username), throttleKey("reset", email))
		return err
	})
	if err == nil {
		db.sessionsEnded(n)
	}
	return err
}

// PurgeAccountRecords deletes expired sessions, codes and reset links and
// mail throttles older than an hour, returning how many rows went.
func (db *DB) PurgeAccountRecords(ctx context.Context) (int64, error) {
	now := db.Now()
	var total int64
	for _, q := range []struct {
		sql string
		at  time.Time
	}{
		{`DELETE FROM sessions WHERE expires_at <= $1`, now},
		{`DELETE FROM email_codes WHERE expires_at <= $1`, now},
		{`DELETE FROM password_resets WHERE expires_at <= $1`, now},
		{`DELETE FROM mail_throttle WHERE sent_at <= $1`, now.Add(-time.Hour)},
	} {
		res, err := db.rw.ExecContext(ctx, q.sql, db.d.ts(q.at))
		if err != nil {
			return total, classify(err)
		}
		k, _ := res.RowsAffected()
		total += k
	}
	return total, nil
}
