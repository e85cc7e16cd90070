package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/live"
)

// CreateUser creates a user and their wallet.
//
// Codes: username_taken, nickname_taken, email_taken.
func (db *DB) CreateUser(ctx context.Context, u account.NewUser) (*account.User, error) {
	now := db.Now()
	var out *account.User
	var evs []live.Event
	err := db.audited(ctx, u.Audit, func(tx *sql.Tx) error {
		var err error
		out, _, evs, err = db.createUser(ctx, tx, u, now)
		if err == nil && u.Audit != nil {
			u.Audit.Target = "user:" + out.ID
			if u.Audit.Action == audit.Signup {
				u.Audit.By(out.ID, out.Username)
			}
		}
		return err
	})
	if err == nil {
		db.published(evs)
		db.observeCredit(ledger.SignupBonus, u.Bonus)
	}
	return out, err
}

// createUser writes a user, their wallet and their sign-up bonus inside tx,
// so that other first-time paths (OIDC sign-in) create players exactly as
// sign-up does. The bonus is a credit like the programmes': its
// points.credited notice is stored, and its event returned for the caller
// to pass on once tx has committed. Codes: username_taken, nickname_taken,
// email_taken.
func (db *DB) createUser(ctx context.Context, tx *sql.Tx, u account.NewUser, now time.Time) (*account.User, int64, []live.Event, error) {
	emailKey := u.EmailKey
	if emailKey == "" {
		emailKey = strings.ToLower(u.Email)
	}
	for _, c := range []struct{ col, val, code, what string }{
		{"username_key", strings.ToLower(u.Username), "username_taken", "username"},
		{"nickname_fold", input.Fold(u.Nickname), "nickname_taken", "nickname"},
		{"email_key", emailKey, "email_taken", "e-mail address"},
	} {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+c.col+` = $1`, c.val).Scan(&n); err != nil {
			return nil, 0, nil, err
		}
		if n > 0 {
			return nil, 0, nil, fault.New(fault.Conflict, c.code, "That %s is already taken.", c.what)
		}
	}
	var id int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO users (username, username_key, nickname, nickname_key, nickname_fold, email, email_key, password_hash, role, time_zone, created_at, nickname_confirmed, email_verified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'Asia/Seoul', $10, $11, $12) RETURNING id`,
		u.Username, strings.ToLower(u.Username), u.Nickname, strings.ToLower(u.Nickname), input.Fold(u.Nickname), u.Email, emailKey,
		u.PasswordHash, string(u.Role), db.d.ts(now), !u.NicknamePending, u.EmailVerified).Scan(&id)
	if isUnique(err) {
		// A concurrent sign-up took a name between the check and the insert.
		return nil, 0, nil, fault.New(fault.Conflict, "username_taken", "That username, nickname or e-mail address is already taken.")
	}
	if err != nil {
		return nil, 0, nil, err
	}
	acct, err := db.createPlayerAccount(ctx, tx, id, now)
	if err != nil {
		return nil, 0, nil, err
	}
	var evs []live.Event
	if u.Bonus > 0 {
		src := db.systemAccount(ledger.SignupBonusAccount)
		if evs, err = db.creditNoticed(ctx, tx, ledger.SignupBonus, "signup", fmt.Sprintf("signup:%d", id), acct, src, u.Bonus, now); err != nil {
			return nil, 0, nil, err
		}
	}
	return &account.User{ID: fmtID(pUser, id), Username: u.Username, Nickname: u.Nickname, Email: u.Email, Role: u.Role, TimeZone: "Asia/Seoul",
		CreatedAt: now, NicknameRequired: u.NicknamePending, EmailVerified: u.EmailVerified}, id, evs, nil
}

// Availability reports whether a username (in any letter case) and a
// nickname (by its fold key: case and compatibility forms) are free.
// Empty values are reported as unavailable.
func (db *DB) Availability(ctx context.Context, username, nickname string) (usernameFree, nicknameFree bool, err error) {
	check := func(col, key string) (bool, error) {
		if key == "" {
			return false, nil
		}
		var n int
		err := db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+col+` = $1`, key).Scan(&n)
		return n == 0, classify(err)
	}
	if usernameFree, err = check("username_key", strings.ToLower(username)); err != nil {
		return
	}
	nicknameFree, err = check("nickname_fold", input.Fold(nickname))
	return
}

const userCols = `u.id, u.username, u.nickname, u.email, u.role, u.time_zone, u.language, u.created_at, u.nickname_confirmed, u.email_verified`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (*account.User, error) {
	var u account.User
	var id int64
	var confirmed bool
	dest := append([]any{&id, &u.Username, &u.Nickname, &u.Email, &u.Role, &u.TimeZone, &u.Language, scanTime{&u.CreatedAt}, &confirmed, &u.EmailVerified}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	u.ID, u.NicknameRequired = fmtID(pUser, id), !confirmed
	return &u, nil
}

// FindUserByUsername returns a user and their password hash.
//
// Codes: user_not_found.
func (db *DB) FindUserByUsername(ctx context.Context, username string) (*account.User, string, error) {
	var hash string
	u, err := scanUser(db.rw.QueryRowContext(ctx, `SELECT `+userCols+`, u.password_hash FROM users u WHERE u.username_key = $1 AND u.deleted_at IS NULL`, strings.ToLower(username)), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errNoUser()
	}
	return u, hash, classify(err)
}

// SetPassword replaces a user's password hash and role (used to seed the
// first operator from configuration, whose address needs no verification);
// ev, when set, is written with the change.
func (db *DB) SetPassword(ctx context.Context, userID string, hash string, role account.Role, ev *audit.Event) error {
	id, _ := parseID(pUser, userID)
	return db.audited(ctx, ev, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, role = $2, email_verified = TRUE WHERE id = $3`, hash, string(role), id)
		return err
	})
}

