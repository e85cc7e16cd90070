// Package livetest is the behaviour every live.Bus and live.Presence must
// have, as a test each implementation's package runs on its own: live on
// Memory, redisbus on Redis.
package livetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/live"
)

// wait bounds every receive: a contract breach fails the test instead of
// hanging it. It decides nothing about order.
const wait = 10 * time.Second

// unique names a channel or room no other test (or run on a shared Redis)
// uses.
func unique(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return what + ":" + hex.EncodeToString(b)
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

func recv(t *testing.T, sub live.Subscription) live.Event {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed while an event was expected")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no event within the bound")
	}
	return live.Event{}
}

// expectClosed fails unless sub's channel is closed with no event left in
// it; any event still there is an error.
func expectClosed(t *testing.T, sub live.Subscription) {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if ok {
			t.Fatalf("event %+v after close", ev)
		}
	case <-time.After(wait):
		t.Fatal("subscription not closed within the bound")
	}
}

func subscribe(t *testing.T, b live.Bus, channel string) live.Subscription {
	t.Helper()
	sub, err := b.Subscribe(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

func publish(t *testing.T, b live.Bus, ev live.Event) {
	t.Helper()
	if err := b.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// RunBus runs the bus contract. newBus returns at least two buses over one
// backend (two handles of one Memory, two clients of one Redis), standing
// for two instances; each subtest gets fresh ones.
func RunBus(t *testing.T, newBus func(t *testing.T) []live.Bus) {
	two := func(t *testing.T) (live.Bus, live.Bus) {
		t.Helper()
		bs := newBus(t)
		if len(bs) < 2 {
			t.Fatalf("newBus returned %d buses, want 2", len(bs))
		}
		return bs[0], bs[1]
	}

	t.Run("every subscription on every instance receives in publish order", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		ch := unique(t, "match")
		subs := []live.Subscription{subscribe(t, a, ch), subscribe(t, a, ch), subscribe(t, b, ch)}
		for i := range 50 {
			publish(t, a, event(ch, i))
		}
		for si, sub := range subs {
			for i := range 50 {
				ev := recv(t, sub)
				if ev.Channel != ch || ev.Type != "test" || seq(t, ev) != i {
					t.Fatalf("subscription %d event %d: got %+v", si, i, ev)
				}
			}
		}
	})

	t.Run("a subscription receives only its channel", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		ch1, ch2 := unique(t, "match"), unique(t, "match")
		s1 := subscribe(t, b, ch1)
		s2 := subscribe(t, b, ch2)
		publish(t, a, event(ch2, 1))
		publish(t, a, event(ch1, 2))
		publish(t, a, event(ch2, 3))
		if ev := recv(t, s1); ev.Channel != ch1 || seq(t, ev) != 2 {
			t.Fatalf("s1 got %+v", ev)
		}
		if ev := recv(t, s2); seq(t, ev) != 1 {
			t.Fatalf("s2 got %+v", ev)
		}
		if ev := recv(t, s2); seq(t, ev) != 3 {
			t.Fatalf("s2 got %+v", ev)
		}
		// A marker published after the others proves nothing else was
		// queued for s1: order per channel holds, so it comes next.
		publish(t, a, event(ch1, 4))
		if ev := recv(t, s1); seq(t, ev) != 4 {
			t.Fatalf("s1 got %+v, want only its channel's marker", ev)
		}
	})

	t.Run("closing a subscription closes its channel and spares the others", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		ch := unique(t, "match")
		gone := subscribe(t, b, ch)
		stays := subscribe(t, b, ch)
		gone.Close()
		expectClosed(t, gone)
		gone.Close() // a second Close is harmless
		publish(t, a, event(ch, 7))
		if ev := recv(t, stays); seq(t, ev) != 7 {
			t.Fatalf("got %+v", ev)
		}
	})

	t.Run("closing a bus closes its subscriptions, not the other instance's", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		ch := unique(t, "match")
		onA := subscribe(t, a, ch)
		onB := subscribe(t, b, ch)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, onA)
		publish(t, b, event(ch, 1))
		if ev := recv(t, onB); seq(t, ev) != 1 {
			t.Fatalf("got %+v", ev)
		}
	})

	t.Run("a stalled subscriber never blocks the publisher or the others", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		ch := unique(t, "match")
		stalled := subscribe(t, b, ch)
		reader := subscribe(t, b, ch)
		// The publisher goes in steps of 32 events, each after the reader has
		// taken the previous step, so the reader keeps up by construction
		// while the stalled one falls 20,000 events behind.
		const n, step = 20000, 32
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		for i := 0; i < n; i += step {
			for j := i; j < i+step; j++ {
				if err := a.Publish(ctx, event(ch, j)); err != nil {
					t.Fatalf("publish %d with a stalled subscriber: %v", j, err)
				}
			}
			for j := i; j < i+step; j++ {
				if ev := recv(t, reader); seq(t, ev) != j {
					t.Fatalf("the reading subscriber got %+v, want event %d", ev, j)
				}
			}
		}
		// The stalled one holds an in-order prefix; it was either dropped
		// (channel closed) or kept everything.
		next := 0
		for next < n {
			select {
			case ev, ok := <-stalled.C():
				if !ok {
					if next == 0 {
						t.Log("stalled subscriber dropped before any delivery")
					}
					return
				}
				if s := seq(t, ev); s != next {
					t.Fatalf("stalled subscriber: event %d, want %d", s, next)
				}
				next++
			case <-time.After(wait):
				t.Fatalf("stalled subscriber neither closed nor complete after %d events", next)
			}
		}
	})

	t.Run("a closed bus refuses to publish and subscribe", func(t *testing.T) {
		t.Parallel()
		a, _ := two(t)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := a.Publish(context.Background(), event("x", 1)); err == nil {
			t.Fatal("publish after Close succeeded")
		}
		if _, err := a.Subscribe(context.Background(), "x"); err == nil {
			t.Fatal("subscribe after Close succeeded")
		}
	})
}

