package sqlstore

import (
	"context"
	"database/sql"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// tracerScope is the instrumentation scope of the store's spans.
const tracerScope = "github.com/pointsbook/pointsbook/internal/sqlstore"

// The store's spans, when Config.Tracer is set:
//
//   - "sqlstore.PlaceBet", the store call, in the caller's trace; it
//     covers the wait for the group-commit writer;
//   - "bet batch", one per placement batch, on the writer's goroutine:
//     parented by the first bet of the batch that is traced and linked to
//     each other traced bet's call (span links), so one placement's trace
//     holds HTTP → PlaceBet → bet batch → COMMIT and the others' reach the
//     shared batch through the link;
//   - "COMMIT" of a batch, and of any other transaction whose context is
//     already in a trace (a request's); background work (the feed, the
//     sweeper) starts no trace of its own here.
//
// Off (db.tracer nil) none of this runs: no span, no context, no
// attribute is made.

var (
	clientSpan   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

// dbSystem is the db.system.name of the store's database.
func (db *DB) dbSystem() attribute.KeyValue {
	if db.d.name == "postgres" {
		return attribute.String("db.system.name", "postgresql")
	}
	return attribute.String("db.system.name", "sqlite")
}

// startCall starts the span of a store call when tracing is on; off, it
// returns ctx and a nil span.
func (db *DB) startCall(ctx context.Context, name string) (context.Context, trace.Span) {
	if db.tracer == nil {
		return ctx, nil
	}
	ctx, span := db.tracer.Start(ctx, name, internalSpan...)
	if span.IsRecording() {
		span.SetAttributes(db.dbSystem())
	}
	return ctx, span
}

// endSpan ends span (nil: tracing off), marking it failed when err is
// set.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// endCall ends a store call's span (nil: tracing off). A rule's refusal
// is an answer, recorded as the refusal's code; only a failure (the
// database unreachable, a bug) marks the span failed.
func endCall(span trace.Span, err error) {
	if span == nil {
		return
	}
	if f, ok := fault.As(err); ok && f.Kind != fault.Internal && f.Kind != fault.Unavailable {
		if span.IsRecording() {
			span.SetAttributes(attribute.String("pointsbook.refusal", f.Code))
		}
		err = nil
	}
	endSpan(span, err)
}

// commit commits tx; when tracing is on and ctx is in a trace, as a
// "COMMIT" span of it.
func (db *DB) commit(ctx context.Context, tx *sql.Tx) error {
	if db.tracer == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return tx.Commit()
	}
	_, span := db.tracer.Start(ctx, "COMMIT", clientSpan...)
	if span.IsRecording() {
		span.SetAttributes(db.dbSystem(), attribute.String("db.operation.name", "COMMIT"))
	}
	err := tx.Commit()
	endSpan(span, err)
	return err
}

// startBatch starts the span of a placement batch (see above); off, it
// returns ctx and a nil span.
func (db *DB) startBatch(ctx context.Context, batch []*placeJob, worker int) (context.Context, trace.Span) {
	if db.tracer == nil {
		return ctx, nil
	}
	// The parent is the first traced bet that is sampled; failing that the
	// first traced one, so that an unsampled request's batch stays
	// unsampled under the parent-based sampler.
	parent := -1
	for i, j := range batch {
		sc := trace.SpanContextFromContext(j.ctx)
		if !sc.IsValid() {
			continue
		}
		if sc.IsSampled() {
			parent = i
			break
		}
		if parent < 0 {
			parent = i
		}
	}
	if parent >= 0 {
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(batch[parent].ctx))
	}
	ctx, span := db.tracer.Start(ctx, "bet batch", internalSpan...)
	if !span.IsRecording() {
		return ctx, span
	}
	span.SetAttributes(db.dbSystem(), attribute.Int("pointsbook.batch.size", len(batch)), attribute.Int("pointsbook.batch.writer", worker))
	for i, j := range batch {
		if i == parent {
			continue
		}
		if sc := trace.SpanContextFromContext(j.ctx); sc.IsValid() {
			span.AddLink(trace.Link{SpanContext: sc})
		}
	}
	return ctx, span
}
