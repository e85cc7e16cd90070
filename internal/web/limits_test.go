package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// Tighter limits apply at once; looser ones wait 24 hours, shown with
// when they apply in the player's zone, and can be cancelled.
func TestLimitsPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("")
	u := b.signIn("limit_ko")
	p := b.get("/me/limits")
	mustContain(t, "limits", p, "이용 한도", "하루 한도", "한도 없음", "휴식 기간", "자기 제한", `action="/me/limits/block"`)

	if p := b.post("/me/limits", url.Values{"daily": {"10,000"}, "weekly": {""}, "monthly": {""}}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/me/limits?done=limits" {
		t.Fatalf("set: %d %q", p.Status, p.Header.Get("Location"))
	}
	st, _ := s.db.PlayLimits(t.Context(), u.ID)
	if st.Daily.Limit == nil || *st.Daily.Limit != 10000 || st.Weekly.Limit != nil {
		t.Fatalf("limits after setting: %+v %+v", st.Daily, st.Weekly)
	}
	// Raising it waits a day: the page says until when (10:00 KST the next
	// day, the test clock being 10:00 KST).
	b.post("/me/limits", url.Values{"daily": {"20000"}, "weekly": {""}, "monthly": {""}})
	p = b.get("/me/limits?done=limits")
	mustContain(t, "pending", p, "10,000 P", "변경 예정: 20,000 P", "적용 시각: 12월 9일 10:00 (KST)", "변경 취소")
	if st, _ := s.db.PlayLimits(t.Context(), u.ID); *st.Daily.Limit != 10000 || st.Daily.Pending == nil || *st.Daily.Pending.Limit != 20000 {
		t.Fatalf("raise applied at once: %+v", st.Daily)
	}
	// Saving the form again with the daily field as shown keeps the wait.
	b.post("/me/limits", url.Values{"daily": {"10000"}, "weekly": {"50000"}, "monthly": {""}})
	if st, _ := s.db.PlayLimits(t.Context(), u.ID); st.Daily.Pending == nil || st.Weekly.Limit == nil || *st.Weekly.Limit != 50000 {
		t.Fatalf("an unchanged field cancelled its waiting change: %+v %+v", st.Daily, st.Weekly)
	}
	if p := b.post("/me/limits/cancel", url.Values{"period": {"daily"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", p.Status)
	}
	if st, _ := s.db.PlayLimits(t.Context(), u.ID); st.Daily.Pending != nil || *st.Daily.Limit != 10000 {
		t.Fatalf("after cancel: %+v", st.Daily)
	}

	for _, tt := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"daily": {"abc"}}, 400, "한도는 1 이상의 정수 포인트로"},
		{url.Values{"daily": {"0"}}, 400, "한도는 1 이상의 정수 포인트로"},
		{url.Values{"daily": {"99999999999999999999"}}, 400, "한도는 1 이상의 정수 포인트로"},
	} {
		p := b.post("/me/limits", tt.form)
		if p.Status != tt.status || !strings.Contains(p.Body, tt.want) || !strings.Contains(p.Body, `value="`+tt.form.Get("daily")+`"`) {
			t.Errorf("%v: %d, want %d with %q and the typed value", tt.form, p.Status, tt.status, tt.want)
		}
	}
	if p := b.post("/me/limits/cancel", url.Values{"period": {"yearly"}}); p.Status != 400 {
		t.Errorf("unknown period: %d", p.Status)
	}
	if p := b.post("/me/limits", url.Values{"daily": {"5000"}, "csrf_token": {""}}); p.Status != http.StatusForbidden {
		t.Errorf("without token: %d", p.Status)
	}
	if st, _ := s.db.PlayLimits(t.Context(), u.ID); *st.Daily.Limit != 10000 {
		t.Fatalf("a refused form changed the limit: %d", *st.Daily.Limit)
	}
}

// A cool-off starts only after its confirmation page, says until when in
// the player's zone, and cannot be shortened.
func TestCoolOffConfirmation(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("en")
	u := b.signIn("rest_en")
	p := b.get("/me/limits/block?kind=cooloff&duration=7d")
	if p.Status != 200 {
		t.Fatalf("confirm page: %d", p.Status)
	}
	mustContain(t, "confirm", p, "Confirm your cool-off", "Ends: 15 Dec 10:00 (KST)", "cannot be cancelled or shortened",
		`name="kind" value="cooloff"`, `name="duration" value="7d"`, `name="confirm" value="yes"`)
	if p := b.post("/me/limits/block", url.Values{"kind": {"cooloff"}, "duration": {"7d"}}); p.Status != 400 || !strings.Contains(p.Body, "Tick the box") {
		t.Fatalf("unconfirmed: %d", p.Status)
	}
	if blk, _ := s.db.PlayBlock(t.Context(), u.ID); blk != nil {
		t.Fatal("an unconfirmed cool-off started")
	}
	if p := b.post("/me/limits/block", url.Values{"kind": {"cooloff"}, "duration": {"7d"}, "confirm": {"yes"}, "csrf_token": {""}}); p.Status != http.StatusForbidden {
		t.Fatalf("without token: %d", p.Status)
	}
	b.get("/me/limits")
	if p := b.post("/me/limits/block", url.Values{"kind": {"cooloff"}, "duration": {"7d"}, "confirm": {"yes"}}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/me/limits?done=block" {
		t.Fatalf("start: %d %q", p.Status, p.Header.Get("Location"))
	}
	blk, _ := s.db.PlayBlock(t.Context(), u.ID)
	if blk == nil || blk.Kind != playlimit.CoolOff || !blk.EndsAt.Equal(testNow.Add(7*24*time.Hour)) {
		t.Fatalf("block: %+v", blk)
	}
	mustContain(t, "active", b.get("/me/limits?done=block"), "You are on a cool-off until 15 Dec 10:00 (KST)")
	for _, q := range []string{"kind=cooloff&duration=72h", "kind=self_exclusion&duration=24h", "kind=holiday&duration=7d", "kind=cooloff&duration=7x"} {
		p := b.get("/me/limits/block?" + q)
		if p.Status < 400 || p.Status >= 500 || strings.Contains(p.Body, `name="confirm"`) {
			t.Errorf("%s: %d", q, p.Status)
		}
	}
	mustContain(t, "shorter", b.get("/me/limits/block?kind=cooloff&duration=72h"), "cannot be shortened or lifted")

	// Self-exclusion: months in the player's zone.
	ko := s.browser("")
	ko.signIn("exclude_ko")
	mustContain(t, "self-exclusion", ko.get("/me/limits/block?kind=self_exclusion&duration=6m"), "자기 제한 시작 확인", "종료 시각: 6월 8일 10:00 (KST)", "1336")
}
