package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

func testIdentities(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	const iss = "https://issuer.example"
	password := mustUser(t, db, 0) // p<n>@example.com, nickname confirmed

	t.Run("first sign-in creates a player once", func(t *testing.T) {
		id := account.Identity{Issuer: iss, Subject: "sub-1", Email: "Fresh@Example.com", EmailVerified: true}
		u, created, err := db.SignInIdentity(ctx, id, 50000)
		if err != nil || !created {
			t.Fatalf("SignInIdentity = %+v, %v, %v", u, created, err)
		}
		if !u.NicknameRequired || u.Email != "Fresh@Example.com" || u.Role != account.Player {
			t.Fatalf("new player = %+v", u)
		}
		if err := account.CheckUsername(u.Username); err != nil {
			t.Fatalf("provisional username %q: %v", u.Username, err)
		}
		if err := account.CheckNickname(u.Nickname); err != nil {
			t.Fatalf("provisional nickname %q: %v", u.Nickname, err)
		}
		if got := mustBalance(t, db, u); got != 50000 {
			t.Fatalf("balance = %d, want the sign-up bonus 50000", got)
		}
		again, created, err := db.SignInIdentity(ctx, id, 50000)
		if err != nil || created || again.ID != u.ID || !again.NicknameRequired {
			t.Fatalf("second sign-in = %+v, %v, %v; want %s, not created", again, created, err, u.ID)
		}
		if got := mustBalance(t, db, u); got != 50000 {
			t.Fatalf("balance after second sign-in = %d, want 50000 (one bonus)", got)
		}
		// No password: password login finds a hash nothing verifies against.
		_, hash, err := db.FindUserByUsername(ctx, u.Username)
		if err != nil || account.Verify("", hash) || account.Verify("anything-at-all", hash) {
			t.Fatalf("OIDC player has a usable password hash %q (%v)", hash, err)
		}
		// The e-mail now belongs to this player: a sign-up cannot reuse it.
		_, err = db.CreateUser(ctx, account.NewUser{Username: "later", Nickname: "later", Email: "fresh@example.COM", PasswordHash: "h", Role: account.Player})
		if fault.Code(err) != "email_taken" {
			t.Fatalf("sign-up with the OIDC player's e-mail: %v, want email_taken", err)
		}
		if err := db.ConfirmNickname(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if u2, _, _ := db.SignInIdentity(ctx, id, 50000); u2.NicknameRequired {
			t.Fatalf("nickname still required after ConfirmNickname")
		}
		if err := db.ConfirmNickname(ctx, "u_999999"); fault.Code(err) != "user_not_found" {
			t.Fatalf("ConfirmNickname of nobody: %v", err)
		}
	})

	t.Run("same subject at another issuer is another player", func(t *testing.T) {
		a, _, err := db.SignInIdentity(ctx, account.Identity{Issuer: iss, Subject: "shared"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, created, err := db.SignInIdentity(ctx, account.Identity{Issuer: "https://other.example", Subject: "shared"}, 0)
		if err != nil || !created || b.ID == a.ID {
			t.Fatalf("other issuer = %+v, %v, %v", b, created, err)
		}
	})

	t.Run("e-mail is never taken over", func(t *testing.T) {
		cases := []struct {
			name string
			id   account.Identity
		}{
			{"verified but used by a password account", account.Identity{Issuer: iss, Subject: "takeover", Email: password.Email, EmailVerified: true}},
			{"verified, other letter case", account.Identity{Issuer: iss, Subject: "takeover-case", Email: "P" + password.Email[1:], EmailVerified: true}},
			{"unverified", account.Identity{Issuer: iss, Subject: "unverified", Email: "unverified@example.com"}},
			{"none", account.Identity{Issuer: iss, Subject: "no-email"}},
		}
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				u, created, err := db.SignInIdentity(ctx, tt.id, 0)
				if err != nil || !created {
					t.Fatalf("SignInIdentity = %v, %v", created, err)
				}
				if u.ID == password.ID || u.Email != "" {
					t.Fatalf("player %+v: linked to the password account or kept an address it must not", u)
				}
			})
		}
		// The password account is untouched and still found by its name.
		got, _, err := db.FindUserByUsername(ctx, password.Username)
		if err != nil || got.Email != password.Email || got.NicknameRequired {
			t.Fatalf("password account after OIDC sign-ins = %+v, %v", got, err)
		}
		// An unverified address stays free for its real owner.
		if _, err := db.CreateUser(ctx, account.NewUser{Username: "owner", Nickname: "owner", Email: "unverified@example.com", PasswordHash: "h", Role: account.Player}); err != nil {
			t.Fatalf("sign-up with an address an issuer asserted unverified: %v", err)
		}
	})

	t.Run("bad identities", func(t *testing.T) {
		long := make([]byte, 600)
		for i := range long {
			long[i] = 'a'
		}
		for _, id := range []account.Identity{{Issuer: iss}, {Subject: "x"}, {Issuer: string(long), Subject: "x"}, {Issuer: iss, Subject: string(long)}} {
			if _, _, err := db.SignInIdentity(ctx, id, 0); fault.Code(err) != "invalid_identity" {
				t.Fatalf("SignInIdentity(%.20q, %.20q) = %v, want invalid_identity", id.Issuer, id.Subject, err)
			}
		}
	})

	t.Run("concurrent first sign-ins create one player", func(t *testing.T) {
		before, _ := db.SystemBalance(ctx, ledger.SignupBonusAccount)
		id := account.Identity{Issuer: iss, Subject: "race", Email: "race@example.com", EmailVerified: true}
		const n = 8
		ids := make([]string, n)
		made := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, created, err := db.SignInIdentity(ctx, id, 1000)
				errs[i], made[i] = err, created
				if u != nil {
					ids[i] = u.ID
				}
			}()
		}
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("sign-in %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("sign-ins returned players %s and %s", ids[0], ids[i])
			}
			if made[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Fatalf("%d sign-ins report creating the player, want 1", creators)
		}
		after, _ := db.SystemBalance(ctx, ledger.SignupBonusAccount)
		if before-after != 1000 {
			t.Fatalf("sign-up programme paid %d, want one bonus of 1000", before-after)
		}
		mustVerify(t, db)
	})
}
