package ws_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/ws"
)

type oneMatch struct{ m *betting.Match }

func (o oneMatch) FindMatch(context.Context, string) (*betting.Match, error) { return o.m, nil }

type noSessions struct{}

func (noSessions) Session(context.Context, string) (*account.Session, error) { return nil, nil }

// BenchmarkFanOut is the hub's cost per delivery: one room of 200
// anonymous viewers, each event published once on the in-process bus and
// read by every viewer. The clients run in the same process; cmd/wsload
// measures the binary alone.
func BenchmarkFanOut(b *testing.B) {
	const viewers = 200
	bus := live.NewMemory(0, nil)
	hub := ws.New(ws.Options{Bus: bus, Presence: bus, Matches: oneMatch{&betting.Match{Match: &sport.Match{ID: "m_1"}}}, Sessions: noSessions{},
		Log: slog.New(slog.DiscardHandler), PerAddr: viewers + 1})
	srv := httptest.NewServer(hub.Handler())
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Stop(ctx)
		srv.Close()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	var wg sync.WaitGroup
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for range viewers {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","channel":"match:m_1"}`)); err != nil {
			b.Fatal(err)
		}
		for {
			_, f, err := c.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if bytes.Contains(f, []byte(`"subscribed"`)) {
				break
			}
		}
		wg.Go(func() {
			for {
				_, f, err := c.Read(ctx)
				if err != nil {
					return
				}
				got.Add(int64(bytes.Count(f, []byte(`"announcement"`))))
			}
		})
	}
	ev := live.New(live.Announcement, "match:m_1", live.AnnouncementData{Match: "m_1", Text: "Kick-off delayed 10 minutes."})
	b.ResetTimer()
	for i := range b.N {
		if err := bus.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
		// At most 64 events in flight, well inside a viewer's queue.
		for int64(i+1-64)*viewers > got.Load() {
			time.Sleep(50 * time.Microsecond)
		}
	}
	for want := int64(b.N) * viewers; got.Load() < want; {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/delivery")
	if st := hub.Stats(); st.Overflows > 0 {
		b.Fatalf("%d overflows", st.Overflows)
	}
}
