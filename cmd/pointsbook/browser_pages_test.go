package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/browsertest"
)

// pagesSite is a running program with the simulator's matches and a
// player whose pages have something on them: an open accumulator on the
// simulator's matches and a settled bet with its receipt.
type pagesSite struct {
	base, admin string
	simMatch    string // a scheduled simulator match with every market
	simLegs     [2]struct{ match, selection string }
	// player is the signed-in viewer of the player pages, with receipt
	// one of their settled bets.
	player, receipt string
}

// startPagesSite starts the program with the simulator and seeds a
// player named user.
func startPagesSite(t *testing.T) *pagesSite {
	t.Helper()
	_, base := startServer(t, nil)
	s := &pagesSite{base: base, admin: login(t, base, adminUser, adminPassword)}
	var list struct {
		Items []struct {
			ID         string `json:"id"`
			MainMarket *struct {
				Selections []selectionRef `json:"selections"`
			} `json:"main_market"`
		} `json:"items"`
	}
	// Tomorrow (KST) always has scheduled matches; today's may all have
	// kicked off late in the day.
	mustCall(t, "GET", base+"/api/v1/matches?state=scheduled&sport=football&date="+tomorrowKST(), "", nil, http.StatusOK).decode(t, &list)
	var open []int
	for i, m := range list.Items {
		if m.MainMarket != nil && len(m.MainMarket.Selections) > 0 {
			open = append(open, i)
		}
	}
	if len(open) < 2 {
		t.Fatalf("the simulator has %d football matches with prices tomorrow, want 2", len(open))
	}
	s.simMatch = list.Items[open[0]].ID
	for i := range s.simLegs {
		m := list.Items[open[i]]
		s.simLegs[i].match, s.simLegs[i].selection = m.ID, m.MainMarket.Selections[0].ID
	}
	s.player, s.receipt = s.seedPlayer(t, "pagesplayer")
	return s
}

// seedPlayer signs user up with an open two-leg bet on the simulator's
// matches and a won single on an operator's match, and returns their
// session token and the won bet's id.
func (s *pagesSite) seedPlayer(t *testing.T, user string) (token, settled string) {
	t.Helper()
	signup(t, s.base, user)
	token = login(t, s.base, user, playerPassword)
	admin := s.admin
	m := createFlowMatch(t, s.base, admin, "Seoul Tigers", "Busan Gulls")
	placed := placeBet(t, s.base, token, 2000, m.Sel["home"])
	var legs []map[string]string
	for _, l := range s.simLegs {
		var mm struct {
			Markets []struct {
				Selections []selectionRef `json:"selections"`
			} `json:"markets"`
		}
		mustCall(t, "GET", s.base+"/api/v1/matches/"+l.match, "", nil, http.StatusOK).decode(t, &mm)
		for _, mk := range mm.Markets {
			for _, sel := range mk.Selections {
				if sel.ID == l.selection {
					legs = append(legs, map[string]string{"selection_id": sel.ID, "odds": sel.Odds})
				}
			}
		}
	}
	mustCallKey(t, "POST", s.base+"/api/v1/bets", token, map[string]any{"stake": 1500, "legs": legs, "odds_policy": "accept_any"}, http.StatusCreated)
	mustCall(t, "POST", s.base+"/api/v1/admin/matches/"+m.ID+"/result", admin, map[string]int{"home": 3, "away": 1}, http.StatusOK)
	waitBetState(t, s.base, token, placed, "won")
	return token, placed
}

// tomorrowKST is tomorrow's date in Korea, as the main page's ?date=.
func tomorrowKST() string { return time.Now().In(kst).AddDate(0, 0, 1).Format("2006-01-02") }

// placeBet places a single and returns its id.
func placeBet(t *testing.T, base, token string, stake int64, sel selectionRef) string {
	t.Helper()
	var bet struct {
		ID string `json:"id"`
	}
	mustCallKey(t, "POST", base+"/api/v1/bets", token, betSlip(stake, sel), http.StatusCreated).decode(t, &bet)
	return bet.ID
}

// mustCallKey is mustCall with a fresh Idempotency-Key.
func mustCallKey(t *testing.T, method, u, token string, body any, want int) response {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, u, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d", time.Now().UnixNano()))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	r := response{Status: resp.StatusCode, Header: resp.Header}
	if r.Body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	if r.Status != want {
		t.Fatalf("%s %s = %s, want %d", method, u, r, want)
	}
	return r
}

// waitBetState waits (30 s at most) for the settlement behind an
// operator's result to reach the bet.
func waitBetState(t *testing.T, base, token, bet, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var b struct {
			State string `json:"state"`
		}
		mustCall(t, "GET", base+"/api/v1/bets/"+bet, token, nil, http.StatusOK).decode(t, &b)
		if b.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bet %s is %q 30 s after its result, want %q", bet, b.State, want)
		}
		// Polled: settlement is a state to reach; the deadline bounds it.
		time.Sleep(50 * time.Millisecond)
	}
}

