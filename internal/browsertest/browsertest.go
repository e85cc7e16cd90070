// Package browsertest drives the system's Chromium (Debian's `chromium`
// package in CI) through the DevTools protocol for the tests of the web
// pages: a fresh headless browser per test, phone and desktop viewports,
// pages with JavaScript off, full-page screenshots under test-artifacts/,
// axe-core's accessibility check, the horizontal-scroll check, and a
// failure for every console error or CSP violation the page reports.
//
// A test without Chromium skips, unless PB_TEST_REQUIRE lists "browser"
// (internal/testgate), as CI sets it.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/pointsbook/pointsbook/internal/testgate"
)

// Gate is the name under which PB_TEST_REQUIRE makes a missing browser
// (or a missing npm registry for axe-core) fail tests instead of skipping them.
const Gate = "browser"

// PathEnv names a browser binary to use instead of looking one up; it is
// also what Lighthouse reads.
const PathEnv = "CHROME_PATH"

// DefaultTimeout bounds the actions of one test: generous, because CI runs
// the browser tests under the race detector beside the rest of the suite
// on a few cores.
const DefaultTimeout = 2 * time.Minute

// Viewport is the size of the page and whether the browser emulates a
// phone (mobile layout with the page's viewport meta tag, touch events).
type Viewport struct {
	Width, Height int64
	Mobile        bool
}

// The two viewports the product is designed for: a small phone held
// upright, and a laptop.
var (
	Phone   = Viewport{Width: 360, Height: 740, Mobile: true}
	Desktop = Viewport{Width: 1280, Height: 900}
)

func (v Viewport) String() string {
	kind := "desktop"
	if v.Mobile {
		kind = "mobile"
	}
	return fmt.Sprintf("%dx%d %s", v.Width, v.Height, kind)
}

// Option changes how New sets the page up.
type Option func(*settings)

type settings struct {
	viewport      Viewport
	noJavaScript  bool
	timeout       time.Duration
	consoleErrors bool
	ignore        []string
	language      string
}

// WithViewport sets the first viewport of the page (Desktop by default).
func WithViewport(v Viewport) Option { return func(s *settings) { s.viewport = v } }

// WithoutJavaScript turns script execution off for every page the tab
// loads, as a reader with JavaScript disabled sees them. The harness's own
// evaluations (axe, the scroll check, waits) still run: DevTools
// evaluations are not page scripts.
func WithoutJavaScript() Option { return func(s *settings) { s.noJavaScript = true } }

// WithLanguage sets the browser's language and the Accept-Language it
// sends (e.g. "ko-KR,ko" for a Korean player); by default it is
// Chromium's own, American English.
func WithLanguage(acceptLanguage string) Option {
	return func(s *settings) { s.language = acceptLanguage }
}

// WithTimeout replaces DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(s *settings) { s.timeout = d } }

// AllowConsoleErrors stops console errors from failing the test; the test
// reads them with ConsoleErrors instead. For tests of error pages that
// log on purpose, and for the harness's own test.
func AllowConsoleErrors() Option { return func(s *settings) { s.consoleErrors = true } }

// IgnoreConsoleErrors keeps console errors containing any of substrs from
// failing the test (ConsoleErrors still lists them): for a known, named
// gap, such as the browser's own request for /favicon.ico on a page that
// links no icon.
func IgnoreConsoleErrors(substrs ...string) Option {
	return func(s *settings) { s.ignore = append(s.ignore, substrs...) }
}

// page is what the helpers need beside the chromedp context: the test's
// console errors and where its screenshots went.
type page struct {
	browser      context.Context // the tab without the per-test deadline
	noJavaScript bool

	mu          sync.Mutex
	errs        []string
	errAdded    chan struct{} // closed and replaced on every error
	screenshots []string
}

type pageKey struct{}

