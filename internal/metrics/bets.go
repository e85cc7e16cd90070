package metrics

import (
	"context"
	"database/sql"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pointsbook/pointsbook/internal/sport"
)

// Labels outside a known set are counted under other, so that no value
// a caller passes can grow a metric's series without bound.
const other = "other"

// mixed is the sport of an accumulator over several sports.
const mixed = "mixed"

// outcomes are a settled bet's states.
var outcomes = []string{"won", "lost", "void"}

// creditKinds maps the ledger's transaction kinds of the points
// programmes to the kind label.
var creditKinds = map[string]string{
	"signup_bonus":   "signup_bonus",
	"topup":          "topup",
	"checkin":        "checkin",
	"grant":          "grant",
	"partner_credit": "partner",
}

// maxReasons bounds the refusal reasons counted by name. The reasons are
// the fault codes of placement, a fixed set in the code; the bound only
// guards against a caller passing something else.
const maxReasons = 64

// perSport are one sport's placement counters, resolved once so that
// counting a bet is two atomic adds, without a label lookup.
type perSport struct {
	placed, staked prometheus.Counter
}

// betMetrics count placements, refusals, settlements and programme
// credits, as the API and the store report them after commit.
type betMetrics struct {
	placed, staked    *prometheus.CounterVec
	refused           *prometheus.CounterVec
	settled           *prometheus.CounterVec
	paid, reversed    *prometheus.CounterVec
	credits, credited *prometheus.CounterVec

	sports map[string]perSport

	mu      sync.Mutex
	reasons map[string]prometheus.Counter
}

func newBetMetrics() *betMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	b := &betMetrics{
		placed:   counter("pointsbook_bets_placed_total", "Bets placed (committed), by sport (mixed: an accumulator over several).", "sport"),
		staked:   counter("pointsbook_points_staked_total", "Points staked on placed bets, by sport.", "sport"),
		refused:  counter("pointsbook_bets_refused_total", "Placements refused, by reason (the error code the player got).", "reason"),
		settled:  counter("pointsbook_bets_settled_total", "Bet settlements committed (a correction counts again), by sport and outcome.", "sport", "outcome"),
		paid:     counter("pointsbook_points_paid_total", "Points paid to players by settlements (payouts, refunds, and corrections that pay more), by sport.", "sport"),
		reversed: counter("pointsbook_points_reversed_total", "Points taken back from players by corrected results, by sport.", "sport"),
		credits:  counter("pointsbook_programme_credits_total", "Programme credits committed, by kind.", "kind"),
		credited: counter("pointsbook_programme_credited_points_total", "Points credited by the points programmes, by kind.", "kind"),
		sports:   map[string]perSport{},
		reasons:  map[string]prometheus.Counter{},
	}
	// Every known series exists from the start at 0, so a rate over it
	// is defined before the first bet.
	names := []string{mixed, other}
	for _, s := range sport.Sports {
		names = append(names, s.Slug)
	}
	for _, s := range names {
		b.sports[s] = perSport{placed: b.placed.WithLabelValues(s), staked: b.staked.WithLabelValues(s)}
		b.paid.WithLabelValues(s)
		b.reversed.WithLabelValues(s)
		for _, o := range outcomes {
			b.settled.WithLabelValues(s, o)
		}
	}
	for _, k := range creditKinds {
		b.credits.WithLabelValues(k)
		b.credited.WithLabelValues(k)
	}
	return b
}

func (b *betMetrics) register(reg *prometheus.Registry) {
	reg.MustRegister(b.placed, b.staked, b.refused, b.settled, b.paid, b.reversed, b.credits, b.credited)
}

func (b *betMetrics) sport(s string) perSport {
	if c, ok := b.sports[s]; ok {
		return c
	}
	return b.sports[other]
}

// BetPlaced counts a committed bet and its stake.
func (m *Metrics) BetPlaced(sport string, stake int64) {
	c := m.bets.sport(sport)
	c.placed.Inc()
	c.staked.Add(float64(stake))
}

// BetRefused counts a refused placement by its error code.
func (m *Metrics) BetRefused(reason string) {
	b := m.bets
	b.mu.Lock()
	c, ok := b.reasons[reason]
	if !ok {
		if !validReason(reason) || len(b.reasons) >= maxReasons {
			reason = other
		}
		if c, ok = b.reasons[reason]; !ok {
			c = b.refused.WithLabelValues(reason)
			b.reasons[reason] = c
		}
	}
	b.mu.Unlock()
	c.Inc()
}

