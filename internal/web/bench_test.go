package web_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkMainPage renders the main page of 200 matches against the JSON
// list of the same matches, through the same root handler and store, each
// request asking for gzip as a browser does (cmd/loadgen -phases web
// measures the same over HTTP with 32 clients), with the store's list
// cache off (every request reads the database) and on, as the binary
// runs (PB_LIST_CACHE_TTL).
func BenchmarkMainPage(b *testing.B) {
	day := time.Date(2026, 12, 9, 0, 0, 0, 0, time.FixedZone("KST", 9*3600))
	sites := map[string]*site{}
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"read", 0}, {"cached", time.Second}} {
		s := newSiteCached(&testing.T{}, c.ttl)
		for i := range 200 {
			s.match("football", fmt.Sprintf("League %d", i%10), fmt.Sprintf("Home Team %d", i), fmt.Sprintf("Away Team %d", i), day.Add(time.Duration(i)*5*time.Minute))
		}
		sites[c.name] = s
	}
	for _, bm := range []struct{ name, store, path string }{
		{"page/read", "read", "/?sport=football&date=2026-12-09"},
		{"json/read", "read", "/api/v1/matches?sport=football&date=2026-12-09&limit=200"},
		{"page/cached", "cached", "/?sport=football&date=2026-12-09"},
		{"json/cached", "cached", "/api/v1/matches?sport=football&date=2026-12-09&limit=200"},
	} {
		s := sites[bm.store]
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("GET", s.srv.URL+bm.path, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				res, err := http.DefaultTransport.RoundTrip(req)
				if err != nil || res.StatusCode != 200 {
					b.Fatal(err, res.StatusCode)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
}
