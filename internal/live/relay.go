package live

import (
	"context"
	"sync/atomic"
	"time"
)

// DefaultRelayQueue is how many batches of events a Relay holds for its
// publisher before it drops what more is sent.
const DefaultRelayQueue = 4096

// Relay hands events from code that must not wait on the bus — a
// settlement or a credit whose transaction has just committed — to one
// goroutine that publishes them in the order they were sent. Send never
// blocks: when the queue is full the events are dropped and counted. A
// dropped event loses only its live delivery; personal events are also in
// the notices table, and match events carry full values that the next
// change repairs.
type Relay struct {
	bus     Bus
	q       chan []Event
	dropped atomic.Int64
	failed  atomic.Int64
	// OnError, when set, is told of each event the bus refused. It runs on
	// the relay's goroutine.
	OnError func(Event, error)
}

// NewRelay returns a relay to bus holding up to queue batches
// (DefaultRelayQueue when queue ≤ 0). Nothing is published until Run runs.
func NewRelay(bus Bus, queue int) *Relay {
	if queue <= 0 {
		queue = DefaultRelayQueue
	}
	return &Relay{bus: bus, q: make(chan []Event, queue)}
}

// Send queues evs for publishing without waiting, and reports whether
// they were queued. A nil Relay takes nothing.
func (r *Relay) Send(evs ...Event) bool {
	if r == nil || len(evs) == 0 {
		return r != nil
	}
	select {
	case r.q <- evs:
		return true
	default:
		r.dropped.Add(int64(len(evs)))
		return false
	}
}

// RelayStats are a relay's counters.
type RelayStats struct {
	Dropped int64 // events not queued: the queue was full
	Failed  int64 // events the bus refused
	Queued  int   // batches waiting now
}

// Stats reads the counters.
func (r *Relay) Stats() RelayStats {
	return RelayStats{Dropped: r.dropped.Load(), Failed: r.failed.Load(), Queued: len(r.q)}
}

// Run publishes queued events until ctx is cancelled, then what is
// already queued, for at most drain, so events of the last commits before
// a shutdown still go out. A batch taken before the cancellation is
// published whole: the cancellation ends the loop, not a publish.
func (r *Relay) Run(ctx context.Context, drain time.Duration) error {
	pctx := context.WithoutCancel(ctx)
	for {
		select {
		case evs := <-r.q:
			r.publish(pctx, evs)
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
			defer cancel()
			for {
				select {
				case evs := <-r.q:
					r.publish(dctx, evs)
				default:
					return nil
				}
			}
		}
	}
}

func (r *Relay) publish(ctx context.Context, evs []Event) {
	for _, ev := range evs {
		if err := r.bus.Publish(ctx, ev); err != nil {
			r.failed.Add(1)
			if r.OnError != nil {
				r.OnError(ev, err)
			}
		}
	}
}
