// Package ws is the WebSocket endpoint, GET /api/v1/ws (docs/realtime.md):
// the upgrade behind the edge's session (cookie or bearer, never a token in
// the URL) and an origin check, and the Hub that fans the bus's events out
// to this instance's connections. The hub subscribes to the bus once per
// channel any local connection watches, encodes each event once, and hands
// the same bytes to every watcher's bounded queue; a connection whose
// queue overflows is closed, never waited for.
package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Matches finds a match for a room's first events.
type Matches interface {
	FindMatch(ctx context.Context, id string) (*betting.Match, error)
}

// Chat is what the endpoint needs of the chat (chat.Service is one).
type Chat interface {
	Post(ctx context.Context, userID, matchID, text string) (*chat.Message, error)
	Report(ctx context.Context, userID, matchID string, id int64, reason string) error
	Since(ctx context.Context, matchID string, since int64, limit int) ([]*chat.Message, bool, error)
}

// SessionLookup reads a session again by the digest of its token
// (sqlstore.DB.FindSession is one): how a socket learns that the session
// it was opened with has ended.
type SessionLookup interface {
	FindSession(ctx context.Context, digest string) (*account.Session, error)
}

// Options are the hub's settings; zero values take the defaults.
type Options struct {
	Bus      live.Bus
	Presence live.Presence // nil: no head-counts
	Matches  Matches
	Chat     Chat // nil: chat frames are refused
	Sessions edge.Sessions
	// Recheck, when set, is asked whether a signed-in socket's session
	// still stands: on each chat.send, every RecheckEvery, and for a
	// player's sockets when their channel says live.SessionRevoked. A
	// socket whose session ended is closed (1008 "session ended").
	Recheck SessionLookup
	Log     *slog.Logger
	// AllowedOrigins are origins ("https://partner.example") allowed
	// besides the request's own host.
	AllowedOrigins []string
	TrustedProxies []netip.Prefix

	Queue       int           // events queued per connection before it is dropped (256)
	PerAddr     int           // connections per client address (32)
	MaxSubs     int           // subscriptions per connection (32)
	Ping        time.Duration // ping interval (30 s)
	Idle        time.Duration // a connection watching nothing is closed after (2 min)
	PresenceTTL time.Duration // presence entries' ttl (60 s), refreshed at a third of it
	Resume      int           // chat messages sent on a resume before a reload hint (100)
	// RecheckEvery is how often every signed-in socket's session is
	// read again (60 s).
	RecheckEvery time.Duration
}

// Stats are the hub's counters.
type Stats struct {
	Connections int64 // open now
	Overflows   int64 // closed because their queue overflowed
	Delivered   int64 // events queued to connections
	FramesIn    int64 // frames read from clients
	FramesOut   int64 // frames written to clients (each one or more events)
}

// Hub serves the endpoint and fans events out to its connections.
type Hub struct {
	opt     Options
	edge    *edge.Edge
	clients *clientip.Resolver
	base    context.Context
	stop    context.CancelFunc

	mu      sync.Mutex
	rooms   map[string]*room
	conns   map[*conn]struct{}
	perAddr map[string]int
	closing bool
	wg      sync.WaitGroup // connections' goroutines and rooms' readers

	open, overflows, delivered atomic.Int64
	framesIn, framesOut        atomic.Int64
	seq                        atomic.Uint64
	// instance starts every connection id: presence members of every
	// instance share one set per room (Redis), so ids must not repeat
	// across instances.
	instance string
}

// New returns a hub; Handler serves its endpoint and Run/Stop are its
// worker's lifecycle.
func New(opt Options) *Hub {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opt.Queue, 256)
	def(&opt.PerAddr, 32)
	def(&opt.MaxSubs, 32)
	def(&opt.Resume, 100)
	defd(&opt.Ping, 30*time.Second)
	defd(&opt.Idle, 2*time.Minute)
	defd(&opt.PresenceTTL, 60*time.Second)
	defd(&opt.RecheckEvery, 60*time.Second)
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	base, stop := context.WithCancel(context.Background())
	h := &Hub{
		opt:     opt,
		edge:    edge.New(edge.Config{Sessions: opt.Sessions, Log: opt.Log, Format: edge.JSON}),
		clients: clientip.New(opt.TrustedProxies),
		base:    base, stop: stop,
		rooms:   make(map[string]*room),
		conns:   make(map[*conn]struct{}),
		perAddr: make(map[string]int),
	}
	inst := make([]byte, 6)
	rand.Read(inst) // never fails since Go 1.24
	h.instance = hex.EncodeToString(inst)
	return h
}

