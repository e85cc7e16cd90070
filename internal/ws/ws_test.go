package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/redisbus"
	"github.com/pointsbook/pointsbook/internal/redistest"
	"github.com/pointsbook/pointsbook/internal/server"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/throttle"
	"github.com/pointsbook/pointsbook/internal/ws"
)

type env struct {
	t      *testing.T
	srv    *httptest.Server
	bus    *live.Memory
	hub    *ws.Hub
	db     *sqlstore.DB
	auth   *account.Auth
	api    *api.API
	log    *slog.Logger
	player string
	other  string
	admin  string
	match  string
	userID string
}

var fastHash = account.HashParams{MemoryKiB: 1024, Time: 1, Threads: 1}

func newEnv(t *testing.T, opt ws.Options) *env {
	t.Helper()
	return newEnvOver(t, opt, nil)
}

// newEnvOver is newEnv with the hub's bus and presence put in front of
// the in-process ones by wrap (nil: the in-process ones themselves).
func newEnvOver(t *testing.T, opt ws.Options, wrap func(*live.Memory) (live.Bus, live.Presence)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	auth := account.NewAuth(db, account.AuthConfig{SignupBonus: 1000, SessionTTL: time.Hour, Hash: fastHash}, log)
	a := api.New(db, api.Options{Auth: auth}, log)
	bus := live.NewMemory(0, nil)
	// Committed changes publish as the server's relay does.
	db.SetAfterCommit(func(evs ...live.Event) bool {
		for _, ev := range evs {
			bus.Publish(context.Background(), ev)
		}
		return true
	})
	opt.Bus, opt.Presence = bus, bus
	if wrap != nil {
		opt.Bus, opt.Presence = wrap(bus)
	}
	t.Cleanup(func() { bus.Close() })
	e := &env{t: t, bus: bus, db: db, auth: auth, api: a, log: log}
	e.hub, e.srv = e.serve(opt)
	hash, _ := account.Hash("operator-pass-1", fastHash)
	if _, err := db.CreateUser(ctx, account.NewUser{Username: "op", Nickname: "Operator", Email: "op@example.com", PasswordHash: hash, Role: account.Admin}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login("op", "operator-pass-1")
	e.player = e.signupLogin("kim")
	e.other = e.signupLogin("lee")
	me := e.call("GET", "/api/v1/me", e.player, "", 200)
	e.userID = me["id"].(string)
	ko := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	m := e.call("POST", "/api/v1/admin/matches", e.admin, `{"sport":"football","league":"K League 1","home":"Seoul FC","away":"Busan United","kickoff_at":"`+ko+`",
		"markets":[{"kind":"1x2","odds":{"home":"2.05","draw":"3.30","away":"3.60"}}]}`, 201)
	e.match = m["id"].(string)
	return e
}

// serve starts a hub of opt (its bus and presence set) and a server of
// it and the API over the env's database, stopped at the end of the test.
func (e *env) serve(opt ws.Options) (*ws.Hub, *httptest.Server) {
	e.t.Helper()
	opt.Matches, opt.Sessions, opt.Recheck, opt.Log = e.db, e.auth, e.db, e.log
	opt.Chat = &chat.Service{Store: e.db, Limiter: throttle.NewMemory(nil, 0), Bus: opt.Bus}
	hub := ws.New(opt)
	runCtx, stop := context.WithCancel(context.Background())
	go hub.Run(runCtx)
	h := server.Handler(server.API(e.api.Handler(), hub.Handler()), http.NotFoundHandler(), server.Readiness{DB: e.db}, nil, nil, e.log)
	srv := httptest.NewServer(h)
	e.t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Stop(sctx)
		stop()
		srv.Close()
	})
	return hub, srv
}

// peer is a second instance over the same database: its own hub on bus
// and presence, its own server.
func (e *env) peer(bus live.Bus, presence live.Presence) *env {
	e.t.Helper()
	p := *e
	p.hub, p.srv = e.serve(ws.Options{Bus: bus, Presence: presence})
	return &p
}

func (e *env) call(method, path, token, body string, want int) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	var v map[string]any
	json.Unmarshal(b, &v)
	return v
}

