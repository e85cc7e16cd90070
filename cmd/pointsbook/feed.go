package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/feed/apisports"
	"github.com/pointsbook/pointsbook/internal/feed/simulator"
	"github.com/pointsbook/pointsbook/internal/metrics"
	"github.com/pointsbook/pointsbook/internal/odds"
)

// kst is the zone whose calendar days are polled: the product is Korean
// first, and API-Sports is asked for KST days.
var kst = mustZone("Asia/Seoul")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return loc
}

// feedRunner is the configured provider with its ingester.
type feedRunner struct {
	provider feed.Provider
	ingester *feed.Ingester
	warm     atomic.Bool
	status   func() map[string]any
	// gauges registers provider-specific metrics.
	gauges func(*metrics.Metrics)
}

// newFeed builds the provider PB_FEED names; nil for "none".
func (m *Main) newFeed() (*feedRunner, error) {
	cfg := m.Config
	model, err := odds.NewModel(cfg.OddsMargin)
	if err != nil {
		return nil, err
	}
	r := &feedRunner{}
	switch cfg.Feed {
	case "none":
		return nil, nil
	case "simulator":
		sim, err := simulator.New(simulator.Config{Seed: cfg.SimSeed, Speed: cfg.SimSpeed, Margin: cfg.OddsMargin, Now: m.now, Stakes: m.DB})
		if err != nil {
			return nil, err
		}
		r.provider = sim
	case "apisports":
		c, err := apisports.New(apisports.Config{Key: cfg.APISportsKey, DailyBudget: cfg.APISportsBudget, Now: m.now, Log: m.Log,
			Bookmakers: []int{8, 6}})
		if err != nil {
			return nil, err
		}
		r.provider = c
		r.status = func() map[string]any {
			out := map[string]any{}
			for sp, st := range c.Status() {
				out[sp] = st
			}
			return out
		}
		r.gauges = func(met *metrics.Metrics) {
			for sp := range c.Status() {
				labels := map[string]string{"sport": sp}
				met.Gauge("pointsbook_apisports_requests_remaining", "API-Sports calls left today for the sport.", labels,
					func() float64 { return float64(c.Status()[sp].Remaining) })
				met.Gauge("pointsbook_apisports_degraded", "1 while the sport's data is stale (quota, rate limit, provider error).", labels,
					func() float64 { return boolf(c.Status()[sp].Degraded != "") })
			}
		}
	default:
		return nil, fmt.Errorf("unknown feed %q", cfg.Feed)
	}
	var price feed.Pricer
	if cfg.OddsFallback == "model" {
		price = feed.ModelPricer(model, m.teamRates(r.provider.Name()))
	}
	host, _ := os.Hostname()
	r.ingester = &feed.Ingester{
		Provider: r.provider, Store: m.DB, Log: m.Log, Zone: kst, Interval: cfg.FeedInterval,
		VoidPostponedAfter: cfg.PostponedVoidAfter, Price: price, Now: m.now,
		Holder: fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano()),
	}
	return r, nil
}

// teamRates estimates scoring rates from each team's stored results.
func (m *Main) teamRates(provider string) feed.RateSource {
	return func(f *feed.Fixture) (float64, float64, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs, hc, hn, err1 := m.DB.TeamScoring(ctx, provider, f.Sport, f.Home.Ref, 10)
		as, ac, an, err2 := m.DB.TeamScoring(ctx, provider, f.Sport, f.Away.Ref, 10)
		if err1 != nil || err2 != nil || hn < 3 || an < 3 {
			return 0, 0, false
		}
		return (hs + ac) / 2, (as + hc) / 2, true
	}
}

// run warms the catalogue up (today's matches), marks the instance warm,
// imports past seasons on a first start, then polls until ctx ends.
func (r *feedRunner) run(ctx context.Context, m *Main) {
	leader, err := r.ingester.Warm(ctx)
	if err != nil && ctx.Err() == nil {
		m.Log.Warn("feed warm-up", "provider", r.provider.Name(), "err", err)
	}
	r.warm.Store(true)
	if leader {
		if err := r.ingester.Backfill(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn("feed history", "provider", r.provider.Name(), "err", err)
		}
	}
	r.ingester.Run(ctx)
}

// register adds the feed's gauges, read from the ingester at scrape time.
func (r *feedRunner) register(met *metrics.Metrics) {
	labels := map[string]string{"provider": r.provider.Name()}
	met.Gauge("pointsbook_feed_leader", "1 while this instance holds the ingestion lease and polls the provider.", labels,
		func() float64 { return boolf(r.ingester.Status().Leader) })
	met.Gauge("pointsbook_feed_degraded", "1 while the last poll failed or was degraded; cached data is still served.", labels,
		func() float64 { return boolf(r.ingester.Status().Degraded) })
	met.Gauge("pointsbook_feed_last_success_timestamp_seconds", "When the last complete poll finished (Unix time; 0 before the first).", labels,
		func() float64 {
			if t := r.ingester.Status().LastSuccess; t != nil {
				return float64(t.Unix())
			}
			return 0
		})
	met.Gauge("pointsbook_feed_fixtures", "Fixtures seen by the last poll.", labels,
		func() float64 { return float64(r.ingester.Status().Fixtures) })
	// The ingester's clock, which stamps LastSuccess (a test's, or the
	// simulator's accelerated one).
	now := r.ingester.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	met.Gauge("pointsbook_feed_lag_seconds", "Seconds since the last complete poll finished (since start before the first); grows on a standby, which does not poll.", labels,
		func() float64 {
			last := started
			if t := r.ingester.Status().LastSuccess; t != nil {
				last = *t
			}
			return now().Sub(last).Seconds()
		})
	met.CounterFunc("pointsbook_feed_provider_errors_total", "Fixture requests the provider failed or answered degraded (quota, rate limit, error).", labels,
		func() float64 { return float64(r.ingester.Status().ProviderErrors) })
	if r.gauges != nil {
		r.gauges(met)
	}
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// details are the feed's state for /readyz.
func (r *feedRunner) details() map[string]any {
	d := map[string]any{"provider": r.provider.Name(), "ingestion": r.ingester.Status()}
	if r.status != nil {
		d["sports"] = r.status()
	}
	return map[string]any{"feed": d}
}
