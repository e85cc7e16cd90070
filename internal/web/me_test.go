package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// bet places a bet of stake for u on the named selections (one per
// match), straight through the store.
func (s *site) bet(u *account.User, stake int64, picks ...pick) *betting.Bet {
	s.t.Helper()
	slip := betting.Slip{Stake: stake}
	for _, p := range picks {
		for _, sel := range p.m.MainMarket().Selections {
			if sel.Name == p.name {
				slip.Legs = append(slip.Legs, betting.LegRequest{SelectionID: sel.ID, Odds: sel.Odds})
			}
		}
	}
	b, _, err := s.db.PlaceBet(context.Background(), &betting.PlaceRequest{UserID: u.ID, Slip: slip})
	if err != nil {
		s.t.Fatalf("place bet: %v", err)
	}
	return b
}

type pick struct {
	m    *betting.Match
	name string
}

// result settles m with a final (and regulation) score, or voids it.
func (s *site) result(m *betting.Match, home, away int, reason string) {
	s.t.Helper()
	o := sport.Outcome{Score: sport.Score{Home: home, Away: away, Regulation: sport.Pair{Home: home, Away: away}},
		Evidence: sport.Evidence{Source: "operator", Status: "FT", FetchedAt: s.clock.Now(), Actor: "admin", Reason: reason}}
	if home < 0 {
		o = sport.Outcome{Void: true, Evidence: sport.Evidence{Source: "operator", Status: "void", FetchedAt: s.clock.Now(), Actor: "admin", Reason: reason}}
	}
	if _, err := s.db.RecordResult(context.Background(), m.ID, o, true, nil); err != nil {
		s.t.Fatalf("result: %v", err)
	}
}

