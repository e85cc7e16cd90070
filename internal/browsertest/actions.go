package browsertest

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The helpers below fail the test on any error, so a flow test reads as
// the steps a player takes. Selectors are CSS selectors.

// Navigate loads url, waits for its load event and returns the HTTP status
// of the document.
func Navigate(t testing.TB, ctx context.Context, url string) int {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("browsertest: navigate to %s: %v", url, err)
	}
	if resp == nil {
		t.Fatalf("browsertest: navigate to %s: no response", url)
	}
	return int(resp.Status)
}

// Location returns the URL of the page in the tab.
func Location(t testing.TB, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("browsertest: location: %v", err)
	}
	return loc
}

// WaitVisible waits until an element matching sel is in the page and
// visible.
func WaitVisible(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("browsertest: wait for %s to be visible: %v", sel, err)
	}
}

// WaitGone waits until no element matches sel.
func WaitGone(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitNotPresent(chromedp.CSS(sel))); err != nil {
		t.Fatalf("browsertest: wait for %s to go: %v", sel, err)
	}
}

// Exists reports whether an element matches sel now, without waiting.
func Exists(t testing.TB, ctx context.Context, sel string) bool {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`) !== null`))
	if err != nil {
		t.Fatalf("browsertest: query %s: %v", sel, err)
	}
	return n
}

// Click clicks the first visible element matching sel (waiting for it),
// as a mouse does. A click that loads a new page: ClickNavigate.
func Click(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		t.Fatalf("browsertest: click %s: %v", sel, err)
	}
}

// ClickNavigate clicks sel, waits for the page it loads and returns its
// HTTP status.
func ClickNavigate(t testing.TB, ctx context.Context, sel string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("browsertest: click %s and wait for the next page: %v", sel, err)
	}
	if resp == nil {
		t.Fatalf("browsertest: click %s: no page loaded", sel)
	}
	return int(resp.Status)
}

// Tap touches sel (needs the Phone viewport's touch emulation).
func Tap(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Tap(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		t.Fatalf("browsertest: tap %s: %v", sel, err)
	}
}

// Type replaces the value of the field sel with text, typed key by key so
// that the page's input handlers run.
func Type(t testing.TB, ctx context.Context, sel, text string) {
	t.Helper()
	// chromedp.Clear empties the value attribute, which no longer holds
	// what a field shows once someone has typed into it: the property is
	// what must go.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("browsertest: type into %s: %v", sel, err)
	}
	if _, err := evaluate(ctx, `document.querySelector(`+jsString(sel)+`).value = ""`, false); err != nil {
		t.Fatalf("browsertest: empty %s: %v", sel, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible),
	); err != nil {
		t.Fatalf("browsertest: type into %s: %v", sel, err)
	}
}

// Value returns the current value of the form field sel.
func Value(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("browsertest: value of %s: %v", sel, err)
	}
	return v
}

// Text returns the visible text of the first element matching sel,
// waiting for it to be present.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	// One evaluation finds the element and reads it: scripts that redraw
	// a part of the page (the slip, live refresh) replace elements, and
	// a node looked up first and read later may be gone by then.
	// The answer is an object, which is truthy even for an empty text.
	r, err := chromedp.Run(ctx, chromedp.Poll[struct {
		Text string `json:"text"`
	}](`(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? {text: e.innerText} : null; })()`,
		chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		t.Fatalf("browsertest: text of %s: %v", sel, err)
	}
	return r.Text
}

// Attribute returns the attribute name of the first element matching sel
// and whether it is set.
func Attribute(t testing.TB, ctx context.Context, sel, name string) (string, bool) {
	t.Helper()
	a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("browsertest: attribute %s of %s: %v", name, sel, err)
	}
	return a.Value, a.Exists
}

// Eval evaluates a JavaScript expression in the page and decodes its JSON
// result into T.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browsertest: evaluate %.80q: %v", expr, err)
	}
	return v
}

// Cookie returns the cookie name the browser would send to pageURL
// (HttpOnly ones included) and whether there is one.
func Cookie(t testing.TB, ctx context.Context, pageURL, name string) (*network.Cookie, bool) {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{pageURL}})
	if err != nil {
		t.Fatalf("browsertest: cookies of %s: %v", pageURL, err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// SetCookie stores a cookie for pageURL's origin (path /), as if the site
// had set it; httpOnly marks it as the server's own.
func SetCookie(t testing.TB, ctx context.Context, pageURL, name, value string, httpOnly bool) {
	t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatalf("browsertest: cookie URL %q: %v", pageURL, err)
	}
	_, err = chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: name, Value: value, URL: u.Scheme + "://" + u.Host + "/", Path: "/",
		HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
	})
	if err != nil {
		t.Fatalf("browsertest: set cookie %s: %v", name, err)
	}
}

// jsString quotes s as a JavaScript string literal (JSON's strings are
// JavaScript's, and encoding/json escapes U+2028 and U+2029 too).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// DoubleClick double-clicks the first visible element matching sel, as an
// impatient player does on a button.
func DoubleClick(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.DoubleClick(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		t.Fatalf("browsertest: double-click %s: %v", sel, err)
	}
}

// Press sends keys to the focused element (kb's names for special keys:
// kb.Tab is "\t", kb.Escape "\u001b", kb.Enter "\r").
func Press(t testing.TB, ctx context.Context, keys string, opts ...chromedp.KeyOption) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys, opts...)); err != nil {
		t.Fatalf("browsertest: press %q: %v", keys, err)
	}
}

// Reload reloads the page in the tab and waits for its load event.
func Reload(t testing.TB, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatalf("browsertest: reload: %v", err)
	}
}
