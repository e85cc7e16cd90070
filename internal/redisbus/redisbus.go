// Package redisbus is live.Bus and live.Presence over Redis, so that the
// events published on one instance reach the subscribers of every instance
// and a room's head-count is the same everywhere.
//
// An instance subscribes in Redis only to the channels its own subscribers
// watch: one pub/sub connection carries all of them (one per shard on a
// Redis Cluster), SUBSCRIBE is sent when a channel's first local subscriber
// comes and UNSUBSCRIBE when its last one goes. Events travel as their JSON
// (live.Event), encoded once per publish and decoded once per instance.
//
// On a Redis Cluster the bus uses sharded pub/sub (SPUBLISH / SSUBSCRIBE):
// a channel lives on the shard that owns its slot, so publishing costs one
// shard, not the whole cluster, and the bus keeps one connection per shard
// it has subscribers on.
//
// Pub/sub is fire-and-forget: what is published while an instance's
// connection to Redis is down never reaches that instance. The connection
// is re-established and its channels subscribed again on its own; events
// published after that arrive as before.
package redisbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/live"
)

// DefaultPrefix starts every channel and key this package uses in Redis, so
// a Redis shared with other uses (or environments) never mixes them up.
const DefaultPrefix = "pb:live:"

// ErrLocalOnly wraps a Publish error when Redis could not take the event:
// it was delivered to this instance's subscribers only. Do not publish it
// again: they would see it twice.
var ErrLocalOnly = errors.New("redisbus: Redis unreachable; delivered on this instance only")

// Options tune a Bus; the zero value is usable.
type Options struct {
	// Prefix starts every channel name in Redis ("": DefaultPrefix).
	Prefix string
	// Buffer is how many events a subscription holds before its subscriber
	// counts as unable to keep up and is dropped (≤ 0: live.DefaultBuffer).
	Buffer int
	// PublishTimeout bounds a Publish, so that a Redis that is down or
	// unreachable costs a caller at most this long (0: one second).
	PublishTimeout time.Duration
	// SubscribeTimeout bounds how long Subscribe waits for Redis to confirm
	// a new channel (0: one second). When it passes, or when the
	// connection is down, the subscription is returned anyway and starts
	// receiving once Redis is back.
	SubscribeTimeout time.Duration
	// HealthInterval is how long a subscription connection may stay quiet
	// before the bus pings Redis on it; when a second interval passes
	// without even the answer, the connection is replaced (0: two
	// seconds). This catches a connection whose far end vanished without
	// a reset, which reading alone would wait on forever.
	HealthInterval time.Duration
	// Log receives the bus's warnings (nil: discarded).
	Log *slog.Logger
}

// Bus is a live.Bus over Redis pub/sub.
type Bus struct {
	client  redis.UniversalClient
	cluster *redis.ClusterClient // non-nil: sharded pub/sub
	owned   bool                 // Close closes client
	prefix  string
	buffer  int
	pubWait time.Duration
	subWait time.Duration
	health  time.Duration
	log     *slog.Logger
	done    chan struct{} // closed by Close

	// ctl orders the decisions to subscribe or unsubscribe a channel in
	// Redis with the commands that carry them out, so that a channel
	// left and joined at once ends subscribed. It is taken before mu and
	// may be held across a round trip to Redis; mu never is.
	ctl sync.Mutex

	mu     sync.Mutex
	chans  map[string]*channelState // by channel name without the prefix
	shards map[string]*shard        // by node address ("" without a cluster)
	closed bool

	dispatchers sync.WaitGroup

	publishFailures, dropped, replaced atomic.Int64
	failing                            atomic.Int32 // connections failing to reach Redis now
}

// Stats are the bus's counters since it was made.
type Stats struct {
	PublishFailures int64 // publishes Redis did not take (delivered locally only)
	Dropped         int64 // subscriptions dropped for not keeping up
	Replaced        int64 // silent subscription connections replaced
	// Up is false while a subscription connection cannot reach Redis.
	Up bool
}

// Stats reads the counters.
func (b *Bus) Stats() Stats {
	return Stats{
		PublishFailures: b.publishFailures.Load(), Dropped: b.dropped.Load(), Replaced: b.replaced.Load(),
		Up: b.failing.Load() == 0,
	}
}