func pageOf(t testing.TB, ctx context.Context) *page {
	t.Helper()
	p, _ := ctx.Value(pageKey{}).(*page)
	if p == nil {
		t.Fatal("browsertest: the context does not come from browsertest.New")
	}
	return p
}

// FindChromium returns the browser binary: $CHROME_PATH, else the first of
// the usual names on PATH.
func FindChromium() (string, error) {
	if p := os.Getenv(PathEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", PathEnv, p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH and no " + PathEnv + " (Debian: apt-get install --no-install-recommends chromium)")
}

// New starts a headless browser with a fresh profile for t and returns the
// context of its one tab, bounded by DefaultTimeout (or WithTimeout) and
// closed when the test ends. Every console error and CSP violation the
// tab's pages report fails the test (unless AllowConsoleErrors); if the
// test fails, a screenshot of the page as it was is saved and named in the
// log with the others the test took.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	s := settings{viewport: Desktop, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&s)
	}
	bin, err := FindChromium()
	if err != nil {
		testgate.Unavailable(t, Gate, "%v", err)
	}

	allocOpts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		// Root in a container has no user namespaces for the sandbox.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(int(s.viewport.Width), int(s.viewport.Height)),
	)
	if s.language != "" {
		allocOpts = append(allocOpts,
			chromedp.Flag("lang", strings.Split(s.language, ",")[0]),
			chromedp.Flag("accept-lang", s.language))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})

	p := &page{browser: tab, noJavaScript: s.noJavaScript, errAdded: make(chan struct{})}
	tab = context.WithValue(tab, pageKey{}, p)

	// The first Run starts the browser; it is bound to tab, which has no
	// deadline, so that the failure screenshot below can still be taken
	// after the test's own deadline has passed.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("browsertest: start %s: %v", bin, err)
	}
	if s.noJavaScript {
		if err := setScripts(tab, false); err != nil {
			t.Fatalf("browsertest: disable JavaScript: %v", err)
		}
	}
	if err := chromedp.Do(tab, emulateViewport(s.viewport)); err != nil {
		t.Fatalf("browsertest: viewport %v: %v", s.viewport, err)
	}
	p.watchConsole(tab)

	t.Cleanup(func() {
		if !s.consoleErrors {
			var errs []string
			for _, e := range p.consoleErrors() {
				if !slices.ContainsFunc(s.ignore, func(sub string) bool { return strings.Contains(e, sub) }) {
					errs = append(errs, e)
				}
			}
			if len(errs) > 0 {
				t.Errorf("browsertest: the page reported %d console error(s) or CSP violation(s):\n  %s", len(errs), strings.Join(errs, "\n  "))
			}
		}
		if t.Failed() {
			ctx, cancel := context.WithTimeout(p.browser, 15*time.Second)
			defer cancel()
			if path, err := saveScreenshot(ctx, t, "at-failure"); err == nil {
				p.addScreenshot(path)
			} else {
				t.Logf("browsertest: no screenshot at failure: %v", err)
			}
			p.mu.Lock()
			shots := p.screenshots
			p.mu.Unlock()
			if len(shots) > 0 {
				t.Logf("browsertest: screenshots of this test (the last is the page at failure):\n  %s", strings.Join(shots, "\n  "))
			}
		}
	})

	ctx, cancel := context.WithTimeout(tab, s.timeout)
	t.Cleanup(cancel)
	return ctx
}

// setScripts turns the page's script execution on or off.
func setScripts(ctx context.Context, on bool) error {
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
	return err
}

func emulateViewport(v Viewport) chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{}
	if v.Mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2))
	} else {
		opts = append(opts, chromedp.EmulateLandscape)
	}
	return chromedp.EmulateViewport(v.Width, v.Height, opts...)
}

// SetViewport changes the viewport of the tab; the next navigation (or a
// reload) lays the page out for it.
func SetViewport(t testing.TB, ctx context.Context, v Viewport) {
	t.Helper()
	if err := chromedp.Do(ctx, emulateViewport(v)); err != nil {
		t.Fatalf("browsertest: viewport %v: %v", v, err)
	}
}

