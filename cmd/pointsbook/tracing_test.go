package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/pointsbook/pointsbook/internal/tracing/tracingtest"
)

// TestTracingOneBet runs the binary with PB_OTEL_ENDPOINT at an OTLP/HTTP
// receiver, places one bet, stops the binary (which exports what is
// queued) and decodes what the receiver got: the request's server span,
// the store call, the group-commit batch and its commit, all in one
// trace, whose id the access line of the request also carries.
func TestTracingOneBet(t *testing.T) {
	t.Parallel()
	rcv := tracingtest.New(t)
	base, stop := runServe(t, map[string]string{"PB_FEED": "none", "PB_OTEL_ENDPOINT": rcv.URL})
	waitStatus(t, base+"/readyz", http.StatusOK, readyLimit()+5*time.Second, 20*time.Millisecond)
	admin := login(t, base, adminUser, adminPassword)
	_, home := createMatch(t, base, admin)
	signup(t, base, "tracer")
	token := login(t, base, "tracer", playerPassword)
	mustCall(t, "POST", base+"/api/v1/bets", token, betSlip(500, home), http.StatusCreated)
	code, stdout, _ := stop()
	if code != 0 {
		t.Fatalf("serve exited %d", code)
	}

	spans := rcv.Spans()
	var server *tracingtest.Span
	for i, s := range spans {
		if s.Name == "POST /api/v1/bets" {
			if server != nil {
				t.Fatalf("two server spans of the bet")
			}
			server = &spans[i]
		}
	}
	if server == nil {
		t.Fatalf("no server span of POST /api/v1/bets among %d spans: %v", len(spans), spanNames(spans))
	}
	if server.Kind != tracepb.Span_SPAN_KIND_SERVER || server.Attrs["http.response.status_code"] != "201" ||
		server.Attrs["http.route"] != "POST /api/v1/bets" || server.Attrs["http.request.method"] != "POST" {
		t.Errorf("server span %+v", *server)
	}
	if server.Resource["service.name"] != "pointsbook" || server.Resource["service.version"] == "" {
		t.Errorf("resource %v", server.Resource)
	}
	// Each span's parent, in the bet's trace.
	chain := []string{"POST /api/v1/bets", "sqlstore.PlaceBet", "bet batch", "COMMIT"}
	parent := server
	for _, name := range chain[1:] {
		var child *tracingtest.Span
		for i, s := range spans {
			if s.Name == name && s.ParentSpanID == parent.SpanID {
				child = &spans[i]
			}
		}
		if child == nil {
			t.Fatalf("no %q span under %q (%s); spans of the trace: %v", name, parent.Name, parent.SpanID, traceSpans(spans, server.TraceID))
		}
		if child.TraceID != server.TraceID {
			t.Fatalf("%q is in trace %s, the request in %s", name, child.TraceID, server.TraceID)
		}
		parent = child
	}
	if parent.Attrs["db.system.name"] != "sqlite" || parent.Attrs["db.operation.name"] != "COMMIT" {
		t.Errorf("commit span attributes %v", parent.Attrs)
	}

	// The access line names the same trace.
	var ecs, legacy bool
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch {
		case line["event.dataset"] == "pointsbook.access" && line["url.path"] == "/api/v1/bets" && line["http.request.method"] == "POST":
			ecs = true
			if line["trace.id"] != server.TraceID {
				t.Errorf("access line trace.id = %v, want the bet's trace %s: %s", line["trace.id"], server.TraceID, sc.Bytes())
			}
		case line["msg"] == "http request" && line["path"] == "/api/v1/bets":
			legacy = true
		}
	}
	switch {
	case ecs:
	case legacy:
		// Before the access log of issue 18 item 1 (event.dataset,
		// url.path, trace.id from request.Info) is on this branch, the
		// old line has no trace id to compare.
		t.Log("the access line is the old format, without trace.id: not compared")
	default:
		t.Errorf("no access line of POST /api/v1/bets in the output")
	}
}

func spanNames(spans []tracingtest.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func traceSpans(spans []tracingtest.Span, traceID string) []string {
	var out []string
	for _, s := range spans {
		if s.TraceID == traceID {
			out = append(out, s.Name+" "+s.SpanID+" ← "+s.ParentSpanID)
		}
	}
	return out
}