// channelState is one channel this instance is subscribed to in Redis.
type channelState struct {
	subs      map[*subscription]struct{}
	shard     *shard
	confirmed chan struct{} // closed when Redis confirms the subscription
	done      bool          // confirmed is closed (under Bus.mu)
}

// shard is one pub/sub connection: the only one on a single Redis, one per
// node on a cluster. go-redis reconnects it after an error and subscribes
// its channels again; the bus replaces it (open) when it goes silent.
type shard struct {
	addr    string
	sharded bool
	open    func() *redis.PubSub

	mu sync.Mutex
	ps *redis.PubSub

	// rehoming is set while rehome runs for this connection; retired once
	// its node lost all its channels to others (its reader then ends).
	rehoming, retired atomic.Bool
}

func (s *shard) pubsub() *redis.PubSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ps
}

func (s *shard) subscribe(ctx context.Context, channels ...string) error {
	if s.sharded {
		return s.pubsub().SSubscribe(ctx, channels...)
	}
	return s.pubsub().Subscribe(ctx, channels...)
}

func (s *shard) unsubscribe(ctx context.Context, channel string) error {
	if s.sharded {
		return s.pubsub().SUnsubscribe(ctx, channel)
	}
	return s.pubsub().Unsubscribe(ctx, channel)
}

