package sqlstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/pgtest"
)

// Rows written before nicknames had a fold key (or by an older binary
// since) get one when the store next migrates. Of two rows whose
// nicknames now share a key, the older one gets it and the other keeps
// NULL and its nickname; the name is taken for a new sign-up either way.
func TestNicknameFoldBackfill(t *testing.T) {
	t.Parallel()
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "pb.db") },
		"postgres": func(t *testing.T) string { return pgtest.NewDatabase(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := Open(ctx, Config{URL: url(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			for _, u := range []account.NewUser{
				{Username: "kim", Nickname: "kim", Email: "kim@example.com"},
				{Username: "lee", Nickname: "Lee", Email: "lee@example.com"},
				{Username: "park", Nickname: "park", Email: "park@example.com"},
			} {
				u.PasswordHash, u.Role = "x", account.Player
				if _, err := db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			// As an older binary left them: no fold keys, and a nickname
			// that only the fold key finds equal to another.
			if _, err := db.rw.ExecContext(ctx, `UPDATE users SET nickname_fold = NULL`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.rw.ExecContext(ctx, `UPDATE users SET nickname = 'ＫＩＭ', nickname_key = 'ｋｉｍ' WHERE username = 'park'`); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			folds := map[string]*string{}
			rows, err := db.rw.QueryContext(ctx, `SELECT username, nickname_fold FROM users`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var u string
				var f *string
				if err := rows.Scan(&u, &f); err != nil {
					t.Fatal(err)
				}
				folds[u] = f
			}
			rows.Close()
			if f := folds["kim"]; f == nil || *f != "kim" {
				t.Errorf("kim's key = %v, want kim", f)
			}
			if f := folds["lee"]; f == nil || *f != "lee" {
				t.Errorf("Lee's key = %v, want lee", f)
			}
			if f := folds["park"]; f != nil {
				t.Errorf("the younger of two equal nicknames got key %q, want NULL", *f)
			}
			_, free, err := db.Availability(ctx, "", "Ｋim")
			if err != nil || free {
				t.Errorf("Ｋim available = %v, %v", free, err)
			}
			_, err = db.CreateUser(ctx, account.NewUser{Username: "mallory", Nickname: "LEE", Email: "m@example.com", PasswordHash: "x", Role: account.Player})
			if code := fault.Code(err); code != "nickname_taken" {
				t.Errorf("sign-up as LEE: %v", err)
			}
		})
	}
}
