package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/redistest"
)

// liveClient is a WebSocket client of /api/v1/ws whose frames a goroutine
// reads into events, so that the test can wait for one with a bound
// without closing the socket (a Read whose context ends closes it).
type liveClient struct {
	c      *websocket.Conn
	events chan live.Event
	closed chan error // the read error that ended the socket
	// presence is the last head-count seen (-1: none), kept when next
	// passes over it while waiting for something else: a count that
	// arrived before a chat message must not be lost to presenceReaches.
	presence float64
}

// dialLive opens a socket to base as token's holder ("": anonymous); with
// read false nobody reads it, as a client that stopped reading.
func dialLive(t *testing.T, base, token string, read bool) *liveClient {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { c.CloseNow() })
	lc := &liveClient{c: c, events: make(chan live.Event, 100000), closed: make(chan error, 1), presence: -1}
	if read {
		go lc.read()
	}
	return lc
}

func (lc *liveClient) read() {
	for {
		_, b, err := lc.c.Read(context.Background())
		if err != nil {
			lc.closed <- err
			close(lc.events)
			return
		}
		var evs []live.Event
		if err := json.Unmarshal(b, &evs); err != nil {
			lc.closed <- err
			close(lc.events)
			return
		}
		for _, ev := range evs {
			lc.events <- ev
		}
	}
}

func (lc *liveClient) send(t *testing.T, frame string) {
	t.Helper()
	if err := lc.c.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

// next returns the next event of one of types, passing over others
// (head-counts, announcements), within d; ok is false when none came.
func (lc *liveClient) next(t *testing.T, d time.Duration, types ...string) (live.Event, bool) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, open := <-lc.events:
			if !open {
				t.Fatalf("socket ended while waiting for %v: %v", types, <-lc.closed)
			}
			if ev.Type == live.PresenceCount {
				lc.presence, _ = dataOf(t, ev)["count"].(float64)
			}
			for _, typ := range types {
				if ev.Type == typ {
					return ev, true
				}
			}
		case <-timer.C:
			return live.Event{}, false
		}
	}
}

// must is next that fails the test when nothing comes.
func (lc *liveClient) must(t *testing.T, types ...string) live.Event {
	t.Helper()
	ev, ok := lc.next(t, 10*time.Second, types...)
	if !ok {
		t.Fatalf("no %v within 10 s", types)
	}
	return ev
}

func (lc *liveClient) subscribe(t *testing.T, channel string) {
	t.Helper()
	lc.send(t, `{"type":"subscribe","channel":"`+channel+`"}`)
	lc.must(t, "subscribed")
}

