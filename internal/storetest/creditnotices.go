package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/programme"
)

// Each credit — the sign-up bonus, top-up, check-in, grant, partner credit —
// stores a points.credited notice in its own transaction and hands the
// same event on after commit, on the player's channel; a refusal or a
// replayed request stores and sends nothing.
func testCreditNotices(t *testing.T, open Opener) {
	db := open(t)
	newClock(db)
	var got capture
	db.SetAfterCommit(got.send)
	ctx := context.Background()
	op, err := db.CreateUser(ctx, account.NewUser{Username: "notice_op", Nickname: "NoticeOp", Email: "notice_op@example.com", PasswordHash: "x", Role: account.Admin})
	if err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, db, 50000)
	var want []live.PointsCreditedData
	// one checks that the last call sent exactly the credit w (none when
	// w is nil).
	one := func(step string, w *live.PointsCreditedData) {
		t.Helper()
		evs := got.take()
		if w == nil {
			if len(evs) != 0 {
				t.Fatalf("%s sent %+v", step, evs)
			}
			return
		}
		var d live.PointsCreditedData
		if len(evs) != 1 || evs[0].Type != live.PointsCredited || evs[0].Channel != live.UserChannel(u.ID) {
			t.Fatalf("%s sent %+v", step, evs)
		}
		if err := json.Unmarshal(evs[0].Data, &d); err != nil || d != *w {
			t.Fatalf("%s: %s, want %+v", step, evs[0].Data, *w)
		}
		want = append(want, d)
	}

	one("sign-up bonus", &live.PointsCreditedData{Kind: "signup", Amount: 50000, Reference: "signup:" + numericID(u.ID)})
	adjust(t, db, u, "adj:1", -20000, false)
	got.take()

	top, _, err := db.Topup(ctx, programme.TopupRequest{UserID: u.ID, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	one("top-up", &live.PointsCreditedData{Kind: "topup", Amount: 20000, Reference: top.Reference})
	if _, _, err := db.Topup(ctx, programme.TopupRequest{UserID: u.ID, Rules: rules}); err == nil {
		t.Fatal("a second top-up at the target was allowed")
	}
	one("a refused top-up", nil)

	ci, _, err := db.Checkin(ctx, programme.CheckinRequest{UserID: u.ID, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	one("check-in", &live.PointsCreditedData{Kind: "checkin", Amount: ci.Points, Reference: ci.Reference})
	if _, _, err := db.Checkin(ctx, programme.CheckinRequest{UserID: u.ID, Rules: rules}); err == nil {
		t.Fatal("a second check-in the same day was allowed")
	}
	one("a refused check-in", nil)

	k := testKey("user:"+op.ID, "notice-grant", "h")
	g, _, err := db.Grant(ctx, programme.GrantRequest{AdminID: op.ID, Username: u.Username, Points: 700, Reason: "sorry", Idempotency: k})
	if err != nil {
		t.Fatal(err)
	}
	one("grant", &live.PointsCreditedData{Kind: "grant", Amount: 700, Reference: g.Reference})
	if _, rp, err := db.Grant(ctx, programme.GrantRequest{AdminID: op.ID, Username: u.Username, Points: 700, Reason: "sorry", Idempotency: k}); err != nil || rp == nil {
		t.Fatalf("replayed grant: %v, %v", rp, err)
	}
	one("a replayed grant", nil)

	p, _ := mustPartner(t, db, "noticepartner", programme.Rate{Num: 1, Den: 2}, 100000)
	credit := func() *programme.Credit {
		t.Helper()
		cr, _, err := db.CreditPartner(ctx, programme.PartnerCredit{Partner: p, CreditRequest: programme.CreditRequest{PartnerTxID: "np-1", Username: u.Username, Mileage: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}
	cr := credit()
	one("partner credit", &live.PointsCreditedData{Kind: "partner", Amount: cr.Points, Reference: "partner:" + p.ID + ":np-1"})
	credit()
	one("a replayed partner credit", nil)

	// A first OIDC sign-in gets the same bonus, told the same way; a
	// second one creates nobody and credits nothing.
	for i, wantEvents := range []int{1, 0} {
		oidcUser, created, err := db.SignInIdentity(ctx, account.Identity{Issuer: "https://id.example", Subject: "notice-sub"}, 700)
		if err != nil || created != (i == 0) {
			t.Fatalf("sign-in %d: created %v, %v", i, created, err)
		}
		evs := got.take()
		if len(evs) != wantEvents {
			t.Fatalf("sign-in %d sent %+v", i, evs)
		}
		if wantEvents == 1 {
			var d live.PointsCreditedData
			if err := json.Unmarshal(evs[0].Data, &d); err != nil || evs[0].Channel != live.UserChannel(oidcUser.ID) ||
				d != (live.PointsCreditedData{Kind: "signup", Amount: 700, Reference: "signup:" + numericID(oidcUser.ID)}) {
				t.Fatalf("OIDC sign-up sent %s on %s", evs[0].Data, evs[0].Channel)
			}
		}
	}

	ns := mustNotices(t, db, u.ID, 0, 0)
	if len(ns) != len(want) {
		t.Fatalf("%d notices, want %d: %+v", len(ns), len(want), ns)
	}
	for i, n := range ns {
		var d live.PointsCreditedData
		if err := json.Unmarshal(n.Data, &d); err != nil || n.Type != live.PointsCredited || d != want[i] {
			t.Fatalf("notice %d: %s %s, want %+v", i, n.Type, n.Data, want[i])
		}
	}
	mustVerify(t, db)
}
