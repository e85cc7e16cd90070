package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Store is what ingestion needs from storage.
type Store interface {
	UpsertFixtures(ctx context.Context, provider string, fs []*Fixture) ([]*Ingested, error)
	ImportHistory(ctx context.Context, provider string, fs []Fixture) (int, error)
	RecordResult(ctx context.Context, matchID string, o sport.Outcome, operator bool, ev *audit.Event) (bool, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Pricer prices a fixture that came without odds (the odds model), or
// returns nil when such matches are not to be offered.
type Pricer func(f *Fixture) []Market

// Ingester polls a provider and writes what it reports.
type Ingester struct {
	Provider Provider
	Store    Store
	Log      *slog.Logger
	// Holder names this instance in the lease.
	Holder string
	// Zone decides which calendar days are polled (KST by default).
	Zone *time.Location
	// Interval between polls.
	Interval time.Duration
	// VoidPostponedAfter voids a postponed match not played within this
	// time of its original kick-off (the usual bookmaker rule is 48 h).
	VoidPostponedAfter time.Duration
	// Price fills in odds for fixtures the provider sent without any.
	Price Pricer
	Now   func() time.Time

	mu     sync.Mutex
	status Status
}

// Status is the ingester's state, for /readyz details and metrics.
type Status struct {
	Leader      bool       `json:"leader"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Degraded    bool       `json:"degraded"`
	Fixtures    int        `json:"fixtures"`
	// ProviderErrors counts the provider's failed or degraded answers to
	// fixture requests since start.
	ProviderErrors int64 `json:"provider_errors"`
}

// Status returns a copy of the current status.
func (in *Ingester) Status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status
}

// leaseTTL is how long a leader's claim lasts without renewal; a standby
// takes over within one TTL plus one poll of the holder dying.
const leaseTTL = 15 * time.Second

const leaseName = "feed-ingestion"

// Run polls until ctx ends. Only the instance holding the lease polls;
// the others retry the lease every few seconds.
func (in *Ingester) Run(ctx context.Context) {
	defer func() {
		// Let a standby take over at once instead of after the TTL.
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = in.Store.ReleaseLease(rctx, leaseName, in.Holder)
	}()
	next := time.Time{}
	tick := time.NewTicker(min(in.Interval, 5*time.Second))
	defer tick.Stop()
	for {
		leader, err := in.Store.AcquireLease(ctx, leaseName, in.Holder, leaseTTL)
		if err != nil && ctx.Err() == nil {
			in.Log.Warn("feed lease", "err", err)
		}
		in.mu.Lock()
		in.status.Leader = leader
		in.mu.Unlock()
		if leader && !in.now().Before(next) {
			if _, err := in.Cycle(ctx); err != nil && ctx.Err() == nil {
				in.Log.Warn("feed cycle", "provider", in.Provider.Name(), "err", err)
			}
			next = in.now().Add(in.Interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (in *Ingester) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now().UTC()
}

// Warm prepares a starting instance: if it wins the lease, it runs one
// cycle, so today's matches exist before the instance reports ready. If
// another instance holds the lease, that one keeps the catalogue current
// and there is nothing to wait for. It reports whether this instance is
// the leader, which then imports the past seasons (Backfill).
func (in *Ingester) Warm(ctx context.Context) (bool, error) {
	leader, err := in.Store.AcquireLease(ctx, leaseName, in.Holder, leaseTTL)
	if err != nil || !leader {
		return false, err
	}
	in.mu.Lock()
	in.status.Leader = true
	in.mu.Unlock()
	st, err := in.Cycle(ctx)
	if err == nil {
		in.Log.Info("feed ready", "provider", in.Provider.Name(), "fixtures", st.Fixtures, "created", st.Created)
	}
	return true, err
}

// Backfill imports the provider's past seasons when it has them and they
// are not stored yet. It runs after the instance reports ready: today's
// matches do not need them (their prices come with them or from the
// model's ratings), only the pages' form and head-to-head do, and a first
// start that imported some 30,000 past matches before taking traffic
// would be that much later ready.
func (in *Ingester) Backfill(ctx context.Context) error {
	h, ok := in.Provider.(Historian)
	if !ok {
		return nil
	}
	past, err := h.History(ctx, in.now())
	cleanAll(past)
	if err != nil {
		in.Log.Warn("feed history", "provider", in.Provider.Name(), "err", err)
		return nil
	}
	n, err := in.Store.ImportHistory(ctx, in.Provider.Name(), past)
	if err != nil {
		return fmt.Errorf("import history: %w", err)
	}
	if n > 0 {
		in.Log.Info("imported past seasons", "provider", in.Provider.Name(), "matches", n)
	}
	return nil
}

// CycleStats counts what one cycle did.
type CycleStats struct {
	Fixtures, Created, Settled, Voided, Held, Skipped, OddsChanged int
}

// Cycle polls yesterday, today and tomorrow (so late results and the next
// day's schedule are both covered) and applies every fixture.
func (in *Ingester) Cycle(ctx context.Context) (CycleStats, error) {
	var st CycleStats
	zone := in.Zone
	if zone == nil {
		zone = time.UTC
	}
	now := in.now().In(zone)
	var firstErr error
	for _, d := range []int{-1, 0, 1} {
		fs, err := in.Provider.Fixtures(ctx, now.AddDate(0, 0, d), zone)
		if err != nil {
			if ctx.Err() == nil { // not one of ours: shutting down
				in.mu.Lock()
				in.status.ProviderErrors++
				in.mu.Unlock()
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("fixtures %s: %w", now.AddDate(0, 0, d).Format("2006-01-02"), err)
			}
			// A degraded provider still returns what it has cached (and the
			// sports that did answer): apply that, it only lacks freshness.
			if !errors.Is(err, ErrDegraded) {
				continue
			}
		}
		if err := in.apply(ctx, fs, &st); err != nil {
			return st, err // the store failed: stop this cycle
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.status.Fixtures = st.Fixtures
	if firstErr != nil {
		in.status.LastError = firstErr.Error()
		in.status.Degraded = true
		return st, firstErr
	}
	t := in.now()
	in.status.LastSuccess, in.status.LastError, in.status.Degraded = &t, "", false
	return st, nil
}

// HeadToHeader is a provider that can list past meetings of a fixture's
// teams (API-Sports; the simulator's history already has them).
type HeadToHeader interface {
	HeadToHead(ctx context.Context, f *Fixture) ([]Fixture, error)
}

// meetings stores a new match's past meetings as history, so its page
// shows head-to-head and form. It is best effort: a provider out of budget
// declines, and the match is still offered.
func (in *Ingester) meetings(ctx context.Context, f *Fixture) {
	h, ok := in.Provider.(HeadToHeader)
	if !ok {
		return
	}
	past, err := h.HeadToHead(ctx, f)
	if err != nil {
		if !errors.Is(err, ErrDegraded) {
			in.Log.Warn("feed: head-to-head", "provider", in.Provider.Name(), "match", f.Ref, "err", err)
		}
		return
	}
	cleanAll(past)
	if _, err := in.Store.ImportHistory(ctx, in.Provider.Name(), past); err != nil {
		in.Log.Warn("feed: head-to-head import", "provider", in.Provider.Name(), "match", f.Ref, "err", err)
	}
}

// Clean makes a provider's league and team names fit to show: a provider
// cannot be refused, so bytes that are not UTF-8 and control, formatting
// or invisible characters are dropped (input.CleanName) and the names put
// in NFC, rather than stored as sent. A name left empty fails Check.
func (f *Fixture) Clean() {
	for _, n := range []*Named{&f.League, &f.Home, &f.Away} {
		n.Name = input.CleanName(n.Name)
	}
}

// cleanAll cleans every fixture of a batch (see Fixture.Clean).
func cleanAll(fs []Fixture) {
	for i := range fs {
		fs[i].Clean()
	}
}

// Check rejects a fixture that cannot be stored safely. Its ids and
// status are keys, not names, so text that is not UTF-8 or holds a NUL
// makes it malformed.
func (f *Fixture) Check() error {
	switch {
	case f.Ref == "" || len(f.Ref) > 100:
		return fmt.Errorf("missing or oversized id")
	case !input.ValidText(f.Ref) || !input.ValidText(f.League.Ref) || !input.ValidText(f.Home.Ref) || !input.ValidText(f.Away.Ref) || !input.ValidText(f.Status):
		return fmt.Errorf("an id or the status is not UTF-8 text")
	case f.Home.Ref == "" || f.Away.Ref == "" || f.Home.Name == "" || f.Away.Name == "" || f.League.Ref == "" || f.League.Name == "":
		return fmt.Errorf("missing league or team")
	case f.KickoffAt.IsZero():
		return fmt.Errorf("missing kick-off time")
	}
	if _, ok := sport.Lookup(f.Sport); !ok {
		return fmt.Errorf("unknown sport %q", f.Sport)
	}
	if f.Score != nil {
		return f.Score.Check()
	}
	return nil
}

// upsertBatch bounds how many fixtures share one transaction.
const upsertBatch = 250

// apply stores fixtures (many per transaction) and then acts on each one's
// state: a finished match is settled, a cancelled or abandoned one voided,
// a postponed one held and voided once it is overdue. A fixture with an
// unknown status is held as it is; a malformed one is skipped. Both are
// logged with the match id. An error means the store failed.
func (in *Ingester) apply(ctx context.Context, fs []Fixture, st *CycleStats) error {
	provider := in.Provider.Name()
	var ok []*Fixture
	for i := range fs {
		f := &fs[i]
		st.Fixtures++
		f.Clean()
		if err := f.Check(); err != nil {
			st.Skipped++
			in.Log.Warn("feed: skipped malformed fixture", "provider", provider, "match", f.Ref, "err", err)
			continue
		}
		if f.State == "" {
			st.Held++
			in.Log.Warn("feed: unknown status; match held", "provider", provider, "match", f.Ref, "status", f.Status)
			continue
		}
		if len(f.Markets) == 0 && f.State == sport.Scheduled && in.Price != nil {
			f.Markets = in.Price(f)
		}
		ok = append(ok, f)
	}
	for start := 0; start < len(ok); start += upsertBatch {
		batch := ok[start:min(start+upsertBatch, len(ok))]
		ings, err := in.Store.UpsertFixtures(ctx, provider, batch)
		if err != nil {
			return err
		}
		for i, ing := range ings {
			if err := in.settle(ctx, batch[i], ing, st); err != nil {
				if _, isFault := fault.As(err); !isFault {
					return err
				}
			}
		}
	}
	return nil
}

// Apply stores one fixture and acts on its state (see apply).
func (in *Ingester) Apply(ctx context.Context, f *Fixture, st *CycleStats) error {
	return in.apply(ctx, []Fixture{*f}, st)
}

// settle acts on a stored fixture's state.
func (in *Ingester) settle(ctx context.Context, f *Fixture, ing *Ingested, st *CycleStats) error {
	provider := in.Provider.Name()
	if ing.Created {
		st.Created++
		in.meetings(ctx, f)
	}
	st.OddsChanged += ing.OddsChanged
	ev := sport.Evidence{Source: provider, ProviderMatchID: f.Ref, Status: f.Status, FetchedAt: f.FetchedAt}
	var o *sport.Outcome
	switch f.State {
	case sport.Finished:
		if f.Score == nil {
			st.Held++
			in.Log.Warn("feed: finished without a score; match held", "provider", provider, "match", f.Ref, "status", f.Status)
			return nil
		}
		o = &sport.Outcome{Score: *f.Score, State: sport.Finished, Evidence: ev}
	case sport.Cancelled, sport.Abandoned:
		o = &sport.Outcome{Void: true, State: f.State, Evidence: ev}
	case sport.Postponed:
		if in.VoidPostponedAfter > 0 && !ing.OriginalKickoff.IsZero() && in.now().After(ing.OriginalKickoff.Add(in.VoidPostponedAfter)) {
			ev.Reason = fmt.Sprintf("postponed and not played within %s of the original kick-off", in.VoidPostponedAfter)
			o = &sport.Outcome{Void: true, State: sport.Postponed, Evidence: ev}
		}
	}
	if o == nil {
		return nil
	}
	if ing.Locked {
		return nil // an operator's result stands
	}
	changed, err := in.Store.RecordResult(ctx, ing.MatchID, *o, false, nil)
	switch {
	case fault.Code(err) == "match_locked":
		return nil
	case err != nil:
		in.Log.Warn("feed: result not recorded", "provider", provider, "match", f.Ref, "err", err)
		return err
	case changed && o.Void:
		st.Voided++
	case changed:
		st.Settled++
	}
	return nil
}
