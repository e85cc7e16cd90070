package logship

import (
	"bytes"
	"io"
	"log/slog"
	"time"
)

// The log document's top-level keys (docs/operations.md, Log shipping):
// slog's own keys under their Elastic Common Schema names.
const (
	TimeKey    = "@timestamp"
	LevelKey   = "log.level"
	MessageKey = "message"
)

// ReplaceAttr renames slog's time, level and message keys to their ECS
// names and writes the time in UTC, so the stdout line and the shipped
// document are the same JSON object and the daily index is the UTC day
// of @timestamp.
func ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) != 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if t, ok := a.Value.Any().(time.Time); ok {
			return slog.Time(TimeKey, t.UTC())
		}
		a.Key = TimeKey
	case slog.LevelKey:
		a.Key = LevelKey
	case slog.MessageKey:
		a.Key = MessageKey
	}
	return a
}

// NewHandler is the process log: one JSON object per record on w, with
// the ECS key names of ReplaceAttr. With a sink, every line is also
// offered to it as a document, the same bytes, so a record is encoded
// once. Handle never blocks on the sink: a full buffer drops the
// document and counts it (Sink.Stats).
func NewHandler(w io.Writer, level slog.Leveler, s *Sink) slog.Handler {
	if s != nil {
		w = tee{out: w, sink: s}
	}
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: ReplaceAttr})
}

// tee relies on slog's JSONHandler making one Write per record (its
// documented contract), so each Write is one whole document.
type tee struct {
	out  io.Writer
	sink *Sink
}

func (t tee) Write(p []byte) (int, error) {
	n, err := t.out.Write(p)
	t.sink.Offer(p)
	return n, err
}

// Kind is the index a document goes to.
type Kind uint8

// The kinds of log event, by event.dataset: one daily index each.
const (
	App Kind = iota
	Access
	Audit
	numKinds
)

var kindNames = [numKinds]string{App: "app", Access: "access", Audit: "audit"}

func (k Kind) String() string { return kindNames[k] }

// Kinds lists every kind (the index label of the metrics).
func Kinds() []Kind { return []Kind{Access, Audit, App} }

var (
	datasetKey   = []byte(`"event.dataset":"pointsbook.`)
	timestampKey = []byte(`{"` + TimeKey + `":"`)
)

// route reads a document's kind and its UTC day (YYYY-MM-DD) from the
// JSON line slog wrote. A JSON string value never holds an unescaped
// quote, so the key pattern matches only a real "event.dataset" key
// (the first one: producers set it once). day is nil when the line does
// not start with @timestamp in the expected form.
func route(line []byte) (k Kind, day []byte) {
	if i := bytes.Index(line, datasetKey); i >= 0 {
		rest := line[i+len(datasetKey):]
		switch {
		case bytes.HasPrefix(rest, []byte(`access"`)):
			k = Access
		case bytes.HasPrefix(rest, []byte(`audit"`)):
			k = Audit
		}
	}
	if bytes.HasPrefix(line, timestampKey) && len(line) >= len(timestampKey)+10 {
		d := line[len(timestampKey) : len(timestampKey)+10]
		if validDay(d) {
			day = d
		}
	}
	return k, day
}

// validDay accepts YYYY-MM-DD digits (the calendar is the producer's:
// the day only names an index).
func validDay(d []byte) bool {
	for i, c := range d {
		if i == 4 || i == 7 {
			if c != '-' {
				return false
			}
		} else if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
