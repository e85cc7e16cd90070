package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pointsbook/pointsbook/internal/browsertest"
)

// browserBudget bounds each browser of these tests: a flow of a dozen
// steps takes 15 s here under the race detector, and CI runs it beside
// the whole suite on few cores.
const browserBudget = 5 * time.Minute

// flowMatch is a match the operator created for a flow test, with the
// selections the player picks.
type flowMatch struct {
	ID, Home, Away string
	Date           string // its kick-off day in KST, as the main page's ?date=
	Sel            map[string]selectionRef
}

// createFlowMatch creates a football match kicking off in two hours
// with the 1x2 prices 2.00 / 3.40 / 3.80.
func createFlowMatch(t *testing.T, base, adminToken, home, away string) flowMatch {
	t.Helper()
	body := matchBody(home, away)
	kickoff := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second)
	body["kickoff_at"] = kickoff.Format(time.RFC3339)
	r := mustCall(t, "POST", base+"/api/v1/admin/matches", adminToken, body, http.StatusCreated)
	var m struct {
		ID         string `json:"id"`
		MainMarket struct {
			Selections []selectionRef `json:"selections"`
		} `json:"main_market"`
	}
	r.decode(t, &m)
	fm := flowMatch{ID: m.ID, Home: home, Away: away, Date: kickoff.In(kst).Format("2006-01-02"), Sel: map[string]selectionRef{}}
	for _, s := range m.MainMarket.Selections {
		fm.Sel[s.Name] = s
	}
	return fm
}

// playerState is what the API says of the player: balance and bets.
type playerState struct {
	Balance int64
	Bets    []struct {
		ID              string `json:"id"`
		State           string `json:"state"`
		Stake           int64  `json:"stake"`
		PotentialPayout int64  `json:"potential_payout"`
		Payout          *int64 `json:"payout"`
		Legs            []any  `json:"legs"`
	}
}

func readPlayer(t *testing.T, base, token string) playerState {
	t.Helper()
	var me struct {
		Balance int64 `json:"balance"`
	}
	mustCall(t, "GET", base+"/api/v1/me", token, nil, http.StatusOK).decode(t, &me)
	var bets struct {
		Items []struct {
			ID              string `json:"id"`
			State           string `json:"state"`
			Stake           int64  `json:"stake"`
			PotentialPayout int64  `json:"potential_payout"`
			Payout          *int64 `json:"payout"`
			Legs            []any  `json:"legs"`
		} `json:"items"`
	}
	mustCall(t, "GET", base+"/api/v1/me/bets?limit=100", token, nil, http.StatusOK).decode(t, &bets)
	return playerState{Balance: me.Balance, Bets: bets.Items}
}

// sessionToken is the browser's session cookie, which the API takes as a
// bearer token: the test reads the player's state as the server has it.
func sessionToken(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	c, ok := browsertest.Cookie(t, ctx, base+"/", "pb_session")
	if !ok || c.Value == "" {
		t.Fatalf("no pb_session cookie after signing in")
	}
	return c.Value
}

// textOf is the trimmed text of sel (waiting for it).
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(browsertest.Text(t, ctx, sel))
}

// waitText waits until the text of sel contains want; the wait is bounded
// by the test's browser timeout.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		got := ""
		if browsertest.Exists(t, ctx, sel) {
			got = browsertest.Text(t, ctx, sel)
		}
		t.Fatalf("%s never contained %q (now %q): %v", sel, want, got, err)
	}
}