// validReason accepts what an error code looks like: 1 to 48 of a-z, 0-9
// and '_'.
func validReason(s string) bool {
	if s == "" || len(s) > 48 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// BetSettled counts a committed settlement of one bet: its outcome (won,
// lost, void) and the points it moved to the player (negative: taken back
// by a correction).
func (m *Metrics) BetSettled(sport, outcome string, paid int64) {
	b := m.bets
	if _, ok := b.sports[sport]; !ok {
		sport = other
	}
	switch outcome {
	case "won", "lost", "void":
	default:
		outcome = other
	}
	b.settled.WithLabelValues(sport, outcome).Inc()
	switch {
	case paid > 0:
		b.paid.WithLabelValues(sport).Add(float64(paid))
	case paid < 0:
		b.reversed.WithLabelValues(sport).Add(float64(-paid))
	}
}

// Credited counts a committed programme credit; kind is the ledger's
// transaction kind (signup_bonus, topup, checkin, grant, partner_credit).
func (m *Metrics) Credited(kind string, points int64) {
	k, ok := creditKinds[kind]
	if !ok {
		k = other
	}
	m.bets.credits.WithLabelValues(k).Inc()
	m.bets.credited.WithLabelValues(k).Add(float64(points))
}

// LedgerTotal is one line of the ledger's totals: an operator account's
// balance, or every player wallet's together.
type LedgerTotal struct {
	Kind    string // player, house, programme
	Account string // the operator account's code, or "players"
	Points  int64
}

// ledgerCacheFor is how long a reading of the ledger's totals serves
// scrapes: several Prometheus servers scraping every few seconds then
// cost the database one small query.
const ledgerCacheFor = 5 * time.Second

// ledgerTimeout bounds the query, so a slow database cannot hold a
// scrape.
const ledgerTimeout = 2 * time.Second

var (
	ledgerBalance = prometheus.NewDesc("pointsbook_ledger_balance_points",
		"Ledger balances at scrape time (cached 5 s): each operator account, and all player wallets together (account=\"players\"); the sum over every account is 0.",
		[]string{"kind", "account"}, nil)
	ledgerErrors = prometheus.NewDesc("pointsbook_ledger_read_errors_total", "Scrapes whose read of the ledger totals failed (the balances were left out).", nil, nil)
)

// ledgerCollector reads the ledger's totals at scrape time.
type ledgerCollector struct {
	read func(context.Context) ([]LedgerTotal, error)
	now  func() time.Time

	mu     sync.Mutex
	at     time.Time
	totals []LedgerTotal
	errors int64
}

// Ledger registers the ledger's totals, which read returns at scrape time
// (at most once per 5 seconds); it must be cheap whatever the number of
// players.
func (m *Metrics) Ledger(read func(context.Context) ([]LedgerTotal, error)) {
	m.reg.MustRegister(&ledgerCollector{read: read, now: time.Now})
}

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ledgerBalance
	ch <- ledgerErrors
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.totals == nil || now.Sub(c.at) >= ledgerCacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
		totals, err := c.read(ctx)
		cancel()
		if err != nil {
			c.errors++
			c.totals = nil
		} else {
			c.totals, c.at = totals, now
		}
	}
	for _, t := range c.totals {
		ch <- prometheus.MustNewConstMetric(ledgerBalance, prometheus.GaugeValue, float64(t.Points), t.Kind, t.Account)
	}
	ch <- prometheus.MustNewConstMetric(ledgerErrors, prometheus.CounterValue, float64(c.errors))
}

// Pools registers the statistics of database connection pools by name
// (go_sql_* metrics, label db_name).
func (m *Metrics) Pools(pools map[string]*sql.DB) {
	for name, db := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
}

// buildInfo is pointsbook_build_info: the module version and the VCS
// revision the binary was built from, as the Go toolchain recorded them.
func buildInfo() prometheus.Collector {
	version, revision, goVersion := "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && revision != "unknown" {
			revision += "-dirty"
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "pointsbook_build_info",
		Help:        "Always 1; the labels say which build runs (version: the module version, revision: the VCS commit).",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "go_version": goVersion},
	})
	g.Set(1)
	return g
}
