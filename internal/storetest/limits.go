package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/playlimit"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

func i64(n int64) *int64 { return &n }

// placeCode places a bet and returns its error code ("" when placed).
func placeCode(t testing.TB, db *sqlstore.DB, u *account.User, s betting.Slip) (string, error) {
	t.Helper()
	_, _, err := db.PlaceBet(context.Background(), &betting.PlaceRequest{UserID: u.ID, Slip: s})
	return fault.Code(err), err
}

func mustLimits(t testing.TB, db *sqlstore.DB, u *account.User, up playlimit.Update) *playlimit.Status {
	t.Helper()
	st, err := db.SetPlayLimits(context.Background(), u.ID, up, nil)
	if err != nil {
		t.Fatalf("SetPlayLimits: %v", err)
	}
	return st
}

// testStakeLimits: a self-set daily limit is reached exactly at its value,
// a decrease applies at once, an increase only 24 h later, and a stake the
// balance refuses is not counted.
func testStakeLimits(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db) // Tuesday 24 Nov 2026, 18:00 in Seoul
	ctx := context.Background()
	u := mustUser(t, db, 50_000)
	m := mustMatch(t, db, c.now().Add(30*24*time.Hour))
	home := sel(t, m, betting.OneXTwo, "home")

	st := mustLimits(t, db, u, playlimit.Update{playlimit.Daily: i64(1000), playlimit.Monthly: i64(3000)})
	if *st.Daily.Limit != 1000 || *st.Monthly.Limit != 3000 || st.Weekly.Limit != nil || st.TimeZone != "Asia/Seoul" {
		t.Fatalf("status = %+v", st)
	}
	if want := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC); !st.Daily.ResetsAt.Equal(want) {
		t.Errorf("daily resets at %s, want %s (midnight in Seoul)", st.Daily.ResetsAt, want)
	}
	mustPlace(t, db, u, slip(600, home))
	mustPlace(t, db, u, slip(400, home)) // exactly at the limit
	code, err := placeCode(t, db, u, slip(100, home))
	if code != playlimit.CodeLimitReached {
		t.Fatalf("over the daily limit: %v", err)
	}
	if fe, _ := fault.As(err); fe.Details["period"] != "daily" || fe.Details["remaining"] != int64(0) {
		t.Errorf("details = %v", fe.Details)
	}
	st, _ = db.PlayLimits(ctx, u.ID)
	if st.Daily.Staked != 1000 || *st.Daily.Remaining != 0 || st.Monthly.Staked != 1000 || *st.Monthly.Remaining != 2000 {
		t.Fatalf("after 1000 staked: daily %+v monthly %+v", st.Daily, st.Monthly)
	}

	// Midnight in Seoul (15:00 UTC) starts a new day: one second before
	// it the limit still binds, at it the day's tally is zero again.
	c.set(time.Date(2026, 11, 24, 14, 59, 59, 0, time.UTC))
	if code, _ := placeCode(t, db, u, slip(100, home)); code != playlimit.CodeLimitReached {
		t.Fatalf("23:59:59 in Seoul: %q", code)
	}
	c.set(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC))
	mustPlace(t, db, u, slip(1000, home)) // monthly now 2000

	// Another player's monthly limit: an increase waits 24 h.
	u = mustUser(t, db, 50_000)
	mustLimits(t, db, u, playlimit.Update{playlimit.Monthly: i64(3000)})
	mustPlace(t, db, u, slip(2000, home))
	st = mustLimits(t, db, u, playlimit.Update{playlimit.Monthly: i64(5000)})
	increaseAt := c.now().Add(24 * time.Hour)
	if *st.Monthly.Limit != 3000 || st.Monthly.Pending == nil || *st.Monthly.Pending.Limit != 5000 ||
		!st.Monthly.Pending.EffectiveAt.Equal(increaseAt) {
		t.Fatalf("pending increase: %+v", st.Monthly)
	}
	c.advance(time.Hour)
	mustPlace(t, db, u, slip(1000, home)) // exactly at the old limit
	c.set(increaseAt.Add(-time.Second))
	if code, _ := placeCode(t, db, u, slip(100, home)); code != playlimit.CodeLimitReached {
		t.Fatalf("a second before the increase applies: %q", code)
	}
	c.set(increaseAt)
	mustPlace(t, db, u, slip(100, home)) // the increase is in force
	st, _ = db.PlayLimits(ctx, u.ID)
	if *st.Monthly.Limit != 5000 || st.Monthly.Pending != nil || st.Monthly.Staked != 3100 {
		t.Fatalf("after the increase: %+v", st.Monthly)
	}

	// A decrease applies at once, below what was already staked.
	st = mustLimits(t, db, u, playlimit.Update{playlimit.Monthly: i64(2000)})
	if *st.Monthly.Limit != 2000 || st.Monthly.Pending != nil || *st.Monthly.Remaining != 0 {
		t.Fatalf("after the decrease: %+v", st.Monthly)
	}
	if code, _ := placeCode(t, db, u, slip(100, home)); code != playlimit.CodeLimitReached {
		t.Fatalf("after the decrease: %q", code)
	}
	// A removal is pending for 24 h too.
	st = mustLimits(t, db, u, playlimit.Update{playlimit.Monthly: nil, playlimit.Daily: i64(100_000)})
	if st.Monthly.Pending == nil || st.Monthly.Pending.Limit != nil || *st.Monthly.Limit != 2000 || *st.Daily.Limit != 100_000 {
		t.Fatalf("pending removal: %+v", st.Monthly)
	}
	c.advance(24 * time.Hour)
	mustPlace(t, db, u, slip(100, home))
	st, _ = db.PlayLimits(ctx, u.ID)
	if st.Monthly.Limit != nil || st.Monthly.Remaining != nil || *st.Daily.Limit != 100_000 {
		t.Fatalf("after the removal: %+v", st.Monthly)
	}

	// A stake the balance does not cover is not counted.
	poor := mustUser(t, db, 500)
	mustLimits(t, db, poor, playlimit.Update{playlimit.Daily: i64(1000)})
	if code, _ := placeCode(t, db, poor, slip(600, home)); code != "insufficient_points" {
		t.Fatalf("poor player: %q", code)
	}
	if st, _ := db.PlayLimits(ctx, poor.ID); st.Daily.Staked != 0 {
		t.Fatalf("a refused stake was counted: %+v", st.Daily)
	}
	mustPlace(t, db, poor, slip(500, home))
	if st, _ := db.PlayLimits(ctx, poor.ID); st.Daily.Staked != 500 {
		t.Fatalf("staked %d, want 500", st.Daily.Staked)
	}

	// Unknown users.
	if _, err := db.SetPlayLimits(ctx, "u_999999", playlimit.Update{playlimit.Daily: i64(5)}, nil); fault.Code(err) != "user_not_found" {
		t.Errorf("SetPlayLimits of nobody: %v", err)
	}
	if _, err := db.PlayLimits(ctx, "x"); fault.Code(err) != "user_not_found" {
		t.Errorf("PlayLimits of nobody: %v", err)
	}
	mustVerify(t, db)
}

