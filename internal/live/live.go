// Package live is the contract of real-time events: what an event is, the
// Bus that carries them to every instance, and Presence, the head-count of a
// room across instances. The in-process bus (Memory) is the default; Redis
// implements the same interfaces in internal/redisbus.
package live

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one thing that happened, for the subscribers of its channel.
// Data is the event's JSON payload, encoded once by the publisher.
type Event struct {
	Type    string          `json:"type"`    // "match.score", "chat.message", "bet.settled", …
	Channel string          `json:"channel"` // "match:m_1", "lobby:football", "user:u_1", "all"
	Data    json.RawMessage `json:"data"`
}

// Bus delivers an event published on a channel to every subscription of that
// channel on every instance, in publish order per channel and publisher.
type Bus interface {
	Publish(ctx context.Context, ev Event) error
	// Subscribe starts receiving a channel's events. The subscription's
	// channel is closed when it is closed or the bus shuts down.
	Subscribe(ctx context.Context, channel string) (Subscription, error)
	Close() error
}

// Subscription is one subscriber's view of a channel.
type Subscription interface {
	C() <-chan Event
	Close()
}

// Presence counts the viewers of a room across instances. An instance
// refreshes its members before ttl runs out; a crashed instance's members
// drop out within ttl.
type Presence interface {
	Join(ctx context.Context, room, member string, ttl time.Duration) error
	Leave(ctx context.Context, room, member string) error
	Count(ctx context.Context, room string) (int, error)
}
