package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/programme"
)

// testTopupStatus: the status a page shows before a top-up agrees with
// what Topup then does, and reading it moves nothing.
func testTopupStatus(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 50000)
	status := func() *programme.TopupStatus {
		t.Helper()
		st, err := db.TopupStatus(ctx, u.ID, rules)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Allowed || st.Reason != "at_target" || st.Balance != 50000 || st.Target != 50000 || st.NextAllowedAt != nil {
		t.Fatalf("at the target: %+v", st)
	}
	adjust(t, db, u, "adj:s1", -30000, false)
	if st := status(); !st.Allowed || st.Amount != 30000 || st.Reason != "" {
		t.Fatalf("below the target: %+v", st)
	}
	if got := mustBalance(t, db, u); got != 20000 {
		t.Fatalf("reading the status moved points: %d", got)
	}
	r, _, err := db.Topup(ctx, programme.TopupRequest{UserID: u.ID, Rules: rules})
	if err != nil || r.Amount != 30000 {
		t.Fatalf("top-up: %+v %v", r, err)
	}
	adjust(t, db, u, "adj:s2", -10000, false)
	c.advance(time.Hour)
	st := status()
	if st.Allowed || st.Reason != "too_soon" || st.NextAllowedAt == nil || !st.NextAllowedAt.Equal(r.NextAllowedAt) {
		t.Fatalf("too soon: %+v (next top-up %s)", st, r.NextAllowedAt)
	}
	c.set(r.NextAllowedAt)
	if st := status(); !st.Allowed || st.Amount != 10000 {
		t.Fatalf("once the interval is over: %+v", st)
	}
	if _, err := db.TopupStatus(ctx, "u_999999", rules); fault.Code(err) != "user_not_found" {
		t.Fatalf("unknown user: %v", err)
	}
}