func dataOf(t *testing.T, ev live.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// presenceReaches reads head-counts until one says want.
func (lc *liveClient) presenceReaches(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for int(lc.presence) != want && time.Now().Before(deadline) {
		if _, ok := lc.next(t, time.Until(deadline), live.PresenceCount); !ok {
			break
		}
	}
	if int(lc.presence) != want {
		t.Fatalf("head-count never reached %d (last %v)", want, lc.presence)
	}
}

// waitLiveBus waits until /readyz shows the bus's Redis as state and
// /metrics has the line metric.
func waitLiveBus(t *testing.T, base, state, metric string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lb, _ := readyz(t, base)["live_bus"].(map[string]any)
		resp, err := httpClient.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if lb["redis"] == state && strings.Contains(string(body), "\n"+metric+"\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz live_bus = %v, want redis %q; metrics:\n%s", lb, state, grepLines(string(body), "live_bus"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two servers on one PostgreSQL and one Redis, as behind a load balancer;
// server A reaches Redis through a proxy the test cuts. Chat posted on B
// reaches A's clients in order; head-counts agree; with A cut off from
// Redis, A keeps serving its own clients and taking bets, and catches up
// once Redis is back; a room leaves Redis with its last viewer; a client
// that stops reading is dropped without holding up the others; a bet
// settled by an operator's result on B reaches its player's socket on A.
func TestMultiInstance(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	rc := redistest.Client(t)
	prefix := redistest.Prefix(t, rc)
	proxy := redistest.NewProxy(t, rc.Options().Addr)
	db := "/" + strconv.Itoa(rc.Options().DB)
	setup := func(m *Main) { m.RedisPrefix = prefix }
	a, baseA := startServerWith(t, map[string]string{"PB_DATABASE_URL": pg, "PB_REDIS_URL": "redis://" + proxy.Addr() + db, "PB_FEED": "none"}, setup)
	b, baseB := startServerWith(t, map[string]string{"PB_DATABASE_URL": pg, "PB_REDIS_URL": "redis://" + rc.Options().Addr + db, "PB_FEED": "none"}, setup)

	admin := login(t, baseB, adminUser, adminPassword)
	matchID, home := createMatch(t, baseB, admin)
	room := live.MatchChannel(matchID)
	kimID := signup(t, baseA, "mi_kim")
	signup(t, baseB, "mi_lee")
	kimToken := login(t, baseA, "mi_kim", playerPassword)
	leeToken := login(t, baseB, "mi_lee", playerPassword)

	kim := dialLive(t, baseA, kimToken, true)
	viewer := dialLive(t, baseA, "", true)
	lee := dialLive(t, baseB, leeToken, true)
	for _, c := range []*liveClient{kim, viewer, lee} {
		c.subscribe(t, room)
	}

	t.Run("chat posted on B reaches A in order", func(t *testing.T) {
		for i := range 3 {
			lee.send(t, `{"type":"chat.send","channel":"`+room+`","text":"from B `+strconv.Itoa(i)+`"}`)
		}
		lastID := 0.0
		for i := range 3 {
			m := dataOf(t, kim.must(t, live.ChatMessage))
			if m["text"] != "from B "+strconv.Itoa(i) || m["id"].(float64) <= lastID {
				t.Fatalf("message %d on A: %v (previous id %v)", i, m, lastID)
			}
			lastID = m["id"].(float64)
		}
	})

	t.Run("head-counts agree", func(t *testing.T) {
		kim.presenceReaches(t, 3)
		lee.presenceReaches(t, 3)
		for _, m := range []*Main{a, b} {
			if n, err := m.bus.presence.Count(context.Background(), room); err != nil || n != 3 {
				t.Fatalf("Count: %d, %v; want 3 on both servers", n, err)
			}
		}
	})

	t.Run("cut from Redis, A serves its own and catches up", func(t *testing.T) {
		proxy.Cut()
		defer proxy.Restore()
		kim.send(t, `{"type":"chat.send","channel":"`+room+`","text":"while cut"}`)
		// The viewer has B's messages first (the first subtest read kim's).
		for {
			m := dataOf(t, viewer.must(t, live.ChatMessage))
			if m["text"] == "while cut" {
				break
			}
			if !strings.HasPrefix(m["text"].(string), "from B") {
				t.Fatalf("A's viewer got %v", m)
			}
		}
		mustCall(t, "POST", baseA+"/api/v1/bets", kimToken, betSlip(100, home), http.StatusCreated)
		// A stays ready and says why its events stay home.
		waitLiveBus(t, baseA, "unreachable: events stay on this instance", "pointsbook_live_bus_redis_up 0")
		proxy.Restore()
		// Until A's subscription is back, markers published on B are lost:
		// publish them until one arrives.
		back := false
		for i := 0; !back && i < 100; i++ {
			ev := live.New(live.Announcement, room, live.AnnouncementData{Match: matchID, Text: "marker " + strconv.Itoa(i)})
			if err := b.bus.bus.Publish(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			_, back = kim.next(t, 100*time.Millisecond, live.Announcement)
		}
		if !back {
			t.Fatal("A did not catch up within 10 s of Redis coming back")
		}
		waitLiveBus(t, baseA, "up", "pointsbook_live_bus_redis_up 1")
		lee.send(t, `{"type":"chat.send","channel":"`+room+`","text":"after"}`)
		for {
			m := dataOf(t, kim.must(t, live.ChatMessage))
			if m["text"] == "after" {
				break
			}
			if m["text"] != "while cut" {
				t.Fatalf("kim got %v", m)
			}
		}
	})

	t.Run("a room leaves Redis with its last viewer", func(t *testing.T) {
		for _, c := range []*liveClient{kim, viewer, lee} {
			c.send(t, `{"type":"unsubscribe","channel":"`+room+`"}`)
		}
		ctx := context.Background()
		channel := prefix + "live:" + room
		deadline := time.Now().Add(10 * time.Second)
		for {
			subs, err := rc.PubSubNumSub(ctx, channel).Result()
			if err != nil {
				t.Fatal(err)
			}
			n, err := a.bus.presence.Count(ctx, room)
			if err != nil {
				t.Fatal(err)
			}
			if subs[channel] == 0 && n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the last viewer left: %d instances subscribed, head-count %d", subs[channel], n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("a client that stops reading is dropped, the others served", func(t *testing.T) {
		stalled := dialLive(t, baseA, "", false)
		stalled.send(t, `{"type":"subscribe","channel":"`+room+`"}`)
		fast := dialLive(t, baseA, "", true)
		fast.subscribe(t, room)
		text := strings.Repeat("x", 8<<10)
		ctx := context.Background()
		for i := 0; a.hub.Stats().Overflows == 0; i++ {
			if i > 5000 {
				t.Fatal("the stalled client was never dropped")
			}
			// Steps of 8 events published on B, each after the reading
			// client on A has taken the last: it keeps up by construction.
			for j := range 8 {
				ev := live.New(live.Announcement, room, live.AnnouncementData{Match: matchID, Text: strconv.Itoa(i*8+j) + text})
				if err := b.bus.bus.Publish(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			for range 8 {
				fast.must(t, live.Announcement)
			}
		}
		go stalled.read()
		for range stalled.events {
		}
		if st := websocket.CloseStatus(<-stalled.closed); st != websocket.StatusPolicyViolation && st != -1 {
			t.Fatalf("the stalled client was closed with %v", st)
		}
	})

	t.Run("a bet settled on B reaches its player on A", func(t *testing.T) {
		// A socket of its own: the flood above may have told kim's first
		// one to reconnect. Subscribing to the own channel (which comes
		// anyway) waits until the bus subscription is made.
		kim := dialLive(t, baseA, kimToken, true)
		kim.subscribe(t, live.UserChannel(kimID))
		var bet struct {
			ID string `json:"id"`
		}
		mustCall(t, "POST", baseA+"/api/v1/bets", kimToken, betSlip(300, home), http.StatusCreated).decode(t, &bet)
		mustCall(t, "POST", baseB+"/api/v1/admin/matches/"+matchID+"/result", admin, map[string]int{"home": 2, "away": 1}, http.StatusOK)
		// Kim's earlier bet (placed while A was cut off) is settled too;
		// the one placed here is looked for by id.
		for {
			ev := kim.must(t, live.BetSettled)
			if ev.Channel != live.UserChannel(kimID) {
				t.Fatalf("bet.settled on %s, want kim's channel", ev.Channel)
			}
			if d := dataOf(t, ev); d["bet"] == bet.ID {
				if d["state"] != "won" || d["payout"] != 600.0 || d["version"] != 1.0 {
					t.Fatalf("bet.settled %v", d)
				}
				break
			}
		}
	})

	t.Run("a log-out on B closes that session's socket on A", func(t *testing.T) {
		token := login(t, baseA, "mi_kim", playerPassword)
		c := dialLive(t, baseA, token, true)
		c.subscribe(t, live.UserChannel(kimID))
		mustCall(t, "POST", baseB+"/api/v1/auth/logout", token, nil, http.StatusNoContent)
		timeout := time.After(10 * time.Second)
		for open := true; open; {
			select {
			case _, open = <-c.events:
			case <-timeout:
				t.Fatal("the socket of the ended session is still open after 10 s")
			}
		}
		var ce websocket.CloseError
		if err := <-c.closed; !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "session ended" {
			t.Fatalf("closed with %v, want 1008 session ended", err)
		}
	})
}
