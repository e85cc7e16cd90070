package logship

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		kind Kind
		day  string
	}{
		{`{"@timestamp":"2026-12-08T23:59:59.1Z","event.dataset":"pointsbook.access"}`, Access, "2026-12-08"},
		{`{"@timestamp":"2026-12-08T00:00:00Z","a":1,"event.dataset":"pointsbook.audit","b":2}`, Audit, "2026-12-08"},
		{`{"@timestamp":"2026-12-08T00:00:00Z","event.dataset":"pointsbook.app"}`, App, "2026-12-08"},
		{`{"@timestamp":"2026-12-08T00:00:00Z","event.dataset":"pointsbook.accessory"}`, App, "2026-12-08"},
		{`{"@timestamp":"2026-12-08T00:00:00Z","message":"\"event.dataset\":\"pointsbook.access\""}`, App, "2026-12-08"},
		{`{"time":"2026-12-08T00:00:00Z","event.dataset":"pointsbook.audit"}`, Audit, ""},
		{`{"@timestamp":"20x6-12-08T00:00:00Z"}`, App, ""},
		{`{"@timestamp":"2026-1`, App, ""},
		{``, App, ""},
	}
	for _, tt := range tests {
		k, day := route([]byte(tt.line))
		if k != tt.kind || string(day) != tt.day {
			t.Errorf("route(%s) = %s %q, want %s %q", tt.line, k, day, tt.kind, tt.day)
		}
	}
}

// FuzzRoute: any line routes without panicking, to one of the kinds,
// and a day is ten bytes of the line's start.
func FuzzRoute(f *testing.F) {
	f.Add([]byte(`{"@timestamp":"2026-12-08T00:00:00Z","event.dataset":"pointsbook.access"}`))
	f.Add([]byte(`{"@timestamp":"2026-12-08`))
	f.Add([]byte(`"event.dataset":"pointsbook.`))
	f.Fuzz(func(t *testing.T, line []byte) {
		k, day := route(line)
		if k >= numKinds {
			t.Fatalf("kind %d", k)
		}
		if day != nil && (len(day) != 10 || !bytes.Contains(line, day) || !validDay(day)) {
			t.Fatalf("day %q of %q", day, line)
		}
	})
}

func TestHandlerKeysAndHostileValues(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	r := start(t, f, nil)
	hostile := "line\nbreak\r\x00\x1b[31m \xff\xfe " + strings.Repeat("A", 100_000)
	r.log.Info(hostile, "user_agent.original", hostile, "event.dataset", "pointsbook.access")
	r.log.Debug("below the level")
	r.stop(t, 5*time.Second)
	out := r.out.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("%d lines, want 1", n)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON object: %v", err)
	}
	if doc[LevelKey] != "INFO" || doc[MessageKey] == nil || doc[TimeKey] == nil {
		t.Errorf("keys %v", keys(doc))
	}
	docs := f.docsIn("pointsbook-access-" + time.Now().UTC().Format("2006.01.02"))
	if len(docs) != 1 || string(docs[0])+"\n" != out {
		t.Errorf("shipped %d documents, want the one line", len(docs))
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestHandlerWithoutSink: the same line format with nothing shipped.
func TestHandlerWithoutSink(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slog.New(NewHandler(&buf, slog.LevelInfo, nil)).With("event.dataset", "pointsbook.audit").WithGroup("g").Info("hi", "x", 1)
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc[MessageKey] != "hi" || doc["event.dataset"] != "pointsbook.audit" || doc["g"] == nil {
		t.Errorf("line %s", buf.Bytes())
	}
	ts, _ := time.Parse(time.RFC3339Nano, doc[TimeKey].(string))
	if ts.Location() != time.UTC {
		t.Errorf("@timestamp %v not in UTC", doc[TimeKey])
	}
}

// TestOfferBounds: a line over MaxDocBytes, or over the byte budget, is
// dropped and counted; Offer never blocks.
func TestOfferBounds(t *testing.T) {
	t.Parallel()
	s, err := New(Config{URL: "http://127.0.0.1:1", MaxDocBytes: 100, QueueBytes: 300, QueueEvents: 10})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`{"@timestamp":"2026-12-08T00:00:00Z","message":"` + strings.Repeat("x", 40) + `"}` + "\n")
	s.Offer(append(bytes.Repeat([]byte("y"), 101), '\n')) // too long
	for range 5 {
		s.Offer(line) // 3 lines of 91 bytes fit in 300
	}
	st := s.Stats().Index[App]
	if st.Sent != 6 || st.Dropped != 3 || s.Stats().Queued != 3 {
		t.Errorf("stats %+v queued %d, want 6 sent, 3 dropped, 3 queued", st, s.Stats().Queued)
	}
	d := <-s.ch
	if d.index != "pointsbook-app-2026.12.08" || string(d.b) != string(line[:len(line)-1]) {
		t.Errorf("queued %s %q", d.index, d.b)
	}
}
