package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

var fastHash = account.HashParams{MemoryKiB: 1024, Time: 1, Threads: 1}

// sessions are the sign-in flows over a real SQLite store, with a player
// and an operator signed in (their tokens).
type sessions struct {
	auth          *account.Auth
	player, admin string
}

func newSessions(t *testing.T) *sessions {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	auth := account.NewAuth(db, account.AuthConfig{SessionTTL: time.Hour, Hash: fastHash}, nil)
	s := &sessions{auth: auth}
	for _, u := range []struct {
		name  string
		role  account.Role
		token *string
	}{{"kim", account.Player, &s.player}, {"op", account.Admin, &s.admin}} {
		hash, _ := account.Hash("long-password-1", fastHash)
		if _, err := db.CreateUser(ctx, account.NewUser{Username: u.name, Nickname: u.name + "-nick", Email: u.name + "@example.com",
			PasswordHash: hash, Role: u.role}); err != nil {
			t.Fatal(err)
		}
		in, err := auth.LogIn(ctx, u.name, "long-password-1", netip.MustParseAddr("192.0.2.1"))
		if err != nil {
			t.Fatal(err)
		}
		*u.token = in.Token
	}
	return s
}

type request struct {
	method, accept, bearer, cookie, csrf string
	lang                                 string // Accept-Language
}

