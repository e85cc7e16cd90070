package chat_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

func code(err error) string {
	if fe, ok := errors.AsType[*fault.Error](err); ok {
		return fe.Code
	}
	return fmt.Sprint(err)
}

// retryAfter is a refusal's retry_after detail (0: none).
func retryAfter(err error) int {
	if fe, ok := errors.AsType[*fault.Error](err); ok {
		n, _ := fe.Details["retry_after"].(int)
		return n
	}
	return 0
}

// fixture is the chat over a real SQLite store, an in-process limiter and
// bus on one settable clock, with two players and a match.
type fixture struct {
	svc      *chat.Service
	clock    *clocktest.Clock
	bus      *live.Memory
	kim, lee string
	match    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{clock: clocktest.New(time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)), bus: live.NewMemory(0, nil)}
	t.Cleanup(func() { f.bus.Close() })
	f.svc = &chat.Service{Store: db, Limiter: throttle.NewMemory(f.clock.Now, 0), Bus: f.bus, Now: f.clock.Now}
	for i, name := range []string{"kim", "lee"} {
		u, err := db.CreateUser(ctx, account.NewUser{Username: name, Nickname: name, Email: name + "@example.com", PasswordHash: "x", Role: account.Player})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.kim = u.ID
		} else {
			f.lee = u.ID
		}
	}
	mk, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 205, "draw": 330, "away": 360})
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: "K League 1", Home: "Seoul", Away: "Busan",
		KickoffAt: time.Now().Add(time.Hour).UTC(), Markets: []*betting.Market{mk}})
	if err != nil {
		t.Fatal(err)
	}
	f.match = m.ID
	return f
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"hello":                         "",
		"two\nlines":                    "",
		"<b>html is text</b>":           "",
		strings.Repeat("가", 500):        "",
		strings.Repeat("가", 501):        "invalid_chat_text",
		"":                              "invalid_chat_text",
		"tab\there":                     "invalid_chat_text",
		"bell\x07":                      "invalid_chat_text",
		"del\x7f":                       "invalid_chat_text",
		"nul\x00":                       "invalid_text",
		string([]byte{0xff, 0xfe, 'a'}): "invalid_text",
	} {
		if got := chat.CheckText(text, chat.MaxText); (got == nil && want != "") || (got != nil && code(got) != want) {
			t.Errorf("%q: %v, want %q", text, got, want)
		}
	}
}

