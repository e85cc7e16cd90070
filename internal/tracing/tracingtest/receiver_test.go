package tracingtest

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestReceiverFollowsTheProtocol(t *testing.T) {
	t.Parallel()
	msg, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: bytes.Repeat([]byte{0xab}, 16), SpanId: bytes.Repeat([]byte{0xcd}, 8), Name: "work",
		}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(msg) //nolint:errcheck // in memory
	zw.Close()
	tests := []struct {
		name, method, path, ctype, encoding string
		body                                []byte
		want, spans                         int
	}{
		{"protobuf", "POST", "/v1/traces", "application/x-protobuf", "", msg, 200, 1},
		{"gzip", "POST", "/v1/traces", "application/x-protobuf", "gzip", zipped.Bytes(), 200, 1},
		{"json is not taken", "POST", "/v1/traces", "application/json", "", []byte(`{}`), 415, 0},
		{"other path", "POST", "/v1/metrics", "application/x-protobuf", "", msg, 404, 0},
		{"GET", "GET", "/v1/traces", "application/x-protobuf", "", nil, 405, 0},
		{"not protobuf", "POST", "/v1/traces", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff}, 400, 0},
		{"bad gzip", "POST", "/v1/traces", "application/x-protobuf", "gzip", msg, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := New(t)
			req, _ := http.NewRequest(tt.method, r.URL+tt.path, bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			spans := r.Spans()
			if len(spans) != tt.spans {
				t.Fatalf("%d spans, want %d", len(spans), tt.spans)
			}
			if tt.spans == 1 && (spans[0].Name != "work" || spans[0].TraceID != "abababababababababababababababab" || spans[0].SpanID != "cdcdcdcdcdcdcdcd") {
				t.Errorf("span %+v", spans[0])
			}
		})
	}
}