// Stats reads the counters.
func (h *Hub) Stats() Stats {
	return Stats{Connections: h.open.Load(), Overflows: h.overflows.Load(), Delivered: h.delivered.Load(),
		FramesIn: h.framesIn.Load(), FramesOut: h.framesOut.Load()}
}

// Handler is GET /api/v1/ws behind the edge: the session comes from the
// cookie or the Authorization header like every other route's.
func (h *Hub) Handler() http.Handler {
	return h.edge.Wrap(edge.Public, h.serve)
}

// Name is the worker's name.
func (h *Hub) Name() string { return "websocket" }

// Run keeps presence fresh, pushes head-counts and re-checks sessions
// until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	if h.opt.Recheck != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.recheckSessions(ctx)
		}()
		defer func() { <-done }()
	}
	if h.opt.Presence == nil {
		<-ctx.Done()
		return nil
	}
	count := time.NewTicker(time.Second)
	refresh := time.NewTicker(h.opt.PresenceTTL / 3)
	defer count.Stop()
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-count.C:
			h.pushCounts(ctx)
		case <-refresh.C:
			h.refreshPresence(ctx)
		}
	}
}

// Stop closes every connection with "going away" so clients reconnect to
// another instance, and waits for their writes in flight until ctx ends.
func (h *Hub) Stop(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.end(websocket.StatusGoingAway, "going away / reconnect")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		h.stop()
		return nil
	case <-ctx.Done():
		h.stop()
		return ctx.Err()
	}
}

var (
	errOrigin = fault.New(fault.Forbidden, "origin_forbidden", "This origin may not open a live connection.")
	errBusy   = fault.New(fault.RateLimited, "too_many_connections", "Too many live connections from your address.")
	errClosed = fault.New(fault.Unavailable, "shutting_down", "The server is restarting; reconnect shortly.")
)

// originAllowed: no Origin (not a browser), the request's own host, or a
// configured origin. Browsers always send Origin on a WebSocket upgrade,
// so another site's page cannot ride a player's cookie.
func (h *Hub) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range h.opt.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(a, "/"), u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return false
}

func (h *Hub) addr(r *http.Request) string {
	if a := h.clients.Addr(r.RemoteAddr, r.Header.Values("X-Forwarded-For")); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) error {
	if !h.originAllowed(r) {
		return errOrigin
	}
	addr := h.addr(r)
	h.mu.Lock()
	switch {
	case h.closing:
		h.mu.Unlock()
		return errClosed
	case h.perAddr[addr] >= h.opt.PerAddr:
		h.mu.Unlock()
		return errBusy
	}
	h.perAddr[addr]++
	h.mu.Unlock()
	release := func() {
		h.mu.Lock()
		if h.perAddr[addr]--; h.perAddr[addr] <= 0 {
			delete(h.perAddr, addr)
		}
		h.mu.Unlock()
	}
	// The server's read and write timeouts were set for this request; the
	// socket lives on after it, with its own pings and write bounds.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	// The origin was checked above, with the configured list.
	wc, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		release() // Accept has answered the request
		return nil
	}
	wc.SetReadLimit(MaxFrame)
	sess := edge.SessionFrom(r.Context())
	ctx, cancel := context.WithCancelCause(h.base)
	wctx, cut := context.WithCancel(h.base)
	c := &conn{
		hub: h, ws: wc, sess: sess, addr: addr, ctx: ctx, cancel: cancel,
		wctx: wctx, cut: cut,
		id:     h.instance + ":c" + strconv.FormatUint(h.seq.Add(1), 10),
		notify: make(chan struct{}, 1),
		subs:   make(map[string]bool),
		since:  time.Now(),
	}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		release()
		cancel(nil)
		cut()
		wc.Close(websocket.StatusGoingAway, "going away / reconnect")
		return nil
	}
	h.conns[c] = struct{}{}
	h.wg.Add(2)
	h.mu.Unlock()
	h.open.Add(1)
	go func() {
		defer h.wg.Done()
		c.readLoop()
	}()
	go func() {
		defer h.wg.Done()
		c.writeLoop()
		c.leaveAll()
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		release()
		h.open.Add(-1)
	}()
	if sess != nil {
		// A player's own events come without asking.
		c.subscribe(Frame{Type: Subscribe, Channel: live.UserChannel(sess.User.ID)}, false)
	}
	return nil
}