// Five messages in ten seconds, then a cooldown saying how long to wait;
// one player's flood does not stop another's.
func TestPostRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for i := range chat.RateMax {
		if _, err := f.svc.Post(ctx, f.kim, f.match, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
	}
	_, err := f.svc.Post(ctx, f.kim, f.match, "sixth")
	if code(err) != "chat_rate_limited" || !strings.Contains(err.Error(), "wait 5 seconds") || retryAfter(err) != 5 {
		t.Fatalf("6th message 5 s after the first: %v (retry_after %d)", err, retryAfter(err))
	}
	if _, err := f.svc.Post(ctx, f.lee, f.match, "someone else"); err != nil {
		t.Fatalf("another player: %v", err)
	}
	f.clock.Advance(5 * time.Second)
	if _, err := f.svc.Post(ctx, f.kim, f.match, "after the window"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestPostPublishesAfterStoring(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	sub, err := f.bus.Subscribe(ctx, live.MatchChannel(f.match))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	m, err := f.svc.Post(ctx, f.kim, f.match, "<script>x</script>")
	if err != nil {
		t.Fatal(err)
	}
	ev := <-sub.C()
	if ev.Type != live.ChatMessage || !strings.Contains(string(ev.Data), `"id":1`) || m.UserID != f.kim || m.Text != "<script>x</script>" {
		t.Fatalf("event %s %s for %+v", ev.Type, ev.Data, m)
	}
	if _, err := f.svc.Post(ctx, f.kim, "m_999999", "nowhere"); code(err) != "match_not_found" {
		t.Fatalf("post to a missing match: %v", err)
	}
}

func TestSlowModeAndMute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, d := range []time.Duration{-time.Second, chat.MaxSlowMode + time.Second} {
		if err := f.svc.SetSlowMode(ctx, f.match, d, nil); code(err) != "invalid_slow_mode" {
			t.Errorf("slow mode %s: %v", d, err)
		}
	}
	if err := f.svc.SetSlowMode(ctx, f.match, 30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Post(ctx, f.kim, f.match, "one"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Second)
	if _, err := f.svc.Post(ctx, f.kim, f.match, "two"); code(err) != "chat_slow_mode" || !strings.Contains(err.Error(), "wait 20 seconds") || retryAfter(err) != 20 {
		t.Fatalf("second message 10 s later in 30 s slow mode: %v (retry_after %d)", err, retryAfter(err))
	}
	f.clock.Advance(20 * time.Second)
	if _, err := f.svc.Post(ctx, f.kim, f.match, "three"); err != nil {
		t.Fatalf("after the slow-mode interval: %v", err)
	}

	for _, d := range []time.Duration{30 * time.Second, chat.MaxMute + time.Minute} {
		if _, err := f.svc.MuteUser(ctx, f.lee, "op", d, "abuse", nil); code(err) != "invalid_mute" {
			t.Errorf("mute for %s: %v", d, err)
		}
	}
	if _, err := f.svc.MuteUser(ctx, f.lee, "op", time.Hour, strings.Repeat("x", chat.MaxReason+1), nil); code(err) != "invalid_reason" {
		t.Errorf("long reason: %v", err)
	}
	sub, err := f.bus.Subscribe(ctx, live.UserChannel(f.lee))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	m, err := f.svc.MuteUser(ctx, f.lee, "op", time.Hour, "abuse", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-sub.C(); ev.Type != live.Notice || !strings.Contains(string(ev.Data), `"code":"chat_muted"`) {
		t.Fatalf("the player was told %s %s", ev.Type, ev.Data)
	}
	if _, err := f.svc.Post(ctx, f.lee, f.match, "hi"); code(err) != "chat_muted" || !strings.Contains(err.Error(), "abuse") {
		t.Fatalf("post while muted: %v", err)
	}
	f.clock.Set(m.Until)
	if _, err := f.svc.Post(ctx, f.lee, f.match, "free again"); err != nil {
		t.Fatalf("post when the mute ended: %v", err)
	}
}

func TestHistorySinceAndReports(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		if _, err := f.svc.Post(ctx, f.kim, f.match, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{0, chat.MaxPage + 1} {
		if _, err := f.svc.History(ctx, f.match, 0, n); code(err) != "invalid_limit" {
			t.Errorf("history limit %d: %v", n, err)
		}
		if _, err := f.svc.Reports(ctx, n); code(err) != "invalid_limit" {
			t.Errorf("reports limit %d: %v", n, err)
		}
	}
	ms, more, err := f.svc.Since(ctx, f.match, 1, 2)
	if err != nil || !more || len(ms) != 2 || ms[0].ID != 2 {
		t.Fatalf("since 1, bound 2: %d messages, more %v, %v", len(ms), more, err)
	}
	if ms, more, _ := f.svc.Since(ctx, f.match, 2, 2); more || len(ms) != 2 || ms[1].ID != 4 {
		t.Fatalf("since 2, bound 2: %d messages, more %v", len(ms), more)
	}
	// Since 0: the room from its first message when it fits the bound,
	// else only the sign to reload.
	if ms, more, err := f.svc.Since(ctx, f.match, 0, 4); err != nil || more || len(ms) != 4 || ms[0].ID != 1 || ms[3].ID != 4 {
		t.Fatalf("since 0, bound 4: %d messages, more %v, %v", len(ms), more, err)
	}
	if ms, more, err := f.svc.Since(ctx, f.match, 0, 3); err != nil || !more || len(ms) != 0 {
		t.Fatalf("since 0, bound 3: %d messages, more %v, %v", len(ms), more, err)
	}
	if err := f.svc.Report(ctx, f.lee, f.match, 2, strings.Repeat("x", chat.MaxReason+1)); code(err) != "invalid_reason" {
		t.Fatalf("long reason: %v", err)
	}
	if err := f.svc.Report(ctx, f.lee, f.match, 2, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Report(ctx, f.lee, f.match, 2, "again"); code(err) != "already_reported" {
		t.Fatalf("second report: %v", err)
	}
	if err := f.svc.Report(ctx, f.lee, f.match, 99, ""); code(err) != "chat_message_not_found" {
		t.Fatalf("report of a missing message: %v", err)
	}
	if rs, err := f.svc.Reports(ctx, 10); err != nil || len(rs) != 1 || rs[0].Message.Text != "m2" {
		t.Fatalf("queue: %v, %v", rs, err)
	}
	if err := f.svc.Delete(ctx, f.match, 2, nil); err != nil {
		t.Fatal(err)
	}
	if rs, _ := f.svc.Reports(ctx, 10); len(rs) != 0 {
		t.Fatalf("queue after the delete: %d", len(rs))
	}
	if err := f.svc.Announce(ctx, f.match, strings.Repeat("x", chat.MaxAnnounced+1)); code(err) != "invalid_chat_text" {
		t.Fatalf("long announcement: %v", err)
	}
}