type sitePage struct {
	name, path string
	signedIn   bool
	status     int
}

// pages is every page a player sees: the signed-out ones first, then My
// page and its sub-pages.
func (s *pagesSite) pages() []sitePage {
	return []sitePage{
		{"main", "/", false, http.StatusOK},
		{"match", "/matches/" + s.simMatch, false, http.StatusOK},
		{"login", "/login", false, http.StatusOK},
		{"signup", "/signup", false, http.StatusOK},
		{"notfound", "/matches/m_999999999", false, http.StatusNotFound},
		{"me", "/me", true, http.StatusOK},
		{"statement", "/me/statement", true, http.StatusOK},
		{"receipt", "/me/bets/" + s.receipt, true, http.StatusOK},
		{"settings", "/me/settings", true, http.StatusOK},
		{"limits", "/me/limits", true, http.StatusOK},
		{"main-signed-in", "/", true, http.StatusOK},
		{"match-signed-in", "/matches/" + s.simMatch, true, http.StatusOK},
	}
}

// visit walks the pages in one browser, signing in when the first
// player page comes, and calls check on each.
func (s *pagesSite) visit(t *testing.T, ctx context.Context, check func(t *testing.T, p sitePage)) {
	t.Helper()
	signedIn := false
	for _, p := range s.pages() {
		if p.signedIn && !signedIn {
			browsertest.SetCookie(t, ctx, s.base, "pb_session", s.player, true)
			signedIn = true
		}
		if status := browsertest.Navigate(t, ctx, s.base+p.path); status != p.status {
			t.Errorf("%s (%s): status %d, want %d", p.name, p.path, status, p.status)
			continue
		}
		if title := browsertest.Eval[string](t, ctx, `document.title`); title == "" {
			t.Errorf("%s (%s) has no title", p.name, p.path)
		}
		if !browsertest.Exists(t, ctx, "h1") {
			t.Errorf("%s (%s) has no h1", p.name, p.path)
		}
		check(t, p)
	}
}

// notFoundLog is the browser's line for the 404 page the tests open on
// purpose.
const notFoundLog = "status of 404 (Not Found) ["

