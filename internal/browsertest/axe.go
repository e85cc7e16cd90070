package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pointsbook/pointsbook/internal/testgate"
)

// AxeVersion is the axe-core release the accessibility check runs. It is
// installed from the npm registry at test time, never committed.
const AxeVersion = "4.14.1"

var axeOnce struct {
	sync.Once
	source string
	err    error
}

// axeSource returns axe.min.js, installing axe-core once per process into
// test-artifacts/npm/axe-core-<version> (kept between runs). Test binaries
// of different packages may install at the same moment: each installs into
// a directory of its own and renames it into place, and a loser of that
// race uses the winner's copy.
func axeSource() (string, error) {
	axeOnce.Do(func() {
		axeOnce.source, axeOnce.err = installAxe()
	})
	return axeOnce.source, axeOnce.err
}

func installAxe() (string, error) {
	dir, err := ArtifactDir("npm")
	if err != nil {
		return "", err
	}
	final := filepath.Join(dir, "axe-core-"+AxeVersion)
	file := func(root string) string { return filepath.Join(root, "node_modules", "axe-core", "axe.min.js") }
	if b, err := os.ReadFile(file(final)); err == nil {
		return string(b), nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm not found (Debian: apt-get install npm): %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(npm, "install", "--prefix", tmp, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "axe-core@"+AxeVersion)
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install axe-core@%s: %v\n%s", AxeVersion, err, out)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process put its copy in place first.
		if _, statErr := os.Stat(file(final)); statErr != nil {
			return "", fmt.Errorf("move axe-core into %s: %w", final, err)
		}
	}
	b, err := os.ReadFile(file(final))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AxeViolation is one rule axe-core found broken, with the elements that
// break it.
type AxeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

func (v AxeViolation) String() string {
	var targets []string
	for _, n := range v.Nodes {
		b, _ := json.Marshal(n.Target)
		targets = append(targets, string(b))
	}
	return fmt.Sprintf("%s (%s): %s — %s\n    at %s", v.ID, v.Impact, v.Help, v.HelpURL, strings.Join(targets, ", "))
}

// Serious reports whether the violation blocks or seriously hinders some
// users (axe-core's impacts "serious" and "critical").
func (v AxeViolation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

// AxeViolations runs axe-core's default rules (WCAG 2.x A and AA and best
// practices) on the page in the tab and returns every violation. When
// axe-core cannot be installed (no npm, no registry) the test skips, or
// fails when PB_TEST_REQUIRE lists "browser".
func AxeViolations(t testing.TB, ctx context.Context) []AxeViolation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		unavailable(t, "axe-core: %v", err)
		return nil
	}
	if p := pageOf(t, ctx); p.noJavaScript {
		// axe-core waits on timers, which do not fire while the page's
		// scripts are off. Turning them on does not run the scripts the
		// page already skipped, and no script of the page has run to set
		// a timer, so the page stays as a reader without JavaScript sees it.
		if err := setScripts(ctx, true); err != nil {
			t.Fatalf("browsertest: enable timers for axe-core: %v", err)
		}
		defer func() {
			if err := setScripts(ctx, false); err != nil {
				t.Errorf("browsertest: disable JavaScript again: %v", err)
			}
		}()
	}
	// Runtime.evaluate is not a page script: the page's CSP, which forbids
	// inline and injected scripts, does not apply to it, and it runs with
	// the page's JavaScript disabled too.
	if _, err := evaluate(ctx, src+"\n;typeof axe", false); err != nil {
		t.Fatalf("browsertest: inject axe-core: %v", err)
	}
	res, err := evaluate(ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, true)
	if err != nil {
		t.Fatalf("browsertest: run axe-core: %v", err)
	}
	var s string
	if err := json.Unmarshal(res, &s); err != nil {
		t.Fatalf("browsertest: axe-core's result %.200s: %v", res, err)
	}
	var vs []AxeViolation
	if err := json.Unmarshal([]byte(s), &vs); err != nil {
		t.Fatalf("browsertest: axe-core's violations %.200s: %v", s, err)
	}
	return vs
}

// Axe fails the test on every serious or critical accessibility violation
// of the page in the tab, each listed with its rule, impact, elements and
// the page that explains it. Minor and moderate ones are logged.
func Axe(t testing.TB, ctx context.Context) {
	t.Helper()
	var serious, other []string
	for _, v := range AxeViolations(t, ctx) {
		if v.Serious() {
			serious = append(serious, v.String())
		} else {
			other = append(other, v.String())
		}
	}
	loc := Location(t, ctx)
	if len(other) > 0 {
		t.Logf("axe-core on %s: %d minor or moderate violation(s):\n  %s", loc, len(other), strings.Join(other, "\n  "))
	}
	if len(serious) > 0 {
		t.Errorf("axe-core on %s: %d serious or critical violation(s):\n  %s", loc, len(serious), strings.Join(serious, "\n  "))
	}
}

// evaluate runs expr in the page and returns its JSON value; a thrown
// exception is an error.
func evaluate(ctx context.Context, expr string, await bool) (json.RawMessage, error) {
	p := runtime.EvaluateParams{Expression: expr, ReturnByValue: new(true)}
	if await {
		p.AwaitPromise = new(true)
	}
	r, err := chromedp.Call(ctx, runtime.Evaluate, p)
	if err != nil {
		return nil, err
	}
	if r.ExceptionDetails != nil {
		return nil, &chromedp.ExceptionError{ExceptionDetails: r.ExceptionDetails}
	}
	if r.Result == nil {
		return nil, errors.New("no result")
	}
	return json.RawMessage(r.Result.Value), nil
}

// NoHorizontalScroll fails the test when the page is wider than the
// viewport (documentElement.scrollWidth > clientWidth), naming the
// widest elements that stick out.
func NoHorizontalScroll(t testing.TB, ctx context.Context) {
	t.Helper()
	var r struct {
		ScrollWidth int      `json:"scrollWidth"`
		ClientWidth int      `json:"clientWidth"`
		Culprits    []string `json:"culprits"`
	}
	raw, err := evaluate(ctx, `(() => {
  const d = document.documentElement, w = d.clientWidth;
  const culprits = [];
  for (const el of document.body ? document.body.querySelectorAll("*") : []) {
    const b = el.getBoundingClientRect();
    if (b.right > w + 0.5 && culprits.length < 5) {
      culprits.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.classList.length ? "." + [...el.classList].join(".") : "") + " right=" + Math.round(b.right));
    }
  }
  return {scrollWidth: d.scrollWidth, clientWidth: w, culprits};
})()`, false)
	if err != nil {
		t.Fatalf("browsertest: measure the page width: %v", err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("browsertest: page width %s: %v", raw, err)
	}
	if r.ScrollWidth > r.ClientWidth {
		t.Errorf("horizontal scrolling on %s: the page is %d px wide in a %d px viewport; sticking out: %s",
			Location(t, ctx), r.ScrollWidth, r.ClientWidth, strings.Join(r.Culprits, ", "))
	}
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	testgate.Unavailable(t, Gate, format, args...)
}
