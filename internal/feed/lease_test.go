package feed_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// leaseTries is a store that reports each lease attempt's outcome.
type leaseTries struct {
	feed.Store
	tries chan bool
}

func (s *leaseTries) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ok, err := s.Store.AcquireLease(ctx, name, holder, ttl)
	if err == nil {
		select {
		case s.tries <- ok:
		case <-ctx.Done():
		}
	}
	return ok, err
}

// TestLeaderFailover runs two ingesters, as two instances would, on one
// PostgreSQL database. Only the leader polls; when it dies without
// releasing its lease (its database connections vanish with it), the
// standby takes over once the lease has expired, not before, and no match
// is stored twice. The store's clock is the test's: expiry is a step of
// the clock, not a wait.
func TestLeaderFailover(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	clock := clocktest.New(time.Now().UTC().Truncate(time.Microsecond))
	open := func() *sqlstore.DB {
		db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		db.Now = clock.Now
		return db
	}
	dbA, dbB := open(), open()
	defer dbB.Close()
	kick := time.Now().Add(2 * time.Hour)
	fixtures := []feed.Fixture{fx("1", "NS", sport.Scheduled, kick, nil), fx("2", "NS", sport.Scheduled, kick, nil), fx("3", "NS", sport.Scheduled, kick, nil)}
	mk := func(store feed.Store, holder string) (*feed.Ingester, *scripted) {
		p := &scripted{polled: make(chan struct{}, 1)}
		p.set(fixtures...)
		return &feed.Ingester{Provider: p, Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Holder: holder,
			Zone: time.UTC, Interval: 200 * time.Millisecond}, p
	}
	a, pa := mk(dbA, "a")
	standby := &leaseTries{Store: dbB, tries: make(chan bool)}
	b, pb := mk(standby, "b")
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { a.Run(ctxA); close(doneA) }()
	wait(t, pa.polled, "the leader to poll")
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneB := make(chan struct{})
	go func() { b.Run(ctxB); close(doneB) }()
	// tryLease waits for the standby's next attempt at the lease.
	tryLease := func() bool {
		t.Helper()
		select {
		case ok := <-standby.tries:
			return ok
		case <-time.After(10 * time.Second):
			t.Fatal("the standby stopped trying the lease")
			return false
		}
	}
	for i := range 3 {
		if tryLease() {
			t.Fatalf("the standby won the lease at attempt %d while the leader was alive", i+1)
		}
	}
	if pb.count() != 0 || b.Status().Leader {
		t.Fatalf("standby polled %d times while the leader was alive", pb.count())
	}
	// The leader dies: its connections go first, so it cannot release.
	dbA.Close()
	stopA()
	<-doneA
	if tryLease() {
		t.Fatal("the standby won the lease before it expired")
	}
	clock.Advance(16 * time.Second) // past the 15 s lease
	if !tryLease() {
		t.Fatal("the standby did not take over the expired lease")
	}
	wait(t, pb.polled, "the standby to poll")
	stopB() // also frees an attempt waiting to report
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

// wait receives from ch, failing the test after 10 s.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10 s for %s", what)
	}
}
