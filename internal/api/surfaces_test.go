package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// TestSignInSharedBySurfaces signs in through an HTML form handler (as
// the web pages will) and through the API over one account.Auth: the
// form's session works on the API, the form's errors are pages, and the
// attempt budget is one for both surfaces.
func TestSignInSharedBySurfaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	auth := account.NewAuth(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: time.Hour, Hash: fastHash}, log)
	if _, err := auth.SignUp(ctx, account.Signup{Username: "kim", Password: "long-password-1", Email: "kim@example.com", Nickname: "Kim"}); err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(api.New(db, api.Options{Auth: auth}, log).Handler())
	t.Cleanup(apiSrv.Close)
	pages := edge.New(edge.Config{Sessions: auth, Log: log, Format: edge.HTML})
	mux := http.NewServeMux()
	mux.Handle("POST /login", pages.Wrap(edge.Public, func(w http.ResponseWriter, r *http.Request) error {
		s, err := auth.LogIn(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"), netip.MustParseAddr("192.0.2.7"))
		if err != nil {
			return err
		}
		pages.SetSession(w, s.Token, s.ExpiresAt)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}))
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := func(user, pw string) *http.Response {
		t.Helper()
		// A form written before signing in carries the visitor token of
		// the page it came from.
		const visitor = "BBBBBBBBBBBBBBBBBBBBBBBB"
		req, _ := http.NewRequest("POST", web.URL+"/login", strings.NewReader(url.Values{"username": {user}, "password": {pw}, "csrf_token": {visitor}}.Encode()))
		req.AddCookie(&http.Cookie{Name: edge.VisitorCookie, Value: visitor})
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	resp := form("kim", "long-password-1")
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == edge.SessionCookie {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil {
		t.Fatalf("form sign-in: %d, cookie %v", resp.StatusCode, cookie)
	}
	req, _ := http.NewRequest("GET", apiSrv.URL+"/api/v1/me", nil)
	req.AddCookie(cookie)
	me, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	me.Body.Close()
	if me.StatusCode != http.StatusOK {
		t.Fatalf("the form's session on the API: %d", me.StatusCode)
	}

	for i := range 5 {
		if resp := form("kim", "wrong-password"); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("wrong password %d on the form: %d %q", i+1, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if resp := form("kim", "long-password-1"); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth try on the form: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The API shares the account's budget: it is spent.
	res, err := http.Post(apiSrv.URL+"/api/v1/auth/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, "kim", "long-password-1")))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("API login after the form spent the budget: %d", res.StatusCode)
	}
}
