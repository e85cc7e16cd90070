package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/server"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/web"
)

// site is the real site over a fresh SQLite database: the pages, the
// JSON API they call and the root handler's headers, on a test server,
// with a settable clock.
type site struct {
	t     *testing.T
	db    *sqlstore.DB
	auth  *account.Auth
	srv   *httptest.Server
	clock *clocktest.Clock
	logs  *logtest.Buffer
}

var fastHash = account.HashParams{MemoryKiB: 1024, Time: 1, Threads: 1}

// testNow is a fixed instant: 2026-12-08 10:00 in Seoul.
var testNow = time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteCached(t, 0)
}

// newSiteCached is newSite with the store's list cache kept for ttl.
func newSiteCached(t *testing.T, ttl time.Duration) *site {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db"), ListCacheTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := clocktest.New(testNow)
	db.Now = func() time.Time { return clock.Now().Truncate(time.Microsecond) }
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auth := account.NewAuth(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: 24 * time.Hour, Hash: fastHash, Now: clock.Now}, log)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	w, err := web.New(db, web.Options{Auth: auth, Catalog: cat, Log: log, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(db, api.Options{Auth: auth}, log)
	srv := httptest.NewServer(server.Handler(a.Handler(), w.Handler(), server.Readiness{DB: db}, nil, nil, log))
	t.Cleanup(srv.Close)
	return &site{t: t, db: db, auth: auth, srv: srv, clock: clock, logs: logs}
}

// match creates a match with a 1x2 market (a moneyline one for sports
// without draws) kicking off at at.
func (s *site) match(sportSlug, league, home, away string, at time.Time) *betting.Match {
	s.t.Helper()
	kind, prices := betting.OneXTwo, map[string]odds.Odds{"home": 205, "draw": 330, "away": 350}
	if sportSlug == "baseball" || sportSlug == "basketball" {
		kind, prices = betting.Moneyline, map[string]odds.Odds{"home": 180, "away": 200}
	}
	mk, err := betting.NewMarket(kind, nil, prices)
	if err != nil {
		s.t.Fatal(err)
	}
	m, err := s.db.CreateMatch(context.Background(), betting.NewMatch{Sport: sportSlug, League: league, Home: home, Away: away,
		KickoffAt: at, Markets: []*betting.Market{mk}})
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// browser is one visitor: its own cookies, the language it asks for, and
// the CSRF token of the last page it loaded. It does not follow
// redirects, so tests see them.
type browser struct {
	s      *site
	c      *http.Client
	accept string
	csrf   string
}

func (s *site) browser(acceptLanguage string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, accept: acceptLanguage, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer as a browser sees it.
type page struct {
	Status int
	Header http.Header
	Body   string
}

var csrfAttr = regexp.MustCompile(`data-csrf="([^"]*)"`)

func (b *browser) do(req *http.Request) *page {
	b.s.t.Helper()
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if b.accept != "" {
		req.Header.Set("Accept-Language", b.accept)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	p := &page{Status: res.StatusCode, Header: res.Header, Body: string(body)}
	if m := csrfAttr.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	return p
}

// get loads a page.
func (b *browser) get(path string) *page {
	b.s.t.Helper()
	req, _ := http.NewRequest("GET", b.s.srv.URL+path, nil)
	return b.do(req)
}

// post submits a form as a page of the site would, with the CSRF token of
// the last page loaded (load one first).
func (b *browser) post(path string, form url.Values) *page {
	b.s.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf_token") {
		form.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs a new player up (nickname = username unless given) and
// gives this browser their session cookie.
func (b *browser) signIn(username string, nickname ...string) *account.User {
	b.s.t.Helper()
	nick := username
	if len(nickname) > 0 {
		nick = nickname[0]
	}
	ctx := context.Background()
	u, err := b.s.auth.SignUp(ctx, account.Signup{Username: username, Password: "long-password-1", Email: username + "@example.com", Nickname: nick})
	if err != nil {
		b.s.t.Fatal(err)
	}
	in, err := b.s.auth.LogIn(ctx, username, "long-password-1", netip.MustParseAddr("192.0.2.1"))
	if err != nil {
		b.s.t.Fatal(err)
	}
	base, _ := url.Parse(b.s.srv.URL)
	b.c.Jar.SetCookies(base, []*http.Cookie{{Name: edge.SessionCookie, Value: in.Token, Path: "/"}})
	return u
}

var clientAddr = netip.MustParseAddr("192.0.2.1")

// setSession gives this browser a session cookie.
func (b *browser) setSession(token string) {
	base, _ := url.Parse(b.s.srv.URL)
	b.c.Jar.SetCookies(base, []*http.Cookie{{Name: edge.SessionCookie, Value: token, Path: "/"}})
}

func regexpFind(s, expr string) string {
	if m := regexp.MustCompile(expr).FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}
