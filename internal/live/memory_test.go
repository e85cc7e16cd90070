package live_test

import (
	"context"
	"testing"

	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/live/livetest"
)

func TestMemoryBusContract(t *testing.T) {
	livetest.RunBus(t, func(t *testing.T) []live.Bus {
		m := live.NewMemory(64, nil)
		t.Cleanup(func() { m.Close() })
		return []live.Bus{m.Handle(), m.Handle()}
	})
}

func TestMemoryPresenceContract(t *testing.T) {
	livetest.RunPresence(t, func(t *testing.T) []live.Presence {
		m := live.NewMemory(0, nil)
		return []live.Presence{m, m}
	})
}

// A full buffer drops that subscriber at once: the publisher does not wait.
func TestMemoryDropsTheSubscriberThatFallsBehind(t *testing.T) {
	t.Parallel()
	m := live.NewMemory(2, nil)
	defer m.Close()
	ctx := context.Background()
	slow, err := m.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := m.Publish(ctx, live.Event{Type: "t", Channel: "c"}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range slow.C() {
		n++
	}
	if n != 2 {
		t.Fatalf("the dropped subscriber kept %d events, want its buffer's 2", n)
	}
}

func TestMemoryCloseEndsHandles(t *testing.T) {
	t.Parallel()
	m := live.NewMemory(0, nil)
	h := m.Handle()
	sub, err := h.Subscribe(context.Background(), "c")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, ok := <-sub.C(); ok {
		t.Fatal("event after the Memory closed")
	}
	if err := h.Publish(context.Background(), live.Event{Channel: "c"}); err == nil {
		t.Fatal("publish after the Memory closed succeeded")
	}
}