// testDailyStakeCap: the operator's cap counts in the player's own time
// zone and binds with the player's own limits, whichever is lower.
func testDailyStakeCap(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	db.SetDailyStakeCap(2000)
	u := mustUser(t, db, 50_000)
	m := mustMatch(t, db, c.now().Add(30*24*time.Hour))
	home := sel(t, m, betting.OneXTwo, "home")
	mustPlace(t, db, u, slip(1500, home))
	code, err := placeCode(t, db, u, slip(600, home))
	if code != playlimit.CodeDailyCap {
		t.Fatalf("over the operator's cap: %v", err)
	}
	mustPlace(t, db, u, slip(500, home)) // exactly 2000
	// A lower own limit binds first, and is named as the player's.
	mustLimits(t, db, u, playlimit.Update{playlimit.Daily: i64(100)})
	c.set(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC))
	mustPlace(t, db, u, slip(100, home))
	if code, _ := placeCode(t, db, u, slip(100, home)); code != playlimit.CodeLimitReached {
		t.Fatalf("own limit under the cap: %q", code)
	}
	// A first stake over the cap is refused too (no tally row to update).
	fresh := mustUser(t, db, 50_000)
	if code, _ := placeCode(t, db, fresh, slip(2100, home)); code != playlimit.CodeDailyCap {
		t.Fatalf("first stake over the cap: %q", code)
	}
	db.SetDailyStakeCap(0)
	mustPlace(t, db, fresh, slip(2100, home))
	mustVerify(t, db)
}

// testStakeLimitRace: 20 concurrent bets against a limit that fits 7 of
// them place exactly 7, on every database (PostgreSQL places them from
// several writers at once).
func testStakeLimitRace(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	m := mustMatch(t, db, c.now().Add(time.Hour))
	s := slip(1000, sel(t, m, betting.OneXTwo, "draw"))
	for _, tc := range []struct {
		name  string
		setup func(u *account.User)
		code  string
	}{
		{"own weekly limit", func(u *account.User) { mustLimits(t, db, u, playlimit.Update{playlimit.Weekly: i64(7000)}) }, playlimit.CodeLimitReached},
		{"operator cap", func(*account.User) { db.SetDailyStakeCap(7000) }, playlimit.CodeDailyCap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := mustUser(t, db, 50_000)
			tc.setup(u)
			defer db.SetDailyStakeCap(0)
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[string]int{}
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: s})
					mu.Lock()
					codes[fault.Code(err)]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if codes[""] != 7 || codes[tc.code] != 13 {
				t.Fatalf("outcomes %v, want 7 placed and 13 %s", codes, tc.code)
			}
			if got := mustBalance(t, db, u); got != 43_000 {
				t.Fatalf("balance = %d, want 43000", got)
			}
			if st, _ := db.PlayLimits(ctx, u.ID); st.Daily.Staked != 7000 || st.Weekly.Staked != 7000 {
				t.Fatalf("tally %+v", st.Weekly)
			}
		})
	}
	mustVerify(t, db)
}

