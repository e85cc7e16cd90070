package live

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by a bus used after Close.
var ErrClosed = errors.New("live: bus closed")

// DefaultBuffer is how many events a Memory subscription holds before its
// subscriber counts as unable to keep up.
const DefaultBuffer = 1024

// Memory is the in-process Bus and Presence: one instance's events reach
// only that instance's subscribers. A subscriber whose buffer is full is
// dropped (its channel closed) so a publisher never waits on a reader.
type Memory struct {
	buffer int
	now    func() time.Time

	mu     sync.Mutex
	subs   map[string]map[*memSub]struct{}
	rooms  map[string]map[string]time.Time // room → member → expiry
	closed bool
}

// NewMemory returns an empty in-process bus whose subscriptions buffer
// buffer events (DefaultBuffer when buffer ≤ 0). now is the presence clock;
// nil means time.Now.
func NewMemory(buffer int, now func() time.Time) *Memory {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{
		buffer: buffer,
		now:    now,
		subs:   make(map[string]map[*memSub]struct{}),
		rooms:  make(map[string]map[string]time.Time),
	}
}

type memSub struct {
	m       *Memory
	h       *Handle // nil when subscribed on the Memory itself
	channel string
	c       chan Event
	once    sync.Once
}

func (s *memSub) C() <-chan Event { return s.c }

func (s *memSub) Close() {
	s.m.mu.Lock()
	s.m.removeLocked(s)
	s.m.mu.Unlock()
}

// removeLocked unlinks s and closes its channel once; the caller holds m.mu,
// which is also what every send holds, so no send races the close.
func (m *Memory) removeLocked(s *memSub) {
	if set, ok := m.subs[s.channel]; ok {
		delete(set, s)
		if len(set) == 0 {
			delete(m.subs, s.channel)
		}
	}
	if s.h != nil {
		delete(s.h.subs, s)
	}
	s.once.Do(func() { close(s.c) })
}

// Publish hands ev to every subscription of its channel without waiting.
func (m *Memory) Publish(ctx context.Context, ev Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for s := range m.subs[ev.Channel] {
		select {
		case s.c <- ev:
		default:
			m.removeLocked(s)
		}
	}
	return nil
}

// Subscribe starts a subscription; it receives every event published after
// Subscribe returns.
func (m *Memory) Subscribe(ctx context.Context, channel string) (Subscription, error) {
	return m.subscribe(ctx, nil, channel)
}

func (m *Memory) subscribe(ctx context.Context, h *Handle, channel string) (Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || (h != nil && h.closed) {
		return nil, ErrClosed
	}
	s := &memSub{m: m, h: h, channel: channel, c: make(chan Event, m.buffer)}
	set := m.subs[channel]
	if set == nil {
		set = make(map[*memSub]struct{})
		m.subs[channel] = set
	}
	set[s] = struct{}{}
	if h != nil {
		h.subs[s] = struct{}{}
	}
	return s, nil
}

// Close ends every subscription; later calls fail with ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, set := range m.subs {
		for s := range set {
			m.removeLocked(s)
		}
	}
	return nil
}

// Handle is another Bus over the same Memory, as a second instance's client
// of a shared backend is: closing it ends only its own subscriptions.
func (m *Memory) Handle() *Handle {
	return &Handle{m: m, subs: make(map[*memSub]struct{})}
}

// Handle is one user's Bus over a shared Memory.
type Handle struct {
	m      *Memory
	subs   map[*memSub]struct{} // guarded by m.mu
	closed bool                 // guarded by m.mu
}

// Publish publishes on the shared Memory.
func (h *Handle) Publish(ctx context.Context, ev Event) error {
	h.m.mu.Lock()
	closed := h.closed
	h.m.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return h.m.Publish(ctx, ev)
}

// Subscribe subscribes on the shared Memory.
func (h *Handle) Subscribe(ctx context.Context, channel string) (Subscription, error) {
	return h.m.subscribe(ctx, h, channel)
}

// Close ends this handle's subscriptions, not the shared Memory.
func (h *Handle) Close() error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.m.removeLocked(s)
	}
	return nil
}

// Join counts member in room until ttl passes or it leaves; joining again
// refreshes the expiry.
func (m *Memory) Join(ctx context.Context, room, member string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	members := m.rooms[room]
	if members == nil {
		members = make(map[string]time.Time)
		m.rooms[room] = members
	}
	members[member] = m.now().Add(ttl)
	return nil
}

// Leave stops counting member in room; the room goes with its last member.
func (m *Memory) Leave(ctx context.Context, room, member string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if members, ok := m.rooms[room]; ok {
		delete(members, member)
		if len(members) == 0 {
			delete(m.rooms, room)
		}
	}
	return nil
}

// Count is the number of room's members whose expiry has not passed,
// dropping the expired ones.
func (m *Memory) Count(ctx context.Context, room string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	members := m.rooms[room]
	for member, exp := range members {
		if !now.Before(exp) {
			delete(members, member)
		}
	}
	if len(members) == 0 {
		delete(m.rooms, room)
	}
	return len(members), nil
}

var (
	_ Bus      = (*Memory)(nil)
	_ Bus      = (*Handle)(nil)
	_ Presence = (*Memory)(nil)
)
