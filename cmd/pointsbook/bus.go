package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/metrics"
	"github.com/pointsbook/pointsbook/internal/redisbus"
	"github.com/pointsbook/pointsbook/internal/tracing"
)

// liveBus carries real-time events and counts room viewers: through Redis
// when PB_REDIS_URL is set, so that every instance behind the load
// balancer sees every event and the same head-counts; in process
// otherwise, right for one instance.
//
// It is a worker ("live-bus") so that it closes in the shutdown order:
// after HTTP, the feed and the sweeper, which publish, have stopped.
type liveBus struct {
	bus      live.Bus
	presence live.Presence
	store    string                // what /readyz shows
	client   redis.UniversalClient // nil without PB_REDIS_URL
	// redis is the Redis bus under bus (which may be its traced wrapper);
	// nil without PB_REDIS_URL.
	redis *redisbus.Bus
	// relay publishes what committed transactions hand it (settlement's
	// bet.settled, credits' points.credited) off their path; Run runs it
	// until Stop, which lets it drain before the bus closes.
	relay      *live.Relay
	relayCtx   context.Context
	stopRelay  context.CancelFunc
	relayEnded chan struct{}
}

// relayDrain bounds how long the relay may take at shutdown to publish
// what the last commits queued.
const relayDrain = 2 * time.Second

func (l *liveBus) withRelay(log *slog.Logger) *liveBus {
	l.relay = live.NewRelay(l.bus, 0)
	l.relay.OnError = func(ev live.Event, err error) {
		log.Warn("live event not published", "type", ev.Type, "channel", ev.Channel, "err", err)
	}
	l.relayCtx, l.stopRelay = context.WithCancel(context.Background())
	l.relayEnded = make(chan struct{})
	return l
}

// newLiveBus builds the bus; prefix is the Redis prefix ("":
// redisbus.DefaultPrefix; tests give each server set its own). With a
// tracer provider each publish is a producer span.
func newLiveBus(cfg config.Config, prefix string, log *slog.Logger, tp trace.TracerProvider) (*liveBus, error) {
	if cfg.RedisURL == "" {
		m := live.NewMemory(0, nil)
		return (&liveBus{bus: tracing.Bus(m, tp, "memory"), presence: m, store: "in-process"}).withRelay(log), nil
	}
	client, err := redisbus.NewClient(cfg.RedisURL)
	if err != nil {
		// The error may quote the URL, password included.
		return nil, fmt.Errorf("PB_REDIS_URL does not parse as a Redis URL")
	}
	store := "redis"
	if redisbus.IsCluster(cfg.RedisURL) {
		store = "redis-cluster"
	}
	rb := redisbus.New(client, redisbus.Options{Prefix: prefix, Log: log})
	return (&liveBus{
		bus:      tracing.Bus(rb, tp, "redis"),
		redis:    rb,
		presence: redisbus.NewPresence(client, prefix, nil),
		store:    store,
		client:   client,
	}).withRelay(log), nil
}

// details is the bus's part of /readyz: shown, never failing readiness,
// since each instance keeps serving its own clients without Redis.
func (l *liveBus) details() map[string]any {
	d := map[string]any{"store": l.store}
	if rb := l.redis; rb != nil {
		d["redis"] = "up"
		if !rb.Stats().Up {
			d["redis"] = "unreachable: events stay on this instance"
		}
	}
	return d
}

func (l *liveBus) register(met *metrics.Metrics) {
	met.CounterFunc("pointsbook_live_events_dropped_total", "Events of committed changes not published because the relay's queue was full (personal ones stay in the notices).", nil,
		func() float64 { return float64(l.relay.Stats().Dropped) })
	rb := l.redis
	if rb == nil {
		return
	}
	met.Gauge("pointsbook_live_bus_redis_up", "1 while the real-time bus's subscription connections reach Redis; 0 while events stay on each instance.", nil,
		func() float64 {
			if rb.Stats().Up {
				return 1
			}
			return 0
		})
	met.CounterFunc("pointsbook_live_bus_publish_failures_total", "Real-time events Redis did not take: delivered on the publishing instance only.", nil,
		func() float64 { return float64(rb.Stats().PublishFailures) })
	met.CounterFunc("pointsbook_live_bus_dropped_subscriptions_total", "Bus subscriptions dropped for not keeping up (their viewers are told to reconnect).", nil,
		func() float64 { return float64(rb.Stats().Dropped) })
	met.CounterFunc("pointsbook_live_bus_replaced_connections_total", "Silent Redis subscription connections replaced.", nil,
		func() float64 { return float64(rb.Stats().Replaced) })
}

func (l *liveBus) Name() string { return "live-bus" }

// Run publishes the relay's events and holds the bus open until the
// group stops it.
func (l *liveBus) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, l.stopRelay)
	defer stop()
	err := l.relay.Run(l.relayCtx, relayDrain)
	close(l.relayEnded)
	<-ctx.Done()
	return err
}

// Stop lets the relay publish what is queued, then closes the bus,
// ending its subscriptions, then the Redis client.
func (l *liveBus) Stop(ctx context.Context) error {
	l.stopRelay()
	select {
	case <-l.relayEnded:
	case <-ctx.Done():
	}
	return l.close()
}

// close is Stop for a bus whose worker never started (Open failing).
func (l *liveBus) close() error {
	err := l.bus.Close()
	if errors.Is(err, live.ErrClosed) {
		err = nil
	}
	if l.client != nil {
		err = errors.Join(err, l.client.Close())
	}
	return err
}
