package redisbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/live/livetest"
	"github.com/pointsbook/pointsbook/internal/redistest"
)

// wait bounds every receive, so that a failure ends the test instead of
// hanging it; it decides nothing about order.
const wait = 10 * time.Second

// testURL returns the test Redis's URL with its address replaced by addr
// ("": unchanged), after checking that the server answers.
func testURL(t *testing.T, addr string) string {
	t.Helper()
	redistest.Client(t)
	u, err := url.Parse(os.Getenv(redistest.URLEnv))
	if err != nil {
		t.Fatal(err)
	}
	if addr != "" {
		u.Host = addr
	}
	return u.String()
}

func newClient(t *testing.T, rawURL string) redis.UniversalClient {
	t.Helper()
	c, err := NewClient(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newBus returns a bus with the test's prefix; it is closed before its
// client at the end of the test.
func newBus(t *testing.T, rawURL, prefix string, opt Options) *Bus {
	t.Helper()
	opt.Prefix = prefix
	b := New(newClient(t, rawURL), opt)
	t.Cleanup(func() { b.Close() })
	return b
}

func testPrefix(t *testing.T) string {
	return redistest.Prefix(t, redistest.Client(t))
}

func TestBusContract(t *testing.T) {
	u := testURL(t, "")
	livetest.RunBus(t, func(t *testing.T) []live.Bus {
		p := testPrefix(t)
		// The contract is about delivery, not about the bound on a Redis
		// round trip (TestConnectionCutAndRestored holds that): under -race on a busy
		// machine one PUBLISH of 20,000 can take longer than the default
		// second.
		opt := Options{PublishTimeout: 15 * time.Second}
		return []live.Bus{newBus(t, u, p, opt), newBus(t, u, p, opt)}
	})
}

func TestPresenceContract(t *testing.T) {
	u := testURL(t, "")
	livetest.RunPresence(t, func(t *testing.T) []live.Presence {
		p := testPrefix(t)
		return []live.Presence{NewPresence(newClient(t, u), p, nil), NewPresence(newClient(t, u), p, nil)}
	})
}

// A crashed instance refreshes nothing: its members stop counting when
// their ttl has passed, and not before.
func TestPresenceCrashedInstanceDropsOut(t *testing.T) {
	t.Parallel()
	u := testURL(t, "")
	p := testPrefix(t)
	clock := clocktest.New(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	crashed := NewPresence(newClient(t, u), p, clock.Now)
	alive := NewPresence(newClient(t, u), p, clock.Now)
	ctx := context.Background()
	if err := crashed.Join(ctx, "match:m_1", "a:1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := crashed.Join(ctx, "match:m_1", "a:2", time.Minute); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		n, err := alive.Count(ctx, "match:m_1")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	clock.Advance(59 * time.Second)
	if err := alive.Join(ctx, "match:m_1", "b:1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("before the ttl: %d, want 3", n)
	}
	clock.Advance(time.Second)
	if n := count(); n != 1 {
		t.Fatalf("60 s after the crash: %d, want 1 (the live instance's)", n)
	}
}

func numSub(t *testing.T, c *redis.Client, channel string) int64 {
	t.Helper()
	m, err := c.PubSubNumSub(context.Background(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m[channel]
}

// An instance holds one Redis subscription per channel its subscribers
// watch, on one connection, and drops it with the channel's last one.
func TestSubscribesPerChannel(t *testing.T) {
	t.Parallel()
	u := testURL(t, "")
	rc := redistest.Client(t)
	p := redistest.Prefix(t, rc)
	b := newBus(t, u, p, Options{})
	ctx := context.Background()
	s1, err := b.Subscribe(ctx, "match:m_1")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.Subscribe(ctx, "match:m_1")
	if err != nil {
		t.Fatal(err)
	}
	s3, err := b.Subscribe(ctx, "user:u_1")
	if err != nil {
		t.Fatal(err)
	}
	if n := numSub(t, rc, p+"match:m_1"); n != 1 {
		t.Fatalf("match:m_1 has %d Redis subscribers, want 1 for the instance", n)
	}
	if n := numSub(t, rc, p+"user:u_1"); n != 1 {
		t.Fatalf("user:u_1 has %d Redis subscribers, want 1", n)
	}
	if n := numSub(t, rc, p+"match:m_2"); n != 0 {
		t.Fatalf("an unwatched channel has %d Redis subscribers", n)
	}
	b.mu.Lock()
	shards := len(b.shards)
	b.mu.Unlock()
	if shards != 1 {
		t.Fatalf("%d pub/sub connections, want 1", shards)
	}
	s1.Close()
	if n := numSub(t, rc, p+"match:m_1"); n != 1 {
		t.Fatalf("with one local subscriber left: %d Redis subscribers, want 1", n)
	}
	// UNSUBSCRIBE is sent before Close returns, on another connection
	// than NUMSUB's: wait for Redis to have done it.
	s2.Close()
	if err := poll(func() bool { return numSub(t, rc, p+"match:m_1") == 0 }); err != nil {
		t.Fatal("the channel's last subscriber left; the instance is still subscribed in Redis")
	}
	s3.Close()
}

// poll reports whether ready turned true within the bound.
func poll(ready func() bool) error {
	deadline := time.Now().Add(wait)
	for !ready() {
		if time.Now().After(deadline) {
			return errors.New("not within the bound")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func event(channel string, n int) live.Event {
	return live.Event{Type: "test", Channel: channel, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func seq(t *testing.T, ev live.Event) int {
	t.Helper()
	var v struct{ N int }
	if err := json.Unmarshal(ev.Data, &v); err != nil {
		t.Fatalf("event data %q: %v", ev.Data, err)
	}
	return v.N
}

func recv(t *testing.T, sub live.Subscription, within time.Duration) (live.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev, true
	case <-time.After(within):
		return live.Event{}, false
	}
}

// When the connection to Redis is cut, publishing fails fast (and reaches
// the instance's own subscribers), subscribing does not hang, and once
// Redis is back the subscriptions, old and new, receive what is published
// after that, in order.
func TestConnectionCutAndRestored(t *testing.T) {
	t.Parallel()
	u := testURL(t, "")
	target, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := redistest.NewProxy(t, target.Host)
	p := testPrefix(t)
	const bound = 300 * time.Millisecond
	a := newBus(t, testURL(t, proxy.Addr()), p, Options{PublishTimeout: bound, SubscribeTimeout: bound})
	b := newBus(t, u, p, Options{})
	ctx := context.Background()

	subA, err := a.Subscribe(ctx, "match:m_1")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, event("match:m_1", 0)); err != nil {
		t.Fatal(err)
	}
	if ev, ok := recv(t, subA, wait); !ok || seq(t, ev) != 0 {
		t.Fatalf("before the cut: got %+v, %v", ev, ok)
	}

	proxy.Cut()
	start := time.Now()
	err = a.Publish(ctx, event("match:m_1", 1))
	took := time.Since(start)
	if !errors.Is(err, ErrLocalOnly) {
		t.Fatalf("publish while cut: %v, want ErrLocalOnly", err)
	}
	// The bound plus the scheduler's slack: what matters is that a caller
	// is not held for the client's retries and dial timeouts.
	if took > bound+time.Second {
		t.Fatalf("publish while cut took %v, bound %v", took, bound)
	}
	if ev, ok := recv(t, subA, wait); !ok || seq(t, ev) != 1 {
		t.Fatalf("the instance's own subscriber while cut: got %+v, %v", ev, ok)
	}
	start = time.Now()
	subNew, err := a.Subscribe(ctx, "match:m_2")
	if err != nil {
		t.Fatalf("subscribe while cut: %v", err)
	}
	if took := time.Since(start); took > bound+time.Second {
		t.Fatalf("subscribe while cut took %v", took)
	}
	if err := poll(func() bool { return !a.Stats().Up }); err != nil {
		t.Fatal("Stats().Up stays true while cut")
	}
	if n := a.Stats().PublishFailures; n != 1 {
		t.Fatalf("Stats().PublishFailures = %d, want 1", n)
	}

	proxy.Restore()
	// Events published while cut may be lost; the subscription catches up
	// with those published once the connection is back: publish markers
	// until one arrives.
	caughtUp := false
	for i := 0; !caughtUp && i < 100; i++ {
		if err := b.Publish(ctx, event("match:m_1", 1000+i)); err != nil {
			t.Fatal(err)
		}
		_, caughtUp = recv(t, subA, 100*time.Millisecond)
	}
	if !caughtUp {
		t.Fatal("no event reached the subscription within 10 s of Redis coming back")
	}
	for i := range 20 {
		if err := b.Publish(ctx, event("match:m_1", i)); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, event("match:m_2", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []live.Subscription{subA, subNew} {
		next := 0
		for next < 20 {
			ev, ok := recv(t, sub, wait)
			if !ok {
				t.Fatalf("after the restore: only %d events of 20", next)
			}
			if n := seq(t, ev); n >= 1000 {
				continue // a marker still on its way
			} else if n != next {
				t.Fatalf("after the restore: event %d, want %d", n, next)
			}
			next++
		}
	}
	// Publishing works again once the client has a connection.
	if err := poll(func() bool { return a.Publish(ctx, event("match:m_3", 0)) == nil }); err != nil {
		t.Fatal("publishing still fails after the restore")
	}
	if !a.Stats().Up {
		t.Fatal("Stats().Up false after the restore")
	}
}

// A subscription connection whose far end vanished without a reset (no
// error, just silence) is replaced: the subscription receives again.
// Without the bus's own health check the read would wait forever.
func TestSilentConnectionReplaced(t *testing.T) {
	t.Parallel()
	u := testURL(t, "")
	target, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := redistest.NewProxy(t, target.Host)
	p := testPrefix(t)
	const bound = 300 * time.Millisecond
	a := newBus(t, testURL(t, proxy.Addr()), p, Options{PublishTimeout: bound, HealthInterval: 200 * time.Millisecond})
	b := newBus(t, u, p, Options{})
	ctx := context.Background()
	sub, err := a.Subscribe(ctx, "match:m_1")
	if err != nil {
		t.Fatal(err)
	}
	// Published on a, so that a's pool holds a connection to go silent.
	if err := a.Publish(ctx, event("match:m_1", 0)); err != nil {
		t.Fatal(err)
	}
	if ev, ok := recv(t, sub, wait); !ok || seq(t, ev) != 0 {
		t.Fatalf("before: got %+v, %v", ev, ok)
	}

	proxy.Blackhole()
	start := time.Now()
	if err := a.Publish(ctx, event("match:m_1", 1)); !errors.Is(err, ErrLocalOnly) {
		t.Fatalf("publish into silence: %v, want ErrLocalOnly", err)
	}
	if took := time.Since(start); took > bound+time.Second {
		t.Fatalf("publish into silence took %v, bound %v", took, bound)
	}
	if ev, ok := recv(t, sub, wait); !ok || seq(t, ev) != 1 {
		t.Fatalf("the local copy: got %+v, %v", ev, ok)
	}
	back := false
	for i := 0; !back && i < 100; i++ {
		if err := b.Publish(ctx, event("match:m_1", 1000+i)); err != nil {
			t.Fatal(err)
		}
		_, back = recv(t, sub, 100*time.Millisecond)
	}
	if !back {
		t.Fatal("the subscription stayed on the silent connection")
	}
	if n := a.Stats().Replaced; n != 1 {
		t.Fatalf("Stats().Replaced = %d, want 1", n)
	}
	for i := range 10 {
		if err := b.Publish(ctx, event("match:m_1", i)); err != nil {
			t.Fatal(err)
		}
	}
	for next := 0; next < 10; {
		ev, ok := recv(t, sub, wait)
		if !ok {
			t.Fatalf("after: only %d events of 10", next)
		}
		if n := seq(t, ev); n >= 1000 {
			continue
		} else if n != next {
			t.Fatalf("after: event %d, want %d", n, next)
		}
		next++
	}
	if err := poll(func() bool { return a.Publish(ctx, event("match:m_3", 0)) == nil }); err != nil {
		t.Fatal("publishing still fails on new connections")
	}
}

// clusterURL names a cluster by its first node, the others as addr=.
func clusterURL(addrs []string) string {
	u := "redis+cluster://" + addrs[0]
	for i, a := range addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + a
	}
	return u
}

// The bus on a three-node Redis Cluster: the contract, with sharded
// pub/sub, and delivery across instances on channels spread over the
// shards.
func TestCluster(t *testing.T) {
	addrs := redistest.Cluster(t, 3)
	u := clusterURL(addrs)
	t.Run("contract", func(t *testing.T) {
		livetest.RunBus(t, func(t *testing.T) []live.Bus {
			p := fmt.Sprintf("pbtest:%d:", time.Now().UnixNano())
			return []live.Bus{newBus(t, u, p, Options{}), newBus(t, u, p, Options{})}
		})
	})
	t.Run("presence", func(t *testing.T) {
		livetest.RunPresence(t, func(t *testing.T) []live.Presence {
			p := fmt.Sprintf("pbtest:%d:", time.Now().UnixNano())
			return []live.Presence{NewPresence(newClient(t, u), p, nil), NewPresence(newClient(t, u), p, nil)}
		})
	})
	t.Run("across instances and shards", func(t *testing.T) {
		const channels, events = 30, 20
		a := newBus(t, u, "pb:live:", Options{})
		b := newBus(t, clusterURL([]string{addrs[2], addrs[0]}), "pb:live:", Options{})
		ctx := context.Background()
		subs := make([]live.Subscription, channels)
		for i := range subs {
			var err error
			if subs[i], err = b.Subscribe(ctx, fmt.Sprintf("match:m_%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		b.mu.Lock()
		shards := len(b.shards)
		b.mu.Unlock()
		if shards < 2 {
			t.Fatalf("%d channels on %d shard connection(s): the channels should spread over the nodes", channels, shards)
		}
		// Every node holds only the shard channels of its own slots.
		var total int
		for _, addr := range addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			chs, err := c.PubSubShardChannels(ctx, "pb:live:*").Result()
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			total += len(chs)
		}
		if total != channels {
			t.Fatalf("the nodes hold %d shard channels, want %d (one each)", total, channels)
		}
		for n := range events {
			for i := range channels {
				if err := a.Publish(ctx, event(fmt.Sprintf("match:m_%d", i), n)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, sub := range subs {
			for n := range events {
				ev, ok := recv(t, sub, wait)
				if !ok {
					t.Fatalf("channel %d: only %d events of %d", i, n, events)
				}
				if ev.Channel != fmt.Sprintf("match:m_%d", i) || seq(t, ev) != n {
					t.Fatalf("channel %d: got %+v, want event %d", i, ev, n)
				}
			}
		}
	})
	t.Run("a channel follows its slot to another node", func(t *testing.T) {
		ctx := context.Background()
		a := newBus(t, u, "pb:move:", Options{})
		b := newBus(t, u, "pb:move:", Options{})
		sub, err := b.Subscribe(ctx, "match:m_moved")
		if err != nil {
			t.Fatal(err)
		}
		nodes := make(map[string]*redis.Client) // by node id
		var from, to string
		slot := -1
		for _, addr := range addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { c.Close() })
			id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
			if err != nil {
				t.Fatal(err)
			}
			nodes[id] = c
			if slot < 0 {
				n, err := c.ClusterKeySlot(ctx, "pb:move:match:m_moved").Result()
				if err != nil {
					t.Fatal(err)
				}
				slot = int(n)
			}
		}
		shards, err := nodes[firstKey(nodes)].ClusterShards(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range shards {
			for _, r := range sh.Slots {
				if slot >= int(r.Start) && slot <= int(r.End) {
					from = sh.Nodes[0].ID // no replicas: the primary
				}
			}
		}
		for id := range nodes {
			if id != from {
				to = id
				break
			}
		}
		// The slot has no keys, so moving it is assigning it: the old owner
		// then unsubscribes its shard channels (SUNSUBSCRIBE to the client).
		for _, step := range [][]any{
			{"CLUSTER", "SETSLOT", slot, "IMPORTING", from, to},
			{"CLUSTER", "SETSLOT", slot, "MIGRATING", to, from},
		} {
			if err := nodes[step[5].(string)].Do(ctx, step[:5]...).Err(); err != nil {
				t.Fatalf("%v: %v", step[:5], err)
			}
		}
		for _, id := range []string{to, from} {
			if err := nodes[id].Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", to).Err(); err != nil {
				t.Fatal(err)
			}
		}
		for id, c := range nodes {
			if id != to && id != from {
				if err := c.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", to).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Publish until one arrives: the publisher learns the new owner
		// from a MOVED answer, the subscriber from its SUNSUBSCRIBE.
		moved := false
		for i := 0; !moved && i < 100; i++ {
			_ = a.Publish(ctx, event("match:m_moved", 1000+i))
			_, moved = recv(t, sub, 100*time.Millisecond)
		}
		if !moved {
			t.Fatal("the subscription did not follow its slot")
		}
		n, err := nodes[to].PubSubShardNumSub(ctx, "pb:move:match:m_moved").Result()
		if err != nil || n["pb:move:match:m_moved"] != 1 {
			t.Fatalf("the new owner has %v shard subscribers (%v), want 1", n, err)
		}
	})
}

// A primary fails over to its replica, twice: first by CLUSTER FAILOVER
// TAKEOVER on the replica (the old primary, alive, becomes the replica
// and drops its shard channels' subscribers), then by the new primary
// dying (SHUTDOWN NOSAVE), when the cluster promotes the replica after
// its node timeout. Each time the subscription follows the slot to the
// new primary, the publisher follows the MOVED answers, and delivery goes
// on, in order.
func TestClusterFailover(t *testing.T) {
	addrs := redistest.ClusterWithReplicas(t, 3, 1)
	u := clusterURL(addrs)
	const prefix, channel = "pb:fo:", "match:m_failover"
	a := newBus(t, u, prefix, Options{})
	b := newBus(t, u, prefix, Options{})
	ctx := context.Background()
	sub, err := b.Subscribe(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	// delivered publishes 20 events and checks they all arrive, in order,
	// past markers still on their way (≥ 1000).
	delivered := func(step string) {
		t.Helper()
		for n := range 20 {
			if err := a.Publish(ctx, event(channel, n)); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
		for n := 0; n < 20; {
			ev, ok := recv(t, sub, wait)
			if !ok {
				t.Fatalf("%s: event %d never came", step, n)
			}
			if got := seq(t, ev); got < 1000 {
				if got != n {
					t.Fatalf("%s: event %d came as %d", step, n, got)
				}
				n++
			}
		}
	}
	// resumed publishes markers until one arrives: events published while
	// the subscription moves are lost, as pub/sub's are.
	resumed := func(step string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for i := 0; time.Now().Before(deadline); i++ {
			_ = a.Publish(ctx, event(channel, 1000+i))
			if _, ok := recv(t, sub, 100*time.Millisecond); ok {
				return
			}
		}
		t.Fatalf("%s: delivery did not resume within %s", step, within)
	}
	delivered("before any failover")

	// roles are the slot's primary and replica now.
	slot := -1
	roles := func() (primary, replica string) {
		t.Helper()
		for _, addr := range addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			defer c.Close()
			if slot < 0 {
				n, err := c.ClusterKeySlot(ctx, prefix+channel).Result()
				if err != nil {
					continue
				}
				slot = int(n)
			}
			shards, err := c.ClusterShards(ctx).Result()
			if err != nil {
				continue // a node that is down
			}
			for _, sh := range shards {
				for _, r := range sh.Slots {
					if int64(slot) < r.Start || int64(slot) > r.End {
						continue
					}
					for _, n := range sh.Nodes {
						if n.Health == "fail" {
							continue
						}
						if addr := fmt.Sprintf("%s:%d", n.IP, n.Port); n.Role == "master" {
							primary = addr
						} else {
							replica = addr
						}
					}
				}
			}
			return primary, replica
		}
		t.Fatal("no node answers CLUSTER SHARDS")
		return
	}
	isPrimary := func(addr string) bool {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		info, err := c.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:master")
	}

	first, replica := roles()
	if first == "" || replica == "" {
		t.Fatalf("slot %d: primary %q, replica %q", slot, first, replica)
	}
	takeover := redis.NewClient(&redis.Options{Addr: replica})
	err = takeover.Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err()
	takeover.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := poll(func() bool { return isPrimary(replica) }); err != nil {
		t.Fatalf("the replica %s never became primary: %v", replica, err)
	}
	resumed("after the takeover", wait)
	delivered("after the takeover")

	// The new primary dies; its replica (the first primary) is promoted
	// once the cluster has found it gone (5 s node timeout, then a vote).
	dead := replica
	victim := redis.NewClient(&redis.Options{Addr: dead})
	_ = victim.Do(ctx, "SHUTDOWN", "NOSAVE").Err() // the connection ends with it
	victim.Close()
	if err := poll(func() bool { return isPrimary(first) }); err != nil {
		// The vote may need longer than the poll's bound on a busy host.
		if err := poll(func() bool { return isPrimary(first) }); err != nil {
			t.Fatalf("%s was not promoted after its primary died", first)
		}
	}
	resumed("after the primary died", 3*wait)
	delivered("after the primary died")
	// The dead node's connection, left with no channel, is retired: the
	// bus says it is up again.
	if err := poll(func() bool { return b.Stats().Up }); err != nil {
		t.Fatal("the bus still counts the dead node's connection as failing")
	}
	c := redis.NewClient(&redis.Options{Addr: first})
	defer c.Close()
	if n, err := c.PubSubShardNumSub(ctx, prefix+channel).Result(); err != nil || n[prefix+channel] != 1 {
		t.Fatalf("the promoted node has %v shard subscribers (%v), want 1", n, err)
	}
}

func firstKey[V any](m map[string]V) string {
	for k := range m {
		return k
	}
	return ""
}

// BenchmarkPublishToOtherInstance is one event published on one bus and
// received by a subscriber of another, through the test Redis: parallel
// publishers, one channel, the receiver counting until every event is in.
func BenchmarkPublishToOtherInstance(b *testing.B) {
	rc := redistest.Client(b)
	p := redistest.Prefix(b, rc)
	u := os.Getenv(redistest.URLEnv)
	clients := make([]redis.UniversalClient, 2)
	for i := range clients {
		c, err := NewClient(u)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	pub := New(clients[0], Options{Prefix: p})
	sub := New(clients[1], Options{Prefix: p, Buffer: 1 << 20})
	defer pub.Close()
	defer sub.Close()
	ctx := context.Background()
	s, err := sub.Subscribe(ctx, "match:m_1")
	if err != nil {
		b.Fatal(err)
	}
	ev := live.Event{Type: "chat.message", Channel: "match:m_1", Data: json.RawMessage(`{"id":1,"match":"m_1","user_id":"u_1","nickname":"kim","text":"Great save!"}`)}
	b.ResetTimer()
	done := make(chan int)
	go func() {
		n := 0
		for n < b.N {
			if _, ok := <-s.C(); !ok {
				break
			}
			n++
		}
		done <- n
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pub.Publish(ctx, ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if n := <-done; n != b.N {
		b.Fatalf("received %d of %d", n, b.N)
	}
}