// New returns a bus over client: a *redis.ClusterClient makes it use
// sharded pub/sub, anything else plain pub/sub. The caller keeps client
// and closes it after the bus. For Publish to fail within PublishTimeout,
// client needs ContextTimeoutEnabled (NewClient sets it).
func New(client redis.UniversalClient, opt Options) *Bus {
	b := &Bus{
		client:  client,
		prefix:  opt.Prefix,
		buffer:  opt.Buffer,
		pubWait: opt.PublishTimeout,
		subWait: opt.SubscribeTimeout,
		health:  opt.HealthInterval,
		log:     opt.Log,
		done:    make(chan struct{}),
		chans:   make(map[string]*channelState),
		shards:  make(map[string]*shard),
	}
	b.cluster, _ = client.(*redis.ClusterClient)
	if b.prefix == "" {
		b.prefix = DefaultPrefix
	}
	if b.buffer <= 0 {
		b.buffer = live.DefaultBuffer
	}
	if b.pubWait <= 0 {
		b.pubWait = time.Second
	}
	if b.subWait <= 0 {
		b.subWait = time.Second
	}
	if b.health <= 0 {
		b.health = 2 * time.Second
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return b
}

// Open returns a bus over a client of rawURL (see NewClient), which the
// bus closes with itself.
func Open(rawURL string, opt Options) (*Bus, error) {
	client, err := NewClient(rawURL)
	if err != nil {
		return nil, err
	}
	b := New(client, opt)
	b.owned = true
	return b, nil
}

// Publish sends ev to every subscriber of its channel on every instance.
// When Redis cannot take it within PublishTimeout, the error wraps
// ErrLocalOnly: this instance's subscribers have it, the others' do not.
func (b *Bus) Publish(ctx context.Context, ev live.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return live.ErrClosed
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("redisbus: encode %s event: %w", ev.Type, err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.pubWait)
	defer cancel()
	if b.cluster != nil {
		err = b.cluster.SPublish(ctx, b.prefix+ev.Channel, payload).Err()
	} else {
		err = b.client.Publish(ctx, b.prefix+ev.Channel, payload).Err()
	}
	if err != nil {
		b.publishFailures.Add(1)
		b.mu.Lock()
		b.deliverLocked(ev.Channel, ev)
		b.mu.Unlock()
		return fmt.Errorf("%w: publish on %s: %w", ErrLocalOnly, ev.Channel, err)
	}
	return nil
}

// Subscribe starts receiving channel's events: every event published after
// it returns, while Redis is reachable. It waits for Redis to confirm a
// channel new to this instance (up to SubscribeTimeout); when the
// connection is down it returns at once, and the subscription receives
// once the connection is back.
func (b *Bus) Subscribe(ctx context.Context, channel string) (live.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &subscription{b: b, channel: channel, c: make(chan live.Event, b.buffer)}
	b.ctl.Lock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.ctl.Unlock()
		return nil, live.ErrClosed
	}
	st := b.chans[channel]
	fresh := st == nil
	if fresh {
		st = &channelState{subs: make(map[*subscription]struct{}), confirmed: make(chan struct{})}
		b.chans[channel] = st
	}
	st.subs[s] = struct{}{}
	b.mu.Unlock()
	wait := true
	if fresh {
		sh, err := b.shardFor(ctx, channel)
		if err != nil {
			// Not even the node is known: nothing would ever subscribe it.
			b.mu.Lock()
			delete(b.chans, channel)
			b.mu.Unlock()
			b.ctl.Unlock()
			return nil, fmt.Errorf("redisbus: subscribe %s: %w", channel, err)
		}
		b.mu.Lock()
		st.shard = sh
		b.mu.Unlock()
		sctx, cancel := context.WithTimeout(ctx, b.subWait)
		if err := sh.subscribe(sctx, b.prefix+channel); err != nil {
			// go-redis keeps the channel and subscribes it again when it
			// reconnects; waiting now would only hold the caller.
			// Debug: an outage shows in Stats, not once per room joined.
			b.log.Debug("redis bus: subscribe while Redis is unreachable; it will follow once Redis is back", "channel", channel, "err", err)
			wait = false
		}
		cancel()
	}
	b.ctl.Unlock()
	if wait {
		timer := time.NewTimer(b.subWait)
		defer timer.Stop()
		select {
		case <-st.confirmed:
		case <-timer.C:
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

// shardFor returns the connection that carries channel, opening it if
// needed. The caller holds ctl.
func (b *Bus) shardFor(ctx context.Context, channel string) (*shard, error) {
	addr := ""
	var node *redis.Client
	if b.cluster != nil {
		ctx, cancel := context.WithTimeout(ctx, b.subWait)
		defer cancel()
		var err error
		if node, err = b.cluster.MasterForKey(ctx, b.prefix+channel); err != nil {
			return nil, err
		}
		addr = node.Options().Addr
	}
	b.mu.Lock()
	sh := b.shards[addr]
	b.mu.Unlock()
	if sh != nil {
		return sh, nil
	}
	sh = &shard{addr: addr, sharded: node != nil}
	if node != nil {
		sh.open = func() *redis.PubSub { return node.SSubscribe(context.Background()) }
	} else {
		sh.open = func() *redis.PubSub { return b.client.Subscribe(context.Background()) }
	}
	sh.ps = sh.open()
	b.mu.Lock()
	b.shards[addr] = sh
	b.mu.Unlock()
	b.dispatchers.Add(1)
	go b.receive(sh)
	return sh, nil
}

// receive reads one connection and hands what arrives to the local
// subscribers, until the bus closes. It reads itself, rather than through
// go-redis's Go channel, to watch the connection: when it stays quiet for
// a health interval it sends a PING, and when the interval after that
// brings nothing either, the connection is replaced.
func (b *Bus) receive(sh *shard) {
	defer b.dispatchers.Done()
	ctx := context.Background()
	pinged := false
	failures := 0
	// reached is called when the connection answers or times out waiting:
	// either way Redis was reached.
	reached := func() {
		if failures > 0 {
			b.failing.Add(-1)
		}
		failures = 0
	}
	defer reached()
	for {
		ps := sh.pubsub()
		msg, err := ps.ReceiveTimeout(ctx, b.health)
		if err == nil {
			reached()
			pinged = false
			b.handle(sh, msg)
			continue
		}
		select {
		case <-b.done:
			return
		default:
		}
		if isTimeout(err) {
			reached()
			if pinged {
				b.replace(sh)
				pinged = false
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, b.health)
			_ = ps.Ping(pctx)
			cancel()
			pinged = true
			continue
		}
		if sh.retired.Load() {
			return
		}
		// Redis is unreachable (go-redis dials again on the next call):
		// pace the attempts.
		pinged = false
		if failures == 0 {
			b.failing.Add(1)
		}
		failures++
		// A cluster node that stays unreachable may have died and its
		// replica taken its slots: look, now and then, whether its
		// channels belong elsewhere now.
		if sh.sharded && failures%4 == 3 && sh.rehoming.CompareAndSwap(false, true) {
			go b.rehome(sh)
		}
		pause := time.Duration(min(failures, 10)) * 50 * time.Millisecond
		select {
		case <-b.done:
			return
		case <-time.After(pause):
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handle is one message from a connection.
func (b *Bus) handle(sh *shard, msg any) {
	switch m := msg.(type) {
	case *redis.Message:
		channel, ok := strings.CutPrefix(m.Channel, b.prefix)
		if !ok {
			return
		}
		var ev live.Event
		if err := json.Unmarshal([]byte(m.Payload), &ev); err != nil {
			b.log.Warn("redis bus: undecodable event dropped", "channel", channel, "err", err)
			return
		}
		// The Redis channel is the authority on where it goes.
		ev.Channel = channel
		b.mu.Lock()
		b.deliverLocked(channel, ev)
		b.mu.Unlock()
	case *redis.Subscription:
		channel, ok := strings.CutPrefix(m.Channel, b.prefix)
		if !ok {
			return
		}
		switch m.Kind {
		case "subscribe", "ssubscribe":
			b.mu.Lock()
			if st := b.chans[channel]; st != nil && st.shard == sh && !st.done {
				st.done = true
				close(st.confirmed)
			}
			b.mu.Unlock()
		case "sunsubscribe":
			// Redis unsubscribes a shard channel itself when its slot
			// moves to another node; follow it there.
			go b.reshard(channel, sh)
		}
	}
}

// replace swaps a silent connection for a new one with the same channels.
func (b *Bus) replace(sh *shard) {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	var channels []string
	for name, st := range b.chans {
		if st.shard == sh {
			channels = append(channels, b.prefix+name)
		}
	}
	b.mu.Unlock()
	b.replaced.Add(1)
	b.log.Warn("redis bus: no answer on a subscription connection; replacing it", "addr", sh.addr, "channels", len(channels))
	fresh := sh.open()
	sh.mu.Lock()
	old := sh.ps
	sh.ps = fresh
	sh.mu.Unlock()
	old.Close()
	if len(channels) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.subWait)
	defer cancel()
	// On failure go-redis keeps the channels and subscribes them when it
	// connects.
	_ = sh.subscribe(ctx, channels...)
}

// deliverLocked hands ev to channel's subscribers without waiting: one
// whose buffer is full is dropped. The caller holds mu.
func (b *Bus) deliverLocked(channel string, ev live.Event) {
	st := b.chans[channel]
	if st == nil {
		return
	}
	for s := range st.subs {
		select {
		case s.c <- ev:
		default:
			b.dropped.Add(1)
			delete(st.subs, s)
			close(s.c)
			s.closed = true
			if len(st.subs) == 0 {
				go b.release(channel)
			}
		}
	}
}

// release unsubscribes channel in Redis when it has no local subscriber
// left.
func (b *Bus) release(channel string) {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	st := b.chans[channel]
	if b.closed || st == nil || len(st.subs) > 0 {
		b.mu.Unlock()
		return
	}
	delete(b.chans, channel)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), b.pubWait)
	defer cancel()
	// A failure needs nothing more: go-redis has forgotten the channel, so
	// a reconnection does not subscribe it again, and until then its
	// events find no subscriber and are ignored.
	_ = st.shard.unsubscribe(ctx, b.prefix+channel)
}

// reshard moves channel to the node that owns its slot now, when Redis
// unsubscribed it on from (a slot migration). An unsubscription of ours
// finds the channel gone and does nothing.
func (b *Bus) reshard(channel string, from *shard) {
	onFrom := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		st := b.chans[channel]
		return !b.closed && st != nil && st.shard == from
	}
	if !onFrom() {
		return
	}
	// The client learns the new owner by reloading the slot map, which it
	// does in the background: look until the owner changes, without
	// holding up other subscriptions.
	ctx, cancel := context.WithTimeout(context.Background(), b.subWait)
	defer cancel()
	for {
		b.cluster.ReloadState(ctx)
		node, err := b.cluster.MasterForKey(ctx, b.prefix+channel)
		if err == nil && node.Options().Addr != from.addr {
			break
		}
		select {
		case <-ctx.Done():
			b.log.Warn("redis bus: a shard channel was unsubscribed and its slot did not move", "channel", channel)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.move(ctx, channel, from)
}

// move subscribes channel on the node that owns its slot now, if that is
// not from's, and unsubscribes it on from.
func (b *Bus) move(ctx context.Context, channel string, from *shard) {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	st := b.chans[channel]
	onFrom := !b.closed && st != nil && st.shard == from
	b.mu.Unlock()
	if !onFrom {
		return
	}
	to, err := b.shardFor(ctx, channel)
	if err != nil || to == from {
		return
	}
	// On a dead node this fails; go-redis forgets the channel all the
	// same, so it is never subscribed there again.
	_ = from.unsubscribe(ctx, b.prefix+channel)
	b.mu.Lock()
	st.shard = to
	b.mu.Unlock()
	if err := to.subscribe(ctx, b.prefix+channel); err != nil {
		b.log.Warn("redis bus: resubscribe after a slot moved", "channel", channel, "err", err)
	}
}

// rehome moves the channels of a connection whose node does not answer to
// the nodes that own their slots now: a primary that died is replaced by
// its replica once the cluster has promoted it, and Redis tells nobody.
// The slot map is reloaded in the background, so a call may still see
// the old one; the reader calls again while the node stays unreachable.
// A connection left with no channel is retired.
func (b *Bus) rehome(sh *shard) {
	defer sh.rehoming.Store(false)
	b.cluster.ReloadState(context.Background())
	b.mu.Lock()
	var channels []string
	for name, st := range b.chans {
		if st.shard == sh {
			channels = append(channels, name)
		}
	}
	b.mu.Unlock()
	for _, channel := range channels {
		// Each channel its own bound: a dead node's round trips must not
		// use up the others' time.
		ctx, cancel := context.WithTimeout(context.Background(), b.subWait)
		if node, err := b.cluster.MasterForKey(ctx, b.prefix+channel); err == nil && node.Options().Addr != sh.addr {
			b.move(ctx, channel, sh)
		}
		cancel()
	}
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	if b.closed || b.shards[sh.addr] != sh {
		b.mu.Unlock()
		return
	}
	for _, st := range b.chans {
		if st.shard == sh {
			b.mu.Unlock()
			return
		}
	}
	delete(b.shards, sh.addr)
	sh.retired.Store(true)
	b.mu.Unlock()
	b.log.Warn("redis bus: a cluster node stays unreachable and its channels moved to other nodes", "addr", sh.addr, "channels", len(channels))
	_ = sh.pubsub().Close()
}

// Close ends every subscription and the connections to Redis. Later calls
// to Publish and Subscribe fail with live.ErrClosed.
func (b *Bus) Close() error {
	b.ctl.Lock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.ctl.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	for _, st := range b.chans {
		for s := range st.subs {
			close(s.c)
			s.closed = true
		}
	}
	b.chans = nil
	shards := b.shards
	b.shards = nil
	b.mu.Unlock()
	b.ctl.Unlock()
	var errs []error
	for _, sh := range shards {
		if err := sh.pubsub().Close(); err != nil {
			errs = append(errs, err)
		}
	}
	b.dispatchers.Wait()
	if b.owned {
		errs = append(errs, b.client.Close())
	}
	return errors.Join(errs...)
}

// subscription is one subscriber's view of a channel.
type subscription struct {
	b       *Bus
	channel string
	c       chan live.Event
	closed  bool // c is closed (under Bus.mu)
}

func (s *subscription) C() <-chan live.Event { return s.c }

// Close ends the subscription; the channel's last one also unsubscribes
// the instance in Redis.
func (s *subscription) Close() {
	b := s.b
	b.mu.Lock()
	if s.closed {
		b.mu.Unlock()
		return
	}
	s.closed = true
	close(s.c)
	last := false
	if st := b.chans[s.channel]; st != nil {
		delete(st.subs, s)
		last = len(st.subs) == 0
	}
	b.mu.Unlock()
	if last {
		b.release(s.channel)
	}
}

var _ live.Bus = (*Bus)(nil)
