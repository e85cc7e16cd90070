package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// textSite is an API over one database with a player ("kim", nickname
// "kim-nick"), a second player ("lee") and an operator, and one match.
type textSite struct {
	handler http.Handler
	srv     *httptest.Server
	player  string
	other   string
	admin   string
	match   string
	home    string // the id of the match's home selection
}

// call is one request to the site.
type call struct {
	method, path, token, body string
	header                    map[string]string
}

// answer is a response: status, error code and the decoded body.
type answer struct {
	status int
	code   string
	body   map[string]any
	raw    string
}

func openTextSite(t *testing.T, db *sqlstore.DB) *textSite {
	t.Helper()
	a := newAPI(db, account.AuthConfig{SignupBonus: 50000, SessionTTL: time.Hour, Hash: fastHash}, api.Options{}, slog.New(slog.DiscardHandler))
	s := &textSite{handler: a.Handler()}
	s.srv = httptest.NewServer(s.handler)
	t.Cleanup(s.srv.Close)
	hash, _ := account.Hash("operator-pass-1", fastHash)
	if _, err := db.CreateUser(context.Background(), account.NewUser{Username: "op", Nickname: "Operator", Email: "op@example.com", PasswordHash: hash, Role: account.Admin}); err != nil {
		t.Fatal(err)
	}
	login := func(user, pw string) string {
		a := s.must(t, call{method: "POST", path: "/api/v1/auth/login", body: fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)}, 200)
		return a.body["token"].(string)
	}
	for _, name := range []string{"kim", "lee"} {
		s.must(t, call{method: "POST", path: "/api/v1/auth/signup",
			body: fmt.Sprintf(`{"username":%q,"password":"long-password-1","email":"%s@example.com","nickname":"%s-nick"}`, name, name, name)}, 201)
	}
	s.admin, s.player, s.other = login("op", "operator-pass-1"), login("kim", "long-password-1"), login("lee", "long-password-1")
	m := s.must(t, call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K League 1", "Seoul FC", "Busan United")}, 201)
	s.match = m.body["id"].(string)
	for _, sel := range m.body["markets"].([]any)[0].(map[string]any)["selections"].([]any) {
		if sel.(map[string]any)["name"] == "home" {
			s.home = sel.(map[string]any)["id"].(string)
		}
	}
	return s
}

func matchBody(league, home, away string) string {
	return fmt.Sprintf(`{"sport":"football","league":%s,"home":%s,"away":%s,"kickoff_at":%q,
		"markets":[{"kind":"1x2","odds":{"home":"2.05","draw":"3.30","away":"3.60"}}]}`,
		rawJSON(league), rawJSON(home), rawJSON(away), time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339))
}

// rawJSON quotes s as a JSON string but keeps bytes that are not UTF-8
// as they are (encoding/json would replace them), so a test can send them.
func rawJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// do sends c through the handler itself: a header with a NUL never gets
// past Go's HTTP client, and the check under test is the API's own.
func (s *textSite) do(t *testing.T, c call) answer {
	t.Helper()
	req := httptest.NewRequest(c.method, "http://pointsbook.test"+c.path, strings.NewReader(c.body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	out := answer{status: rec.Code, raw: rec.Body.String()}
	if len(bytes.TrimSpace(rec.Body.Bytes())) > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", c.method, c.path, rec.Body)
		}
	}
	if e, ok := out.body["error"].(map[string]any); ok {
		out.code, _ = e["code"].(string)
	}
	return out
}

func (s *textSite) must(t *testing.T, c call, status int) answer {
	t.Helper()
	a := s.do(t, c)
	if a.status != status {
		t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, a.status, status, a.raw)
	}
	return a
}

