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
// measures the same over HTTP with 32 clients).
func BenchmarkMainPage(b *testing.B) {
	s := newSite(&testing.T{})
	day := time.Date(2026, 12, 9, 0, 0, 0, 0, time.FixedZone("KST", 9*3600))
	for i := range 200 {
		s.match("football", fmt.Sprintf("League %d", i%10), fmt.Sprintf("Home Team %d", i), fmt.Sprintf("Away Team %d", i), day.Add(time.Duration(i)*5*time.Minute))
	}
	for _, bm := range []struct{ name, path string }{
		{"page", "/?sport=football&date=2026-12-09"},
		{"json", "/api/v1/matches?sport=football&date=2026-12-09&limit=200"},
	} {
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