// watchConsole records every console error, uncaught exception and error
// entry of the browser log (where CSP violations are reported) until the
// tab closes.
func (p *page) watchConsole(ctx context.Context) {
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			text := string(m.Type) + ": " + m.Text
			if m.Source != "" {
				text = string(m.Type) + " (" + m.Source + "): " + m.Text
			}
			if m.URL != "" {
				text += fmt.Sprintf(" [%s:%d]", m.URL, m.Line+1)
			}
			p.mu.Lock()
			p.errs = append(p.errs, text)
			close(p.errAdded)
			p.errAdded = make(chan struct{})
			p.mu.Unlock()
		}
	}()
}

func (p *page) consoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

func (p *page) addScreenshot(path string) {
	p.mu.Lock()
	p.screenshots = append(p.screenshots, path)
	p.mu.Unlock()
}

// ConsoleErrors returns the console errors and CSP violations the tab has
// reported so far, oldest first.
func ConsoleErrors(t testing.TB, ctx context.Context) []string {
	t.Helper()
	return pageOf(t, ctx).consoleErrors()
}

// WaitConsoleError waits until a console error containing substr has been
// reported and returns it; the test fails if none comes before ctx ends.
func WaitConsoleError(t testing.TB, ctx context.Context, substr string) string {
	t.Helper()
	p := pageOf(t, ctx)
	for {
		p.mu.Lock()
		for _, e := range p.errs {
			if strings.Contains(e, substr) {
				p.mu.Unlock()
				return e
			}
		}
		added := p.errAdded
		p.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			t.Fatalf("browsertest: no console error containing %q (have %q): %v", substr, p.consoleErrors(), ctx.Err())
			return ""
		}
	}
}

// RepoRoot is the directory of the go.mod above the working directory
// (a test runs in its package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// ArtifactDir returns test-artifacts/<sub> under the repository root,
// created if needed.
func ArtifactDir(sub string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "test-artifacts", sub)
	return dir, os.MkdirAll(dir, 0o755)
}

// Screenshot saves a full-page PNG of the tab as
// test-artifacts/screenshots/<Test>-<name>.png and returns its path; a
// failing test names it in its log.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	p := pageOf(t, ctx)
	path, err := saveScreenshot(ctx, t, name)
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	p.addScreenshot(path)
	return path
}

func saveScreenshot(ctx context.Context, t testing.TB, name string) (string, error) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	return writeScreenshot(t, name, png)
}

func writeScreenshot(t testing.TB, name string, png []byte) (string, error) {
	dir, err := ArtifactDir("screenshots")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fileName(t.Name()+"-"+name)+".png")
	return path, os.WriteFile(path, png, 0o644)
}

// ViewportScreenshot saves a PNG of what the viewport shows (not the whole
// page) as Screenshot does and returns its bytes and path: the size of
// the pictures in the documentation, where a page 20,000 px long would
// show nothing more useful than its first screen.
func ViewportScreenshot(t testing.TB, ctx context.Context, name string) ([]byte, string) {
	t.Helper()
	p := pageOf(t, ctx)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	path, err := writeScreenshot(t, name, png)
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	p.addScreenshot(path)
	return png, path
}

// fileName keeps letters, digits, '-', '_' and '.' of s (subtests' '/'
// and spaces become '_').
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// SetColorScheme makes the tab's pages see prefers-color-scheme as
// scheme ("light" or "dark"; "" follows the browser again), as a device
// set to a dark theme does. It applies at once, without a reload.
func SetColorScheme(t testing.TB, ctx context.Context, scheme string) {
	t.Helper()
	p := emulation.SetEmulatedMediaParams{}
	if scheme != "" {
		p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, p); err != nil {
		t.Fatalf("browsertest: color scheme %q: %v", scheme, err)
	}
}