// item is one queued event: encoded once for every watcher. chatID is a
// chat.message's id, so a resume does not send a message twice.
type item struct {
	b      []byte
	chatID int64
}

// room is a channel's local watchers and its one bus subscription. The
// first watcher subscribes without holding the hub's lock; ready is
// closed when sub is set or err says why it could not be.
type room struct {
	channel string
	ready   chan struct{}
	sub     live.Subscription
	err     error
	mu      sync.Mutex
	members map[*conn]*membership
	count   int // last head-count pushed
}

type membership struct {
	active  bool
	pending []item // events that came while the first events were read
}

// join adds c to a channel's room, creating the room and its one bus
// subscription if c is its first watcher. c receives nothing until
// activate: events meanwhile wait in its membership. The bus and presence
// calls (round trips to Redis) hold no hub-wide lock: a slow one delays
// only the connections joining that channel.
func (h *Hub) join(c *conn, channel string) (*room, error) {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return nil, errClosed
	}
	rm := h.rooms[channel]
	first := rm == nil
	if first {
		rm = &room{channel: channel, ready: make(chan struct{}), members: make(map[*conn]*membership)}
		h.rooms[channel] = rm
	}
	// A member before the lock is released: nobody's leave removes the
	// room while its subscription is being made.
	rm.mu.Lock()
	rm.members[c] = &membership{}
	rm.mu.Unlock()
	if first {
		h.wg.Add(1) // the room's reader, or nothing if the subscribe fails
	}
	h.mu.Unlock()

	if first {
		sub, err := h.opt.Bus.Subscribe(h.base, channel)
		if err != nil {
			h.opt.Log.Error("bus subscribe", "channel", channel, "err", err)
			h.mu.Lock()
			if h.rooms[channel] == rm {
				delete(h.rooms, channel)
			}
			h.mu.Unlock()
			rm.err = errUnavailable
			h.wg.Done()
		} else {
			rm.sub = sub
			go func() {
				defer h.wg.Done()
				h.fanOut(rm)
			}()
		}
		close(rm.ready)
	} else {
		// Bounded by the bus's own subscribe timeout.
		<-rm.ready
	}
	if rm.err != nil {
		rm.mu.Lock()
		delete(rm.members, c)
		rm.mu.Unlock()
		return nil, rm.err
	}
	if h.opt.Presence != nil && isMatch(channel) {
		if err := h.opt.Presence.Join(c.ctx, channel, c.id, h.opt.PresenceTTL); err != nil {
			h.opt.Log.Warn("presence join", "room", channel, "err", err)
		}
	}
	return rm, nil
}

var errUnavailable = fault.New(fault.Unavailable, "live_unavailable", "Live updates are unavailable; try again shortly.")

func isMatch(channel string) bool { return strings.HasPrefix(channel, "match:") }

// activate queues what waited and lets c receive the room's events;
// chat messages up to skipChat were in the resume already.
func (h *Hub) activate(c *conn, rm *room, skipChat int64) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	m := rm.members[c]
	if m == nil {
		return
	}
	for _, it := range m.pending {
		if it.chatID == 0 || it.chatID > skipChat {
			c.enqueue(it)
		}
	}
	m.pending, m.active = nil, true
}

