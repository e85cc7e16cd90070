package tracing

import (
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pointsbook/pointsbook/internal/live"
)

func TestBusPublishIsAProducerSpanOfTheCaller(t *testing.T) {
	t.Parallel()
	tp, exp := recorded(t, sampleAll())
	mem := live.NewMemory(0, nil)
	bus := Bus(mem, tp, "memory")
	defer bus.Close()
	ctx := context.Background()
	sub, err := bus.Subscribe(ctx, "match:m_1")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, parent := tp.Tracer("test").Start(ctx, "request")
	ev := live.Event{Type: "chat.message", Channel: "match:m_1", Data: json.RawMessage(`{"text":"hi"}`)}
	if err := bus.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	parent.End()
	if got := <-sub.C(); got.Type != ev.Type || string(got.Data) != string(ev.Data) {
		t.Fatalf("delivered %+v", got)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the publish and its parent", len(spans))
	}
	pub := spans[0]
	if pub.Name != "publish chat.message" || pub.SpanKind != trace.SpanKindProducer {
		t.Fatalf("span %q kind %v", pub.Name, pub.SpanKind)
	}
	if pub.Parent.SpanID() != parent.SpanContext().SpanID() || pub.SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("publish span is not a child of the caller's span")
	}
	got := map[string]string{}
	for _, a := range pub.Attributes {
		got[string(a.Key)] = a.Value.String()
	}
	want := map[string]string{"messaging.system": "memory", "messaging.operation.type": "send", "messaging.destination.name": "match:m_1", "messaging.message.body.size": "13"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}

	// A failed publish is a failed span.
	bus.Close()
	if err := bus.Publish(context.Background(), ev); err == nil {
		t.Fatal("publish on a closed bus succeeded")
	}
	spans = exp.GetSpans()
	if last := spans[len(spans)-1]; last.Status.Code != codes.Error {
		t.Errorf("failed publish: status %v", last.Status)
	}
}

func TestBusOffIsTheBusItself(t *testing.T) {
	t.Parallel()
	mem := live.NewMemory(0, nil)
	defer mem.Close()
	if b := Bus(mem, nil, "memory"); b != live.Bus(mem) {
		t.Fatalf("Bus(b, nil) = %T, want b unchanged", b)
	}
}
