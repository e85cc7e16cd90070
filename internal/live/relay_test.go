package live_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/live"
)

// stuckBus is a bus whose Publish waits until the test lets it go.
type stuckBus struct {
	live.Bus
	release chan struct{}
	got     chan live.Event
}

func (b *stuckBus) Publish(ctx context.Context, ev live.Event) error {
	<-b.release
	b.got <- ev
	return nil
}

// A bus that does not take events never makes Send wait: past the queue,
// events are dropped and counted.
func TestRelaySendNeverBlocks(t *testing.T) {
	t.Parallel()
	bus := &stuckBus{release: make(chan struct{}), got: make(chan live.Event, 10)}
	r := live.NewRelay(bus, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, time.Second) }()
	// Without Run having taken one, two batches fit; with it, three.
	queued := 0
	for i := range 10 {
		if r.Send(live.Event{Type: "t", Channel: "c", Data: []byte(strconv.Itoa(i))}) {
			queued++
		}
	}
	if queued < 2 || queued > 3 {
		t.Fatalf("queued %d of 10 into a queue of 2", queued)
	}
	if st := r.Stats(); st.Dropped != int64(10-queued) {
		t.Fatalf("dropped = %d, want %d", st.Dropped, 10-queued)
	}
	close(bus.release)
	// Published in the order sent.
	for i := range queued {
		ev := <-bus.got
		if string(ev.Data) != strconv.Itoa(i) {
			t.Fatalf("event %d is %s", i, ev.Data)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// What is queued when Run is stopped still goes out.
func TestRelayDrainsOnStop(t *testing.T) {
	t.Parallel()
	m := live.NewMemory(0, nil)
	defer m.Close()
	ctx := context.Background()
	sub, err := m.Subscribe(ctx, "user:u_1")
	if err != nil {
		t.Fatal(err)
	}
	r := live.NewRelay(m, 0)
	for i := range 5 {
		r.Send(live.Event{Type: live.BetSettled, Channel: "user:u_1", Data: []byte(strconv.Itoa(i))})
	}
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Run(stopped, time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if ev := <-sub.C(); string(ev.Data) != strconv.Itoa(i) {
			t.Fatalf("event %d is %s", i, ev.Data)
		}
	}
	var nilRelay *live.Relay
	if nilRelay.Send(live.Event{}) {
		t.Fatal("a nil relay took an event")
	}
}
