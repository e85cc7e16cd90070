package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// protocol is how one server's clients subscribe and keep their
// connection alive.
type protocol interface {
	// hello are the frames a client sends after the upgrade.
	hello(channel string) [][]byte
	// ready reports whether a frame acknowledges the subscription, or an
	// error when it refuses it.
	ready(frame []byte) (bool, error)
	// pong is the answer a frame asks for (an application ping), or nil.
	pong(frame []byte) []byte
}

// errRetry marks a refusal that a client retries.
var errRetry = errors.New("refused for now")

// pointsbookProto is docs/realtime.md: a subscribe frame, then events in
// JSON arrays; pings are WebSocket control frames, answered by the
// library.
type pointsbookProto struct{}

func (pointsbookProto) hello(channel string) [][]byte {
	return [][]byte{fmt.Appendf(nil, `{"type":"subscribe","channel":%q}`, channel)}
}

func (pointsbookProto) ready(frame []byte) (bool, error) {
	if bytes.Contains(frame, []byte(`"type":"error"`)) {
		if bytes.Contains(frame, []byte(`"live_unavailable"`)) {
			return false, fmt.Errorf("%w: %.300s", errRetry, frame)
		}
		return false, fmt.Errorf("refused: %.300s", frame)
	}
	return bytes.Contains(frame, []byte(`"type":"subscribed"`)), nil
}

func (pointsbookProto) pong([]byte) []byte { return nil }

// centrifugoProto is Centrifugo's JSON client protocol (v2): a connect
// command and a subscribe command, replies matched by id, several replies
// to a frame separated by newlines; the server's ping is an empty reply
// "{}" that the client answers with an empty command.
type centrifugoProto struct{}

func (centrifugoProto) hello(channel string) [][]byte {
	return [][]byte{
		[]byte(`{"id":1,"connect":{}}`),
		fmt.Appendf(nil, `{"id":2,"subscribe":{"channel":%q}}`, channel),
	}
}

func (centrifugoProto) ready(frame []byte) (bool, error) {
	for line := range bytes.SplitSeq(frame, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(`{"id":1,`)) && !bytes.HasPrefix(line, []byte(`{"id":2,`)) {
			continue
		}
		if bytes.Contains(line, []byte(`"error"`)) {
			return false, fmt.Errorf("refused: %.300s", line)
		}
		if bytes.HasPrefix(line, []byte(`{"id":2,`)) {
			return true, nil
		}
	}
	return false, nil
}

func (centrifugoProto) pong(frame []byte) []byte {
	for line := range bytes.SplitSeq(frame, []byte("\n")) {
		if string(bytes.TrimSpace(line)) == "{}" {
			return []byte("{}")
		}
	}
	return nil
}

// wsClient is one subscribed connection and what it received in the
// current run.
type wsClient struct {
	ws    *websocket.Conn
	proto protocol
	room  int

	mu    sync.Mutex
	run   uint64
	seen  []uint64 // bit per sequence number of the run
	got   int64    // distinct events of the run
	dup   int64
	last  time.Time // last event of the run
	lat   hist
	ended error

	readyc chan error
	done   chan struct{}
}

// readLimit bounds one frame a client accepts: a batch of a few hundred
// events.
const readLimit = 4 << 20

// dialClient opens a connection, subscribes to channel and waits for the
// acknowledgement. addr is the client address the server is told through
// X-Forwarded-For (Pointsbook trusts loopback as its proxy in these runs,
// so that its per-address limit sees 2,000 clients, not one).
func dialClient(ctx context.Context, hc *http.Client, url string, p protocol, channel string, room int, addr string) (*wsClient, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("X-Forwarded-For", addr)
	ws, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: hc, HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(readLimit)
	c := &wsClient{ws: ws, proto: p, room: room, readyc: make(chan error, 1), done: make(chan struct{})}
	go c.readLoop(ctx)
	for _, f := range p.hello(channel) {
		if err := ws.Write(dctx, websocket.MessageText, f); err != nil {
			ws.CloseNow()
			return nil, err
		}
	}
	select {
	case err = <-c.readyc:
	case <-dctx.Done():
		err = errors.New("no subscription acknowledgement within 30s")
	}
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	return c, nil
}

func (c *wsClient) readLoop(ctx context.Context) {
	defer close(c.done)
	var buf bytes.Buffer
	ready := false
	for {
		_, r, err := c.ws.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			c.mu.Lock()
			c.ended = err
			c.mu.Unlock()
			if !ready {
				c.readyc <- err
			}
			return
		}
		frame := buf.Bytes()
		now := time.Now()
		if !ready {
			ok, err := c.proto.ready(frame)
			if err != nil || ok {
				ready = true
				c.readyc <- err
			}
		}
		if p := c.proto.pong(frame); p != nil {
			go func() {
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_ = c.ws.Write(wctx, websocket.MessageText, p)
			}()
		}
		c.count(frame, now)
	}
}

// count records the markers of the current run in a frame received at
// now.
func (c *wsClient) count(frame []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		run, seq, ns, rest, ok := nextMarker(frame)
		if !ok {
			return
		}
		frame = rest
		if run != c.run || c.run == 0 || seq >= 1<<24 {
			continue
		}
		w := seq / 64
		for uint64(len(c.seen)) <= w {
			c.seen = append(c.seen, 0)
		}
		if c.seen[w]&(1<<(seq%64)) != 0 {
			c.dup++
			continue
		}
		c.seen[w] |= 1 << (seq % 64)
		c.got++
		c.last = now
		c.lat.add(now.Sub(time.Unix(0, ns)))
	}
}

// start begins counting run's events.
func (c *wsClient) start(run uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run, c.got, c.dup, c.last = run, 0, 0, time.Time{}
	c.seen = c.seen[:0]
	c.lat = hist{}
}

// tally is what a client received of the run.
type tally struct {
	got, dup int64
	last     time.Time
	ended    bool
}

func (c *wsClient) tally(into *hist) tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	into.merge(&c.lat)
	return tally{got: c.got, dup: c.dup, last: c.last, ended: c.ended != nil}
}

func (c *wsClient) close() {
	c.ws.Close(websocket.StatusNormalClosure, "")
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.ws.CloseNow()
	}
}

// dialAll opens n clients spread over rooms, at most 64 dials at once.
func dialAll(ctx context.Context, n int, url string, p protocol, channels []string) ([]*wsClient, error) {
	var retries atomic.Int64
	defer func() {
		if n := retries.Load(); n > 0 {
			fmt.Fprintf(os.Stderr, "wsload: %d subscription(s) refused for a while and retried\n", n)
		}
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	hc := &http.Client{Transport: tr}
	clients := make([]*wsClient, n)
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		if firstErr.Load() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			room := i % len(channels)
			// 10.x.y.z: one address per client.
			addr := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			// A refusal the protocol calls temporary (Pointsbook's
			// live_unavailable when its database is slow to answer a
			// burst of joins) is retried, as a real client would.
			var c *wsClient
			var err error
			for attempt := 1; ; attempt++ {
				c, err = dialClient(ctx, hc, url, p, channels[room], room, addr)
				if err == nil || attempt == 5 || !errors.Is(err, errRetry) || ctx.Err() != nil {
					break
				}
				retries.Add(1)
				time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
			}
			if err != nil {
				err = fmt.Errorf("client %d: %w", i, err)
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		closeAll(clients)
		return nil, *e
	}
	return clients, nil
}

func closeAll(clients []*wsClient) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 128)
	for _, c := range clients {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.close()
		})
	}
	wg.Wait()
}
