package web_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The statement lists every entry with its kind in words, the signed
// amount and the balance after, 30 a page; the first page draws the
// balance as an inline SVG with a title and description and sums the
// activity per period, in both languages.
func TestStatement(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.match("football", "K League 1", "Ulsan", "Jeonbuk", testNow.Add(5*time.Hour))
	b := s.browser("")
	u := b.signIn("ledger")
	won := s.bet(u, 1000, pick{m, "home"})
	b.get("/me")
	b.post("/me/checkin", nil)
	s.result(m, 2, 0, "")

	for _, tt := range []struct {
		accept string
		want   []string
	}{
		{"", []string{"포인트 내역", "가입 축하 포인트", "+50,000 P", "베팅", "-1,000 P", "출석 체크", "+500 P", "적중 지급", "+2,050 P",
			"잔액 51,550 P", `href="/me/bets/` + won.ID + `"`, "12월 8일 10:00 (KST)", "보유 포인트 변화", "최근 4건의 내역",
			"이용 내역 요약", "오늘", "이번 주", "이번 달", "최근 30일", "1건", "1,000 P", "2,050 P", "+1,050 P", "차감", "적립"}},
		{"en", []string{"Points statement", "Sign-up bonus", "+50,000 P", "Stake", "-1,000 P", "Daily check-in", "Winnings", "+2,050 P",
			"Balance 51,550 P", "Balance over time", "The latest 4 entries", "Activity statement", "This week", "1 bet", "+1,050 P", "debit", "credit"}},
	} {
		bb := s.browser(tt.accept)
		bb.setSessionOf(b)
		p := bb.get("/me/statement")
		if p.Status != 200 {
			t.Fatalf("%q: status %d", tt.accept, p.Status)
		}
		wantIn(t, "statement "+tt.accept, p.Body, tt.want...)
		svg := regexpFind(p.Body, `(?s)(<svg class="balance-chart-svg".*?</svg>)`)
		if svg == "" || !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, "<title id=") || !strings.Contains(svg, "<desc id=") ||
			!strings.Contains(svg, "<polyline") || strings.Contains(svg, "style") {
			t.Errorf("%q: balance chart: %s", tt.accept, svg)
		}
		// Four balances, oldest first: 50,000, 49,000, 49,500, 51,550 —
		// the line goes down, up, up; the highest is at the top (y small).
		pts := regexp.MustCompile(`points="([^"]+)"`).FindStringSubmatch(svg)
		if pts == nil || len(strings.Fields(pts[1])) != 4 {
			t.Fatalf("%q: chart points %v", tt.accept, pts)
		}
		ys := []string{}
		for _, xy := range strings.Fields(pts[1]) {
			ys = append(ys, xy[strings.IndexByte(xy, ',')+1:])
		}
		if ys[3] != "12" || ys[1] != "188" {
			t.Errorf("%q: chart y values %v, want the last at the top (12) and the second at the bottom (188)", tt.accept, ys)
		}
	}
	if p := s.browser("").get("/me/statement"); p.Status != 303 {
		t.Errorf("signed out: %d", p.Status)
	}
	if p := b.get("/me/statement?cursor=nope"); p.Status != 400 {
		t.Errorf("bad cursor: %d", p.Status)
	}
}

// The statement pages with the store's cursor; only the first page has
// the chart and the activity.
func TestStatementPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.match("football", "K League 1", "Ulsan", "Jeonbuk", testNow.Add(5*time.Hour))
	b := s.browser("en")
	u := b.signIn("pages")
	for range 34 {
		s.bet(u, 100, pick{m, "away"})
	}
	p := b.get("/me/statement")
	if n := strings.Count(p.Body, `class="entry"`); n != 30 {
		t.Fatalf("first page: %d entries", n)
	}
	wantIn(t, "first page", p.Body, "The latest 35 entries", "Older entries", "Balance 46,600 P")
	next := regexpFind(p.Body, `rel="next" href="([^"]+)"`)
	p = b.get(next)
	if n := strings.Count(p.Body, `class="entry"`); n != 5 || !strings.Contains(p.Body, "Sign-up bonus") {
		t.Fatalf("second page: %d entries", n)
	}
	wantNotIn(t, "second page", p.Body, "<svg", "Activity statement", `rel="next"`)
}
