package main

import (
	"net/http"
	"testing"

	"github.com/pointsbook/pointsbook/internal/browsertest"
)

// TestBrowserFrontPage opens the front page of the real program (SQLite,
// the simulator's fixtures) in Chromium on a phone and on a desktop: it
// answers 200, has a title and a heading, reports no console error or CSP
// violation, fits the viewport and has no serious accessibility
// violation. The pages' own flows have their own browser tests; this one
// holds for whatever `/` shows.
func TestBrowserFrontPage(t *testing.T) {
	t.Parallel()
	_, base := startServer(t, nil)
	for _, v := range []struct {
		name string
		vp   browsertest.Viewport
	}{{"phone", browsertest.Phone}, {"desktop", browsertest.Desktop}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			ctx := browsertest.New(t, browsertest.WithViewport(v.vp),
				// The placeholder page links no icon, so the browser asks
				// for /favicon.ico, which is a 404 until the web pages
				// serve one; any other console error fails the test.
				browsertest.IgnoreConsoleErrors("/favicon.ico"))
			if status := browsertest.Navigate(t, ctx, base+"/"); status != http.StatusOK {
				t.Fatalf("GET / in the browser: status %d", status)
			}
			browsertest.Screenshot(t, ctx, "front")
			if title := browsertest.Eval[string](t, ctx, `document.title`); title == "" {
				t.Errorf("the front page has no title")
			}
			if !browsertest.Exists(t, ctx, "h1") {
				t.Errorf("the front page has no h1")
			}
			browsertest.NoHorizontalScroll(t, ctx)
			browsertest.Axe(t, ctx)
		})
	}
}