// leave removes c from a room; the room and its bus subscription go with
// the last watcher.
func (h *Hub) leave(c *conn, channel string) {
	h.mu.Lock()
	rm := h.rooms[channel]
	if rm == nil {
		h.mu.Unlock()
		return
	}
	rm.mu.Lock()
	_, member := rm.members[c]
	delete(rm.members, c)
	// A room the bus dropped was replaced: c, a watcher of the old one,
	// must not close the new one.
	empty := member && len(rm.members) == 0
	rm.mu.Unlock()
	if empty {
		delete(h.rooms, channel)
	}
	h.mu.Unlock()
	if empty {
		rm.sub.Close()
	}
	if h.opt.Presence != nil && isMatch(channel) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := h.opt.Presence.Leave(ctx, channel, c.id); err != nil {
			h.opt.Log.Warn("presence leave", "room", channel, "err", err)
		}
	}
}

// fanOut reads a room's subscription: each event is encoded once and the
// same bytes go to every watcher.
func (h *Hub) fanOut(rm *room) {
	for ev := range rm.sub.C() {
		if ev.Type == live.SessionRevoked {
			h.revoked(rm)
			continue
		}
		b, err := json.Marshal(ev)
		if err != nil {
			continue
		}
		it := item{b: b}
		if ev.Type == live.ChatMessage {
			var m struct{ ID int64 }
			if json.Unmarshal(ev.Data, &m) == nil {
				it.chatID = m.ID
			}
		}
		rm.mu.Lock()
		for c, m := range rm.members {
			if m.active {
				c.enqueue(it)
			} else if len(m.pending) < h.opt.Queue {
				m.pending = append(m.pending, it)
			}
		}
		rm.mu.Unlock()
	}
	// The subscription ended. If watchers remain, the bus dropped it (or
	// shut down): they may have missed events, so they reconnect and get
	// the current state again.
	h.mu.Lock()
	current := h.rooms[rm.channel] == rm
	if current {
		delete(h.rooms, rm.channel)
	}
	h.mu.Unlock()
	if !current {
		return
	}
	rm.mu.Lock()
	members := make([]*conn, 0, len(rm.members))
	for c := range rm.members {
		members = append(members, c)
	}
	rm.mu.Unlock()
	for _, c := range members {
		c.end(websocket.StatusTryAgainLater, "reconnect")
	}
}

// revoked re-checks, off the room's reader, the sessions of a player's
// channel's watchers: some of the player's sessions ended.
func (h *Hub) revoked(rm *room) {
	if h.opt.Recheck == nil {
		return
	}
	rm.mu.Lock()
	conns := make([]*conn, 0, len(rm.members))
	for c := range rm.members {
		conns = append(conns, c)
	}
	rm.mu.Unlock()
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		for _, c := range conns {
			c.sessionLive()
		}
	}()
}

// recheckSessions reads every signed-in socket's session again each
// RecheckEvery: a session that ended with no event (it expired, or the
// event was lost while Redis was unreachable) closes its sockets within
// that time.
func (h *Hub) recheckSessions(ctx context.Context) {
	tick := time.NewTicker(h.opt.RecheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.mu.Lock()
		conns := make([]*conn, 0, len(h.conns))
		for c := range h.conns {
			if c.sess != nil {
				conns = append(conns, c)
			}
		}
		h.mu.Unlock()
		for _, c := range conns {
			if ctx.Err() != nil {
				return
			}
			c.sessionLive()
		}
	}
}

func (h *Hub) matchRooms() []*room {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*room
	for ch, rm := range h.rooms {
		if isMatch(ch) {
			out = append(out, rm)
		}
	}
	return out
}

// pushCounts sends each match room's head-count to its local watchers
// when it changed: at most once a second, however many join or leave.
func (h *Hub) pushCounts(ctx context.Context) {
	for _, rm := range h.matchRooms() {
		n, err := h.opt.Presence.Count(ctx, rm.channel)
		if err != nil {
			continue
		}
		rm.mu.Lock()
		if n != rm.count {
			rm.count = n
			b, _ := json.Marshal(live.New(live.PresenceCount, rm.channel, live.PresenceData{Room: rm.channel, Count: n}))
			for c, m := range rm.members {
				if m.active {
					c.enqueue(item{b: b})
				}
			}
		}
		rm.mu.Unlock()
	}
}