func (e *env) signupLogin(name string) string {
	e.t.Helper()
	e.call("POST", "/api/v1/auth/signup", "", fmt.Sprintf(`{"username":%q,"password":"long-password-1","email":"%s@example.com","nickname":"%s-nick"}`, name, name, name), 201)
	return e.login(name, "long-password-1")
}

func (e *env) login(user, pw string) string {
	e.t.Helper()
	return e.call("POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw), 200)["token"].(string)
}

type client struct {
	t  *testing.T
	c  *websocket.Conn
	in []live.Event
}

// dial opens a socket; cookie says whether the token rides as the session
// cookie (a browser, with its page's Origin) or as a bearer header.
func (e *env) dial(token string, cookie bool) *client {
	e.t.Helper()
	h := http.Header{}
	if token != "" && cookie {
		h.Set("Cookie", "pb_session="+token)
		h.Set("Origin", e.srv.URL)
	} else if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		e.t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { c.CloseNow() })
	return &client{t: e.t, c: c}
}

func (c *client) send(v string) {
	c.t.Helper()
	if err := c.c.Write(context.Background(), websocket.MessageText, []byte(v)); err != nil {
		c.t.Fatal(err)
	}
}

// next is the next event, reading a frame (a JSON array) when none is
// buffered.
func (c *client) next() live.Event {
	c.t.Helper()
	for len(c.in) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		typ, b, err := c.c.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if err := json.Unmarshal(b, &c.in); typ != websocket.MessageText || err != nil {
			c.t.Fatalf("frame %q is not a JSON array of events", b)
		}
	}
	ev := c.in[0]
	c.in = c.in[1:]
	return ev
}

// until reads events until one of type typ, returning those before it too.
func (c *client) until(typ string) (live.Event, []live.Event) {
	c.t.Helper()
	var before []live.Event
	for {
		ev := c.next()
		if ev.Type == typ {
			return ev, before
		}
		before = append(before, ev)
	}
}

func field(t *testing.T, ev live.Event, key string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatal(err)
	}
	return m[key]
}

func TestAnonymousReadsAndNeverPosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{})
	anon := e.dial("", false)
	anon.send(`{"type":"subscribe","channel":"match:` + e.match + `"}`)
	_, first := anon.until("subscribed")
	var types []string
	for _, ev := range first {
		types = append(types, ev.Type)
	}
	if strings.Join(types, ",") != "match.state,match.score,odds.changed" {
		t.Fatalf("first events %v, want the current state, score and odds", types)
	}
	anon.send(`{"type":"chat.send","channel":"match:` + e.match + `","text":"hi","ref":"r1"}`)
	ev, _ := anon.until("error")
	if field(t, ev, "code") != "unauthenticated" || field(t, ev, "ref") != "r1" {
		t.Fatalf("anonymous post: %s", ev.Data)
	}
	// Two frames in; the frame before the error's was counted when its
	// write returned, before the error's was written.
	if st := e.hub.Stats(); st.Connections != 1 || st.FramesIn != 2 || st.FramesOut < 1 || st.Delivered < 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestChatBetweenRolesKeepsHTMLAsText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{})
	viewer := e.dial(e.admin, true) // an operator's browser: cookie and Origin
	viewer.send(`{"type":"subscribe","channel":"match:` + e.match + `"}`)
	viewer.until("subscribed")
	poster := e.dial(e.player, false)
	text := `<img src=x onerror=alert(1)> & "quotes"`
	b, _ := json.Marshal(text)
	poster.send(`{"type":"chat.send","channel":"match:` + e.match + `","text":` + string(b) + `}`)
	ev, _ := viewer.until("chat.message")
	if field(t, ev, "text") != text || field(t, ev, "user_id") != e.userID || field(t, ev, "nickname") != "kim-nick" {
		t.Fatalf("chat.message %s", ev.Data)
	}
}

func TestOriginRefusedBeforeUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{AllowedOrigins: []string{"https://partner.example"}})
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/ws"
	for origin, want := range map[string]int{"https://evil.example": 403, "https://partner.example": 101, e.srv.URL: 101} {
		h := http.Header{"Origin": {origin}, "Cookie": {"pb_session=" + e.player}}
		c, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: h})
		if c != nil {
			c.CloseNow()
		}
		if resp == nil || resp.StatusCode != want {
			t.Fatalf("origin %s: %v (%v), want %d", origin, resp, err, want)
		}
	}
}

func TestBadFramesAreErrorEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{})
	c := e.dial(e.player, false)
	for frame, code := range map[string]string{
		`not json`: "invalid_frame",
		`{"type":"dance","channel":"match:` + e.match + `"}`: "unknown_type",
		`{"type":"subscribe","channel":"match:m_999999"}`:    "room_not_found",
		`{"type":"subscribe","channel":"user:u_999999"}`:     "forbidden_channel",
		`{"type":"subscribe","channel":"lobby:curling"}`:     "room_not_found",
	} {
		c.send(frame)
		ev, _ := c.until("error")
		if field(t, ev, "code") != code {
			t.Fatalf("%s: %s, want %s", frame, ev.Data, code)
		}
	}
	// A frame over 4 KiB closes the connection.
	c.send(`{"type":"chat.send","channel":"match:` + e.match + `","text":"` + strings.Repeat("x", 5000) + `"}`)
	_, _, err := c.c.Read(context.Background())
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("after a large frame: %v, want close 1009", err)
	}
}

func TestResumeSinceAndRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{})
	poster := e.dial(e.player, false)
	ch := `"channel":"match:` + e.match + `"`
	poster.send(`{"type":"subscribe",` + ch + `}`)
	poster.until("subscribed")
	for i := 1; i <= 5; i++ {
		poster.send(fmt.Sprintf(`{"type":"chat.send",%s,"text":"m%d"}`, ch, i))
		if ev, _ := poster.until("chat.message"); field(t, ev, "id") != float64(i) {
			t.Fatalf("message %d: %s", i, ev.Data)
		}
	}
	poster.send(`{"type":"chat.send",` + ch + `,"text":"m6"}`)
	// The wait is in the event, whole seconds within the 10 s window.
	if ev, _ := poster.until("error"); field(t, ev, "code") != "chat_rate_limited" ||
		field(t, ev, "retry_after") == nil || field(t, ev, "retry_after").(float64) < 1 || field(t, ev, "retry_after").(float64) > 10 {
		t.Fatalf("6th message in 10 s: %s", ev.Data)
	}
	late := e.dial("", false)
	late.send(`{"type":"subscribe",` + ch + `,"since":3}`)
	ack, before := late.until("subscribed")
	var ids []any
	for _, ev := range before {
		if ev.Type == "chat.message" {
			ids = append(ids, field(t, ev, "id"))
		}
	}
	if fmt.Sprint(ids) != "[4 5]" || field(t, ack, "reload") != nil {
		t.Fatalf("resume since 3: ids %v, ack %s", ids, ack.Data)
	}
}

// since 0 is a client with no message yet: it gets the room from the
// first one, as a resume, not the plain subscription an absent since is.
func TestResumeSinceZeroIsFromTheStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{})
	poster := e.dial(e.player, false)
	ch := `"channel":"match:` + e.match + `"`
	poster.send(`{"type":"subscribe",` + ch + `}`)
	poster.until("subscribed")
	for i := 1; i <= 2; i++ {
		poster.send(fmt.Sprintf(`{"type":"chat.send",%s,"text":"m%d"}`, ch, i))
		poster.until("chat.message")
	}
	for since, want := range map[string]string{`,"since":0`: "[1 2]", ``: "[]"} {
		c := e.dial("", false)
		c.send(`{"type":"subscribe",` + ch + since + `}`)
		ack, before := c.until("subscribed")
		ids := []any{}
		for _, ev := range before {
			if ev.Type == "chat.message" {
				ids = append(ids, field(t, ev, "id"))
			}
		}
		if fmt.Sprint(ids) != want || field(t, ack, "reload") != nil {
			t.Fatalf("subscribe%s: ids %v, want %s; ack %s", since, ids, want, ack.Data)
		}
	}
}

func TestResumeTooFarSaysReload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{Resume: 2})
	poster := e.dial(e.player, false)
	ch := `"channel":"match:` + e.match + `"`
	poster.send(`{"type":"subscribe",` + ch + `}`)
	poster.until("subscribed")
	for i := 1; i <= 4; i++ {
		poster.send(fmt.Sprintf(`{"type":"chat.send",%s,"text":"m%d"}`, ch, i))
		poster.until("chat.message")
	}
	late := e.dial("", false)
	late.send(`{"type":"subscribe",` + ch + `,"since":1}`)
	ack, _ := late.until("subscribed")
	if field(t, ack, "reload") != true {
		t.Fatalf("resume past the bound: %s, want reload", ack.Data)
	}
}

