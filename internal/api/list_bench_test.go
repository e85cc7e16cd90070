package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// The list benchmarks answer GET /api/v1/matches and GET /api/v1/me/bets
// through the API's handler over a real SQLite store holding a day of 500
// matches (live, upcoming, finished, a few cancelled) and a player with 200
// bets, a quarter of them accumulators, some settled. They use only what
// the store and the API offered before the lists were enriched, so that
// the same file measures both sides of the change (docs/performance.md).

// listBench is the store and handler the list benchmarks share.
type listBench struct {
	h     http.Handler
	token string
	date  string // the benchmark's day in KST, for ?date=
}

func newListBench(b *testing.B) *listBench {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(b.TempDir(), "pb.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	kst := time.FixedZone("KST", 9*3600)
	day := time.Date(2026, 12, 8, 0, 0, 0, 0, kst)
	now := day.Add(time.Hour)
	db.Now = func() time.Time { return now }

	const nMatches = 500
	ms := make([]*betting.Match, nMatches)
	for i := range ms {
		sp := sport.Sports[i%len(sport.Sports)]
		x, _ := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 205, "draw": 330, "away": 360})
		if !sp.HasDraw {
			x, _ = betting.NewMarket(betting.Moneyline, nil, map[string]odds.Odds{"home": 185, "away": 195})
		}
		tot, _ := betting.NewMarket(betting.Total, ptrLine(250), map[string]odds.Odds{"over": 190, "under": 190})
		kick := day.Add(2*time.Hour + time.Duration(i)*2*time.Minute) // 02:00 to 18:38 KST
		ms[i], err = db.CreateMatch(ctx, betting.NewMatch{Sport: sp.Slug, League: fmt.Sprintf("League %d", i%12),
			Home: fmt.Sprintf("Home %d", i), Away: fmt.Sprintf("Away %d", i), KickoffAt: kick, Markets: []*betting.Market{x, tot}})
		if err != nil {
			b.Fatal(err)
		}
	}
	hash, _ := account.Hash("bench-password-1", fastHash)
	u, err := db.CreateUser(ctx, account.NewUser{Username: "bench", Nickname: "Bench", Email: "bench@example.com", PasswordHash: hash, Role: account.Player, Bonus: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	legOf := func(m *betting.Match, mk int, name string) betting.LegRequest {
		for _, s := range m.Markets[mk].Selections {
			if s.Name == name {
				return betting.LegRequest{SelectionID: s.ID, Odds: s.Odds}
			}
		}
		panic("no selection " + name)
	}
	for i := 0; i < 200; i++ {
		m := ms[(i*7)%nMatches]
		slip := betting.Slip{Stake: 100, Legs: []betting.LegRequest{legOf(m, 0, "home")}}
		if i%4 == 0 { // an accumulator of three matches
			slip.Legs = append(slip.Legs, legOf(ms[(i*7+1)%nMatches], 1, "over"), legOf(ms[(i*7+2)%nMatches], 0, "away"))
		}
		if _, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: slip}); err != nil {
			b.Fatal(err)
		}
	}
	// The first 150 matches have kicked off: 100 finished, 40 live, 10
	// cancelled; the rest are still to play.
	now = day.Add(12 * time.Hour)
	for i := 0; i < 150; i++ {
		ev := sport.Evidence{Source: "operator", Status: "FT", FetchedAt: now, Reason: "benchmark"}
		switch {
		case i < 100:
			sc := sport.Score{Home: i % 3, Away: i % 2, Regulation: sport.Pair{Home: i % 3, Away: i % 2}}
			if _, err := db.RecordResult(ctx, ms[i].ID, sport.Outcome{Score: sc, State: sport.Finished, Evidence: ev}, true, nil); err != nil {
				b.Fatal(err)
			}
		case i < 140:
			if err := db.SetMatchState(ctx, ms[i].ID, sport.Live); err != nil {
				b.Fatal(err)
			}
		default:
			if _, err := db.VoidMatch(ctx, ms[i].ID, ev, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	a := api.New(db, api.Options{Auth: account.NewAuth(db, account.AuthConfig{SessionTTL: time.Hour, Hash: fastHash, Now: db.Now}, slog.New(slog.DiscardHandler))},
		slog.New(slog.DiscardHandler))
	lb := &listBench{h: a.Handler(), date: day.Format("2006-01-02")}
	rec := lb.serve(b, "POST", "/api/v1/auth/login", `{"username":"bench","password":"bench-password-1"}`)
	var login struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || login.Token == "" {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	lb.token = login.Token
	return lb
}

func ptrLine(v odds.Line) *odds.Line { return &v }

func (lb *listBench) serve(b *testing.B, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if lb.token != "" {
		req.Header.Set("Authorization", "Bearer "+lb.token)
	}
	rec := httptest.NewRecorder()
	lb.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec
}

// run requests path b.N times and reports requests per second, with the
// answer's size so that a richer answer is seen beside its cost, and the
// process's CPU time per request, which other work on a shared machine
// disturbs less than the wall clock.
func (lb *listBench) run(b *testing.B, path string) {
	size := lb.serve(b, "GET", path, "").Body.Len()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		lb.serve(b, "GET", path, "")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(size), "B/answer")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMatchList is the first page (50) of the day's match list.
func BenchmarkMatchList(b *testing.B) {
	lb := newListBench(b)
	lb.run(b, "/api/v1/matches?tz=Asia/Seoul&date="+lb.date)
}

// BenchmarkBetList is the first page (20) of the player's bets.
func BenchmarkBetList(b *testing.B) {
	lb := newListBench(b)
	lb.run(b, "/api/v1/me/bets")
}

// BenchmarkBetListLong is a page of 100 of the player's bets.
func BenchmarkBetListLong(b *testing.B) {
	lb := newListBench(b)
	lb.run(b, "/api/v1/me/bets?limit=100")
}