func (h *Hub) refreshPresence(ctx context.Context) {
	for _, rm := range h.matchRooms() {
		rm.mu.Lock()
		ids := make([]string, 0, len(rm.members))
		for c := range rm.members {
			ids = append(ids, c.id)
		}
		rm.mu.Unlock()
		for _, id := range ids {
			if err := h.opt.Presence.Join(ctx, rm.channel, id, h.opt.PresenceTTL); err != nil {
				h.opt.Log.Warn("presence refresh", "room", rm.channel, "err", err)
				break
			}
		}
	}
}

// conn is one client. The read and write loops share ctx: either ending
// ends both. Writes and pings run under wctx instead: the library closes
// the socket at once when a write's context ends, even when the frame
// has just gone out, so a connection that ends gracefully (shutdown,
// idle) lets its write in flight finish and then sends its close frame;
// only cut (an overflow, the hub's deadline) interrupts a write.
type conn struct {
	hub    *Hub
	ws     *websocket.Conn
	sess   *account.Session
	addr   string
	id     string
	ctx    context.Context
	cancel context.CancelCauseFunc
	wctx   context.Context
	cut    context.CancelFunc

	mu     sync.Mutex
	queue  []item
	ended  bool
	code   websocket.StatusCode
	reason string
	notify chan struct{}

	subMu sync.Mutex // the read loop's; leaveAll after it ends
	subs  map[string]bool
	since time.Time // when the connection last watched nothing
}

// enqueue hands an event to the write loop without waiting; a full queue
// ends the connection instead.
func (c *conn) enqueue(it item) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.hub.opt.Queue {
		c.mu.Unlock()
		c.hub.overflows.Add(1)
		// A client that does not read is not waited for: its write in
		// flight is interrupted.
		c.end(websocket.StatusPolicyViolation, "too slow: send queue overflow")
		c.cut()
		return
	}
	c.queue = append(c.queue, it)
	c.mu.Unlock()
	c.hub.delivered.Add(1)
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// end asks the write loop to close with code and reason (the first
// reason wins).
func (c *conn) end(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if !c.ended {
		c.ended, c.code, c.reason = true, code, reason
	}
	c.mu.Unlock()
	c.cancel(errEnded)
}

var errEnded = errors.New("connection ended")

func (c *conn) take() []item {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// writeLoop writes queued events, several to a frame as one JSON array,
// and pings; it closes the socket when the connection ends.
func (c *conn) writeLoop() {
	ping := time.NewTicker(c.hub.opt.Ping)
	defer ping.Stop()
	// A write is bounded by one timer per connection, not a context per
	// write (a timer and two cancellation hooks for every frame to every
	// viewer): a write that takes 10 s cuts the connection, and a cut
	// (this timer, an overflow, the hub's deadline) closes the socket
	// under the write in flight.
	stall := time.AfterFunc(time.Hour, c.cut)
	stall.Stop()
	defer stall.Stop()
	defer context.AfterFunc(c.wctx, func() { c.ws.CloseNow() })()
	var buf []byte
	for {
		select {
		case <-c.ctx.Done():
			c.close()
			c.cut()
			return
		case <-ping.C:
			if c.idle() {
				c.end(websocket.StatusNormalClosure, "idle")
				continue
			}
			// The read loop takes the pong; no pong in time is a half-open
			// connection.
			pctx, cancel := context.WithTimeout(c.wctx, c.hub.opt.Ping/2)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.end(websocket.StatusPolicyViolation, "no pong")
			}
			continue
		case <-c.notify:
		}
		q := c.take()
		if len(q) == 0 {
			continue
		}
		buf = append(buf[:0], '[')
		for i, it := range q {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, it.b...)
		}
		buf = append(buf, ']')
		stall.Reset(10 * time.Second)
		err := c.ws.Write(context.Background(), websocket.MessageText, buf)
		stall.Stop()
		if err == nil {
			c.hub.framesOut.Add(1)
		}
		if err != nil {
			c.end(websocket.StatusPolicyViolation, "write failed")
		}
	}
}