// testPlayBlocks: a cool-off or self-exclusion stops betting until it
// ends, can be made longer but never shorter, and bad spans change
// nothing.
func testPlayBlocks(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 50_000)
	m := mustMatch(t, db, c.now().Add(60*24*time.Hour))
	home := sel(t, m, betting.OneXTwo, "home")
	span := func(s string) playlimit.Span {
		sp, err := playlimit.ParseSpan(s)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	if b, err := db.PlayBlock(ctx, u.ID); b != nil || err != nil {
		t.Fatalf("PlayBlock before any = %v, %v", b, err)
	}
	for _, bad := range []struct {
		kind playlimit.Kind
		span string
	}{{playlimit.CoolOff, "23h"}, {playlimit.CoolOff, "43d"}, {playlimit.SelfExclusion, "5m"}, {playlimit.SelfExclusion, "6y"}} {
		if _, err := db.StartPlayBlock(ctx, u.ID, bad.kind, span(bad.span), nil); fault.Code(err) != playlimit.CodeInvalidSpan {
			t.Errorf("%s %s: %v", bad.kind, bad.span, err)
		}
	}
	if b, _ := db.PlayBlock(ctx, u.ID); b != nil {
		t.Fatalf("a refused block was stored: %+v", b)
	}
	mustPlace(t, db, u, slip(100, home))

	b, err := db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, span("48h"), nil)
	if err != nil || !b.EndsAt.Equal(c.now().Add(48*time.Hour)) {
		t.Fatalf("StartPlayBlock = %+v, %v", b, err)
	}
	ends := b.EndsAt
	code, err := placeCode(t, db, u, slip(100, home))
	if code != playlimit.CodeCoolOff {
		t.Fatalf("bet in a cool-off: %v", err)
	}
	if fe, _ := fault.As(err); fe.Kind != fault.Refused || !fe.Details["ends_at"].(time.Time).Equal(ends) {
		t.Errorf("refusal = %+v", fe)
	}
	if err := db.CheckPlayAllowed(ctx, u.ID); fault.Code(err) != playlimit.CodeCoolOff {
		t.Errorf("CheckPlayAllowed = %v", err)
	}
	// Neither lifted nor shortened; a longer one replaces it.
	if _, err := db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, span("24h"), nil); fault.Code(err) != playlimit.CodeBlockActive {
		t.Fatalf("shorter cool-off: %v", err)
	}
	c.advance(time.Hour)
	if _, err := db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, span("47h"), nil); fault.Code(err) != playlimit.CodeBlockActive {
		t.Fatalf("cool-off ending at the same time: %v", err)
	}
	if got, _ := db.PlayBlock(ctx, u.ID); got == nil || !got.EndsAt.Equal(ends) {
		t.Fatalf("block after refused changes = %+v", got)
	}
	b, err = db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, span("72h"), nil)
	if err != nil || !b.EndsAt.Equal(c.now().Add(72*time.Hour)) {
		t.Fatalf("longer cool-off = %+v, %v", b, err)
	}
	ends = b.EndsAt
	c.set(ends.Add(-time.Second))
	if code, _ := placeCode(t, db, u, slip(100, home)); code != playlimit.CodeCoolOff {
		t.Fatalf("a second before the end: %q", code)
	}
	c.set(ends)
	mustPlace(t, db, u, slip(100, home))
	if err := db.CheckPlayAllowed(ctx, u.ID); err != nil {
		t.Fatalf("CheckPlayAllowed after the end = %v", err)
	}
	if got, _ := db.PlayBlock(ctx, u.ID); got != nil {
		t.Fatalf("ended block still shown: %+v", got)
	}

	// Self-exclusion.
	b, err = db.StartPlayBlock(ctx, u.ID, playlimit.SelfExclusion, span("6m"), nil)
	if err != nil || b.Kind != playlimit.SelfExclusion {
		t.Fatalf("self-exclusion = %+v, %v", b, err)
	}
	if code, _ := placeCode(t, db, u, slip(100, home)); code != playlimit.CodeSelfExcluded {
		t.Fatalf("bet while self-excluded: %q", code)
	}
	if err := db.CheckPlayAllowed(ctx, u.ID); fault.Code(err) != playlimit.CodeSelfExcluded {
		t.Fatalf("CheckPlayAllowed = %v", err)
	}
	if _, err := db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, span("6w"), nil); fault.Code(err) != playlimit.CodeBlockActive {
		t.Fatalf("a cool-off cannot cut a self-exclusion short: %v", err)
	}
	if _, err := db.StartPlayBlock(ctx, "u_999999", playlimit.CoolOff, span("24h"), nil); fault.Code(err) != "user_not_found" {
		t.Errorf("block of nobody: %v", err)
	}
	mustVerify(t, db)
}

