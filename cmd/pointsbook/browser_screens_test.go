package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/pointsbook/pointsbook/internal/browsertest"
)

// -update-screenshots rewrites docs/screenshots/ (linked from the README)
// from what screenshotTour sees; without it the pictures only go to
// test-artifacts/screenshots/.
var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite docs/screenshots/ from the browser tests")

// screenshotTour takes the README's pictures in one viewport, Korean then
// English: the sign-in modal (signed out), then as a player with bets the
// main page, a match, the slip with two legs (the drawer open on a
// phone), My page and the statement. Each is what the viewport shows,
// not the whole page. The tour is a test too: no console error, and
// every step's element must appear. It runs in the tab of ctx (whose
// viewport is vp) as a player of its own, since it switches languages.
func screenshotTour(t *testing.T, ctx context.Context, s *pagesSite, kind string, vp browsertest.Viewport) {
	token, _ := s.seedPlayer(t, "tour"+kind)
	shot := func(lang, name string) {
		t.Helper()
		png, _ := browsertest.ViewportScreenshot(t, ctx, lang+"-"+name)
		if !*updateScreenshots {
			return
		}
		root, err := browsertest.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, kind+"-"+lang+"-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setLang := func(lang string) {
		t.Helper()
		browsertest.ClickNavigate(t, ctx, `form.lang button[value="`+lang+`"]`)
	}

	browsertest.SetCookie(t, ctx, s.base, "pb_session", "", true)
	browsertest.Navigate(t, ctx, s.base+"/")
	for _, lang := range []string{"ko", "en"} {
		setLang(lang)
		browsertest.Click(t, ctx, `header a[data-modal="login"]`)
		browsertest.WaitVisible(t, ctx, "#m-login-username")
		shot(lang, "signin")
		browsertest.Click(t, ctx, "#auth-modal [data-close]")
	}

	browsertest.SetCookie(t, ctx, s.base, "pb_session", token, true)
	for _, lang := range []string{"ko", "en"} {
		browsertest.Navigate(t, ctx, s.base+"/")
		setLang(lang)
		shot(lang, "main")

		browsertest.Navigate(t, ctx, s.base+"/matches/"+s.simMatch)
		shot(lang, "match")

		slipTour(t, ctx, s, vp)
		shot(lang, "slip")
		browsertest.Axe(t, ctx) // the slip filled in (the drawer open on a phone)
		if vp.Mobile {
			// The drawer is a dialog: Escape closes it and the focus goes
			// back to the bar that opened it.
			browsertest.Press(t, ctx, kb.Escape)
			waitEval(t, ctx, "the drawer to close", `!document.getElementById("slip").classList.contains("open")`)
			if !browsertest.Eval[bool](t, ctx, `document.activeElement === document.querySelector("[data-slip-bar]")`) {
				t.Errorf("after Escape the focus is on %s, want the slip's bar",
					browsertest.Eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
			}
		}
		browsertest.Eval[bool](t, ctx, `(() => { localStorage.clear(); return true })()`)

		browsertest.Navigate(t, ctx, s.base+"/me")
		shot(lang, "me")
		browsertest.Navigate(t, ctx, s.base+"/me/statement")
		shot(lang, "statement")
	}
}

// slipTour puts the two seeded simulator legs in the slip from the main
// page (tomorrow's list, which always has open prices) with a stake, and
// opens the drawer on a phone.
func slipTour(t *testing.T, ctx context.Context, s *pagesSite, vp browsertest.Viewport) {
	t.Helper()
	browsertest.Navigate(t, ctx, s.base+"/?sport=football&date="+tomorrowKST())
	for _, l := range s.simLegs {
		browsertest.Click(t, ctx, `li.match[data-match="`+l.match+`"] button.pick[data-selection="`+l.selection+`"]`)
	}
	waitEval(t, ctx, "two priced legs in the slip", slipReady(2))
	if vp.Mobile {
		browsertest.Click(t, ctx, "[data-slip-bar]")
		browsertest.WaitVisible(t, ctx, "#slip-stake")
	}
	browsertest.Type(t, ctx, "#slip-stake", "10000")
	waitEval(t, ctx, "the potential return", `document.querySelector("[data-slip-return]").textContent !== "–"`)
}