func (c *conn) idle() bool {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	return len(c.subs) == 0 && time.Since(c.since) > c.hub.opt.Idle
}

// close sends the close frame with the reason and waits (bounded by the
// library) for the client's; a peer that stopped reading was already cut
// off when its write was interrupted.
func (c *conn) close() {
	c.mu.Lock()
	code, reason := c.code, c.reason
	c.mu.Unlock()
	if code == 0 {
		code = websocket.StatusNormalClosure
	}
	c.ws.Close(code, reason)
}

// readLoop reads frames until the connection ends; a read error (the
// client left, a frame over 4 KiB) ends it. Its reads are not bound to
// c.ctx: cancelling a read cuts the socket at once, and the close frame
// the write loop sends when c.ctx ends must go out first. Closing the
// socket is what ends a read.
func (c *conn) readLoop() {
	defer c.end(websocket.StatusNormalClosure, "")
	refused := 0
	tokens, last := 20.0, time.Now()
	for {
		typ, data, err := c.ws.Read(c.hub.base)
		if err != nil {
			return
		}
		c.hub.framesIn.Add(1)
		// A flood is answered with errors, then a close.
		now := time.Now()
		tokens = min(20, tokens+now.Sub(last).Seconds()*10)
		last = now
		if tokens < 1 {
			if refused++; refused > 50 {
				c.end(websocket.StatusPolicyViolation, "flood")
				return
			}
			c.sendError("", "", fault.New(fault.RateLimited, "too_many_frames", "Too many messages; slow down."))
			continue
		}
		tokens--
		if typ != websocket.MessageText {
			c.sendError("", "", fault.New(fault.Invalid, "invalid_frame", "A frame is one JSON object of the protocol."))
			continue
		}
		f, err := DecodeFrame(data)
		if err != nil {
			c.sendError(f.Channel, f.Ref, err)
			continue
		}
		c.handle(f)
	}
}

func (c *conn) handle(f Frame) {
	var err error
	switch f.Type {
	case Subscribe:
		err = c.subscribe(f, true)
	case Unsubscribe:
		c.subMu.Lock()
		if c.subs[f.Channel] {
			delete(c.subs, f.Channel)
			if len(c.subs) == 0 {
				c.since = time.Now()
			}
			c.hub.leave(c, f.Channel)
		}
		c.subMu.Unlock()
	case ChatSend, ChatReport:
		err = c.chat(f)
	}
	if err != nil {
		c.sendError(f.Channel, f.Ref, err)
	}
}

// SubscribedData acknowledges a subscription after its first events;
// Reload says a resume missed more than the bound (load the history).
type SubscribedData struct {
	Channel string `json:"channel"`
	Reload  bool   `json:"reload,omitempty"`
}

func (c *conn) subscribe(f Frame, ack bool) error {
	kind, id, _ := live.SplitChannel(f.Channel)
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	var first []live.Event
	switch kind {
	case "user":
		if c.sess == nil || c.sess.User.ID != id {
			return fault.New(fault.Forbidden, "forbidden_channel", "You may watch only your own channel.")
		}
	case "lobby":
		if _, ok := sport.Lookup(id); !ok {
			return fault.New(fault.NotFound, "room_not_found", "No such room.")
		}
	}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if !c.subs[f.Channel] && len(c.subs) >= c.hub.opt.MaxSubs {
		return fault.New(fault.Refused, "too_many_subscriptions", "A connection watches at most 32 channels.")
	}
	if kind == "match" {
		// A room that does not exist is refused before it costs a bus
		// subscription; its first events are read again after the join.
		_, err := c.hub.opt.Matches.FindMatch(ctx, id)
		if err != nil {
			if fe, ok := errors.AsType[*fault.Error](err); ok && fe.Kind == fault.NotFound {
				return fault.New(fault.NotFound, "room_not_found", "No such room.")
			}
			c.hub.opt.Log.Error("ws match", "match", id, "err", err)
			return errUnavailable
		}
	}
	var rm *room
	if !c.subs[f.Channel] {
		var err error
		if rm, err = c.hub.join(c, f.Channel); err != nil {
			return err
		}
		c.subs[f.Channel] = true
	}
	// Joined first, read after: nothing published in between is lost, and
	// what waited is sent after these first events.
	var skip int64
	reload := false
	if kind == "match" {
		m, err := c.hub.opt.Matches.FindMatch(ctx, id)
		if err == nil {
			first = live.MatchEvents(m, f.Channel)
		}
		if f.Since != nil && c.hub.opt.Chat != nil {
			ms, more, err := c.hub.opt.Chat.Since(ctx, id, *f.Since, c.hub.opt.Resume)
			switch {
			case err != nil || more:
				reload = true
			default:
				for _, m := range ms {
					first = append(first, chat.MessageEvent(m))
					skip = m.ID
				}
			}
			if skip == 0 {
				skip = *f.Since
			}
		}
	}
	for _, ev := range first {
		b, _ := json.Marshal(ev)
		c.enqueue(item{b: b})
	}
	if ack {
		b, _ := json.Marshal(live.New("subscribed", f.Channel, SubscribedData{Channel: f.Channel, Reload: reload}))
		c.enqueue(item{b: b})
	}
	if rm != nil {
		c.hub.activate(c, rm, skip)
	}
	return nil
}

