package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/browsertest"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// untilTrue evaluates a boolean expression in the page until it holds,
// calling between the tries (when not nil): a full-value event published
// again is harmless, so a test can publish until the page has subscribed
// without guessing when that was.
func untilTrue(t *testing.T, ctx context.Context, expr string, d time.Duration, between func()) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if browsertest.Eval[bool](t, ctx, expr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		if between != nil {
			between()
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// A score published on the bus — as ingestion publishes it — reaches the
// main page over its WebSocket and changes the row's score in place,
// without a reload.
func TestBrowserLiveScore(t *testing.T) {
	t.Parallel()
	m, base := startServer(t, noFeed)
	admin := login(t, base, adminUser, adminPassword)
	matchID, _ := createMatch(t, base, admin)
	kst, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().Add(3 * time.Hour).In(kst).Format(time.DateOnly)

	ctx := browsertest.New(t, browsertest.WithViewport(browsertest.Phone))
	if status := browsertest.Navigate(t, ctx, base+"/?sport=football&date="+day); status != http.StatusOK {
		t.Fatalf("main page: status %d", status)
	}
	row := `document.querySelector('li.match[data-match="` + matchID + `"] [data-score]')`
	if got := browsertest.Eval[string](t, ctx, row+`?.textContent ?? "no row"`); got != "vs" {
		t.Fatalf("the match's row shows %q before the goal, want vs", got)
	}
	// A marker the page loses if it reloads.
	browsertest.Eval[bool](t, ctx, `(window.__noReload = true)`)

	ev := live.New(live.MatchScore, live.LobbyChannel("football"), live.ScoreData{Match: matchID,
		Score: &sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}}})
	publish := func() {
		if err := m.bus.bus.Publish(context.Background(), ev); err != nil {
			t.Errorf("publish: %v", err)
		}
	}
	publish()
	if !untilTrue(t, ctx, row+`.textContent === "2 : 1"`, 20*time.Second, publish) {
		t.Fatalf("the row still shows %q", browsertest.Eval[string](t, ctx, row+`.textContent`))
	}
	if !browsertest.Eval[bool](t, ctx, `window.__noReload === true`) {
		t.Errorf("the page reloaded to show the score")
	}
	browsertest.Screenshot(t, ctx, "live-score")
}

// A chat message sent from one player's browser appears in another's,
// as text (the HTML in it is not interpreted); a visitor's panel offers
// "log in to chat" instead of the form.
func TestBrowserLiveChat(t *testing.T) {
	t.Parallel()
	m, base := startServer(t, noFeed)
	admin := login(t, base, adminUser, adminPassword)
	matchID, _ := createMatch(t, base, admin)
	page := base + "/matches/" + matchID
	ids := map[string]string{}

	open := func(username string, vp browsertest.Viewport) context.Context {
		ctx := browsertest.New(t, browsertest.WithViewport(vp))
		if username != "" {
			ids[username] = signup(t, base, username)
			browsertest.SetCookie(t, ctx, base, edge.SessionCookie, login(t, base, username, playerPassword), true)
		}
		if status := browsertest.Navigate(t, ctx, page); status != http.StatusOK {
			t.Fatalf("match page: status %d", status)
		}
		return ctx
	}
	alice, bob, visitor := open("alice", browsertest.Desktop), open("bobby", browsertest.Phone), open("", browsertest.Phone)

	// The form shows once the socket is open.
	for _, ctx := range []context.Context{alice, bob} {
		browsertest.WaitVisible(t, ctx, "[data-chat-form] input")
	}
	if browsertest.Exists(t, visitor, "[data-chat-form]") || !browsertest.Exists(t, visitor, ".chat-login a") {
		t.Errorf("a visitor's chat panel has a form or no log-in link")
	}
	// The visitor watches too: the room's head-count reaches 3.
	if !untilTrue(t, visitor, `/3/.test(document.querySelector("[data-chat-presence]").textContent)`, 15*time.Second, nil) {
		t.Errorf("head-count: %q", browsertest.Text(t, visitor, "[data-chat-presence]"))
	}

	const text = `<b>골!</b> & "hi"`
	browsertest.Type(t, alice, "[data-chat-form] input", text)
	browsertest.Click(t, alice, "[data-chat-form] button")
	last := `document.querySelector(".chat-log li.chat-msg:last-child .chat-text")`
	for name, ctx := range map[string]context.Context{"bob": bob, "visitor": visitor, "alice": alice} {
		if !untilTrue(t, ctx, last+`?.textContent === `+jsQuote(text), 15*time.Second, nil) {
			t.Fatalf("%s: the last message is %q", name, browsertest.Eval[string](t, ctx, last+`?.textContent ?? ""`))
		}
		if browsertest.Eval[bool](t, ctx, last+`.querySelector("b") !== null`) {
			t.Errorf("%s: the message's HTML was interpreted", name)
		}
	}
	// Bob may report Alice's message; Alice has no button on her own.
	if !browsertest.Exists(t, bob, ".chat-log li.chat-msg:last-child .chat-report") {
		t.Errorf("bob has no report button on alice's message")
	}
	if browsertest.Exists(t, alice, ".chat-log li.chat-msg:last-child .chat-report") {
		t.Errorf("alice may report her own message")
	}
	browsertest.Screenshot(t, bob, "live-chat")
	browsertest.NoHorizontalScroll(t, bob)
	browsertest.Axe(t, bob)
	browsertest.Axe(t, visitor)

	// A bet settled for bob reaches his own channel on the same socket:
	// a polite notice with the payout.
	won := live.New(live.BetSettled, live.UserChannel(ids["bobby"]), live.BetSettledData{Bet: "b_1", State: "won", Payout: 2050, Version: 1})
	if err := m.bus.bus.Publish(context.Background(), won); err != nil {
		t.Fatal(err)
	}
	notice := `document.querySelector("[data-live-notice]")`
	if !untilTrue(t, bob, notice+`.textContent === "Bet won +2,050 P"`, 15*time.Second, nil) {
		t.Fatalf("bob's notice: %q", browsertest.Eval[string](t, bob, notice+`.textContent`))
	}
	if browsertest.Eval[string](t, bob, notice+`.getAttribute("role")`) != "status" {
		t.Errorf("the notice is not a polite status")
	}
	if browsertest.Eval[string](t, alice, notice+`.textContent`) != "" {
		t.Errorf("alice was told of bob's bet")
	}
	browsertest.Screenshot(t, bob, "live-notice")
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