// state is what the refused requests must leave as it was, read through
// the API: each account (balance, names, zone), the player's bets and
// statement, the day's matches with their names, and whether the name a
// refused sign-up tried is free.
func (s *textSite) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, c := range []call{
		{method: "GET", path: "/api/v1/me", token: s.player},
		{method: "GET", path: "/api/v1/me", token: s.other},
		{method: "GET", path: "/api/v1/me", token: s.admin},
		{method: "GET", path: "/api/v1/me/bets", token: s.player},
		{method: "GET", path: "/api/v1/me/statement", token: s.player},
		{method: "GET", path: "/api/v1/me/checkin", token: s.player},
		{method: "GET", path: "/api/v1/matches/" + s.match},
		{method: "GET", path: "/api/v1/matches?tz=UTC&date=" + time.Now().UTC().Format("2006-01-02")},
		{method: "GET", path: "/api/v1/matches?tz=UTC&date=" + time.Now().UTC().Add(24*time.Hour).Format("2006-01-02")},
		{method: "GET", path: "/api/v1/auth/availability?username=mallory&nickname=mallory-nick"},
	} {
		b.WriteString(s.must(t, c, 200).raw)
	}
	return b.String()
}

// TestTextInputHygiene sends, on each database, text a hostile client
// might: NUL and bytes that are not UTF-8 in query parameters, JSON fields
// and the Idempotency-Key, repeated keys at every depth, hidden characters
// in names, names that differ only in case or compatibility form, and the
// server's own time zone. Each is refused (400, or 409 for a taken
// nickname) before anything is stored, and nothing changes. Without the
// checks PostgreSQL, which cannot store a NUL or bytes that are not UTF-8,
// answers several of them with 500 (SQLSTATE 22021), and SQLite stores
// them.
func TestTextInputHygiene(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *sqlstore.DB
	}{
		{"sqlite", func(t *testing.T) *sqlstore.DB { return openTextDB(t, filepath.Join(t.TempDir(), "pb.db")) }},
		{"postgres", func(t *testing.T) *sqlstore.DB { return openTextDB(t, pgtest.NewDatabase(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openTextSite(t, tc.open(t))
			before := s.state(t)
			slip := func(stake, legs string) string {
				return fmt.Sprintf(`{"stake":%s,"legs":[%s]}`, stake, legs)
			}
			leg := fmt.Sprintf(`{"selection_id":%q,"odds":"2.05"}`, s.home)
			key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
			result := "/api/v1/admin/matches/" + s.match + "/result"
			void := "/api/v1/admin/matches/" + s.match + "/void"
			signup := func(user, email, nick string) string {
				return fmt.Sprintf(`{"username":%s,"password":"long-password-1","email":%s,"nickname":%s}`, rawJSON(user), rawJSON(email), rawJSON(nick))
			}
			for _, tt := range []struct {
				name   string
				c      call
				status int
				code   string
			}{
				// Query parameters, names and values.
				{"availability NUL", call{method: "GET", path: "/api/v1/auth/availability?username=kim%00"}, 400, "invalid_text"},
				{"availability not UTF-8", call{method: "GET", path: "/api/v1/auth/availability?nickname=%FF%FE"}, 400, "invalid_text"},
				{"availability NUL in a name", call{method: "GET", path: "/api/v1/auth/availability?username=kim&x%00=1"}, 400, "invalid_text"},
				{"matches cursor NUL", call{method: "GET", path: "/api/v1/matches?cursor=%00"}, 400, "invalid_text"},
				{"statement cursor not UTF-8", call{method: "GET", path: "/api/v1/me/statement?cursor=%C3", token: s.player}, 400, "invalid_text"},

				// Path values are ids, parsed before any lookup.
				{"match id NUL", call{method: "GET", path: "/api/v1/matches/m_1%00"}, 404, "match_not_found"},
				{"match id not UTF-8", call{method: "GET", path: "/api/v1/matches/%FF"}, 404, "match_not_found"},
				{"bet id NUL", call{method: "GET", path: "/api/v1/bets/b_%00", token: s.player}, 404, "bet_not_found"},
				{"result on id not UTF-8", call{method: "POST", path: "/api/v1/admin/matches/m_%FF/result", token: s.admin, body: `{"home":1,"away":0}`}, 404, "match_not_found"},

				// JSON fields of the routes anyone may call.
				{"login NUL", call{method: "POST", path: "/api/v1/auth/login", body: `{"username":"kim\u0000","password":"long-password-1"}`}, 400, "invalid_text"},
				{"login not UTF-8", call{method: "POST", path: "/api/v1/auth/login", body: "{\"username\":\"kim\xff\",\"password\":\"long-password-1\"}"}, 400, "invalid_text"},
				{"login password NUL", call{method: "POST", path: "/api/v1/auth/login", body: `{"username":"kim","password":"long-password-1\u0000"}`}, 400, "invalid_text"},
				{"password reset NUL", call{method: "POST", path: "/api/v1/auth/password-reset", body: `{"email":"kim\u0000@example.com"}`}, 400, "invalid_text"},
				{"password reset not UTF-8", call{method: "POST", path: "/api/v1/auth/password-reset", body: "{\"email\":\"kim\xc3@example.com\"}"}, 400, "invalid_text"},
				{"reset confirm NUL", call{method: "POST", path: "/api/v1/auth/password-reset/confirm", body: `{"token":"\u0000","new_password":"long-password-2"}`}, 400, "invalid_text"},
				{"verify-email NUL", call{method: "POST", path: "/api/v1/auth/verify-email", body: `{"username":"kim\u0000","code":"123456"}`}, 400, "invalid_text"},
				{"verify-email not UTF-8", call{method: "POST", path: "/api/v1/auth/verify-email", body: "{\"username\":\"\xed\xa0\x80\",\"code\":\"123456\"}"}, 400, "invalid_text"},
				{"verify resend NUL", call{method: "POST", path: "/api/v1/auth/verify-email/resend", body: `{"username":"kim\u0000"}`}, 400, "invalid_text"},
				{"sign-up username NUL", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory\x00", "mallory@example.com", "mallory-nick")}, 400, "invalid_text"},
				{"sign-up nickname NUL", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "mallory\x00nick")}, 400, "invalid_text"},
				{"sign-up e-mail not UTF-8", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory\xff@example.com", "mallory-nick")}, 400, "invalid_text"},
				{"sign-up nickname not UTF-8", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "mallory-\xe2\x82")}, 400, "invalid_text"},

				// The Idempotency-Key of retry-safe writes.
				{"bet key not UTF-8", call{method: "POST", path: "/api/v1/bets", token: s.player, body: slip("1000", leg), header: key("k-\xff")}, 400, "invalid_text"},
				{"bet key NUL", call{method: "POST", path: "/api/v1/bets", token: s.player, body: slip("1000", leg), header: key("k-\x00")}, 400, "invalid_text"},
				{"top-up key not UTF-8", call{method: "POST", path: "/api/v1/me/topup", token: s.player, header: key("t-\xc0\xaf")}, 400, "invalid_text"},
				{"top-up key NUL", call{method: "POST", path: "/api/v1/me/topup", token: s.player, header: key("\x00")}, 400, "invalid_text"},
				{"check-in key not UTF-8", call{method: "POST", path: "/api/v1/me/checkin", token: s.player, header: key("c-\xfe")}, 400, "invalid_text"},
				{"check-in key NUL", call{method: "POST", path: "/api/v1/me/checkin", token: s.player, header: key("c-\x00")}, 400, "invalid_text"},

				// Operator inputs.
				{"grant username NUL", call{method: "POST", path: "/api/v1/admin/grants", token: s.admin, body: `{"username":"kim\u0000","points":100,"reason":"goodwill"}`}, 400, "invalid_text"},
				{"grant username not UTF-8", call{method: "POST", path: "/api/v1/admin/grants", token: s.admin, body: "{\"username\":\"k\xffim\",\"points\":100,\"reason\":\"goodwill\"}"}, 400, "invalid_text"},
				{"grant reason NUL", call{method: "POST", path: "/api/v1/admin/grants", token: s.admin, body: `{"username":"kim","points":100,"reason":"good\u0000will"}`}, 400, "invalid_text"},
				{"grant reason not UTF-8", call{method: "POST", path: "/api/v1/admin/grants", token: s.admin, body: "{\"username\":\"kim\",\"points\":100,\"reason\":\"good\x80will\"}"}, 400, "invalid_text"},
				{"grant key not UTF-8", call{method: "POST", path: "/api/v1/admin/grants", token: s.admin, body: `{"username":"kim","points":100,"reason":"goodwill"}`, header: key("g-\xff")}, 400, "invalid_text"},
				{"league NUL", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K League\x00", "Daegu FC", "Jeonbuk")}, 400, "invalid_text"},
				{"team not UTF-8", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K League 1", "Daegu\xff FC", "Jeonbuk")}, 400, "invalid_text"},
				{"team bidi override", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K League 1", "Daegu \u202EFC", "Jeonbuk")}, 400, "invalid_match"},
				{"team isolate", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K League 1", "Daegu FC", "Jeon\u2067buk")}, 400, "invalid_match"},
				{"team zero-width", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K League 1", "Daegu\u200B FC", "Jeonbuk")}, 400, "invalid_match"},
				{"league C1", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K League\u0085", "Daegu FC", "Jeonbuk")}, 400, "invalid_match"},
				{"league line separator", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("K\u2028League", "Daegu FC", "Jeonbuk")}, 400, "invalid_match"},
				{"result reason NUL", call{method: "POST", path: result, token: s.admin, body: `{"home":1,"away":0,"reason":"\u0000"}`}, 400, "invalid_text"},
				{"result reason not UTF-8", call{method: "POST", path: result, token: s.admin, body: "{\"home\":1,\"away\":0,\"reason\":\"late \xff goal\"}"}, 400, "invalid_text"},
				{"void reason NUL", call{method: "POST", path: void, token: s.admin, body: `{"reason":"storm\u0000"}`}, 400, "invalid_text"},
				{"void reason not UTF-8", call{method: "POST", path: void, token: s.admin, body: "{\"reason\":\"storm \xf0\x9f\"}"}, 400, "invalid_text"},

				// Repeated keys, at the top and deeper.
				{"bet stake twice", call{method: "POST", path: "/api/v1/bets", token: s.player, body: fmt.Sprintf(`{"stake":100,"legs":[%s],"stake":40000}`, leg)}, 400, "duplicate_key"},
				{"bet leg key twice", call{method: "POST", path: "/api/v1/bets", token: s.player, body: slip("1000", fmt.Sprintf(`{"selection_id":%q,"odds":"9.99","odds":"2.05"}`, s.home))}, 400, "duplicate_key"},
				{"sign-up username twice", call{method: "POST", path: "/api/v1/auth/signup", body: `{"username":"kim","password":"long-password-1","email":"mallory@example.com","nickname":"mallory-nick","username":"mallory"}`}, 400, "duplicate_key"},
				{"result score twice", call{method: "POST", path: result, token: s.admin, body: `{"home":1,"away":0,"home":5}`}, 400, "duplicate_key"},
				{"result regulation key twice", call{method: "POST", path: result, token: s.admin, body: `{"home":1,"away":0,"regulation":{"home":1,"away":0,"away":1}}`}, 400, "duplicate_key"},
				{"match odds key twice", call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: strings.Replace(matchBody("K League 1", "Daegu FC", "Jeonbuk"), `"home":"2.05"`, `"home":"2.05","home":"9.00"`, 1)}, 400, "duplicate_key"},

				// Nicknames: hidden characters, and names already taken in
				// another case or compatibility form.
				{"nickname bidi override", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "mal\u202Elory")}, 400, "invalid_nickname"},
				{"nickname zero-width joiner", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "mal\u200Dlory")}, 400, "invalid_nickname"},
				{"nickname C1", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "mal\u009Blory")}, 400, "invalid_nickname"},
				{"nickname BOM", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "\uFEFFmallory")}, 400, "invalid_nickname"},
				{"profile nickname isolate", call{method: "PATCH", path: "/api/v1/me", token: s.other, body: `{"nickname":"lee\u2066x"}`}, 400, "invalid_nickname"},
				{"profile nickname LRM", call{method: "PATCH", path: "/api/v1/me", token: s.other, body: `{"nickname":"lee\u200Ex"}`}, 400, "invalid_nickname"},
				{"nickname taken in capitals", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "KIM-NICK")}, 409, "nickname_taken"},
				{"nickname taken in full width", call{method: "POST", path: "/api/v1/auth/signup", body: signup("mallory", "mallory@example.com", "ＫＩＭ-ｎｉｃｋ")}, 409, "nickname_taken"},
				{"profile nickname taken in full width", call{method: "PATCH", path: "/api/v1/me", token: s.other, body: `{"nickname":"ｋｉｍ-nick"}`}, 409, "nickname_taken"},

				// Time zones: the server's own is nobody's.
				{"matches tz Local", call{method: "GET", path: "/api/v1/matches?tz=Local"}, 400, "invalid_time_zone"},
				{"sports tz Local", call{method: "GET", path: "/api/v1/sports?tz=Local"}, 400, "invalid_time_zone"},
				{"matches tz localtime", call{method: "GET", path: "/api/v1/matches?tz=localtime"}, 400, "invalid_time_zone"},
				{"profile zone Local", call{method: "PATCH", path: "/api/v1/me", token: s.other, body: `{"time_zone":"Local"}`}, 400, "invalid_time_zone"},
				{"profile zone localtime", call{method: "PATCH", path: "/api/v1/me", token: s.other, body: `{"time_zone":"localtime"}`}, 400, "invalid_time_zone"},
			} {
				got := s.do(t, tt.c)
				if got.status != tt.status || got.code != tt.code {
					t.Errorf("%s: %d %s, want %d %s: %s", tt.name, got.status, got.code, tt.status, tt.code, got.raw)
				}
				if after := s.state(t); after != before {
					t.Fatalf("%s changed what it should not:\nbefore %s\nafter  %s", tt.name, before, after)
				}
			}

			// Names are stored in NFC, and compared by their fold key.
			u := s.must(t, call{method: "PATCH", path: "/api/v1/me", token: s.other, body: `{"nickname":"Cafe\u0301 lee"}`}, 200)
			if nick := u.body["user"].(map[string]any)["nickname"]; nick != "Café lee" {
				t.Errorf("nickname stored as %q, want NFC", nick)
			}
			if me := s.must(t, call{method: "GET", path: "/api/v1/me", token: s.other}, 200); me.body["nickname"] != "Café lee" {
				t.Errorf("nickname read back as %q", me.body["nickname"])
			}
			av := s.must(t, call{method: "GET", path: "/api/v1/auth/availability?nickname=CAF%C3%89%20LEE"}, 200)
			if av.body["nickname"].(map[string]any)["available"] != false {
				t.Errorf("a nickname differing in case only is available: %s", av.raw)
			}
			m := s.must(t, call{method: "POST", path: "/api/v1/admin/matches", token: s.admin, body: matchBody("Liga\u0301 1", "Cafe\u0301 FC", "Jeonbuk")}, 201)
			if m.body["home"].(map[string]any)["name"] != "Café FC" || m.body["league"].(map[string]any)["name"] != "Ligá 1" {
				t.Errorf("match names stored as %v / %v", m.body["league"], m.body["home"])
			}
		})
	}
}