// errSessionEnded answers a frame of a socket whose session has ended;
// the socket is closing.
var errSessionEnded = fault.New(fault.Unauthenticated, "unauthenticated", "Your session has ended; please log in again.")

// sessionLive reads c's session again (without Recheck, or anonymous,
// there is nothing to read) and closes c if it has ended. A store that
// cannot answer leaves the socket open: an outage is not a log-out.
func (c *conn) sessionLive() bool {
	if c.sess == nil || c.hub.opt.Recheck == nil {
		return true
	}
	ended := !time.Now().Before(c.sess.ExpiresAt)
	if !ended {
		ctx, cancel := context.WithTimeout(c.hub.base, 5*time.Second)
		s, err := c.hub.opt.Recheck.FindSession(ctx, c.sess.Digest)
		cancel()
		fe, ok := errors.AsType[*fault.Error](err)
		switch {
		case err == nil:
			ended = s.User.ID != c.sess.User.ID
		case ok && (fe.Kind == fault.Unauthenticated || fe.Kind == fault.NotFound):
			ended = true
		default:
			c.hub.opt.Log.Warn("ws session recheck", "err", err)
		}
	}
	if ended {
		c.end(websocket.StatusPolicyViolation, "session ended")
	}
	return !ended
}

func (c *conn) chat(f Frame) error {
	if c.sess == nil {
		return fault.New(fault.Unauthenticated, "unauthenticated", "Please log in.")
	}
	if f.Type == ChatSend && !c.sessionLive() {
		return errSessionEnded
	}
	if c.hub.opt.Chat == nil {
		return errUnavailable
	}
	_, id, _ := live.SplitChannel(f.Channel)
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if f.Type == ChatSend {
		_, err := c.hub.opt.Chat.Post(ctx, c.sess.User.ID, id, f.Text)
		return err
	}
	return c.hub.opt.Chat.Report(ctx, c.sess.User.ID, id, f.ID, f.Reason)
}

// ErrorData is an error event's payload.
type ErrorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
	// RetryAfter, on a refusal that knows the wait (chat_rate_limited,
	// chat_slow_mode), is how many seconds until the next try may pass.
	RetryAfter int `json:"retry_after,omitempty"`
}

func (c *conn) sendError(channel, ref string, err error) {
	fe, ok := errors.AsType[*fault.Error](err)
	if !ok || fe.Kind == fault.Internal {
		c.hub.opt.Log.Error("ws", "err", err)
		fe = fault.New(fault.Internal, "internal", "Something went wrong.")
	}
	retry, _ := fe.Details["retry_after"].(int)
	b, _ := json.Marshal(live.New("error", channel, ErrorData{Code: fe.Code, Message: fe.Message, Ref: ref, RetryAfter: retry}))
	c.enqueue(item{b: b})
}

// leaveAll leaves every room once the connection has ended.
func (c *conn) leaveAll() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for ch := range c.subs {
		c.hub.leave(c, ch)
	}
	c.subs = map[string]bool{}
}
