package feed_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// scripted is a provider whose fixtures the test sets; it stands for a
// remote service in ingestion tests (the provider adapters have their own
// tests against recorded responses).
type scripted struct {
	mu       sync.Mutex
	fixtures []feed.Fixture
	calls    int
	// polled, when set, hears of each call of Fixtures (dropped when
	// nobody is listening).
	polled chan struct{}
}

func (p *scripted) Name() string { return "scripted" }

func (p *scripted) Fixtures(ctx context.Context, day time.Time, loc *time.Location) ([]feed.Fixture, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.polled != nil {
		select {
		case p.polled <- struct{}{}:
		default:
		}
	}
	var out []feed.Fixture
	for _, f := range p.fixtures {
		if f.KickoffAt.In(loc).Format("2006-01-02") == day.In(loc).Format("2006-01-02") {
			out = append(out, f)
		}
	}
	return out, nil
}

func (p *scripted) Match(ctx context.Context, ref string) (*feed.Fixture, error) { return nil, nil }

func (p *scripted) set(fs ...feed.Fixture) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fixtures = fs
}

var now = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC) // 12:00 KST

func fx(ref, status string, state sport.State, kick time.Time, score *sport.Score) feed.Fixture {
	return feed.Fixture{Ref: ref, Sport: "football", Status: status, State: state, KickoffAt: kick, FetchedAt: now,
		League: feed.Named{Ref: "1", Name: "League"}, Home: feed.Named{Ref: "h" + ref, Name: "Home " + ref}, Away: feed.Named{Ref: "a" + ref, Name: "Away " + ref},
		Score: score,
	}
}

// setup opens a store and an ingester that share one clock standing at
// now.
func setup(t *testing.T) (*sqlstore.DB, *scripted, *feed.Ingester, *bytes.Buffer) {
	t.Helper()
	db, p, in, logs, _ := setupClock(t)
	return db, p, in, logs
}

func setupClock(t *testing.T) (*sqlstore.DB, *scripted, *feed.Ingester, *bytes.Buffer, *clocktest.Clock) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := clocktest.New(now)
	db.Now = clock.Now
	p := &scripted{}
	var logs bytes.Buffer
	kst, _ := time.LoadLocation("Asia/Seoul")
	in := &feed.Ingester{Provider: p, Store: db, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Holder: "test", Zone: kst,
		Interval: time.Second, VoidPostponedAfter: 48 * time.Hour, Now: clock.Now,
		Price: func(f *feed.Fixture) []feed.Market {
			return []feed.Market{{Kind: betting.OneXTwo, Source: "model", Prices: map[string]odds.Odds{"home": 250, "draw": 320, "away": 280}}}
		}}
	return db, p, in, &logs, clock
}

func TestIngestLifecycle(t *testing.T) {
	t.Parallel()
	db, p, in, logs := setup(t)
	ctx := context.Background()
	kick := now.Add(2 * time.Hour)
	p.set(fx("1", "NS", sport.Scheduled, kick, nil), fx("2", "NS", sport.Scheduled, kick, nil))
	st, err := in.Cycle(ctx)
	if err != nil || st.Created != 2 {
		t.Fatalf("first cycle = %+v, %v", st, err)
	}
	ms, _, _ := db.FindMatches(ctx, sport.MatchFilter{})
	if len(ms) != 2 || ms[0].MainMarket() == nil || ms[0].MainMarket().Selections[0].Odds != 250 {
		t.Fatalf("matches = %d, main market %+v", len(ms), ms[0].MainMarket())
	}
	// A player bets on match 1, which then finishes after extra time
	// level after 90 minutes: the home bet loses on the regulation score.
	u, _ := db.CreateUser(ctx, account.NewUser{Username: "kim", Nickname: "kim", Email: "k@example.com", PasswordHash: "x", Role: "player", Bonus: 5000})
	sel := ms[0].MainMarket().Selections
	draw, _, err := db.PlaceBet(ctx, &betting.PlaceRequest{UserID: u.ID, Slip: betting.Slip{Stake: 1000, Legs: []betting.LegRequest{{SelectionID: sel[1].ID, Odds: sel[1].Odds}}}})
	if err != nil {
		t.Fatal(err)
	}
	p.set(fx("1", "AET", sport.Finished, kick, &sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 1, Away: 1}}),
		fx("2", "CANC", sport.Cancelled, kick, nil))
	st, err = in.Cycle(ctx)
	if err != nil || st.Settled != 1 || st.Voided != 1 {
		t.Fatalf("result cycle = %+v, %v", st, err)
	}
	b, _ := db.FindBet(ctx, u.ID, draw.ID)
	if b.State != betting.Won || *b.Payout != 3200 {
		t.Fatalf("draw bet = %s %v", b.State, b.Payout)
	}
	ev := b.Settlement.Legs[0]
	if ev.Source != "scripted" || ev.ProviderMatchID != "1" || ev.Status != "AET" || ev.Score.Regulation.Home != 1 {
		t.Fatalf("evidence = %+v", ev)
	}
	// The same cycle again settles nothing twice.
	st, _ = in.Cycle(ctx)
	if st.Settled != 0 || st.Voided != 0 {
		t.Fatalf("repeat cycle = %+v", st)
	}
	if d, err := db.VerifyLedger(ctx); err != nil || len(d) > 0 {
		t.Fatalf("ledger %v %v", d, err)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("errors logged:\n%s", logs)
	}
}

