package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// The account lifecycle contract: e-mail codes with attempts and expiry,
// mail throttling, password resets and changes, bulk logout, profile
// updates and deletion.

func mustSession(t testing.TB, db *sqlstore.DB, u *account.User, ttl time.Duration) string {
	t.Helper()
	_, digest := account.NewToken()
	if err := db.CreateSession(context.Background(), u.ID, digest, db.Now().Add(ttl), nil); err != nil {
		t.Fatal(err)
	}
	return digest
}

func sessionAlive(db *sqlstore.DB, digest string) bool {
	_, err := db.FindSession(context.Background(), digest)
	return err == nil
}

func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if fault.Code(err) != code {
		t.Fatalf("%s: %v, want code %q", what, err, code)
	}
}

func testEmailCodes(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 0)
	wantCode(t, "no code yet", db.VerifyEmail(ctx, u.ID, "right", 5, nil), "code_expired")
	if err := db.SetEmailCode(ctx, u.ID, "right", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	// Wrong codes count down; the fifth kills the code, after which even
	// the right one is refused.
	for i := 4; i >= 0; i-- {
		err := db.VerifyEmail(ctx, u.ID, "wrong", 5, nil)
		fe, _ := fault.As(err)
		if fe == nil || fe.Code != "invalid_code" || fe.Details["attempts_left"] != i {
			t.Fatalf("wrong code with %d left: %+v", i, err)
		}
	}
	wantCode(t, "right code after 5 wrong", db.VerifyEmail(ctx, u.ID, "right", 5, nil), "code_expired")
	// A new code starts a new count.
	if err := db.SetEmailCode(ctx, u.ID, "right2", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "old code", db.VerifyEmail(ctx, u.ID, "right", 5, nil), "invalid_code")
	c.advance(15 * time.Minute)
	wantCode(t, "expired code", db.VerifyEmail(ctx, u.ID, "right2", 5, nil), "code_expired")
	if err := db.SetEmailCode(ctx, u.ID, "right3", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	c.advance(14 * time.Minute)
	if err := db.VerifyEmail(ctx, u.ID, "right3", 5, nil); err != nil {
		t.Fatalf("right code: %v", err)
	}
	got, _, err := db.FindUserByID(ctx, u.ID)
	if err != nil || !got.EmailVerified {
		t.Fatalf("after verification: %+v %v", got, err)
	}
	wantCode(t, "used code", db.VerifyEmail(ctx, u.ID, "right3", 5, nil), "email_already_verified")
	wantCode(t, "unknown user", db.SetEmailCode(ctx, "u_999999", "x", time.Minute), "user_not_found")
	wantCode(t, "bad id", db.VerifyEmail(ctx, "m_1", "x", 5, nil), "user_not_found")

	// Guesses racing each other are counted one by one: exactly five are
	// judged, every later one finds the code dead.
	v := mustUser(t, db, 0)
	if err := db.SetEmailCode(ctx, v.ID, "right", 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.VerifyEmail(ctx, v.ID, "wrong", 5, nil)
			mu.Lock()
			codes[fault.Code(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["invalid_code"] != 5 || codes["code_expired"] != 15 {
		t.Fatalf("20 racing wrong guesses: %v, want 5 invalid_code and 15 code_expired", codes)
	}
}

func testMailThrottle(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	wait := func(purpose, v string, every time.Duration) time.Duration {
		t.Helper()
		w, err := db.ThrottleMail(ctx, purpose, v, every)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	if w := wait("verify", "Kim", time.Minute); w != 0 {
		t.Fatalf("first send waits %v", w)
	}
	if w := wait("verify", "KIM", time.Minute); w != time.Minute {
		t.Fatalf("second send at once waits %v, want 1m (names in any case are one)", w)
	}
	if w := wait("reset", "kim", time.Minute); w != 0 {
		t.Fatalf("another purpose waits %v", w)
	}
	c.advance(45 * time.Second)
	if w := wait("verify", "kim", time.Minute); w != 15*time.Second {
		t.Fatalf("after 45s waits %v, want 15s", w)
	}
	c.advance(15 * time.Second)
	if w := wait("verify", "kim", time.Minute); w != 0 {
		t.Fatalf("after 60s waits %v", w)
	}
	if w := wait("verify", "kim", 0); w != 0 {
		t.Fatalf("every=0 waits %v", w)
	}
	// Racing requests: exactly one may send.
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := db.ThrottleMail(ctx, "verify", "race", time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if w == 0 {
				mu.Lock()
				sent++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if sent != 1 {
		t.Fatalf("20 racing requests sent %d mails, want 1", sent)
	}
	c.advance(2 * time.Hour)
	if n, err := db.PurgeAccountRecords(ctx); err != nil || n < 3 {
		t.Fatalf("purge = %d, %v (want the throttle rows gone)", n, err)
	}
}

func testPasswordReset(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 0)
	s1 := mustSession(t, db, u, time.Hour)
	found, err := db.FindUserByEmail(ctx, u.Email)
	if err != nil || found.ID != u.ID {
		t.Fatalf("FindUserByEmail = %+v %v", found, err)
	}
	if _, err := db.FindUserByEmail(ctx, "nobody@example.com"); fault.Code(err) != "user_not_found" {
		t.Fatalf("unknown e-mail: %v", err)
	}
	_, old := account.NewToken()
	_, digest := account.NewToken()
	for _, d := range []string{old, digest} {
		if err := db.CreatePasswordReset(ctx, u.ID, d, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.FindPasswordReset(ctx, old)
	wantCode(t, "superseded link", err, "invalid_reset_token")
	got, err := db.FindPasswordReset(ctx, digest)
	if err != nil || got.ID != u.ID {
		t.Fatalf("FindPasswordReset = %+v %v", got, err)
	}
	got, err = db.ResetPassword(ctx, digest, "new-hash", nil)
	if err != nil || got.ID != u.ID || !got.EmailVerified {
		t.Fatalf("ResetPassword = %+v %v (a followed link proves the address)", got, err)
	}
	if _, hash, _ := db.FindUserByID(ctx, u.ID); hash != "new-hash" {
		t.Fatalf("hash = %q", hash)
	}
	if sessionAlive(db, s1) {
		t.Fatal("a reset left a session alive")
	}
	_, err = db.ResetPassword(ctx, digest, "other-hash", nil)
	wantCode(t, "used link", err, "invalid_reset_token")
	if _, hash, _ := db.FindUserByID(ctx, u.ID); hash != "new-hash" {
		t.Fatalf("a used link changed the hash to %q", hash)
	}
	_, late := account.NewToken()
	if err := db.CreatePasswordReset(ctx, u.ID, late, time.Hour); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Hour)
	_, err = db.ResetPassword(ctx, late, "late-hash", nil)
	wantCode(t, "expired link", err, "invalid_reset_token")
	_, err = db.FindPasswordReset(ctx, late)
	wantCode(t, "expired link lookup", err, "invalid_reset_token")
}

func testPasswordChange(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u, other := mustUser(t, db, 0), mustUser(t, db, 0)
	keep, s2, s3 := mustSession(t, db, u, time.Hour), mustSession(t, db, u, time.Hour), mustSession(t, db, u, time.Hour)
	theirs := mustSession(t, db, other, time.Hour)
	_, reset := account.NewToken()
	if err := db.CreatePasswordReset(ctx, u.ID, reset, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.ChangePassword(ctx, u.ID, "changed", keep, nil); err != nil {
		t.Fatal(err)
	}
	if !sessionAlive(db, keep) || sessionAlive(db, s2) || sessionAlive(db, s3) || !sessionAlive(db, theirs) {
		t.Fatal("change password must end the user's other sessions and only those")
	}
	if _, err := db.FindPasswordReset(ctx, reset); fault.Code(err) != "invalid_reset_token" {
		t.Fatalf("a reset link outlived a password change: %v", err)
	}
	if _, hash, _ := db.FindUserByID(ctx, u.ID); hash != "changed" {
		t.Fatalf("hash = %q", hash)
	}
	wantCode(t, "unknown user", db.ChangePassword(ctx, "u_999999", "x", "", nil), "user_not_found")

	// Log out everywhere.
	n, err := db.DeleteSessions(ctx, u.ID)
	if err != nil || n != 1 || sessionAlive(db, keep) || !sessionAlive(db, theirs) {
		t.Fatalf("DeleteSessions = %d, %v", n, err)
	}
}

func testProfile(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u, other := mustUser(t, db, 0), mustUser(t, db, 0)
	str := func(s string) *string { return &s }
	got, err := db.UpdateProfile(ctx, u.ID, account.ProfileUpdate{TimeZone: str("Europe/London"), Nickname: str("새별명")})
	if err != nil || got.TimeZone != "Europe/London" || got.Nickname != "새별명" {
		t.Fatalf("UpdateProfile = %+v %v", got, err)
	}
	// Only the case of one's own nickname: allowed.
	if got, err := db.UpdateProfile(ctx, other.ID, account.ProfileUpdate{Nickname: str(other.Nickname + "X")}); err != nil || got.Nickname != other.Nickname+"X" {
		t.Fatalf("own nickname: %+v %v", got, err)
	}
	if got, err := db.UpdateProfile(ctx, other.ID, account.ProfileUpdate{Nickname: str(other.Nickname + "x")}); err != nil || got.Nickname != other.Nickname+"x" {
		t.Fatalf("own nickname in another case: %+v %v", got, err)
	}
	// Someone else's, in any case: refused, and nothing else in the same
	// update is applied.
	_, err = db.UpdateProfile(ctx, other.ID, account.ProfileUpdate{TimeZone: str("America/New_York"), Nickname: str("새별명")})
	wantCode(t, "taken nickname", err, "nickname_taken")
	_, err = db.UpdateProfile(ctx, other.ID, account.ProfileUpdate{Nickname: str(u.Username)})
	if err != nil {
		t.Fatalf("a nickname equal to someone's username is allowed: %v", err)
	}
	got, _, _ = db.FindUserByID(ctx, other.ID)
	if got.TimeZone != "Asia/Seoul" {
		t.Fatalf("a refused update changed the time zone to %s", got.TimeZone)
	}
	if uf, nf, _ := db.Availability(ctx, "", "새별명"); uf || nf {
		t.Fatal("the new nickname is reported free")
	}
	_, err = db.UpdateProfile(ctx, "u_999999", account.ProfileUpdate{TimeZone: str("UTC")})
	wantCode(t, "unknown user", err, "user_not_found")
}

func testDeleteUser(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u := mustUser(t, db, 5000)
	if _, err := db.Credit(ctx, u.ID, ledger.GrantAccount, ledger.Grant, "grant:del", 700); err != nil {
		t.Fatal(err)
	}
	acct, _ := db.PlayerAccount(ctx, u.ID)
	before, _, err := db.Statement(ctx, acct, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	s := mustSession(t, db, u, time.Hour)
	if err := db.SetEmailCode(ctx, u.ID, "h", time.Hour); err != nil {
		t.Fatal(err)
	}
	_, reset := account.NewToken()
	if err := db.CreatePasswordReset(ctx, u.ID, reset, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if sessionAlive(db, s) {
		t.Fatal("a session outlived deletion")
	}
	if _, _, err := db.FindUserByUsername(ctx, u.Username); fault.Code(err) != "user_not_found" {
		t.Fatalf("deleted user found by username: %v", err)
	}
	if _, _, err := db.FindUserByUsername(ctx, "deleted-"+strings.TrimPrefix(u.ID, "u_")); fault.Code(err) != "user_not_found" {
		t.Fatalf("deleted user found by the anonymised name: %v", err)
	}
	if _, _, err := db.FindUserByID(ctx, u.ID); fault.Code(err) != "user_not_found" {
		t.Fatalf("deleted user found by id: %v", err)
	}
	if _, err := db.FindUserByEmail(ctx, u.Email); fault.Code(err) != "user_not_found" {
		t.Fatalf("deleted user found by e-mail: %v", err)
	}
	if _, err := db.FindPasswordReset(ctx, reset); fault.Code(err) != "invalid_reset_token" {
		t.Fatalf("reset link outlived deletion: %v", err)
	}
	wantCode(t, "code after deletion", db.VerifyEmail(ctx, u.ID, "h", 5, nil), "user_not_found")
	wantCode(t, "delete twice", db.DeleteUser(ctx, u.ID), "user_not_found")
	// The names and the address are free again.
	if uf, nf, _ := db.Availability(ctx, u.Username, u.Nickname); !uf || !nf {
		t.Fatalf("old names not free: %v %v", uf, nf)
	}
	again, err := db.CreateUser(ctx, account.NewUser{Username: u.Username, Nickname: u.Nickname, Email: u.Email, PasswordHash: "x", Role: account.Player})
	if err != nil || again.ID == u.ID {
		t.Fatalf("sign-up with a deleted account's names: %+v %v", again, err)
	}
	// The wallet and its history stay, untouched, and the ledger balances.
	after, _, err := db.Statement(ctx, acct, "", 100)
	if err != nil || len(after) != len(before) {
		t.Fatalf("statement after deletion: %d entries (%v), want %d", len(after), err, len(before))
	}
	for i := range before {
		if *after[i] != *before[i] {
			t.Fatalf("entry %d changed: %+v -> %+v", i, before[i], after[i])
		}
	}
	if b, _ := db.Balance(ctx, acct); b != 5700 {
		t.Fatalf("balance after deletion = %d, want 5700 (left, frozen)", b)
	}
	if still, _ := db.PlayerAccount(ctx, u.ID); still != acct {
		t.Fatal("the wallet no longer belongs to the anonymised user")
	}
	mustVerify(t, db)
}