func openTextDB(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// FuzzAPIText sends arbitrary bytes as the body of log-in and as the query
// of the availability check, through the whole handler: whatever arrives,
// the answer is never a 5xx.
func FuzzAPIText(f *testing.F) {
	for _, s := range []string{
		`{"username":"kim","password":"long-password-1"}`, `{"username":"kim\u0000"}`, "{\"username\":\"\xff\"}",
		`{"username":"a","username":"b"}`, `{"x":[{"y":1,"y":2}]}`, `username=kim%00`, `nickname=%FF`, `%00=1`, ``,
	} {
		f.Add([]byte(s))
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(f.TempDir(), "pb.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	h := newAPI(db, account.AuthConfig{SignupBonus: 1, SessionTTL: time.Hour, Hash: fastHash}, api.Options{}, slog.New(slog.DiscardHandler)).Handler()
	f.Fuzz(func(t *testing.T, b []byte) {
		query := httptest.NewRequest("GET", "/api/v1/auth/availability", nil)
		query.URL.RawQuery = string(b)
		for _, req := range []*http.Request{
			httptest.NewRequest("POST", "/api/v1/auth/login", bytes.NewReader(b)),
			httptest.NewRequest("POST", "/api/v1/auth/signup", bytes.NewReader(b)),
			query,
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				body, _ := io.ReadAll(rec.Body)
				t.Fatalf("%s %s with %q: %d %s", req.Method, req.URL.Path, b, rec.Code, body)
			}
		}
	})
}
