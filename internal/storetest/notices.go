package storetest

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/live"
)

// capture collects the events a store hands on after commit.
type capture struct {
	mu  sync.Mutex
	evs []live.Event
}

func (c *capture) send(evs ...live.Event) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evs = append(c.evs, evs...)
	return true
}

func (c *capture) take() []live.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.evs
	c.evs = nil
	return out
}

// takeOf is take keeping only the events of type typ.
func (c *capture) takeOf(typ string) []live.Event {
	var out []live.Event
	for _, ev := range c.take() {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// Settlement stores a bet.settled notice per bet it moves, in its own
// transaction, and hands the same events on after commit, each on its
// player's channel; a correction is a new notice at the next version, and
// a settlement that moves nothing stores and sends nothing.
func testNotices(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	var got capture
	db.SetAfterCommit(got.send)
	ctx := context.Background()
	u := mustUser(t, db, 10000)
	other := mustUser(t, db, 10000)
	got.take()
	// Each has the sign-up bonus's notice (testCreditNotices); settlement's
	// come after it.
	signedUp := func(u *account.User) int64 {
		t.Helper()
		ns := mustNotices(t, db, u.ID, 0, 0)
		if len(ns) != 1 || ns[0].Type != live.PointsCredited {
			t.Fatalf("notices after sign-up: %+v", ns)
		}
		return ns[0].ID
	}
	uFrom, otherFrom := signedUp(u), signedUp(other)
	m := mustMatch(t, db, c.now().Add(time.Hour))
	win := mustPlace(t, db, u, slip(1000, sel(t, m, betting.OneXTwo, "home")))       // 2.00
	lose := mustPlace(t, db, u, slip(500, sel(t, m, betting.OneXTwo, "away")))       // lost
	theirs := mustPlace(t, db, other, slip(300, sel(t, m, betting.OneXTwo, "draw"))) // lost
	if len(got.take()) != 0 {
		t.Fatal("placing bets sent events")
	}
	c.advance(2 * time.Hour)
	if _, err := db.RecordResult(ctx, m.ID, result(2, 1, 2, 1), true, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]live.BetSettledData{
		win.ID:    {Bet: win.ID, State: string(betting.Won), Payout: 2000, Version: 1},
		lose.ID:   {Bet: lose.ID, State: string(betting.Lost), Payout: 0, Version: 1},
		theirs.ID: {Bet: theirs.ID, State: string(betting.Lost), Payout: 0, Version: 1},
	}
	owner := map[string]string{win.ID: u.ID, lose.ID: u.ID, theirs.ID: other.ID}
	evs := got.takeOf(live.BetSettled)
	if len(evs) != 3 {
		t.Fatalf("%d events after settlement, want 3: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		var d live.BetSettledData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Type != live.BetSettled || d != want[d.Bet] || ev.Channel != live.UserChannel(owner[d.Bet]) {
			t.Fatalf("event %s %s %+v", ev.Type, ev.Channel, d)
		}
	}
	mine := mustNotices(t, db, u.ID, uFrom, 0)
	if len(mine) != 2 {
		t.Fatalf("%d notices, want 2: %+v", len(mine), mine)
	}
	var bets []string
	for _, n := range mine {
		var d live.BetSettledData
		if err := json.Unmarshal(n.Data, &d); err != nil {
			t.Fatal(err)
		}
		if n.Type != live.BetSettled || d != want[d.Bet] || owner[d.Bet] != u.ID || !n.At.Equal(c.now()) {
			t.Fatalf("notice %+v (%+v)", n, d)
		}
		bets = append(bets, d.Bet)
	}
	if sort.Strings(bets); bets[0] != min(win.ID, lose.ID) || bets[1] != max(win.ID, lose.ID) {
		t.Fatalf("notices of bets %v", bets)
	}
	if mine[0].ID >= mine[1].ID {
		t.Fatalf("notice ids %d, %d do not grow", mine[0].ID, mine[1].ID)
	}
	if theirs := mustNotices(t, db, other.ID, otherFrom, 0); len(theirs) != 1 {
		t.Fatalf("the other player has %d notices", len(theirs))
	}
	// Paging: after the first, only the second.
	if after := mustNotices(t, db, u.ID, mine[0].ID, 0); len(after) != 1 || after[0].ID != mine[1].ID {
		t.Fatalf("after %d: %+v", mine[0].ID, after)
	}
	if one := mustNotices(t, db, u.ID, uFrom, 1); len(one) != 1 || one[0].ID != mine[0].ID {
		t.Fatalf("limit 1: %+v", one)
	}
	// Settling again moves nothing, so tells nothing.
	if err := db.SettleMatch(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if evs := got.takeOf(live.BetSettled); len(evs) != 0 {
		t.Fatalf("re-settling sent %+v", evs)
	}
	// A correction: the winner now lost, at version 2.
	c.advance(time.Minute)
	o := result(0, 1, 0, 1)
	o.Evidence.Reason = "wrong scorer"
	if _, err := db.RecordResult(ctx, m.ID, o, true, nil); err != nil {
		t.Fatal(err)
	}
	evs = got.takeOf(live.BetSettled)
	if len(evs) != 2 { // the draw stays lost
		t.Fatalf("%d events after the correction: %+v", len(evs), evs)
	}
	after := mustNotices(t, db, u.ID, mine[1].ID, 0)
	if len(after) != 2 {
		t.Fatalf("%d notices after the correction", len(after))
	}
	for _, n := range after {
		var d live.BetSettledData
		if err := json.Unmarshal(n.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Version != 2 || (d.Bet == win.ID && (d.State != string(betting.Lost) || d.Payout != 0)) ||
			(d.Bet == lose.ID && (d.State != string(betting.Won) || d.Payout != 1900)) {
			t.Fatalf("corrected notice %+v", d)
		}
	}
	// Bad input.
	if _, err := db.Notices(ctx, "nobody", 0, 0); fault.Code(err) != "user_not_found" {
		t.Fatalf("malformed user: %v", err)
	}
	if _, err := db.Notices(ctx, u.ID, 0, 101); fault.Code(err) != "invalid_limit" {
		t.Fatalf("limit 101: %v", err)
	}
	mustVerify(t, db)
}

func mustNotices(t testing.TB, db interface {
	Notices(context.Context, string, int64, int) ([]live.Stored, error)
}, userID string, after int64, limit int) []live.Stored {
	t.Helper()
	ns, err := db.Notices(context.Background(), userID, after, limit)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}