func TestIngestHoldsAndSkips(t *testing.T) {
	t.Parallel()
	db, p, in, logs := setup(t)
	ctx := context.Background()
	kick := now.Add(2 * time.Hour)
	bad := fx("3", "NS", sport.Scheduled, kick, nil)
	bad.Home.Name = ""
	weird := fx("4", "XYZ", "", kick, nil)
	impossible := fx("5", "FT", sport.Finished, kick, &sport.Score{Home: 1, Away: 0, Regulation: sport.Pair{Home: 3, Away: 0}})
	p.set(bad, weird, impossible)
	st, err := in.Cycle(ctx)
	if err != nil || st.Skipped != 2 || st.Held != 1 || st.Created != 0 {
		t.Fatalf("cycle = %+v, %v", st, err)
	}
	for _, want := range []string{`"match":"3"`, `"match":"4"`, `"status":"XYZ"`, `"match":"5"`} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("log lacks %s:\n%s", want, logs)
		}
	}
	// An unknown status on a known match leaves it as it was.
	p.set(fx("6", "NS", sport.Scheduled, kick, nil))
	in.Cycle(ctx)
	p.set(fx("6", "???", "", kick, nil))
	in.Cycle(ctx)
	ms, _, _ := db.FindMatches(ctx, sport.MatchFilter{})
	if len(ms) != 1 || ms[0].State != sport.Scheduled {
		t.Fatalf("held match = %+v", ms)
	}
}

func TestIngestPostponedAndLocked(t *testing.T) {
	t.Parallel()
	db, p, in, _, clock := setupClock(t)
	ctx := context.Background()
	kick := now.Add(-50 * time.Hour)
	// First seen 49 hours ago, due to kick off an hour later; then
	// postponed and not played within 48 hours of that: voided.
	in.Zone = time.UTC
	clock.Set(now.Add(-49 * time.Hour)) // first seen while still recent
	p.set(fx("7", "NS", sport.Scheduled, kick, nil))
	in.Cycle(ctx)
	clock.Set(now)
	p.set(fx("7", "PST", sport.Postponed, now, nil)) // rescheduled into today, still postponed
	st, _ := in.Cycle(ctx)
	if st.Voided != 1 {
		t.Fatalf("overdue postponement: %+v", st)
	}
	// An operator's result is never overwritten by the feed.
	p.set(fx("9", "NS", sport.Scheduled, now.Add(time.Hour), nil))
	in.Cycle(ctx)
	ms, _, _ := db.FindMatches(ctx, sport.MatchFilter{})
	var id string
	for _, m := range ms {
		if m.Home.Name == "Home 9" {
			id = m.ID
		}
	}
	if _, err := db.RecordResult(ctx, id, sport.Outcome{Score: sport.Score{Home: 1, Away: 0, Regulation: sport.Pair{Home: 1, Away: 0}}, Evidence: sport.Evidence{Source: "operator"}}, true, nil); err != nil {
		t.Fatal(err)
	}
	p.set(fx("9", "FT", sport.Finished, now.Add(time.Hour), &sport.Score{Home: 0, Away: 3, Regulation: sport.Pair{Home: 0, Away: 3}}))
	if st, err := in.Cycle(ctx); err != nil || st.Settled != 0 {
		t.Fatalf("feed over operator: %+v, %v", st, err)
	}
	m, _ := db.FindMatch(ctx, id)
	if m.Score.Home != 1 {
		t.Fatalf("operator's result overwritten: %+v", m.Score)
	}
}

func TestLeaseSingleLeader(t *testing.T) {
	t.Parallel()
	db, p, in, _ := setup(t)
	p.set(fx("1", "NS", sport.Scheduled, now.Add(time.Hour), nil))
	p.polled = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.Run(ctx); close(done) }()
	// Only the leader polls, and it is marked leader before it does.
	select {
	case <-p.polled:
	case <-time.After(10 * time.Second):
		t.Fatal("the only ingester never polled")
	}
	ok, _ := db.AcquireLease(context.Background(), "feed-ingestion", "other", 15*time.Second)
	if !in.Status().Leader || ok {
		t.Fatalf("leader %v, other got lease %v", in.Status().Leader, ok)
	}
	cancel()
	<-done
	// Released on shutdown: the other instance takes over at once.
	if ok, _ := db.AcquireLease(context.Background(), "feed-ingestion", "other", 15*time.Second); !ok {
		t.Fatal("lease not released on shutdown")
	}
}

// degraded answers with cached fixtures and a degraded error, as the
// API-Sports adapter does when its quota is spent.
type degraded struct{ scripted }

func (p *degraded) Fixtures(ctx context.Context, day time.Time, loc *time.Location) ([]feed.Fixture, error) {
	fs, _ := p.scripted.Fixtures(ctx, day, loc)
	return fs, fmt.Errorf("football: daily quota reached: %w", feed.ErrDegraded)
}

func TestDegradedProviderStillServesCache(t *testing.T) {
	t.Parallel()
	db, _, in, _ := setup(t)
	p := &degraded{}
	p.set(fx("1", "NS", sport.Scheduled, now.Add(2*time.Hour), nil))
	in.Provider = p
	st, err := in.Cycle(context.Background())
	if !errors.Is(err, feed.ErrDegraded) || st.Created != 1 {
		t.Fatalf("cycle = %+v, %v", st, err)
	}
	if s := in.Status(); !s.Degraded || s.LastError == "" {
		t.Fatalf("status = %+v", s)
	}
	ms, _, _ := db.FindMatches(context.Background(), sport.MatchFilter{})
	if len(ms) != 1 {
		t.Fatalf("cached fixtures not applied: %d matches", len(ms))
	}
}
