// Package request carries what the HTTP edge learns about a request — its
// id, its trace, the client's address and where that address is — to every
// log line and audit event made while serving it, so each can be joined
// with the access line of the request that caused it.
package request

import (
	"context"
	"log/slog"
	"net/netip"
)

// Geo is where a client address is, as a GeoIP city database tells it.
type Geo struct {
	CountryISO  string // "KR"
	CountryName string // English name: "South Korea"
	City        string // "" when the database knows only the country
	Lat, Lon    float64
	HasLocation bool // Lat and Lon are known
}

// Info is one request's metadata. The outermost middleware makes it;
// later layers fill in what they learn (the edge the signed-in user, the
// router the route) before the access line is written. One request's
// handlers run on its goroutine, so the fields need no lock.
type Info struct {
	ID       string     // from a trusted proxy's X-Request-Id, or made here
	TraceID  string     // 32 lowercase hex digits, or "" when not traced
	ClientIP netip.Addr // the client behind trusted proxies; invalid when unknown
	Geo      *Geo       // nil: no database, or no location for ClientIP
	// Trusted is true when the TCP peer is a trusted proxy, so headers it
	// sets (X-Request-Id, traceparent) are believed.
	Trusted  bool
	UserID   string // the public id ("u_45"), as the API and audit events name users; "": anonymous
	Username string
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request's Info, or nil outside a request (workers,
// tests, the feed).
func From(ctx context.Context) *Info {
	info, _ := ctx.Value(key{}).(*Info)
	return info
}

// LogHandler adds the request id and trace id of the context's request to
// every record logged with that context, whichever package logs it.
func LogHandler(next slog.Handler) slog.Handler { return logHandler{next} }

type logHandler struct{ next slog.Handler }

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if info := From(ctx); info != nil {
		r = r.Clone()
		r.AddAttrs(slog.String("http.request.id", info.ID))
		if info.TraceID != "" {
			r.AddAttrs(slog.String("trace.id", info.TraceID))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler { return logHandler{h.next.WithAttrs(as)} }
func (h logHandler) WithGroup(name string) slog.Handler    { return logHandler{h.next.WithGroup(name)} }