func serve(h http.Handler, q request) *httptest.ResponseRecorder {
	r := httptest.NewRequest(q.method, "/x", strings.NewReader(`{}`))
	if q.accept != "" {
		r.Header.Set("Accept", q.accept)
	}
	if q.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: edge.SessionCookie, Value: q.cookie})
	}
	if q.csrf != "" {
		r.Header.Set("X-CSRF-Token", q.csrf)
	}
	if q.lang != "" {
		r.Header.Set("Accept-Language", q.lang)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct{ Error struct{ Code string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not the JSON envelope: %q", rec.Body)
	}
	return body.Error.Code
}

// TestAccess walks the access rules: who gets through to the handler,
// which session it sees, and what everyone else is told.
func TestAccess(t *testing.T) {
	t.Parallel()
	s := newSessions(t)
	e := edge.New(edge.Config{Sessions: s.auth, Format: edge.JSON})
	// The handler answers with the username it sees, "-" for none.
	who := func(w http.ResponseWriter, r *http.Request) error {
		name := "-"
		if sess := edge.SessionFrom(r.Context()); sess != nil {
			name = sess.User.Username
		}
		if _, ok := r.Context().Deadline(); !ok {
			return errors.New("no deadline on the request")
		}
		return edge.WriteJSON(w, http.StatusOK, name)
	}
	csrf := account.CSRFToken(s.player)
	for _, c := range []struct {
		name   string
		access edge.Access
		req    request
		status int
		want   string // the username, or the error code
	}{
		{"public, anonymous", edge.Public, request{method: "GET"}, 200, "-"},
		{"public, bearer", edge.Public, request{method: "GET", bearer: s.player}, 200, "kim"},
		{"public, bad token", edge.Public, request{method: "GET", bearer: "nope"}, 200, "-"},
		{"public write, stale cookie without CSRF", edge.Public, request{method: "POST", cookie: "stale"}, 200, "-"},
		{"player, anonymous", edge.Player, request{method: "GET"}, 401, "unauthenticated"},
		{"player, bad token", edge.Player, request{method: "GET", bearer: "nope"}, 401, "unauthenticated"},
		{"player, token too long", edge.Player, request{method: "GET", bearer: strings.Repeat("t", 129)}, 401, "unauthenticated"},
		{"player, bearer", edge.Player, request{method: "POST", bearer: s.player}, 200, "kim"},
		{"player, cookie read", edge.Player, request{method: "GET", cookie: s.player}, 200, "kim"},
		{"player, cookie write without CSRF", edge.Player, request{method: "POST", cookie: s.player}, 403, "csrf_failed"},
		{"player, cookie write with another's CSRF", edge.Player, request{method: "POST", cookie: s.player, csrf: account.CSRFToken(s.admin)}, 403, "csrf_failed"},
		{"player, cookie write with CSRF", edge.Player, request{method: "POST", cookie: s.player, csrf: csrf}, 200, "kim"},
		{"admin, player", edge.Admin, request{method: "GET", bearer: s.player}, 403, "forbidden"},
		{"admin, operator", edge.Admin, request{method: "GET", bearer: s.admin}, 200, "op"},
		{"partner, cookie ignored", edge.Partner, request{method: "POST", cookie: s.player}, 200, "-"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := serve(e.Wrap(c.access, who), c.req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			got := ""
			if rec.Code == 200 {
				json.Unmarshal(rec.Body.Bytes(), &got) //nolint:errcheck // compared below
			} else {
				got = errorCode(t, rec)
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestErrorRendering: the JSON surface answers the envelope whatever the
// request accepts; the HTML surface answers a page, or the envelope to a
// request that asks for JSON. Internal text is logged, never shown.
func TestErrorRendering(t *testing.T) {
	t.Parallel()
	const secret = "pq: relation users does not exist"
	limited := fault.New(fault.RateLimited, "rate_limited", "Too many failed attempts.").With("retry_after", 42)
	for _, c := range []struct {
		name        string
		surface     edge.Format
		accept      string
		err         error
		status      int
		contentType string
		retryAfter  string
		want        string // in the body
	}{
		{"json, fault", edge.JSON, "", fault.New(fault.NotFound, "bet_not_found", "No such bet."), 404, "application/json; charset=utf-8", "",
			`{"error":{"code":"bet_not_found","message":"No such bet."}}` + "\n"},
		{"json surface, browser", edge.JSON, "text/html,application/xhtml+xml,*/*;q=0.8", fault.New(fault.NotFound, "bet_not_found", "No such bet."), 404,
			"application/json; charset=utf-8", "", `{"error":{"code":"bet_not_found","message":"No such bet."}}` + "\n"},
		{"json, internal", edge.JSON, "", errors.New(secret), 500, "application/json; charset=utf-8", "",
			`{"error":{"code":"internal","message":"Something went wrong on our side; it has been logged."}}` + "\n"},
		{"json, limited", edge.JSON, "", limited, 429, "application/json; charset=utf-8", "42",
			`{"error":{"code":"rate_limited","message":"Too many failed attempts.","details":{"retry_after":42}}}` + "\n"},
		{"json, unavailable", edge.JSON, "", fault.New(fault.Unavailable, "unavailable", "Try again."), 503, "application/json; charset=utf-8", "1", `"unavailable"`},
		{"html, browser", edge.HTML, "text/html,application/xhtml+xml,*/*;q=0.8", fault.New(fault.NotFound, "match_not_found", "No such match."), 404,
			"text/html; charset=utf-8", "", "페이지를 찾을 수 없습니다."},
		{"html, no accept", edge.HTML, "", fault.New(fault.Forbidden, "forbidden", "Operators only."), 403, "text/html; charset=utf-8", "", "You cannot do this."},
		{"html, internal", edge.HTML, "text/html", errors.New(secret), 500, "text/html; charset=utf-8", "", "Something went wrong on our side"},
		{"html, limited", edge.HTML, "text/html", limited, 429, "text/html; charset=utf-8", "42", "try again shortly"},
		{"html surface, script asking for json", edge.HTML, "application/json", fault.New(fault.Conflict, "odds_changed", "The odds changed."), 409,
			"application/json; charset=utf-8", "", `"odds_changed"`},
		{"html surface, json less wanted than html", edge.HTML, "text/html, application/json;q=0.5", fault.New(fault.Conflict, "odds_changed", "The odds changed."), 409,
			"text/html; charset=utf-8", "", "conflicts with the current state"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := &logtest.Buffer{}
			e := edge.New(edge.Config{Format: c.surface, Log: slog.New(slog.NewJSONHandler(logs, nil))})
			rec := serve(e.Wrap(edge.Public, func(http.ResponseWriter, *http.Request) error { return c.err }), request{method: "GET", accept: c.accept, lang: "en"})
			body := rec.Body.String()
			if rec.Code != c.status || rec.Header().Get("Content-Type") != c.contentType || rec.Header().Get("Retry-After") != c.retryAfter {
				t.Fatalf("answered %d %q Retry-After %q, want %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"),
					c.status, c.contentType, c.retryAfter)
			}
			if strings.HasSuffix(c.want, "\n") && body != c.want || !strings.Contains(body, c.want) {
				t.Fatalf("body %q, want %q", body, c.want)
			}
			if strings.Contains(body, secret) || strings.Contains(body, "bet_not_found") && c.contentType != "application/json; charset=utf-8" {
				t.Fatalf("internal or raw error text shown: %q", body)
			}
			if c.status == 500 && !strings.Contains(logs.String(), secret) {
				t.Fatalf("internal error not logged: %s", logs)
			}
		})
	}
}

// keyedStore is a retry-safe write in memory: the first request under a
// key is done and its rendered outcome stored; a repeat gets the replay.
type keyedStore struct {
	mu   sync.Mutex
	done map[string]*idempotency.Replay
	n    int
}

func (s *keyedStore) do(key string, refuse bool) (int, *idempotency.Replay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp, ok := s.done[key]; ok {
		return 0, rp, nil
	}
	if refuse {
		err := fault.New(fault.Refused, "insufficient_points", "Not enough points.")
		code, body := edge.JSONError(context.Background(), slog.New(slog.DiscardHandler), "", err)
		s.done[key] = &idempotency.Replay{Status: code, Body: body}
		return 0, nil, err
	}
	s.n++
	body, _ := json.Marshal(map[string]int{"id": s.n})
	s.done[key] = &idempotency.Replay{Status: http.StatusCreated, Body: body}
	return s.n, nil, nil
}

// TestReplayRenderedBySurface: the same stored first response answers an
// API retry with the JSON it got the first time, and a browser's retried
// form post with a page of the HTML surface (its own hook, or the
// default page when it has none).
func TestReplayRenderedBySurface(t *testing.T) {
	t.Parallel()
	store := &keyedStore{done: map[string]*idempotency.Replay{}}
	api := edge.New(edge.Config{Format: edge.JSON})
	apiHandler := api.Wrap(edge.Public, func(w http.ResponseWriter, r *http.Request) error {
		id, rp, err := store.do(r.Header.Get("Idempotency-Key"), r.URL.Query().Has("refuse"))
		if done, err := api.Replayed(w, r, rp, err); done {
			return err
		}
		return edge.WriteJSON(w, http.StatusCreated, map[string]int{"id": id})
	})
	// The pages' form handler: a fresh post is answered 303 to the
	// created thing; the hook answers a retry the same way from the
	// stored response, or with the error page of a stored refusal.
	pages := edge.New(edge.Config{Format: edge.HTML, Replay: func(w http.ResponseWriter, r *http.Request, rp *idempotency.Replay) error {
		var v struct{ ID int }
		if rp.Status >= 400 || json.Unmarshal(rp.Body, &v) != nil {
			edge.WriteHTMLError(w, rp.Status)
			return nil
		}
		http.Redirect(w, r, "/things/"+strings.Repeat("x", v.ID), http.StatusSeeOther)
		return nil
	}})
	form := func(e *edge.Edge) http.Handler {
		return e.Wrap(edge.Public, func(w http.ResponseWriter, r *http.Request) error {
			id, rp, err := store.do(r.Header.Get("Idempotency-Key"), r.URL.Query().Has("refuse"))
			if done, err := e.Replayed(w, r, rp, err); done {
				return err
			}
			http.Redirect(w, r, "/things/"+strings.Repeat("x", id), http.StatusSeeOther)
			return nil
		})
	}
	pagesHandler, plainHandler := form(pages), form(edge.New(edge.Config{Format: edge.HTML}))
	const visitor = "AAAAAAAAAAAAAAAAAAAAAAAA"
	post := func(h http.Handler, key, query, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/things"+query, nil)
		r.Header.Set("Idempotency-Key", key)
		r.Header.Set("Accept", accept)
		// The page's visitor token, as a form written before signing in
		// carries it (the JSON surface ignores both).
		r.AddCookie(&http.Cookie{Name: edge.VisitorCookie, Value: visitor})
		r.Header.Set("X-CSRF-Token", visitor)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	const browser = "text/html,application/xhtml+xml,*/*;q=0.8"

	first := post(apiHandler, "a", "", "")
	again := post(apiHandler, "a", "", "")
	if first.Code != 201 || again.Code != 201 || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" ||
		first.Header().Get("Idempotent-Replayed") != "" || again.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("API retry: first %d %q, again %d %q %v", first.Code, first.Body, again.Code, again.Body, again.Header())
	}

	fresh := post(pagesHandler, "b", "", browser)
	retry := post(pagesHandler, "b", "", browser)
	if fresh.Code != 303 || retry.Code != 303 || retry.Header().Get("Location") != fresh.Header().Get("Location") || retry.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("form retry: fresh %d %q, retry %d %q", fresh.Code, fresh.Header().Get("Location"), retry.Code, retry.Header().Get("Location"))
	}
	// The same stored response, written by the API, answers a form retry
	// in HTML: the surface that receives the retry renders it.
	if cross := post(pagesHandler, "a", "", browser); cross.Code != 303 || cross.Header().Get("Location") != "/things/x" {
		t.Fatalf("form retry of an API write: %d %q", cross.Code, cross.Header().Get("Location"))
	}

	refused := post(pagesHandler, "c", "?refuse", browser)
	refusedAgain := post(pagesHandler, "c", "?refuse", browser)
	for _, rec := range []*httptest.ResponseRecorder{refused, refusedAgain} {
		if rec.Code != 422 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || strings.Contains(rec.Body.String(), "insufficient_points") {
			t.Fatalf("refused form post: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}

	// Without a hook, the HTML surface still answers a page.
	plain := post(plainHandler, "b", "", browser)
	body, _ := io.ReadAll(plain.Body)
	if plain.Code != 201 || plain.Header().Get("Content-Type") != "text/html; charset=utf-8" || !bytes.Contains(body, []byte("already done")) {
		t.Fatalf("default HTML replay: %d %q %q", plain.Code, plain.Header().Get("Content-Type"), body)
	}
	if scripted := post(plainHandler, "b", "", "application/json"); scripted.Code != 201 || scripted.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("a script's retry on the HTML surface: %d %q", scripted.Code, scripted.Header().Get("Content-Type"))
	}
}

// The HTML surface's forms: a session's form carries the session's token,
// a visitor's form the visitor token, in the csrf_token field or the
// header; anything else is refused before the handler runs.
func TestFormCSRF(t *testing.T) {
	t.Parallel()
	s := newSessions(t)
	pages := edge.New(edge.Config{Sessions: s.auth, Format: edge.HTML})
	var ran bool
	var who string
	h := func(access edge.Access) http.Handler {
		return pages.Wrap(access, func(w http.ResponseWriter, r *http.Request) error {
			ran, who = true, ""
			if sess := edge.SessionFrom(r.Context()); sess != nil {
				who = sess.User.Username
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
	}
	const visitor = "CCCCCCCCCCCCCCCCCCCCCCCC"
	sessionToken := account.CSRFToken(s.player)
	type cookie struct{ session, visitor string }
	tests := []struct {
		name    string
		access  edge.Access
		cookies cookie
		form    url.Values
		header  string
		status  int
		who     string
	}{
		{"visitor form with its token", edge.Public, cookie{"", visitor}, url.Values{"csrf_token": {visitor}}, "", 204, ""},
		{"visitor form without a token", edge.Public, cookie{"", visitor}, url.Values{"x": {"1"}}, "", 403, ""},
		{"visitor form without the cookie", edge.Public, cookie{}, url.Values{"csrf_token": {visitor}}, "", 403, ""},
		{"visitor form with another token", edge.Public, cookie{"", visitor}, url.Values{"csrf_token": {"DDDDDDDDDDDDDDDDDDDDDDDD"}}, "", 403, ""},
		{"visitor script with the header", edge.Public, cookie{"", visitor}, nil, visitor, 204, ""},
		{"player form with the session token", edge.Player, cookie{s.player, visitor}, url.Values{"csrf_token": {sessionToken}}, "", 204, "kim"},
		{"player form with the visitor token", edge.Player, cookie{s.player, visitor}, url.Values{"csrf_token": {visitor}}, "", 403, ""},
		{"player form without a token", edge.Player, cookie{s.player, ""}, url.Values{}, "", 403, ""},
		{"public form of a session keeps it", edge.Public, cookie{s.player, visitor}, url.Values{"csrf_token": {sessionToken}}, "", 204, "kim"},
		{"public form with the visitor token drops the session", edge.Public, cookie{s.player, visitor}, url.Values{"csrf_token": {visitor}}, "", 204, ""},
		{"oversized form", edge.Public, cookie{"", visitor}, url.Values{"csrf_token": {visitor}, "x": {strings.Repeat("a", edge.MaxForm)}}, "", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran = false
			var body io.Reader
			if tt.form != nil {
				body = strings.NewReader(tt.form.Encode())
			}
			r := httptest.NewRequest("POST", "/form", body)
			r.Header.Set("Accept", "text/html")
			if tt.form != nil {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.header != "" {
				r.Header.Set("X-CSRF-Token", tt.header)
			}
			if tt.cookies.session != "" {
				r.AddCookie(&http.Cookie{Name: edge.SessionCookie, Value: tt.cookies.session})
			}
			if tt.cookies.visitor != "" {
				r.AddCookie(&http.Cookie{Name: edge.VisitorCookie, Value: tt.cookies.visitor})
			}
			rec := httptest.NewRecorder()
			h(tt.access).ServeHTTP(rec, r)
			if rec.Code != tt.status || ran != (tt.status == 204) || ran && who != tt.who {
				t.Fatalf("status %d ran %v as %q, want %d as %q", rec.Code, ran, who, tt.status, tt.who)
			}
		})
	}
}

// PageToken is the session's token for a signed-in page, else a visitor
// token set once and reused; a forged visitor cookie is replaced.
func TestPageToken(t *testing.T) {
	t.Parallel()
	s := newSessions(t)
	pages := edge.New(edge.Config{Sessions: s.auth, Format: edge.HTML})
	get := func(cookies ...*http.Cookie) (string, *httptest.ResponseRecorder) {
		var tok string
		r := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		pages.Wrap(edge.Public, func(w http.ResponseWriter, r *http.Request) error {
			tok = pages.PageToken(w, r)
			return nil
		}).ServeHTTP(rec, r)
		return tok, rec
	}
	tok, rec := get()
	set := rec.Result().Cookies()
	if len(set) != 1 || set[0].Name != edge.VisitorCookie || set[0].Value != tok || !set[0].HttpOnly || set[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("first visit: token %q, cookies %v", tok, set)
	}
	if again, rec := get(set[0]); again != tok || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("second visit: %q, want %q and no new cookie", again, tok)
	}
	if forged, _ := get(&http.Cookie{Name: edge.VisitorCookie, Value: "<script>"}); forged == "<script>" || len(forged) != 24 {
		t.Fatalf("forged cookie gave token %q", forged)
	}
	if signed, _ := get(&http.Cookie{Name: edge.SessionCookie, Value: s.player}); signed != account.CSRFToken(s.player) {
		t.Fatalf("signed-in page token %q", signed)
	}
}