// testActivityStatement: stakes, returns (a payout and a void's refund),
// net, bets and logins within a period, and nothing outside it.
func testActivityStatement(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	u := mustUser(t, db, 50_000)
	other := mustUser(t, db, 50_000)
	start := c.now()
	m := mustMatch(t, db, c.now().Add(time.Hour))
	m2 := mustMatch(t, db, c.now().Add(time.Hour))
	mustPlace(t, db, u, slip(1000, sel(t, m, betting.OneXTwo, "home")))    // wins 2000
	mustPlace(t, db, u, slip(500, sel(t, m, betting.OneXTwo, "away")))     // loses
	mustPlace(t, db, u, slip(300, sel(t, m2, betting.OneXTwo, "draw")))    // voided: refund 300
	mustPlace(t, db, other, slip(700, sel(t, m, betting.OneXTwo, "home"))) // not u's
	for i := 0; i < 3; i++ {
		if err := db.CreateSession(ctx, u.ID, "digest-"+u.ID+string(rune('a'+i)), c.now().Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Before the results: every stake is pending, none lost.
	a, err := db.ActivityStatement(ctx, u.ID, playlimit.Range{From: start, To: c.now().Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Bets != 3 || a.Staked != 1800 || a.Pending != 1800 || a.Returns != 0 || a.Net != 0 {
		t.Fatalf("statement with open bets = %+v", a)
	}
	c.advance(2 * time.Hour)
	if _, err := db.RecordResult(ctx, m.ID, result(2, 1, 2, 1), false, nil); err != nil {
		t.Fatal(err)
	}
	// One match settled, the other still open: its stake is pending.
	a, _ = db.ActivityStatement(ctx, u.ID, playlimit.Range{From: start, To: c.now().Add(time.Second)})
	if a.Staked != 1800 || a.Pending != 300 || a.Returns != 2000 || a.Net != 500 {
		t.Fatalf("statement with one bet open = %+v", a)
	}
	if _, err := db.VoidMatch(ctx, m2.ID, sport.Evidence{Source: "operator", Status: "void", Reason: "floodlights"}, true); err != nil {
		t.Fatal(err)
	}
	a, err = db.ActivityStatement(ctx, u.ID, playlimit.Range{From: start, To: c.now().Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Bets != 3 || a.Staked != 1800 || a.Pending != 0 || a.Returns != 2300 || a.Net != 500 || a.Sessions != 3 || a.TimeZone != "Asia/Seoul" {
		t.Fatalf("statement = %+v", a)
	}
	// The void still counts as staked in the day's tally.
	if st, _ := db.PlayLimits(ctx, u.ID); st.Daily.Staked != 1800 {
		t.Errorf("tally after a void = %d, want 1800", st.Daily.Staked)
	}
	// The bets' hour only: stakes and logins, no returns yet.
	a, _ = db.ActivityStatement(ctx, u.ID, playlimit.Range{From: start, To: start.Add(time.Hour)})
	if a.Bets != 3 || a.Staked != 1800 || a.Returns != 0 || a.Net != -1800 || a.Sessions != 3 {
		t.Fatalf("first hour = %+v", a)
	}
	// After: returns only.
	a, _ = db.ActivityStatement(ctx, u.ID, playlimit.Range{From: start.Add(time.Hour), To: c.now().Add(time.Second)})
	if a.Bets != 0 || a.Staked != 0 || a.Returns != 2300 || a.Sessions != 0 {
		t.Fatalf("later = %+v", a)
	}
	// Empty period.
	a, _ = db.ActivityStatement(ctx, u.ID, playlimit.Range{From: start.Add(-48 * time.Hour), To: start})
	if *a != (playlimit.Activity{From: start.Add(-48 * time.Hour), To: start, TimeZone: "Asia/Seoul"}) {
		t.Fatalf("empty period = %+v", a)
	}
	if _, err := db.ActivityStatement(ctx, "u_999999", playlimit.Range{From: start, To: c.now()}); fault.Code(err) != "user_not_found" {
		t.Errorf("statement of nobody: %v", err)
	}
}