// RunPresence runs the presence contract. newPresence returns at least two
// presences over one backend, standing for two instances. Expiry is tested
// in real time with short ttls.
func RunPresence(t *testing.T, newPresence func(t *testing.T) []live.Presence) {
	ctx := context.Background()
	two := func(t *testing.T) (live.Presence, live.Presence) {
		t.Helper()
		ps := newPresence(t)
		if len(ps) < 2 {
			t.Fatalf("newPresence returned %d presences, want 2", len(ps))
		}
		return ps[0], ps[1]
	}
	count := func(t *testing.T, p live.Presence, room string) int {
		t.Helper()
		n, err := p.Count(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("members on every instance are counted once each", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		room := unique(t, "match")
		if n := count(t, a, room); n != 0 {
			t.Fatalf("empty room counts %d", n)
		}
		must(t, a.Join(ctx, room, "c1", time.Minute))
		must(t, a.Join(ctx, room, "c2", time.Minute))
		must(t, b.Join(ctx, room, "c3", time.Minute))
		must(t, b.Join(ctx, room, "c3", time.Minute)) // a refresh, not another viewer
		if na, nb := count(t, a, room), count(t, b, room); na != 3 || nb != 3 {
			t.Fatalf("counts %d and %d, want 3 on both", na, nb)
		}
		must(t, a.Leave(ctx, room, "c3"))
		must(t, a.Leave(ctx, room, "nobody"))
		if n := count(t, b, room); n != 2 {
			t.Fatalf("after a leave: %d, want 2", n)
		}
		must(t, a.Leave(ctx, room, "c1"))
		must(t, a.Leave(ctx, room, "c2"))
		if n := count(t, b, room); n != 0 {
			t.Fatalf("after the last leave: %d, want 0", n)
		}
	})

	t.Run("rooms are separate", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		r1, r2 := unique(t, "match"), unique(t, "match")
		must(t, a.Join(ctx, r1, "c1", time.Minute))
		must(t, b.Join(ctx, r2, "c1", time.Minute))
		must(t, b.Join(ctx, r2, "c2", time.Minute))
		if n1, n2 := count(t, a, r1), count(t, a, r2); n1 != 1 || n2 != 2 {
			t.Fatalf("counts %d and %d, want 1 and 2", n1, n2)
		}
	})

	t.Run("a member not refreshed drops out after its ttl", func(t *testing.T) {
		t.Parallel()
		a, b := two(t)
		room := unique(t, "match")
		must(t, a.Join(ctx, room, "crashed", 300*time.Millisecond))
		must(t, b.Join(ctx, room, "alive", time.Minute))
		if n := count(t, b, room); n != 2 {
			t.Fatalf("count %d, want 2", n)
		}
		deadline := time.Now().Add(wait)
		for count(t, b, room) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("an expired member is still counted")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("a refresh keeps a member past its first ttl", func(t *testing.T) {
		t.Parallel()
		a, _ := two(t)
		room := unique(t, "match")
		must(t, a.Join(ctx, room, "c1", 400*time.Millisecond))
		must(t, a.Join(ctx, room, "c1", time.Minute))
		must(t, a.Join(ctx, room, "short", 400*time.Millisecond))
		// Once "short" has expired, c1's first ttl has passed too.
		deadline := time.Now().Add(wait)
		for count(t, a, room) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("the short member is still counted")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
