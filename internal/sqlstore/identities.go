package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/live"
)

// errIdentityRace means another transaction linked the identity first.
var errIdentityRace = errors.New("identity linked concurrently")

// SignInIdentity returns the player linked to an OIDC identity, creating
// them on the first sign-in (created is then true). A new player gets
// provisional names (nickname_confirmed false), no password (so password
// login always fails for them), the sign-up bonus in the same transaction
// as sign-up gives it, and the identity's e-mail only when it is verified
// and no other account uses it; otherwise a non-deliverable placeholder
// key. Two first sign-ins of one identity at once create one player: the
// loser's transaction, bonus included, rolls back on the identity's
// primary key and it then finds the winner's player.
func (db *DB) SignInIdentity(ctx context.Context, id account.Identity, bonus int64) (u *account.User, created bool, err error) {
	if id.Issuer == "" || id.Subject == "" || len(id.Issuer) > 512 || len(id.Subject) > 255 {
		return nil, false, fault.New(fault.Invalid, "invalid_identity", "The identity has no issuer or subject, or they are too long.")
	}
	// An issuer's claims are text we store: PostgreSQL cannot hold a NUL
	// or bytes that are not UTF-8, and an address with them is no address.
	if !input.ValidText(id.Issuer) || !input.ValidText(id.Subject) {
		return nil, false, fault.New(fault.Invalid, "invalid_identity", "The identity's issuer or subject is not valid text.")
	}
	if !input.ValidText(id.Email) {
		id.Email, id.EmailVerified = "", false
	}
	for attempt := 0; attempt < 4; attempt++ {
		u, created, err = db.signInIdentity(ctx, id, bonus)
		if fe, ok := fault.As(err); errors.Is(err, errIdentityRace) || (ok && fe.Kind == fault.Conflict) {
			// A concurrent first sign-in (or, vanishingly rarely, a
			// clash of random provisional names): look again.
			continue
		}
		return u, created, err
	}
	return nil, false, fault.New(fault.Unavailable, "busy", "Sign-in is busy; try again.")
}

func (db *DB) signInIdentity(ctx context.Context, id account.Identity, bonus int64) (*account.User, bool, error) {
	now := db.Now()
	var out *account.User
	var evs []live.Event
	created := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		evs = nil
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM user_identities i JOIN users u ON u.id = i.user_id
			WHERE i.issuer = $1 AND i.subject = $2`, id.Issuer, id.Subject))
		if err == nil {
			out = u
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		username, nickname := account.ProvisionalNames()
		nu := account.NewUser{Username: username, Nickname: nickname, Role: account.Player, Bonus: bonus, NicknamePending: true,
			EmailKey: account.PlaceholderEmailKey(id)}
		if id.EmailVerified && id.Email != "" && len(id.Email) <= 254 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email_key = $1`, account.EmailKeyOf(id.Email)).Scan(&n); err != nil {
				return err
			}
			// Never link to, or fail on, an account that already has the
			// address: the new player simply goes without it.
			if n == 0 {
				nu.Email, nu.EmailKey, nu.EmailVerified = id.Email, "", true // the issuer vouched for it
			}
		}
		u, uid, credited, err := db.createUser(ctx, tx, nu, now)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)`,
			id.Issuer, id.Subject, uid, db.d.ts(now))
		if isUnique(err) {
			return errIdentityRace
		}
		if err != nil {
			return err
		}
		out, created, evs = u, true, credited
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	db.published(evs)
	if created {
		db.observeCredit(ledger.SignupBonus, bonus)
	}
	return out, created, nil
}

// ConfirmNickname records that the user chose their nickname, so the UI
// stops asking for one (GET /api/v1/me's nickname_required).
//
// Codes: user_not_found.
func (db *DB) ConfirmNickname(ctx context.Context, userID string) error {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return errNoUser()
	}
	res, err := db.rw.ExecContext(ctx, `UPDATE users SET nickname_confirmed = $1 WHERE id = $2`, true, uid)
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNoUser()
	}
	return nil
}