// waitEval waits until the JavaScript expression is true.
func waitEval(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// activeInDialog reports whether the focused element is inside the
// sign-in modal.
const activeInDialog = `document.getElementById("auth-modal").contains(document.activeElement)`

// slipReady is true once the slip shows n legs, all with their price
// from the server.
func slipReady(n int) string {
	return fmt.Sprintf(`(() => { const l = document.querySelectorAll("#slip .slip-leg"); return l.length === %d && [...l].every(x => x.dataset.state === "ok"); })()`, n)
}

// TestBrowserPlayerFlow is a player's first day, step by step in one
// browser on a desktop, against the real program: the modal's keyboard
// behaviour, sign-up and the bonus, log-out and log-in, a match opened
// from the main page, a two-leg accumulator whose shown return is what
// the server pays, My page's open bets, a double click placing once, a
// refusal for missing points that changes nothing, a top-up refused with
// its reason, the language switch, the operator's result turning the bet
// into 적중 with the new balance and the receipt, and the slip surviving
// a reload. Each step is a subtest; the first failing one stops the flow.
func TestBrowserPlayerFlow(t *testing.T) {
	t.Parallel()
	_, base := startServer(t, noFeed)
	admin := login(t, base, adminUser, adminPassword)
	m1 := createFlowMatch(t, base, admin, "Seoul Tigers", "Daegu Owls")
	m2 := createFlowMatch(t, base, admin, "Incheon Waves", "Ulsan Bears")
	m3 := createFlowMatch(t, base, admin, "Gwangju Foxes", "Jeonju Cranes")
	mainURL := base + "/?sport=football&date=" + m1.Date

	ctx := browsertest.New(t, browsertest.WithTimeout(browserBudget), browsertest.WithViewport(browsertest.Desktop), browsertest.WithLanguage("ko-KR,ko"),
		// The refusals the flow provokes on purpose are logged by the
		// browser as failed loads; any other console error fails it.
		browsertest.IgnoreConsoleErrors(
			"status of 401 (Unauthorized) ["+base+"/api/v1/auth/login:",   // the wrong password
			"status of 422 (Unprocessable Entity) ["+base+"/api/v1/bets:", // insufficient points
			"status of 422 (Unprocessable Entity) ["+base+"/me/topup:",    // the refused top-up
		))
	const user, nick = "flowkim", "플로우김"
	var token string
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Failed() {
			t.Run(name, f)
		}
	}

	step("modal-focus", func(t *testing.T) {
		browsertest.Navigate(t, ctx, mainURL)
		// Keyboard only: focus the header's sign-up link and press Enter.
		browsertest.Eval[bool](t, ctx, `(() => { document.querySelector('header a[data-modal="signup"]').focus(); return true })()`)
		browsertest.Press(t, ctx, kb.Enter)
		browsertest.WaitVisible(t, ctx, `#auth-modal [data-pane="signup"] input[name="username"]`)
		if id := browsertest.Eval[string](t, ctx, `document.activeElement.id`); id != "m-signup-username" {
			t.Errorf("the modal opened with the focus on %q, want the username field", id)
		}
		browsertest.ViewportScreenshot(t, ctx, "modal-open")
		browsertest.Axe(t, ctx) // the page with its dialog open
		// Forty tabs go round the dialog several times: focus never leaves it.
		for i := 0; i < 40; i++ {
			browsertest.Press(t, ctx, kb.Tab)
			if !browsertest.Eval[bool](t, ctx, activeInDialog) {
				t.Fatalf("Tab %d moved the focus out of the modal, to %s", i+1,
					browsertest.Eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
			}
		}
		for i := 0; i < 5; i++ {
			browsertest.Press(t, ctx, kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
			if !browsertest.Eval[bool](t, ctx, activeInDialog) {
				t.Fatalf("Shift+Tab %d moved the focus out of the modal", i+1)
			}
		}
		browsertest.Press(t, ctx, kb.Escape)
		waitEval(t, ctx, "the modal to close", `!document.getElementById("auth-modal").open`)
		if !browsertest.Eval[bool](t, ctx, `document.activeElement === document.querySelector('header a[data-modal="signup"]')`) {
			t.Errorf("after Escape the focus is on %s, want the sign-up link that opened the modal",
				browsertest.Eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
		}
	})

	step("signup", func(t *testing.T) {
		browsertest.Click(t, ctx, `header a[data-modal="signup"]`)
		browsertest.Type(t, ctx, "#m-signup-username", user)
		browsertest.Type(t, ctx, "#m-signup-nickname", nick)
		browsertest.Type(t, ctx, "#m-signup-email", user+"@example.com")
		browsertest.Type(t, ctx, "#m-signup-password", playerPassword)
		waitText(t, ctx, "#m-signup-username-avail", "사용할 수 있")
		browsertest.ViewportScreenshot(t, ctx, "signup-filled")
		browsertest.Axe(t, ctx) // with the availability and password rules marked
		browsertest.Click(t, ctx, `#auth-modal [data-pane="signup"] button[type="submit"]`)
		// Success reloads the page signed in: My page is in the header.
		browsertest.WaitVisible(t, ctx, `header a[href="/me"]`)
		token = sessionToken(t, ctx, base)
		browsertest.Navigate(t, ctx, base+"/me")
		if got := textOf(t, ctx, ".me-balance"); got != "50,000 P" {
			t.Errorf("balance after sign-up = %q, want the 50,000 P bonus", got)
		}
		if got := textOf(t, ctx, ".me-profile"); !strings.Contains(got, nick) {
			t.Errorf("the profile does not show the nickname %q: %q", nick, got)
		}
		browsertest.Screenshot(t, ctx, "me-after-signup")
	})

	step("logout-login", func(t *testing.T) {
		if status := browsertest.ClickNavigate(t, ctx, "form.logout button"); status != http.StatusOK {
			t.Fatalf("log out: status %d", status)
		}
		browsertest.WaitVisible(t, ctx, `header a[data-modal="login"]`)
		if browsertest.Exists(t, ctx, `header a[href="/me"]`) {
			t.Fatalf("still signed in after logging out")
		}
		browsertest.Navigate(t, ctx, mainURL)
		browsertest.Click(t, ctx, `header a[data-modal="login"]`)
		browsertest.Type(t, ctx, "#m-login-username", user)
		browsertest.Type(t, ctx, "#m-login-password", "wrong-password-123")
		browsertest.Click(t, ctx, `#auth-modal [data-pane="login"] button[type="submit"]`)
		browsertest.WaitVisible(t, ctx, `#auth-modal [data-pane="login"] [data-error]`)
		browsertest.Screenshot(t, ctx, "login-refused")
		browsertest.Axe(t, ctx)
		browsertest.Type(t, ctx, "#m-login-password", playerPassword)
		browsertest.Click(t, ctx, `#auth-modal [data-pane="login"] button[type="submit"]`)
		browsertest.WaitVisible(t, ctx, `header a[href="/me"]`)
		token = sessionToken(t, ctx, base)
		// The session survives navigation and reloads.
		browsertest.Reload(t, ctx)
		browsertest.WaitVisible(t, ctx, `header a[href="/me"]`)
	})

	step("open-match", func(t *testing.T) {
		browsertest.Navigate(t, ctx, mainURL)
		browsertest.ClickNavigate(t, ctx, fmt.Sprintf(`li.match[data-match=%q] a.match-link`, m1.ID))
		if loc := browsertest.Location(t, ctx); loc != base+"/matches/"+m1.ID {
			t.Fatalf("the match link went to %s", loc)
		}
		if h := textOf(t, ctx, "h1"); !strings.Contains(h, m1.Home) || !strings.Contains(h, m1.Away) {
			t.Errorf("match page heading %q", h)
		}
		browsertest.Screenshot(t, ctx, "match")
	})

	var accaPayout int64
	step("accumulator", func(t *testing.T) {
		before := readPlayer(t, base, token)
		// Leg 1 on the match page, leg 2 from the main page's row.
		browsertest.Click(t, ctx, fmt.Sprintf(`main button.pick[data-selection=%q]`, m1.Sel["home"].ID))
		browsertest.Navigate(t, ctx, mainURL)
		browsertest.Click(t, ctx, fmt.Sprintf(`li.match[data-match=%q] button.pick[data-selection=%q]`, m2.ID, m2.Sel["away"].ID))
		waitEval(t, ctx, "two priced legs in the slip", slipReady(2))
		browsertest.Type(t, ctx, "#slip-stake", "1236")
		// 1,236 × 2.00 × 3.80 = 9,393.6: the server rounds down.
		if got := textOf(t, ctx, "[data-slip-odds]"); got != "7.60" {
			t.Errorf("combined odds shown %q, want 7.60", got)
		}
		shown := textOf(t, ctx, "[data-slip-return]")
		if shown != "9,393 P" {
			t.Errorf("potential return shown %q, want 9,393 P", shown)
		}
		browsertest.Screenshot(t, ctx, "slip-two-legs")
		browsertest.Axe(t, ctx)
		browsertest.Click(t, ctx, "[data-slip-place]")
		browsertest.WaitVisible(t, ctx, "[data-slip-result] .slip-done")
		browsertest.Screenshot(t, ctx, "slip-placed")
		browsertest.Axe(t, ctx)
		after := readPlayer(t, base, token)
		if len(after.Bets) != len(before.Bets)+1 {
			t.Fatalf("bets %d → %d, want one more", len(before.Bets), len(after.Bets))
		}
		bet := after.Bets[0]
		accaPayout = bet.PotentialPayout
		if bet.Stake != 1236 || len(bet.Legs) != 2 || fmt.Sprintf("%s P", group(bet.PotentialPayout)) != shown {
			t.Errorf("the server took stake %d, %d legs, potential payout %d; the slip showed %s", bet.Stake, len(bet.Legs), bet.PotentialPayout, shown)
		}
		if after.Balance != before.Balance-1236 {
			t.Errorf("balance %d → %d, want the stake taken", before.Balance, after.Balance)
		}
		if got := textOf(t, ctx, "[data-slip-result]"); !strings.Contains(got, shown) {
			t.Errorf("the slip's receipt %q does not repeat the potential return %s", got, shown)
		}
	})

	step("my-page-open", func(t *testing.T) {
		browsertest.Click(t, ctx, "[data-slip-result] a[href='/me']")
		browsertest.WaitVisible(t, ctx, ".me-bets")
		if cur := textOf(t, ctx, `.me-bets .tabs a[aria-current="page"]`); cur != "진행 중" {
			t.Errorf("My page opens on the tab %q, want 진행 중 (open)", cur)
		}
		card := textOf(t, ctx, ".bets li.bet")
		for _, want := range []string{"결과 대기", m1.Home, m2.Away, "1,236 P", "9,393 P"} {
			if !strings.Contains(card, want) {
				t.Errorf("the open bet's card lacks %q: %q", want, card)
			}
		}
		browsertest.Screenshot(t, ctx, "me-open")
	})

	step("double-click-places-once", func(t *testing.T) {
		before := readPlayer(t, base, token)
		browsertest.Navigate(t, ctx, mainURL)
		browsertest.Click(t, ctx, fmt.Sprintf(`li.match[data-match=%q] button.pick[data-selection=%q]`, m3.ID, m3.Sel["draw"].ID))
		waitEval(t, ctx, "one priced leg", slipReady(1))
		browsertest.Type(t, ctx, "#slip-stake", "1000")
		browsertest.DoubleClick(t, ctx, "[data-slip-place]")
		browsertest.WaitVisible(t, ctx, "[data-slip-result] .slip-done")
		after := readPlayer(t, base, token)
		if len(after.Bets) != len(before.Bets)+1 || after.Balance != before.Balance-1000 {
			t.Errorf("a double click: bets %d → %d, balance %d → %d; want one bet of 1,000",
				len(before.Bets), len(after.Bets), before.Balance, after.Balance)
		}
	})

	step("insufficient-points", func(t *testing.T) {
		before := readPlayer(t, base, token)
		browsertest.Click(t, ctx, fmt.Sprintf(`li.match[data-match=%q] button.pick[data-selection=%q]`, m3.ID, m3.Sel["home"].ID))
		waitEval(t, ctx, "one priced leg", slipReady(1))
		stake := before.Balance + 1 // within the stake limit, above the balance
		browsertest.Type(t, ctx, "#slip-stake", fmt.Sprint(stake))
		browsertest.Click(t, ctx, "[data-slip-place]")
		want := "포인트가 부족합니다. 보유 포인트는 " + group(before.Balance) + " P입니다."
		waitText(t, ctx, "[data-slip-hint]", want)
		browsertest.Screenshot(t, ctx, "insufficient")
		browsertest.Axe(t, ctx)
		after := readPlayer(t, base, token)
		if after.Balance != before.Balance || len(after.Bets) != len(before.Bets) {
			t.Errorf("a refused bet changed something: balance %d → %d, bets %d → %d",
				before.Balance, after.Balance, len(before.Bets), len(after.Bets))
		}
		// The slip keeps the leg for another try.
		if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#slip .slip-leg").length`); n != 1 {
			t.Errorf("the slip has %d legs after the refusal, want 1", n)
		}
		browsertest.Click(t, ctx, "[data-slip-clear]")
	})

	step("topup-refused", func(t *testing.T) {
		// Below 50,000 after the bets, My page offers a top-up…
		browsertest.Navigate(t, ctx, base+"/me")
		browsertest.WaitVisible(t, ctx, `form[action="/me/topup"] button.primary`)
		// …which another tab takes first (the API, with the same session)…
		req, _ := http.NewRequest("POST", base+"/api/v1/me/topup", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", "flow-topup-1")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("top-up through the API: status %d", resp.StatusCode)
		}
		// …so this page's button is refused, with the reason and the time.
		status := browsertest.ClickNavigate(t, ctx, `form[action="/me/topup"] button.primary`)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("the refused top-up answered %d, want 422", status)
		}
		notice := textOf(t, ctx, ".notice-error")
		for _, want := range []string{"충전할 수 없습니다", "가능한 시각", "(KST)"} {
			if !strings.Contains(notice, want) {
				t.Errorf("the refusal %q lacks %q", notice, want)
			}
		}
		if got := textOf(t, ctx, "#topup-why"); !strings.Contains(got, "다음 충전은") {
			t.Errorf("the disabled top-up's reason is %q", got)
		}
		if got := textOf(t, ctx, ".me-balance"); got != "50,000 P" {
			t.Errorf("balance after the top-up %q, want 50,000 P", got)
		}
		browsertest.Screenshot(t, ctx, "topup-refused")
		browsertest.Axe(t, ctx)
	})

	step("language", func(t *testing.T) {
		browsertest.Navigate(t, ctx, base+"/me")
		browsertest.ClickNavigate(t, ctx, `form.lang button[value="en"]`)
		if lang := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "en" {
			t.Errorf("after choosing English the page's lang is %q", lang)
		}
		if loc := browsertest.Location(t, ctx); loc != base+"/me" {
			t.Errorf("the switch went to %s, want back to /me", loc)
		}
		if got := textOf(t, ctx, "h1"); got != "My page" {
			t.Errorf("English heading %q", got)
		}
		browsertest.Screenshot(t, ctx, "me-english")
		// Remembered: another page is English too.
		browsertest.Navigate(t, ctx, mainURL)
		if got := textOf(t, ctx, `header nav a[href="/"]`); got != "Matches" {
			t.Errorf("the main page's menu after the switch: %q", got)
		}
		browsertest.ClickNavigate(t, ctx, `form.lang button[value="ko"]`)
		if lang := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "ko" {
			t.Errorf("after choosing 한국어 the page's lang is %q", lang)
		}
	})

	step("result-wins", func(t *testing.T) {
		before := readPlayer(t, base, token)
		mustCall(t, "POST", base+"/api/v1/admin/matches/"+m1.ID+"/result", admin, map[string]int{"home": 2, "away": 1}, http.StatusOK)
		mustCall(t, "POST", base+"/api/v1/admin/matches/"+m2.ID+"/result", admin, map[string]int{"home": 0, "away": 1}, http.StatusOK)
		var acca string
		for _, b := range before.Bets {
			if len(b.Legs) == 2 {
				acca = b.ID
			}
		}
		// Settlement runs behind the operator's answer: wait for the state.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var b struct {
				State string `json:"state"`
			}
			mustCall(t, "GET", base+"/api/v1/bets/"+acca, token, nil, http.StatusOK).decode(t, &b)
			if b.State == "won" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the accumulator is %q 30 s after both results", b.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
		browsertest.Navigate(t, ctx, base+"/me?tab=won")
		card := textOf(t, ctx, "#bet-"+acca)
		for _, want := range []string{"적중", "9,393 P"} {
			if !strings.Contains(card, want) {
				t.Errorf("the won bet's card lacks %q: %q", want, card)
			}
		}
		wantBalance := group(before.Balance+accaPayout) + " P"
		if got := textOf(t, ctx, ".me-balance"); got != wantBalance {
			t.Errorf("balance after the win %q, want %s", got, wantBalance)
		}
		browsertest.Screenshot(t, ctx, "me-won")
		browsertest.ClickNavigate(t, ctx, "#bet-"+acca+` a[href="/me/bets/`+acca+`"]`)
		receipt := textOf(t, ctx, "main")
		for _, want := range []string{"적중", "2 : 1", "0 : 1", "9,393 P"} {
			if !strings.Contains(receipt, want) {
				t.Errorf("the receipt lacks %q", want)
			}
		}
		browsertest.Screenshot(t, ctx, "receipt")
	})

	step("slip-survives-reload", func(t *testing.T) {
		browsertest.Navigate(t, ctx, mainURL)
		browsertest.Click(t, ctx, fmt.Sprintf(`li.match[data-match=%q] button.pick[data-selection=%q]`, m3.ID, m3.Sel["away"].ID))
		waitEval(t, ctx, "one priced leg", slipReady(1))
		browsertest.Reload(t, ctx)
		waitEval(t, ctx, "the leg back after the reload", slipReady(1))
		if got := textOf(t, ctx, "#slip .slip-leg-match"); !strings.Contains(got, m3.Home) {
			t.Errorf("the leg after the reload reads %q", got)
		}
		// Read in one evaluation: live refresh redraws the rows.
		if p := browsertest.Eval[string](t, ctx, fmt.Sprintf(`document.querySelector('button.pick[data-selection=%q]').getAttribute("aria-pressed")`, m3.Sel["away"].ID)); p != "true" {
			t.Errorf("the chosen price button is not pressed after the reload")
		}
		browsertest.Screenshot(t, ctx, "slip-after-reload")
	})
}

// group writes n with thousands separators, as the pages do.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
