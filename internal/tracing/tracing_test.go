package tracing

import (
	"context"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/tracing/tracingtest"
)

func TestNewOffBuildsNothing(t *testing.T) {
	t.Parallel()
	p, err := New(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p.TracerProvider() != nil {
		t.Fatalf("tracing off, yet a tracer provider: %T", p.TracerProvider())
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesBadEndpoints(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"collector:4318", "grpc://collector:4317", "http://", "http://u:p@collector:4318", "http://c:4318/?a=b", "http://c:4318/#x", "http://%zz"} {
		if _, err := New(context.Background(), Config{Endpoint: u, SampleRatio: 1}); err == nil {
			t.Errorf("endpoint %q accepted", u)
		}
	}
}

// TestNewExportsToTheCollector runs the real exporter against a receiver
// speaking OTLP/HTTP: spans arrive at /v1/traces under the endpoint's path
// with the service's resource, and Shutdown sends what is queued.
func TestNewExportsToTheCollector(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		ratio float64
		want  int
	}{{"all", 1, 3}, {"none", 0, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := tracingtest.New(t)
			p, err := New(context.Background(), Config{Endpoint: rcv.URL + "/", SampleRatio: tt.ratio, Version: "v1.2.3"})
			if err != nil {
				t.Fatal(err)
			}
			tr := p.TracerProvider().Tracer("test")
			for range 3 {
				_, s := tr.Start(context.Background(), "work")
				s.End()
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			spans := rcv.Spans()
			if len(spans) != tt.want {
				t.Fatalf("received %d spans, want %d", len(spans), tt.want)
			}
			for _, s := range spans {
				if s.Resource["service.name"] != "pointsbook" || s.Resource["service.version"] != "v1.2.3" || s.Name != "work" {
					t.Errorf("span %+v", s)
				}
			}
		})
	}
}

// TestNewUnderABasePath: a collector behind a path prefix gets the spans
// at prefix + /v1/traces (the receiver only answers /v1/traces, so a
// prefix the exporter dropped or doubled would lose them).
func TestNewUnderABasePath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ endpoint, want string }{
		{"http://c:4318", "/v1/traces"},
		{"http://c:4318/", "/v1/traces"},
		{"https://c/otel/", "/otel/v1/traces"},
		{"https://c/otel", "/otel/v1/traces"},
	} {
		u, err := tracesURL(tt.endpoint)
		if err != nil || u.Path != tt.want || strings.Contains(u.Host, "/") {
			t.Errorf("tracesURL(%q) = %v, %v; want path %s", tt.endpoint, u, err, tt.want)
		}
	}
}
