package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

func testUsers(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, account.NewUser{Username: "Kim", Nickname: "Kimchi", Email: "Kim@Example.com", PasswordHash: "h", Role: account.Player, Bonus: 50000})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustBalance(t, db, u); got != 50000 {
		t.Fatalf("balance after sign-up = %d, want 50000", got)
	}
	dup := []struct {
		name string
		nu   account.NewUser
		code string
	}{
		{"username any case", account.NewUser{Username: "KIM", Nickname: "other", Email: "o@example.com"}, "username_taken"},
		{"nickname any case", account.NewUser{Username: "lee", Nickname: "KIMCHI", Email: "o@example.com"}, "nickname_taken"},
		{"email any case", account.NewUser{Username: "lee", Nickname: "lee", Email: "kim@example.COM"}, "email_taken"},
	}
	for _, tt := range dup {
		t.Run(tt.name, func(t *testing.T) {
			tt.nu.PasswordHash, tt.nu.Role, tt.nu.Bonus = "h", account.Player, 50000
			_, err := db.CreateUser(ctx, tt.nu)
			if fault.Code(err) != tt.code {
				t.Fatalf("code=%q (%v), want %q", fault.Code(err), err, tt.code)
			}
		})
	}
	uf, nf, err := db.Availability(ctx, "kIm", "free-nick")
	if err != nil || uf || !nf {
		t.Fatalf("Availability = %v %v %v", uf, nf, err)
	}
	got, hash, err := db.FindUserByUsername(ctx, "KIM")
	if err != nil || got.ID != u.ID || hash != "h" || got.Username != "Kim" {
		t.Fatalf("FindUserByUsername = %+v %q %v", got, hash, err)
	}
	if _, _, err := db.FindUserByUsername(ctx, "nobody"); fault.Code(err) != "user_not_found" {
		t.Fatalf("missing user: %v", err)
	}
	// A failed sign-up moved no points.
	mustVerify(t, db)
	bonus, _ := db.SystemBalance(ctx, ledger.SignupBonusAccount)
	if bonus != -50000 {
		t.Fatalf("sign-up programme balance = %d, want -50000 (one bonus)", bonus)
	}
}

func testSessions(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 0)
	_, digest := account.NewToken()
	if err := db.CreateSession(ctx, u.ID, digest, c.now().Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	s, err := db.FindSession(ctx, digest)
	if err != nil || s.User.ID != u.ID {
		t.Fatalf("FindSession = %+v, %v", s, err)
	}
	c.advance(2 * time.Hour)
	if _, err := db.FindSession(ctx, digest); fault.Code(err) != "unauthenticated" {
		t.Fatalf("expired session: %v", err)
	}
	c.advance(-2 * time.Hour)
	if err := db.DeleteSession(ctx, digest); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindSession(ctx, digest); fault.Code(err) != "unauthenticated" {
		t.Fatalf("deleted session: %v", err)
	}
}

func testLedger(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	a, b := mustUser(t, db, 1000), mustUser(t, db, 1000)
	posted, err := db.Credit(ctx, a.ID, ledger.GrantAccount, ledger.Grant, "grant:1", 500)
	if err != nil || !posted {
		t.Fatalf("Credit = %v, %v", posted, err)
	}
	posted, err = db.Credit(ctx, a.ID, ledger.GrantAccount, ledger.Grant, "grant:1", 500)
	if err != nil || posted {
		t.Fatalf("repeated reference: posted=%v, %v", posted, err)
	}
	if got := mustBalance(t, db, a); got != 1500 {
		t.Fatalf("balance = %d, want 1500", got)
	}
	// A debit below zero is refused and changes nothing.
	_, err = db.Credit(ctx, a.ID, ledger.GrantAccount, ledger.Grant, "grant:2", -2000)
	if fault.Code(err) != "insufficient_points" {
		t.Fatalf("overdraft: %v", err)
	}
	// Player to player is refused even when the caller mislabels kinds.
	aa, _ := db.PlayerAccount(ctx, a.ID)
	bb, _ := db.PlayerAccount(ctx, b.ID)
	err = db.Post(ctx, ledger.Transaction{Kind: ledger.Grant, Reference: "p2p:1", Postings: []ledger.Posting{
		{AccountID: aa, Kind: ledger.House, Amount: -100}, {AccountID: bb, Kind: ledger.Player, Amount: 100},
	}})
	if fault.Code(err) != "player_transfer_forbidden" {
		t.Fatalf("player to player: %v", err)
	}
	if mustBalance(t, db, a) != 1500 || mustBalance(t, db, b) != 1000 {
		t.Fatal("a refused transfer moved points")
	}
	mustVerify(t, db)
}

func testStatement(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u := mustUser(t, db, 1000)
	for i := 0; i < 5; i++ {
		if _, err := db.Credit(ctx, u.ID, ledger.GrantAccount, ledger.Grant, "g:"+string(rune('a'+i)), int64(10*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	acct, _ := db.PlayerAccount(ctx, u.ID)
	var all []int64
	var afters []int64
	cursor := ""
	for page := 0; page < 10; page++ {
		entries, next, err := db.Statement(ctx, acct, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			all = append(all, e.Amount)
			afters = append(afters, e.BalanceAfter)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	want := []int64{50, 40, 30, 20, 10, 1000}
	wantAfter := []int64{1150, 1100, 1060, 1030, 1010, 1000}
	if len(all) != len(want) {
		t.Fatalf("entries = %v, want %v", all, want)
	}
	for i := range want {
		if all[i] != want[i] || afters[i] != wantAfter[i] {
			t.Fatalf("entries = %v after %v, want %v after %v", all, afters, want, wantAfter)
		}
	}
	if _, _, err := db.Statement(ctx, acct, "bogus", 2); fault.Code(err) != "invalid_cursor" {
		t.Fatalf("bad cursor: %v", err)
	}
}
