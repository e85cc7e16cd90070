package feed_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// TestLeaderFailover runs two ingesters, as two instances would, on one
// PostgreSQL database. Only the leader polls; when it dies without
// releasing its lease (its database connections vanish with it), the
// standby takes over within 30 seconds, and no match is stored twice.
func TestLeaderFailover(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open := func() *sqlstore.DB {
		db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	dbA, dbB := open(), open()
	defer dbB.Close()
	kick := time.Now().Add(2 * time.Hour)
	fixtures := []feed.Fixture{fx("1", "NS", sport.Scheduled, kick, nil), fx("2", "NS", sport.Scheduled, kick, nil), fx("3", "NS", sport.Scheduled, kick, nil)}
	mk := func(db *sqlstore.DB, holder string) (*feed.Ingester, *scripted) {
		p := &scripted{}
		p.set(fixtures...)
		return &feed.Ingester{Provider: p, Store: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Holder: holder,
			Zone: time.UTC, Interval: 200 * time.Millisecond}, p
	}
	a, pa := mk(dbA, "a")
	b, pb := mk(dbB, "b")
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { a.Run(ctxA); close(doneA) }()
	waitFor(t, 5*time.Second, func() bool { return a.Status().Leader && pa.count() > 0 })
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneB := make(chan struct{})
	go func() { b.Run(ctxB); close(doneB) }()
	time.Sleep(2 * time.Second)
	if pb.count() != 0 || b.Status().Leader {
		t.Fatalf("standby polled %d times while the leader was alive", pb.count())
	}
	// The leader dies: its connections go first, so it cannot release.
	dbA.Close()
	stopA()
	<-doneA
	died := time.Now()
	waitFor(t, 30*time.Second, func() bool { return b.Status().Leader && pb.count() > 0 })
	t.Logf("standby took over %v after the leader died", time.Since(died).Round(100*time.Millisecond))
	stopB()
	<-doneB
	ms, _, err := dbB.FindMatches(context.Background(), sport.MatchFilter{})
	if err != nil || len(ms) != len(fixtures) {
		t.Fatalf("matches = %d, %v; want %d (each ingested once)", len(ms), err, len(fixtures))
	}
}

func (p *scripted) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
