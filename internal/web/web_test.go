package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Every page answers with the security headers and in the viewer's
// language.
func TestMainPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.match("football", "K League 1", "Ulsan <b>HD</b>", "Jeonbuk", testNow.Add(12*time.Minute))
	s.match("football", "K League 1", "Pohang", "Seoul", testNow.Add(3*time.Hour))
	s.match("baseball", "KBO", "Doosan", "LG", testNow.Add(2*time.Hour))
	for _, tt := range []struct {
		accept string
		want   []string
	}{
		{"", []string{`lang="ko"`, "축구", "K League 1", "12분 후", "10:12 (KST)", "승", "무", "패", "2.05", "2경기"}},
		{"en-US,en;q=0.9", []string{`lang="en"`, "Football", "in 12 min", "10:12 (KST)", "Home", "Draw", "2 matches"}},
	} {
		p := s.browser(tt.accept).get("/")
		if p.Status != 200 {
			t.Fatalf("%q: status %d", tt.accept, p.Status)
		}
		for _, w := range tt.want {
			if !strings.Contains(p.Body, w) {
				t.Errorf("%q: page lacks %q", tt.accept, w)
			}
		}
		if strings.Contains(p.Body, "<b>HD</b>") || !strings.Contains(p.Body, "Ulsan &lt;b&gt;HD&lt;/b&gt;") {
			t.Errorf("team name not escaped")
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, " onclick=") {
			t.Errorf("inline script, style or handler in the page")
		}
	}
	p := s.browser("").get("/?sport=baseball")
	if !strings.Contains(p.Body, "Doosan") || strings.Contains(p.Body, "Pohang") {
		t.Errorf("sport filter: %s", p.Body)
	}
	if p := s.browser("").get("/?sport=football&date=2026-12-09"); p.Status != 200 || !strings.Contains(p.Body, "이 날에는 경기가 없습니다") {
		t.Errorf("empty day: %d", p.Status)
	}
}

func TestNotFoundAndBadInput(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for _, path := range []string{"/?sport=golf", "/?date=2026-13-01", "/?date=yesterday", "/nowhere", "/bet?id=x1", "/?sport=%ff"} {
		for accept, want := range map[string]string{"": "페이지를 찾을 수 없습니다", "en": "This page does not exist"} {
			p := s.browser(accept).get(path)
			wantStatus := 404
			if path == "/?sport=%ff" {
				wantStatus, want = 400, map[string]string{"": "요청을 처리할 수 없습니다", "en": "The request could not be processed"}[accept]
			}
			if p.Status != wantStatus || !strings.Contains(p.Body, want) || !strings.Contains(p.Body, `href="/"`) {
				t.Errorf("%s (%q): %d, body lacks %q", path, accept, p.Status, want)
			}
		}
	}
}

func TestLegacyAddresses(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for from, to := range map[string]string{"/main": "/", "/bet?id=m_7": "/matches/m_7", "/mypage": "/me", "/bet": "/"} {
		if p := s.browser("").get(from); p.Status != http.StatusMovedPermanently || p.Header.Get("Location") != to {
			t.Errorf("%s: %d -> %q, want %q", from, p.Status, p.Header.Get("Location"), to)
		}
	}
}

// The switch remembers the choice in a cookie for a visitor and in the
// profile for a player; a form without the page's token changes nothing.
func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("")
	b.get("/")
	if p := b.post("/lang", url.Values{"lang": {"en"}, "next": {"/?sport=hockey"}}); p.Status != 303 || p.Header.Get("Location") != "/?sport=hockey" {
		t.Fatalf("switch: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := b.get("/"); !strings.Contains(p.Body, `lang="en"`) {
		t.Fatal("the visitor's choice was not remembered")
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		if p := b.post("/lang", url.Values{"lang": {"ko"}, "next": {next}}); p.Header.Get("Location") != "/" {
			t.Errorf("next %q: redirected to %q", next, p.Header.Get("Location"))
		}
	}
	if p := b.post("/lang", url.Values{"lang": {"fr"}}); p.Status != 400 {
		t.Errorf("unknown language: %d", p.Status)
	}

	player := s.browser("en")
	u := player.signIn("mina")
	player.get("/")
	if p := player.post("/lang", url.Values{"lang": {"ko"}, "csrf_token": {"forged-token-forged-toke"}}); p.Status != 403 || !strings.Contains(p.Body, "You cannot do this") {
		t.Fatalf("forged token: %d", p.Status)
	}
	if got, _, _ := s.db.FindUserByUsername(t.Context(), "mina"); got.Language != "" {
		t.Fatalf("a refused switch changed the profile: %q", got.Language)
	}
	player.get("/")
	if p := player.post("/lang", url.Values{"lang": {"ko"}}); p.Status != 303 {
		t.Fatalf("player switch: %d", p.Status)
	}
	if got, _, _ := s.db.FindUserByUsername(t.Context(), u.Username); got.Language != "ko" {
		t.Fatalf("profile language %q, want ko", got.Language)
	}
	// Another device of the same player, asking for English, gets Korean.
	other := s.browser("en")
	in, _ := s.auth.LogIn(t.Context(), "mina", "long-password-1", clientAddr)
	other.setSession(in.Token)
	if p := other.get("/"); !strings.Contains(p.Body, `lang="ko"`) {
		t.Fatal("the profile's language did not follow the player")
	}
}

// Assets are versioned by content, cached for a year and compressed as
// the client asks.
func TestAssets(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	p := s.browser("").get("/")
	css := regexpFind(p.Body, `href="(/static/[0-9a-f]+/app\.css)"`)
	if css == "" {
		t.Fatal("no versioned stylesheet link")
	}
	for _, tt := range []struct{ accept, coding, cache string }{
		{"gzip, deflate, br, zstd", "zstd", "public, max-age=31536000, immutable"},
		{"gzip", "gzip", "public, max-age=31536000, immutable"},
		{"", "", "public, max-age=31536000, immutable"},
		{"gzip;q=0", "", "public, max-age=31536000, immutable"},
	} {
		req, _ := http.NewRequest("GET", s.srv.URL+css, nil)
		req.Header.Set("Accept-Encoding", tt.accept)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != tt.coding || res.Header.Get("Cache-Control") != tt.cache ||
			res.Header.Get("Content-Type") != "text/css; charset=utf-8" {
			t.Errorf("%q: %d %q %q %q", tt.accept, res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
		}
	}
	old := strings.Replace(css, css[len("/static/"):len("/static/")+12], "000000000000", 1)
	if res, _ := http.Get(s.srv.URL + old); res == nil || res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("an older version's URL: %v", res)
	}
	if res, _ := http.Get(s.srv.URL + "/static/000000000000/nothing.js"); res == nil || res.StatusCode != 404 {
		t.Errorf("an unknown asset: %v", res)
	}
}
