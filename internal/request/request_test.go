package request_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/pointsbook/pointsbook/internal/request"
)

func TestLogHandlerAddsTheRequestsIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info *request.Info
		want map[string]any
	}{
		{"outside a request", nil, map[string]any{}},
		{"untraced", &request.Info{ID: "r1"}, map[string]any{"http.request.id": "r1"}},
		{"traced", &request.Info{ID: "r2", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"},
			map[string]any{"http.request.id": "r2", "trace.id": "4bf92f3577b34da6a3ce929d0e0e4736"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := slog.New(request.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
			ctx := context.Background()
			if tt.info != nil {
				ctx = request.With(ctx, tt.info)
			}
			log.InfoContext(ctx, "hello")
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got["component"] != "x" {
				t.Errorf("attrs from With lost: %v", got)
			}
			for _, k := range []string{"http.request.id", "trace.id"} {
				if got[k] != tt.want[k] {
					t.Errorf("%s = %v, want %v", k, got[k], tt.want[k])
				}
			}
		})
	}
}
