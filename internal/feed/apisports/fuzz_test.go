package apisports

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// seed adds every recorded response and a few awkward shapes.
func seed(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"errors":{},"response":null}`, `{"errors":"x","response":[]}`,
		`{"errors":[],"response":[null,1,"a",{},[]]}`,
		`{"errors":[],"paging":{"current":-1,"total":1e99},"response":[]}`,
		`{"errors":[],"response":[{"id":"1","timestamp":"1795518000","status":{"short":"FT"},"league":{"id":1,"name":"L","season":"2026-2027"},"teams":{"home":{"id":2,"name":"A"},"away":{"id":3,"name":"B"}},"scores":{"home":"1","away":{"total":2}},"periods":{"first":"1-","second":{"home":-1}}}]}`,
		`{"errors":[],"response":[{"fixture":{"id":1,"timestamp":1795518000,"status":{"short":"AET"}},"league":{"id":1,"name":"L"},"teams":{"home":{"id":2,"name":"A"},"away":{"id":3,"name":"B"}},"goals":{"home":1,"away":1},"score":{"fulltime":{"home":3,"away":0}}}]}`,
	} {
		f.Add([]byte(s))
	}
}

var fuzzNow = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func fuzzFixtures(f *testing.F, sp string) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseFixturesBody(sp, data, fuzzNow, quiet)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		checkFixtures(t, d.fixtures)
		for _, fx := range d.fixtures {
			if fx.Sport != sp || fx.Ref == sp+":" || !fx.FetchedAt.Equal(fuzzNow) {
				t.Fatalf("fixture %+v", fx)
			}
			if fx.KickoffAt.Before(minKickoff) || !fx.KickoffAt.Before(maxKickoff) {
				t.Fatalf("kick-off %s", fx.KickoffAt)
			}
			for _, s := range []string{fx.Ref, fx.Status, fx.League.Name, fx.Home.Name, fx.Away.Name, fx.League.Country} {
				if !utf8.ValidString(s) || len(s) > 300 {
					t.Fatalf("bad string %q", s)
				}
			}
			if fx.State != mapStatus(sp, fx.Status) {
				t.Fatalf("state %q for status %q", fx.State, fx.Status)
			}
			if _, ok := d.meta[fx.Ref]; !ok {
				t.Fatalf("no meta for %s", fx.Ref)
			}
		}
	})
}

func FuzzParseFootball(f *testing.F)   { fuzzFixtures(f, "football") }
func FuzzParseBasketball(f *testing.F) { fuzzFixtures(f, "basketball") }
func FuzzParseBaseball(f *testing.F)   { fuzzFixtures(f, "baseball") }
func FuzzParseHockey(f *testing.F)     { fuzzFixtures(f, "hockey") }
func FuzzParseHandball(f *testing.F)   { fuzzFixtures(f, "handball") }

func FuzzParseEnvelope(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := decodeEnvelope(data)
		if err != nil {
			return
		}
		if perr := env.providerError("football"); perr != nil {
			if perr.Kind == "" || !utf8.ValidString(perr.Message) {
				t.Fatalf("error %+v", perr)
			}
		}
		_, _ = env.items()
		if p := env.pages(); p.Current < 1 || p.Total < 1 || p.Total > 1000 {
			t.Fatalf("paging %+v", p)
		}
	})
}

func FuzzParseOdds(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, sp := range []string{"football", "basketball", "hockey"} {
			po, err := parseOddsBody(sp, data, []string{"8", "6"}, quiet)
			if err != nil {
				continue
			}
			for ref, ms := range po.markets {
				if len(ref) <= len(sp)+1 || ref[:len(sp)+1] != sp+":" {
					t.Fatalf("ref %q", ref)
				}
				checkMarkets(t, ref, ms)
				seen := map[string]bool{}
				for _, m := range ms {
					if seen[string(m.Kind)] {
						t.Fatalf("%s: two %s markets", ref, m.Kind)
					}
					seen[string(m.Kind)] = true
				}
			}
		}
	})
}

func FuzzParseTeamStats(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, sp := range []string{"football", "basketball"} {
			ts, err := parseTeamStatsBody(sp, data, quiet)
			if err != nil {
				continue
			}
			r := ts.Record
			if ts.Team.Ref == "" || r.Played < 0 || r.Won < 0 || r.Drawn < 0 || r.Lost < 0 || r.For < 0 || r.Against < 0 || r.Won+r.Drawn+r.Lost > r.Played {
				t.Fatalf("stats %+v", ts)
			}
			for _, c := range ts.Form {
				if c != 'W' && c != 'D' && c != 'L' {
					t.Fatalf("form %q", ts.Form)
				}
			}
		}
	})
}