// CreateSession stores a session by the digest of its token; ev (the
// sign-in), when set, is written with it.
func (db *DB) CreateSession(ctx context.Context, userID, digest string, expires time.Time, ev *audit.Event) error {
	id, ok := parseID(pUser, userID)
	if !ok {
		return errNoUser()
	}
	now := db.Now()
	// Each login is also recorded for the activity statement's sessions.
	return db.audited(ctx, ev, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			digest, id, db.d.ts(now), db.d.ts(expires)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO login_events (user_id, at) VALUES ($1, $2)`, id, db.d.ts(now))
		return err
	})
}

// errNoUser is the refusal for a user id that names no user (or is not
// a user id at all).
func errNoUser() error { return fault.New(fault.NotFound, "user_not_found", "No such user.") }

// FindSession returns the session with the token digest, if unexpired.
//
// Codes: unauthenticated.
func (db *DB) FindSession(ctx context.Context, digest string) (*account.Session, error) {
	var s account.Session
	u, err := scanUser(db.rw.QueryRowContext(ctx, `SELECT `+userCols+`, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = $1 AND s.expires_at > $2`,
		digest, db.d.ts(db.Now())), scanTime{&s.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.Unauthenticated, "unauthenticated", "Please log in.")
	}
	if err != nil {
		return nil, classify(err)
	}
	s.User, s.Digest = u, digest
	return &s, nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, digest string) error {
	var uid int64
	err := db.rw.QueryRowContext(ctx, `DELETE FROM sessions WHERE digest = $1 RETURNING user_id`, digest).Scan(&uid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return classify(err)
	}
	db.sessionsEnded(uid)
	return nil
}

// sessionsEnded tells, after the commit that ended some of uid's
// sessions, the live hubs of every instance to close those sessions'
// sockets (live.SessionRevoked).
func (db *DB) sessionsEnded(uid int64) {
	db.published([]live.Event{live.New(live.SessionRevoked, live.UserChannel(fmtID(pUser, uid)), struct{}{})})
}