// TestBrowserPages holds for every page, signed out and in: a title and
// a heading; at 360 px
// nothing scrolls sideways and axe-core finds no serious or critical
// violation, nor on a desktop; with JavaScript off every page renders
// with its heading, the sign-in links and the language switch work as
// plain links and forms, and every link on every page leads to a page
// (one of each kind of address). The README's screenshots are taken on
// the way (screenshotTour, after the phone's and the desktop's rounds). The slip's arithmetic in the browser
// agrees with the server's on every vector of slip-vectors.json.
func TestBrowserPages(t *testing.T) {
	t.Parallel()
	s := startPagesSite(t)

	t.Run("phone", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.New(t, browsertest.WithTimeout(browserBudget), browsertest.WithViewport(browsertest.Phone), browsertest.WithLanguage("ko-KR,ko"),
			browsertest.IgnoreConsoleErrors(notFoundLog+s.base+"/matches/m_999999999"))
		s.visit(t, ctx, func(t *testing.T, p sitePage) {
			browsertest.Screenshot(t, ctx, p.name)
			browsertest.NoHorizontalScroll(t, ctx)
			browsertest.Axe(t, ctx)
		})
		// The README's pictures, in the same browser (one Chromium less).
		screenshotTour(t, ctx, s, "phone", browsertest.Phone)
	})

	t.Run("desktop", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.New(t, browsertest.WithTimeout(browserBudget), browsertest.WithViewport(browsertest.Desktop), browsertest.WithLanguage("en-US,en"),
			browsertest.IgnoreConsoleErrors(notFoundLog+s.base+"/matches/m_999999999"))
		s.visit(t, ctx, func(t *testing.T, p sitePage) {
			browsertest.Screenshot(t, ctx, p.name)
			browsertest.NoHorizontalScroll(t, ctx)
			browsertest.Axe(t, ctx)
			if p.name == "main" {
				slipVectors(t, ctx)
			}
		})
		screenshotTour(t, ctx, s, "desktop", browsertest.Desktop)
	})

	t.Run("dark", func(t *testing.T) {
		t.Parallel()
		// The dark scheme has colours of its own: contrast is checked in it too.
		ctx := browsertest.New(t, browsertest.WithTimeout(browserBudget), browsertest.WithViewport(browsertest.Phone), browsertest.WithLanguage("ko-KR,ko"),
			browsertest.IgnoreConsoleErrors(notFoundLog+s.base+"/matches/m_999999999"))
		browsertest.SetColorScheme(t, ctx, "dark")
		s.visit(t, ctx, func(t *testing.T, p sitePage) {
			if !browsertest.Eval[bool](t, ctx, `matchMedia("(prefers-color-scheme: dark)").matches`) {
				t.Fatalf("the page does not see the dark scheme")
			}
			browsertest.Screenshot(t, ctx, p.name)
			browsertest.Axe(t, ctx)
		})
	})

	t.Run("no-javascript", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.New(t, browsertest.WithTimeout(browserBudget), browsertest.WithViewport(browsertest.Phone), browsertest.WithoutJavaScript(),
			browsertest.WithLanguage("ko-KR,ko"), browsertest.IgnoreConsoleErrors(notFoundLog))
		links := map[string]string{} // kind of address → one address, and where it was found
		s.visit(t, ctx, func(t *testing.T, p sitePage) {
			browsertest.Screenshot(t, ctx, p.name)
			if browsertest.Exists(t, ctx, "h1") && strings.TrimSpace(browsertest.Text(t, ctx, "h1")) == "" {
				t.Errorf("%s without JavaScript: an empty heading", p.name)
			}
			// Without JavaScript the slip says it needs it; nothing else hides.
			for _, href := range browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll("a[href]")].map(a => a.href)`) {
				u, err := url.Parse(href)
				if err != nil || u.Host != strings.TrimPrefix(s.base, "http://") || u.Path == "" {
					continue
				}
				kind := linkKind(u)
				if _, ok := links[kind]; !ok {
					links[kind] = href + "\t" + p.path
				}
			}
		})
		browsertest.NoHorizontalScroll(t, ctx)
		kinds := slices.Sorted(func(yield func(string) bool) {
			for k := range links {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range kinds {
			href, from, _ := strings.Cut(links[k], "\t")
			if status := browsertest.Navigate(t, ctx, href); status != http.StatusOK {
				t.Errorf("without JavaScript the link %s on %s answers %d", href, from, status)
			}
		}
		t.Logf("followed %d kinds of link: %s", len(kinds), strings.Join(kinds, " "))

		// The header's sign-in links are plain links to the pages, and the
		// language switch is a plain form.
		browsertest.SetCookie(t, ctx, s.base, "pb_session", "", true)
		browsertest.Navigate(t, ctx, s.base+"/")
		browsertest.ClickNavigate(t, ctx, `header a[data-modal="login"]`)
		if loc := browsertest.Location(t, ctx); !strings.HasPrefix(loc, s.base+"/login") {
			t.Errorf("without JavaScript the log-in link went to %s", loc)
		}
		browsertest.ClickNavigate(t, ctx, `form.lang button[value="en"]`)
		if lang := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "en" {
			t.Errorf("without JavaScript the language switch left lang=%q", lang)
		}
		browsertest.Screenshot(t, ctx, "login-english")
	})
}

var idSegment = regexp.MustCompile(`^[a-z]+_[0-9A-Za-z]+$`)

// linkKind is an address with its ids and query values blanked: the
// links of 200 match rows are one kind.
func linkKind(u *url.URL) string {
	parts := strings.Split(u.Path, "/")
	for i, p := range parts {
		if idSegment.MatchString(p) {
			parts[i] = "{id}"
		}
	}
	q := u.Query()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	})
	return strings.Join(parts, "/") + "?" + strings.Join(keys, "&")
}

// slipVectors imports the page's slip.js and checks its payout against
// every vector the Go side wrote (internal/web/testdata/slip-vectors.json):
// the slip shows what the server pays.
func slipVectors(t *testing.T, ctx context.Context) {
	t.Helper()
	root, err := browsertest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "internal", "web", "testdata", "slip-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Stake  string   `json:"stake"`
			Odds   []string `json:"odds"`
			Payout *string  `json:"payout"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	vec, _ := json.Marshal(file.Vectors)
	got := browsertest.Eval[[]*string](t, ctx, `(async () => {
  const src = document.querySelector('script[src*="/slip.js"]').src;
  const { payout } = await import(src);
  return `+string(vec)+`.map(v => { const p = payout(BigInt(v.stake), v.odds); return p === null ? null : p.toString(); });
})()`)
	if len(got) != len(file.Vectors) {
		t.Fatalf("slip.js answered %d vectors of %d", len(got), len(file.Vectors))
	}
	for i, v := range file.Vectors {
		want, have := "null", "null"
		if v.Payout != nil {
			want = *v.Payout
		}
		if got[i] != nil {
			have = *got[i]
		}
		if want != have {
			t.Errorf("slip.js payout(%s, %v) = %s, the server pays %s", v.Stake, v.Odds, have, want)
		}
	}
	t.Logf("slip.js agrees with the server on %d vectors", len(file.Vectors))
}
