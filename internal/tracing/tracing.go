// Package tracing is the binary's OpenTelemetry tracing: the tracer
// provider that exports spans over OTLP/HTTP when PB_OTEL_ENDPOINT is set,
// the server span of each HTTP request (Handler) and the producer span of
// each event published on the live bus (Bus).
//
// Off (no endpoint) there is no SDK at all: New returns a Provider whose
// TracerProvider is nil, Handler and Bus return what they were given
// unchanged, and the store skips its spans, so tracing costs nothing.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of the spans this binary makes.
const Scope = "github.com/pointsbook/pointsbook"

// ServiceName is the service.name of every span.
const ServiceName = "pointsbook"

// Config is what New needs.
type Config struct {
	// Endpoint is the collector's OTLP/HTTP base URL
	// (http://collector:4318); spans are posted to Endpoint + /v1/traces.
	// Empty: tracing is off.
	Endpoint string
	// SampleRatio is the fraction of new traces kept (0 to 1). A request
	// carrying a trusted parent follows its parent's decision.
	SampleRatio float64
	// Version is the service.version resource attribute.
	Version string
	// Log receives the exporter's errors (a collector that is down).
	Log *slog.Logger
}

// Provider owns the SDK tracer provider, when tracing is on.
type Provider struct {
	sdk *sdktrace.TracerProvider
}

// tracesURL is the URL spans are posted to: the base URL's path with
// /v1/traces appended, as OTEL_EXPORTER_OTLP_ENDPOINT is read.
func tracesURL(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be an http or https URL without credentials, query or fragment (http://collector:4318)")
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/traces"
	return u, nil
}

// New builds the provider. With no endpoint it builds nothing and
// returns an off Provider.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Endpoint == "" {
		return &Provider{}, nil
	}
	u, err := tracesURL(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("tracing endpoint %w", err)
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpoint(u.Host),
		otlptracehttp.WithURLPath(u.Path),
		otlptracehttp.WithTimeout(10 * time.Second),
	}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	// New dials nothing: an unreachable collector shows up as export
	// errors later, never as a failed start.
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing exporter: %w", err)
	}
	if cfg.Log != nil {
		log := cfg.Log
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("tracing: spans not exported", "err", err)
		}))
	}
	version := cfg.Version
	if version == "" {
		version = "unknown"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", ServiceName),
		attribute.String("service.version", version),
	))
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	ratio := cfg.SampleRatio
	sdk := sdktrace.NewTracerProvider(
		// The batch processor's queue is bounded (2048 spans); when the
		// collector cannot keep up it drops spans rather than hold a
		// request.
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Provider{sdk: sdk}, nil
}

// TracerProvider is the provider to hand to the store, Handler and Bus;
// nil when tracing is off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil || p.sdk == nil {
		return nil
	}
	return p.sdk
}

// Shutdown exports the spans still queued and stops the exporter; the
// caller's ctx bounds it. It does nothing when tracing is off.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.sdk == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}
