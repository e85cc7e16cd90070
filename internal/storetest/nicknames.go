package storetest

import (
	"context"
	"testing"

	"github.com/pointsbook/pointsbook/internal/account"
)

// testNicknameFold: a nickname is taken in any letter case and any
// compatibility form (full-width letters, ligatures, circled letters), by
// sign-up, by a profile update and in the availability check alike; one's
// own nickname may change form.
func testNicknameFold(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	if _, err := db.CreateUser(ctx, account.NewUser{Username: "kim", Nickname: "kim fish", Email: "kim@example.com", PasswordHash: "x", Role: account.Player}); err != nil {
		t.Fatal(err)
	}
	for _, nick := range []string{"KIM FISH", "ＫＩＭ ＦＩＳＨ", "kim ﬁsh", "ⓚⓘⓜ fish"} {
		_, err := db.CreateUser(ctx, account.NewUser{Username: "lee", Nickname: nick, Email: "lee@example.com", PasswordHash: "x", Role: account.Player})
		wantCode(t, "sign-up as "+nick, err, "nickname_taken")
		if _, free, err := db.Availability(ctx, "", nick); err != nil || free {
			t.Fatalf("%s reported free (%v)", nick, err)
		}
	}
	other := mustUser(t, db, 0)
	str := func(s string) *string { return &s }
	_, err := db.UpdateProfile(ctx, other.ID, account.ProfileUpdate{Nickname: str("Ｋim Fish")})
	wantCode(t, "profile as Ｋim Fish", err, "nickname_taken")
	if got, err := db.UpdateProfile(ctx, other.ID, account.ProfileUpdate{Nickname: str("Ｌee")}); err != nil || got.Nickname != "Ｌee" {
		t.Fatalf("a free nickname: %+v %v", got, err)
	}
	if got, err := db.UpdateProfile(ctx, other.ID, account.ProfileUpdate{Nickname: str("lee")}); err != nil || got.Nickname != "lee" {
		t.Fatalf("one's own nickname in another form: %+v %v", got, err)
	}
	if _, free, _ := db.Availability(ctx, "", "ＬＥＥ"); free {
		t.Fatal("the changed nickname is reported free")
	}
	if _, free, _ := db.Availability(ctx, "", "Ｋim fish2"); !free {
		t.Fatal("a different nickname is reported taken")
	}
}
