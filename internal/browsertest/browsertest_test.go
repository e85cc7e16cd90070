package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// csp is as strict as the product's: no inline script or style.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'"

func doc(title, body string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + title + `</title><link rel="stylesheet" href="/site.css"></head>
<body><main><h1>` + title + `</h1>` + body + `</main></body></html>`
}

// site is a tiny site under the strict CSP: one page of each kind the
// harness must tell apart.
func site(t *testing.T) *httptest.Server {
	pages := map[string]string{
		"/ok":     doc("Fine", `<p>Nothing wrong here.</p><form action="/ok"><label for="q">Name</label> <input id="q" name="q"> <button id="go" type="submit">Go</button></form>`),
		"/inline": doc("Inline", `<p>An inline script the CSP must refuse.</p><script>document.title = "inline script ran"</script>`),
		"/noalt":  doc("No alt", `<p>An image without a text alternative.</p><img src="/pixel.svg" width="10" height="10">`),
		"/wide":   doc("Wide", `<div class="wide">500 px wide</div>`),
		"/script": doc("Script", `<p id="out">no script</p><script src="/app.js"></script>`),
		"/logs":   doc("Logs", `<p>Logs an error.</p><script src="/log-error.js"></script>`),
	}
	static := map[string][2]string{
		"/site.css":     {"text/css", `body{margin:0;font-family:system-ui,sans-serif} .wide{width:500px}`},
		"/pixel.svg":    {"image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>`},
		"/app.js":       {"text/javascript", `document.getElementById("out").textContent = "script ran";`},
		"/log-error.js": {"text/javascript", `console.error("deliberate error");`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if p, ok := pages[r.URL.Path]; ok {
			if r.URL.Path == "/ok" {
				http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3cret", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, p)
			return
		}
		if s, ok := static[r.URL.Path]; ok {
			w.Header().Set("Content-Type", s[0])
			fmt.Fprint(w, s[1])
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recorder collects a helper's Errorf calls instead of failing the test,
// so the test can check that the helper would have failed it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCleanPagePasses(t *testing.T) {
	t.Parallel()
	srv := site(t)
	ctx := New(t, WithViewport(Phone))
	if got := Navigate(t, ctx, srv.URL+"/ok"); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	Axe(t, ctx)
	NoHorizontalScroll(t, ctx)
	if w := Eval[int](t, ctx, `document.documentElement.clientWidth`); w != int(Phone.Width) {
		t.Errorf("viewport width %d, want %d", w, Phone.Width)
	}
	if !Eval[bool](t, ctx, `matchMedia("(pointer: coarse)").matches`) {
		t.Errorf("the phone viewport has no touch screen")
	}

	// The helpers a flow test uses.
	c, ok := Cookie(t, ctx, srv.URL, "session")
	if !ok || c.Value != "s3cret" || !c.HTTPOnly {
		t.Errorf("session cookie = %+v, %v", c, ok)
	}
	SetCookie(t, ctx, srv.URL, "lang", "en", false)
	if c, ok := Cookie(t, ctx, srv.URL+"/ok", "lang"); !ok || c.Value != "en" {
		t.Errorf("lang cookie = %+v, %v", c, ok)
	}
	WaitVisible(t, ctx, "#q")
	Type(t, ctx, "#q", `Kim "<b>"`)
	if got := Value(t, ctx, "#q"); got != `Kim "<b>"` {
		t.Errorf("typed value %q", got)
	}
	if got := Text(t, ctx, "h1"); got != "Fine" {
		t.Errorf("h1 %q", got)
	}
	if got := ClickNavigate(t, ctx, "#go"); got != http.StatusOK {
		t.Errorf("after submit: status %d", got)
	}
	if loc := Location(t, ctx); !strings.Contains(loc, "q=Kim") {
		t.Errorf("after submit: at %s", loc)
	}
	if Exists(t, ctx, "#nothing") || !Exists(t, ctx, "main h1") {
		t.Errorf("Exists is wrong")
	}
	path := Screenshot(t, ctx, "ok")
	if b, err := os.ReadFile(path); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("screenshot %s: %v", path, err)
	}
	if !strings.Contains(path, "test-artifacts/screenshots/TestCleanPagePasses-ok.png") {
		t.Errorf("screenshot path %s", path)
	}
	if errs := ConsoleErrors(t, ctx); len(errs) != 0 {
		t.Errorf("console errors on a clean page: %q", errs)
	}
}

func TestCSPViolationIsCaught(t *testing.T) {
	t.Parallel()
	srv := site(t)
	ctx := New(t, AllowConsoleErrors())
	Navigate(t, ctx, srv.URL+"/inline")
	msg := WaitConsoleError(t, ctx, "Content Security Policy")
	t.Logf("reported: %s", msg)
	if title := Eval[string](t, ctx, `document.title`); title != "Inline" {
		t.Errorf("the inline script ran under the CSP: title %q", title)
	}
}

func TestConsoleErrorFailsTheTest(t *testing.T) {
	t.Parallel()
	srv := site(t)
	r := &recorder{TB: t}
	// Registered before New, so it runs after New's own cleanup, which
	// reports the console errors.
	t.Cleanup(func() {
		if len(r.errs) != 1 || !strings.Contains(r.errs[0], "deliberate error") {
			t.Errorf("a console error did not fail the test: %q", r.errs)
		}
	})
	ctx := New(r, IgnoreConsoleErrors("/favicon.ico", "unrelated"))
	Navigate(t, ctx, srv.URL+"/logs")
	WaitConsoleError(t, ctx, "deliberate error")
}

func TestAxeFindsMissingAlt(t *testing.T) {
	t.Parallel()
	srv := site(t)
	ctx := New(t)
	Navigate(t, ctx, srv.URL+"/noalt")
	// The injected script really ran although the CSP forbids it.
	if got := Eval[string](t, ctx, `typeof axe`); got != "undefined" {
		t.Fatalf("axe is on the page before injection: %s", got)
	}
	var found bool
	for _, v := range AxeViolations(t, ctx) {
		if v.ID == "image-alt" {
			found = v.Serious() && len(v.Nodes) == 1
			t.Logf("found: %s", v)
		}
	}
	if !found {
		t.Fatalf("axe-core did not report the <img> without alt as serious or critical")
	}
	r := &recorder{TB: t}
	Axe(r, ctx)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "image-alt") || !strings.Contains(r.errs[0], "dequeuniversity.com") {
		t.Errorf("Axe did not fail the test with the rule and its help: %q", r.errs)
	}
	if got := Eval[string](t, ctx, `typeof axe`); got != "object" {
		t.Errorf("after Axe: typeof axe = %s", got)
	}
}

func TestHorizontalScrollIsCaught(t *testing.T) {
	t.Parallel()
	srv := site(t)
	ctx := New(t, WithViewport(Phone))
	Navigate(t, ctx, srv.URL+"/wide")
	r := &recorder{TB: t}
	NoHorizontalScroll(r, ctx)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "div.wide") {
		t.Errorf("a 500 px div at 360 px did not fail the check: %q", r.errs)
	}
	// The same page fits a desktop.
	SetViewport(t, ctx, Desktop)
	Navigate(t, ctx, srv.URL+"/wide")
	NoHorizontalScroll(t, ctx)
}

func TestWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := site(t)
	ctx := New(t, WithoutJavaScript())
	Navigate(t, ctx, srv.URL+"/script")
	if got := Text(t, ctx, "#out"); got != "no script" {
		t.Errorf("the page's script ran with JavaScript off: %q", got)
	}
	// The harness's own evaluations still work, and leave scripts off.
	Axe(t, ctx)
	NoHorizontalScroll(t, ctx)
	Navigate(t, ctx, srv.URL+"/script")
	if got := Text(t, ctx, "#out"); got != "no script" {
		t.Errorf("the page's script ran after Axe with JavaScript off: %q", got)
	}

	on := New(t)
	Navigate(t, on, srv.URL+"/script")
	if got := Text(t, on, "#out"); got != "script ran" {
		t.Errorf("the page's script did not run with JavaScript on: %q", got)
	}
}