// A client that stops reading is closed when its queue overflows; a
// reading client in the same room receives every event meanwhile.
func TestSlowClientDroppedWithoutDelayingOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{Queue: 16})
	ch := live.MatchChannel(e.match)
	slow := e.dial("", false)
	fast := e.dial("", false)
	for _, c := range []*client{slow, fast} {
		c.send(`{"type":"subscribe","channel":"` + ch + `"}`)
		c.until("subscribed")
	}
	text := strings.Repeat("x", 900)
	ctx := context.Background()
	// Steps of 8 events, each after the fast client took the last: it never
	// falls behind, while the slow one's socket buffers fill and its queue
	// overflows.
	for i := 0; e.hub.Stats().Overflows == 0; i++ {
		if i > 20000 {
			t.Fatal("the stalled client was never dropped")
		}
		for j := range 8 {
			ev := live.New(live.Announcement, ch, live.AnnouncementData{Match: e.match, Text: fmt.Sprint(i*8+j, text)})
			if err := e.bus.Publish(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		for got := 0; got < 8; {
			switch ev := fast.next(); ev.Type {
			case live.Announcement:
				got++
			case live.PresenceCount: // the room's head-count may come between
			default:
				t.Fatalf("fast client got %s", ev.Type)
			}
		}
	}
	// The slow client reads what it was sent, then the close.
	for {
		_, _, err := slow.c.Read(ctx)
		if err != nil {
			st := websocket.CloseStatus(err)
			if st != websocket.StatusPolicyViolation && st != -1 {
				t.Fatalf("slow client closed with %v", err)
			}
			break
		}
	}
}

func TestShutdownTellsClientsToReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{})
	c := e.dial(e.player, false)
	c.send(`{"type":"subscribe","channel":"match:` + e.match + `"}`)
	c.until("subscribed")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.hub.Stop(ctx) }()
	for {
		_, _, err := c.c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !asClose(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "going away / reconnect" {
				t.Fatalf("close on shutdown: %v", err)
			}
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := e.hub.Stats().Connections; n != 0 {
		t.Fatalf("%d connections after Stop", n)
	}
}

func asClose(err error, ce *websocket.CloseError) bool {
	for err != nil {
		if c, ok := err.(websocket.CloseError); ok {
			*ce = c
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// gated holds the bus subscription or the presence join of one channel
// until open is closed, as a Redis round trip that hangs would.
type gated struct {
	*live.Memory
	channel string
	bus     bool // gate Subscribe; else Presence.Join
	entered chan struct{}
	open    chan struct{}
}

func (g *gated) wait(channel string) {
	if channel == g.channel {
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-g.open
	}
}

func (g *gated) Subscribe(ctx context.Context, channel string) (live.Subscription, error) {
	if g.bus {
		g.wait(channel)
	}
	return g.Memory.Subscribe(ctx, channel)
}

func (g *gated) Join(ctx context.Context, room, member string, ttl time.Duration) error {
	if !g.bus {
		g.wait(room)
	}
	return g.Memory.Join(ctx, room, member, ttl)
}

// A bus subscription or presence join that hangs delays the connections
// joining that channel, not the hub: others subscribe, connect and leave
// meanwhile, and the waiting watchers of the channel all get in once it
// answers.
func TestSlowBusDelaysOnlyItsChannel(t *testing.T) {
	t.Parallel()
	for _, bus := range []bool{true, false} {
		t.Run(map[bool]string{true: "subscribe", false: "presence"}[bus], func(t *testing.T) {
			t.Parallel()
			var g *gated
			var match string
			e := newEnvOver(t, ws.Options{}, func(m *live.Memory) (live.Bus, live.Presence) {
				g = &gated{Memory: m, bus: bus, entered: make(chan struct{}, 1), open: make(chan struct{})}
				return g, g
			})
			match = live.MatchChannel(e.match)
			g.channel = match
			var once sync.Once
			release := func() { once.Do(func() { close(g.open) }) }
			t.Cleanup(release) // before the hub stops, if the test failed first
			stuck := e.dial("", false)
			stuck.send(`{"type":"subscribe","channel":"` + match + `"}`)
			<-g.entered
			second := e.dial("", false)
			second.send(`{"type":"subscribe","channel":"` + match + `"}`)

			other := e.dial(e.player, false)
			other.send(`{"type":"subscribe","channel":"lobby:football"}`)
			if ack, _ := other.until("subscribed"); ack.Channel != "lobby:football" {
				t.Fatalf("ack %+v", ack)
			}
			other.send(`{"type":"unsubscribe","channel":"lobby:football"}`)
			other.c.Close(websocket.StatusNormalClosure, "")

			release()
			for _, c := range []*client{stuck, second} {
				if ack, _ := c.until("subscribed"); ack.Channel != match {
					t.Fatalf("ack %+v", ack)
				}
			}
			if err := e.bus.Publish(context.Background(), live.New(live.Announcement, match, live.AnnouncementData{Match: e.match, Text: "hello"})); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*client{stuck, second} {
				if ev, _ := c.until(live.Announcement); field(t, ev, "text") != "hello" {
					t.Fatalf("announcement %s", ev.Data)
				}
			}
		})
	}
}

// closed reads until the socket ends and returns its close.
func (c *client) closed() websocket.CloseError {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !asClose(err, &ce) {
			c.t.Fatalf("socket ended without a close: %v", err)
		}
		return ce
	}
}

func sessionEnded(t *testing.T, c *client, step string) {
	t.Helper()
	if ce := c.closed(); ce.Code != websocket.StatusPolicyViolation || ce.Reason != "session ended" {
		t.Fatalf("%s: closed with %v, want 1008 session ended", step, ce)
	}
}

// A log-out closes that session's sockets at once, and only those; log-out
// everywhere closes the rest.
func TestSessionEndedClosesItsSockets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{})
	second := e.login("kim", "long-password-1")
	own := `{"type":"subscribe","channel":"user:` + e.userID + `"}`
	first, other := e.dial(e.player, false), e.dial(second, false)
	for _, c := range []*client{first, other} {
		c.send(own)
		c.until("subscribed")
	}
	e.call("POST", "/api/v1/auth/logout", e.player, "", 204)
	sessionEnded(t, first, "log-out")
	other.send(`{"type":"subscribe","channel":"lobby:football"}`)
	if ack, _ := other.until("subscribed"); ack.Channel != "lobby:football" {
		t.Fatalf("the other session's socket: %+v", ack)
	}
	e.call("POST", "/api/v1/auth/logout-all", second, "", 204)
	sessionEnded(t, other, "log-out everywhere")
}

// deaf is a bus on which players' channels hear nothing: a session's end
// whose event is lost (Redis unreachable, say).
type deaf struct{ *live.Memory }

func (d deaf) Subscribe(ctx context.Context, channel string) (live.Subscription, error) {
	if strings.HasPrefix(channel, "user:") {
		channel = "deaf:" + channel
	}
	return d.Memory.Subscribe(ctx, channel)
}

// Without the event, a chat.send finds the session ended, and so does the
// periodic re-check of a socket that sends nothing.
func TestSessionRecheckedWithoutTheEvent(t *testing.T) {
	t.Parallel()
	for _, periodic := range []bool{false, true} {
		t.Run(map[bool]string{false: "on chat.send", true: "periodically"}[periodic], func(t *testing.T) {
			t.Parallel()
			opt := ws.Options{RecheckEvery: time.Hour}
			if periodic {
				opt.RecheckEvery = 50 * time.Millisecond
			}
			e := newEnvOver(t, opt, func(m *live.Memory) (live.Bus, live.Presence) { return deaf{m}, m })
			c := e.dial(e.player, false)
			ch := `"channel":"match:` + e.match + `"`
			c.send(`{"type":"subscribe",` + ch + `}`)
			c.until("subscribed")
			e.call("POST", "/api/v1/auth/logout", e.player, "", 204)
			if !periodic {
				c.send(`{"type":"chat.send",` + ch + `,"text":"still here?"}`)
			}
			sessionEnded(t, c, "log-out")
		})
	}
}

// presenceUntil reads c's head-counts until one says want, and returns
// how many head-counts came meanwhile.
func (c *client) presenceUntil(want int) int {
	c.t.Helper()
	n := 0
	for {
		ev, _ := c.until(live.PresenceCount)
		n++
		if got := int(field(c.t, ev, "count").(float64)); got == want {
			return n
		}
	}
}

// The head-count of a room is the same on two instances sharing a Redis,
// pushed to the viewers of both as it changes, never more than once a
// second however many join or leave at once.
func TestPresenceAcrossInstances(t *testing.T) {
	t.Parallel()
	rc := redistest.Client(t)
	presence := redisbus.NewPresence(rc, redistest.Prefix(t, rc), nil)
	a := newEnvOver(t, ws.Options{}, func(m *live.Memory) (live.Bus, live.Presence) { return m, presence })
	b := a.peer(a.bus, presence)
	room := `{"type":"subscribe","channel":"match:` + a.match + `"}`
	start := time.Now()
	va, vb := a.dial("", false), b.dial("", false)
	var others []*client
	for i := range 6 {
		e := a
		if i%2 == 1 {
			e = b
		}
		others = append(others, e.dial("", false))
	}
	for _, c := range append([]*client{va, vb}, others...) {
		c.send(room)
	}
	for _, c := range []*client{va, vb} {
		pushed := c.presenceUntil(8)
		// Pushes come on a one-second tick: n of them span n-1 seconds.
		if elapsed := time.Since(start); float64(pushed) > elapsed.Seconds()+1 {
			t.Fatalf("%d head-counts in %s: more than one a second", pushed, elapsed)
		}
	}
	for _, c := range others[:3] {
		c.c.Close(websocket.StatusNormalClosure, "")
	}
	va.presenceUntil(5)
	vb.presenceUntil(5)
}

// One address may hold PerAddr sockets; the next is refused before the
// upgrade with 429 too_many_connections, and one closing frees a place.
// Behind a trusted proxy the client's address, from X-Forwarded-For, is
// what counts; from anywhere else the header is ignored.
func TestConnectionsPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ws.Options{PerAddr: 2})
	dial := func(srv *httptest.Server, forwardedFor string) (*websocket.Conn, int, string) {
		t.Helper()
		h := http.Header{}
		if forwardedFor != "" {
			h.Set("X-Forwarded-For", forwardedFor)
		}
		c, resp, _ := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
		if c != nil {
			t.Cleanup(func() { c.CloseNow() })
		}
		if resp == nil {
			t.Fatal("no answer to the upgrade")
		}
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(resp.Body)
		}
		return c, resp.StatusCode, string(body)
	}
	refused := func(st int, body string) bool {
		return st == http.StatusTooManyRequests && strings.Contains(body, `"too_many_connections"`)
	}

	// The test's loopback peer is no trusted proxy here: whatever it
	// forwards, every socket comes from 127.0.0.1.
	first, st, _ := dial(e.srv, "")
	if st != http.StatusSwitchingProtocols {
		t.Fatalf("first: %d", st)
	}
	if _, st, _ := dial(e.srv, "192.0.2.7"); st != http.StatusSwitchingProtocols {
		t.Fatalf("second: %d", st)
	}
	if _, st, body := dial(e.srv, "192.0.2.8"); !refused(st, body) {
		t.Fatalf("third from one address: %d %s, want 429 too_many_connections", st, body)
	}
	first.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, st, _ := dial(e.srv, "")
		if st == http.StatusSwitchingProtocols {
			c.CloseNow()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a close: still %d", st)
		}
		time.Sleep(20 * time.Millisecond) // polls the release; decides no order
	}

	// Behind a trusted proxy (loopback, here) each client has its own
	// allowance.
	_, proxied := e.serve(ws.Options{Bus: e.bus, PerAddr: 2, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for range 2 {
		if _, st, _ := dial(proxied, "192.0.2.7"); st != http.StatusSwitchingProtocols {
			t.Fatalf("client 192.0.2.7 through the proxy: %d", st)
		}
	}
	if _, st, body := dial(proxied, "192.0.2.7"); !refused(st, body) {
		t.Fatalf("third from 192.0.2.7 through the proxy: %d %s, want 429", st, body)
	}
	if _, st, _ := dial(proxied, "192.0.2.8"); st != http.StatusSwitchingProtocols {
		t.Fatalf("another client through the same proxy: %d", st)
	}
}
