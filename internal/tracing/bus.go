package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pointsbook/pointsbook/internal/live"
)

// Bus wraps a live bus so that each Publish is a producer span ("publish
// match.score") in the trace of the context it is given: a chat message's
// publish is a child of its request's span; the relay's (events of a
// committed settlement or ingestion) start traces of their own. system is
// messaging.system: "redis" or "memory". Subscribers' deliveries are not
// traced. With a nil provider it returns b itself.
func Bus(b live.Bus, tp trace.TracerProvider, system string) live.Bus {
	if tp == nil {
		return b
	}
	return &tracedBus{Bus: b, tracer: tp.Tracer(Scope), system: system}
}

type tracedBus struct {
	live.Bus
	tracer trace.Tracer
	system string
}

var producer = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)}

func (b *tracedBus) Publish(ctx context.Context, ev live.Event) error {
	ctx, span := b.tracer.Start(ctx, "publish "+ev.Type, producer...)
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("messaging.system", b.system),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", ev.Channel),
			attribute.Int("messaging.message.body.size", len(ev.Data)),
		)
	}
	err := b.Bus.Publish(ctx, ev)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "")
	}
	return err
}