func (s *site) balance(u *account.User) int64 {
	s.t.Helper()
	acct, err := s.db.PlayerAccount(context.Background(), u.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	b, err := s.db.Balance(context.Background(), acct)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *site) entries(u *account.User) int {
	s.t.Helper()
	acct, err := s.db.PlayerAccount(context.Background(), u.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	es, _, err := s.db.Statement(context.Background(), acct, "", 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	return len(es)
}

func wantIn(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func wantNotIn(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s shows %q", what, w)
		}
	}
}

// A new player's My page, in both languages: the profile, 50,000 P, a
// top-up disabled with its reason, the check-in and an empty tab; the
// nickname is shown as text.
func TestMePageNewPlayer(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for _, tt := range []struct {
		accept, nick string
		want         []string
	}{
		{"", "<script>x()</script>", []string{`lang="ko"`, "마이페이지", "50,000 P", "아이디", "kim1", "kim1@example.com", "인증 전",
			"Asia/Seoul", "한국어", `href="/me/settings"`, "포인트 충전", "지금은 충전할 수 없습니다", "보유 포인트가 이미 충전 목표인 50,000 P입니다",
			"출석 체크하고 500 P 받기", "연속 출석 0일", "결과를 기다리는 베팅이 없습니다", `href="/me?tab=won"`, "적중 특례", `href="/me/statement"`,
			"&lt;script&gt;x()&lt;/script&gt;"}},
		{"en", `<img src=x onerror=a()>`, []string{`lang="en"`, "My page", "50,000 P", "Username", "kim2", "not verified", "English",
			"Top-up not available now", "Your balance is already at the top-up target of 50,000 P", "Check in and get 500 P",
			"Streak: 0 days", "No bets waiting for a result.", "&lt;img src=x onerror=a()&gt;"}},
	} {
		b := s.browser(tt.accept)
		name := "kim1"
		if tt.accept == "en" {
			name = "kim2"
		}
		u := b.signIn(name)
		// The sign-up rules refuse angle brackets in a nickname; the page
		// must not rely on that, so the store is given one directly.
		if _, err := s.db.UpdateProfile(context.Background(), u.ID, account.ProfileUpdate{Nickname: &tt.nick}); err != nil {
			t.Fatal(err)
		}
		p := b.get("/me")
		if p.Status != 200 {
			t.Fatalf("%q: status %d", tt.accept, p.Status)
		}
		wantIn(t, "My page "+tt.accept, p.Body, tt.want...)
		wantNotIn(t, "My page "+tt.accept, p.Body, tt.nick, " style=", "<script>")
		if !strings.Contains(p.Body, `name="idempotency_key" value="`) || regexpFind(p.Body, `name="idempotency_key" value="([0-9a-f]{32})"`) == "" {
			t.Errorf("%q: no idempotency key in the forms", tt.accept)
		}
		if k1, k2 := regexpFind(p.Body, `idempotency_key" value="(\w+)"`), regexpFind(b.get("/me").Body, `idempotency_key" value="(\w+)"`); k1 == k2 {
			t.Errorf("the form key is not new on every render")
		}
	}
	// A visitor is sent to log in and brought back.
	if p := s.browser("").get("/me?tab=won"); p.Status != 303 || p.Header.Get("Location") != "/login?next="+url.QueryEscape("/me?tab=won") {
		t.Errorf("signed out: %d %q", p.Status, p.Header.Get("Location"))
	}
	for _, path := range []string{"/me?tab=golf", "/me/bets/b_999", "/me/bets/x", "/me/bets/m_1"} {
		b := s.browser("")
		b.signIn("nf" + strings.NewReplacer("/", "", "?", "", "=", "", "_", "").Replace(path))
		if p := b.get(path); p.Status != 404 || !strings.Contains(p.Body, "페이지를 찾을 수 없습니다") {
			t.Errorf("%s: %d", path, p.Status)
		}
	}
}

// Bets land in the tab of their state, with each leg's match, state and
// score, the figures, and for a settled bet the receipt: evidence, the
// rule in words and the corrections with their deltas. Another player
// sees none of it.
func TestMeBetsTabsAndReceipt(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	at := testNow.Add(3 * time.Hour)
	ulsan := s.match("football", "K League 1", "Ulsan", "Jeonbuk", at)
	pohang := s.match("football", "K League 1", "Pohang", "Seoul", at)
	doosan := s.match("baseball", "KBO", "Doosan", "LG", at)
	kia := s.match("baseball", "KBO", "KIA", "NC", at.Add(time.Hour))
	b := s.browser("")
	u := b.signIn("bettor")
	won := s.bet(u, 1000, pick{ulsan, "home"})
	lost := s.bet(u, 2000, pick{pohang, "home"})
	void := s.bet(u, 3000, pick{doosan, "away"})
	acc := s.bet(u, 1000, pick{ulsan, "home"}, pick{kia, "home"})
	s.result(ulsan, 2, 1, "")
	s.result(pohang, 0, 1, "")
	s.result(doosan, -1, -1, "rain")

	open := b.get("/me")
	wantIn(t, "open tab", open.Body, `id="bet-`+acc.ID+`"`, "조합 베팅 (2경기)", "KIA", "NC", "KBO", "야구", "Ulsan", "2 : 1", "종료", "경기 전",
		"적중", "결과 대기", "3.69", "3,690 P", "예상 적중 포인트", "12월 8일 10:00 (KST)", "12월 8일 14:00 (KST)", `aria-current="page">진행 중`)
	wantNotIn(t, "open tab", open.Body, `id="bet-`+won.ID+`"`, `id="bet-`+lost.ID+`"`, `id="bet-`+void.ID+`"`)

	for tab, want := range map[string][]string{
		"won":  {`id="bet-` + won.ID + `"`, "Ulsan", "단일 베팅", "2.05", "2,050 P", "지급 포인트", `href="/me/bets/` + won.ID + `"`},
		"lost": {`id="bet-` + lost.ID + `"`, "Pohang", "미적중", "0 : 1"},
		"void": {`id="bet-` + void.ID + `"`, "Doosan", "적중 특례", "3,000 P"},
	} {
		p := b.get("/me?tab=" + tab)
		if p.Status != 200 {
			t.Fatalf("tab %s: %d", tab, p.Status)
		}
		wantIn(t, "tab "+tab, p.Body, want...)
		for _, other := range []*betting.Bet{won, lost, void, acc} {
			if !strings.Contains(want[0], other.ID+`"`) && strings.Contains(p.Body, `id="bet-`+other.ID+`"`) {
				t.Errorf("tab %s shows bet %s (%s)", tab, other.ID, other.State)
			}
		}
	}

	// An open bet's page shows what is settled so far.
	wantIn(t, "open bet's page", b.get("/me/bets/"+acc.ID).Body, "아직 정산되지 않은 베팅입니다", "KIA", "승무패는 정규 시간 스코어 2:1로 정산합니다. 결과 승 → 적중")

	// The receipt, then a correction with its delta.
	s.result(ulsan, 1, 1, "goal disallowed after review")
	p := b.get("/me/bets/" + won.ID)
	if p.Status != 200 {
		t.Fatalf("receipt: %d", p.Status)
	}
	wantIn(t, "receipt", p.Body, "베팅 정산 내역", "경기별 정산 근거", "operator", "FT", "최종 스코어", "1 : 1",
		"승무패는 정규 시간 스코어 1:1로 정산합니다. 결과 무 → 미적중", "최초 정산", "2차 정산 (결과 정정)", "+2,050 P", "-2,050 P",
		"goal disallowed after review")
	en := s.browser("en")
	en.setSessionOf(b)
	wantIn(t, "receipt en", en.get("/me/bets/"+won.ID).Body, "Bet receipt", "1X2 settles on the regulation-time score 1-1. Result: Draw → Lost",
		"Settlement 2 (result corrected)", "-2,050 P")
	wantIn(t, "void receipt", b.get("/me/bets/"+void.ID).Body, "배당 1.00(적중 특례)", "rain")

	// Another player sees none of it.
	other := s.browser("")
	other.signIn("other")
	if p := other.get("/me/bets/" + won.ID); p.Status != 404 {
		t.Errorf("another player's receipt: %d", p.Status)
	}
	for _, tab := range []string{"open", "won", "lost", "void"} {
		wantNotIn(t, "another player's "+tab, other.get("/me?tab="+tab).Body, "Ulsan", "Pohang", "Doosan", "KIA")
	}
	wantNotIn(t, "another player's statement", other.get("/me/statement").Body, won.ID, "bet:")
}

// setSessionOf gives this browser the session of another.
func (b *browser) setSessionOf(from *browser) {
	base, _ := url.Parse(b.s.srv.URL)
	b.c.Jar.SetCookies(base, from.c.Jar.Cookies(base))
}

// A tab shows 20 bets and a "more" link to the rest.
func TestMeBetsPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.match("football", "K League 1", "Ulsan", "Jeonbuk", testNow.Add(time.Hour))
	b := s.browser("en")
	u := b.signIn("many")
	var bets []*betting.Bet
	for range 23 {
		bets = append(bets, s.bet(u, 100, pick{m, "draw"}))
	}
	p := b.get("/me?tab=open")
	if n := strings.Count(p.Body, `class="bet"`); n != 20 {
		t.Fatalf("first page shows %d bets", n)
	}
	next := regexpFind(p.Body, `rel="next" href="([^"]+)"`)
	if next == "" || !strings.Contains(p.Body, ">More</a>") {
		t.Fatal("no link to the next page")
	}
	p = b.get(strings.ReplaceAll(next, "&amp;", "&"))
	if n := strings.Count(p.Body, `class="bet"`); n != 3 || !strings.Contains(p.Body, `id="bet-`+bets[0].ID+`"`) || strings.Contains(p.Body, `rel="next"`) {
		t.Fatalf("second page: %d bets", n)
	}
	if p := b.get("/me?cursor=zzz"); p.Status != 400 {
		t.Errorf("bad cursor: %d", p.Status)
	}
}

// A refused top-up says why and until when, and moves nothing; an allowed
// one credits once, however often the form is sent again.
func TestMeTopup(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.match("football", "K League 1", "Ulsan", "Jeonbuk", testNow.Add(5*time.Hour))
	b := s.browser("")
	u := b.signIn("topper")
	b.get("/me")
	before := s.entries(u)
	p := b.post("/me/topup", url.Values{"idempotency_key": {"k1"}})
	if p.Status != 422 {
		t.Fatalf("refused top-up: %d", p.Status)
	}
	wantIn(t, "refused top-up", p.Body, `role="alert"`, "충전할 수 없습니다.", "보유 포인트가 이미 충전 목표인 50,000 P입니다")
	if got := s.balance(u); got != 50000 || s.entries(u) != before {
		t.Fatalf("a refused top-up moved points: %d", got)
	}

	s.bet(u, 30000, pick{m, "home"})
	p = b.get("/me")
	wantIn(t, "top-up allowed", p.Body, "20,000 P", "30,000 P 충전하기")
	key := regexpFind(p.Body, `name="idempotency_key" value="(\w+)"`)
	for i := range 2 { // a double submit
		p = b.post("/me/topup", url.Values{"idempotency_key": {key}})
		if p.Status != 303 || p.Header.Get("Location") != "/me?done=topup" {
			t.Fatalf("top-up %d: %d %q", i, p.Status, p.Header.Get("Location"))
		}
	}
	if got := s.balance(u); got != 50000 {
		t.Fatalf("balance after a double top-up = %d, want 50000", got)
	}
	wantIn(t, "after the top-up", b.get(p.Header.Get("Location")).Body, `role="status"`, "충전했습니다. 보유 포인트는 50,000 P입니다.")

	// Within 24 hours: refused with the time it opens again.
	s.clock.Advance(time.Hour)
	s.bet(u, 10000, pick{m, "home"})
	p = b.get("/me")
	wantIn(t, "too soon", p.Body, "다음 충전은 12월 9일 10:00 (KST)부터 가능합니다.", "disabled")
	p = b.post("/me/topup", url.Values{"idempotency_key": {"k2"}})
	wantIn(t, "too soon post", p.Body, "충전할 수 없습니다.", "가능한 시각: 12월 9일 10:00 (KST)")
	if p.Status != 422 || s.balance(u) != 40000 {
		t.Fatalf("too soon: %d, balance %d", p.Status, s.balance(u))
	}
	en := s.browser("en")
	en.setSessionOf(b)
	wantIn(t, "too soon en", en.get("/me").Body, "Your next top-up is possible from 9 Dec 10:00 (KST).")
}

// The check-in pays once per calendar day in the player's zone, growing
// with the streak.
func TestMeCheckin(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("")
	u := b.signIn("daily")
	b.get("/me")
	p := b.post("/me/checkin", url.Values{"idempotency_key": {"c1"}})
	if p.Status != 303 || p.Header.Get("Location") != "/me?done=checkin" {
		t.Fatalf("check-in: %d %q", p.Status, p.Header.Get("Location"))
	}
	p = b.get("/me?done=checkin")
	wantIn(t, "checked in", p.Body, "출석 체크 완료! 연속 1일째입니다.", "오늘은 출석 완료", "오늘은 이미 출석했습니다. 다음 출석은 12월 9일 00:00 (KST)부터 가능합니다.", "50,500 P")
	p = b.post("/me/checkin", url.Values{"idempotency_key": {"c2"}})
	if p.Status != 409 || s.balance(u) != 50500 {
		t.Fatalf("second check-in: %d, balance %d", p.Status, s.balance(u))
	}
	wantIn(t, "second check-in", p.Body, "오늘은 이미 출석 체크를 했습니다.", "가능한 시각: 12월 9일 00:00 (KST)")

	s.clock.Advance(14 * time.Hour) // 00:00 the next day in Seoul
	wantIn(t, "next day", b.get("/me").Body, "출석 체크하고 750 P 받기", "오늘 출석하면 연속 2일째가 됩니다.")
	if p := b.post("/me/checkin", url.Values{"idempotency_key": {"c3"}}); p.Status != 303 || s.balance(u) != 51250 {
		t.Fatalf("next day's check-in: %d, balance %d", p.Status, s.balance(u))
	}
}

// A form posted without the page's CSRF token is refused and changes
// nothing.
func TestMeFormsNeedCSRF(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.match("football", "K League 1", "Ulsan", "Jeonbuk", testNow.Add(time.Hour))
	b := s.browser("")
	u := b.signIn("forged")
	s.bet(u, 30000, pick{m, "home"})
	b.get("/me")
	for _, path := range []string{"/me/topup", "/me/checkin"} {
		for _, token := range []string{"", "wrong"} {
			p := b.post(path, url.Values{"csrf_token": {token}, "idempotency_key": {"x" + token}})
			if p.Status != 403 || !strings.Contains(p.Body, "이 작업을 할 수 없습니다") {
				t.Errorf("%s with token %q: %d", path, token, p.Status)
			}
		}
	}
	if got := s.balance(u); got != 20000 || s.entries(u) != 2 {
		t.Fatalf("a forged form moved points: balance %d, %d entries", got, s.entries(u))
	}
	// Signed out, the forms are refused too.
	v := s.browser("")
	v.get("/")
	if p := v.post("/me/checkin", nil); p.Status != 401 && p.Status != 403 {
		t.Errorf("signed-out check-in: %d", p.Status)
	}
}
