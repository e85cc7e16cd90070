package main

import (
	"context"
	"log/slog"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/metrics"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// newMetrics makes the registry of /metrics with what the store offers:
// the pools' statistics and the ledger's totals, behind PB_METRICS_TOKEN
// when it is set. The returned betEvents counts and logs each bet and
// credit; the store and the API are told to report to it.
func (m *Main) newMetrics() (*metrics.Metrics, betEvents) {
	met := metrics.New()
	met.RequireToken(m.Config.MetricsToken)
	met.Pools(m.DB.Pools())
	met.Ledger(func(ctx context.Context) ([]metrics.LedgerTotal, error) {
		totals, err := m.DB.LedgerTotals(ctx)
		if err != nil {
			m.Log.Warn("metrics: read ledger totals", "err", err)
			return nil, err
		}
		out := make([]metrics.LedgerTotal, len(totals))
		for i, t := range totals {
			out[i] = metrics.LedgerTotal{Kind: string(t.Kind), Account: t.Account, Points: t.Points}
		}
		return out, nil
	})
	events := betEvents{log: m.Log, met: met}
	m.DB.SetObserver(events)
	return met, events
}

// betEvents counts every placed, refused and settled bet and every
// programme credit, and writes the bet events of the log
// (docs/operations.md): one info line per bet, after its commit, with
// the field names the log indices and dashboards use.
type betEvents struct {
	log *slog.Logger
	met *metrics.Metrics
}

// BetPlaced runs on the placing request's goroutine, with its context,
// so the line carries the request's id.
func (e betEvents) BetPlaced(ctx context.Context, b *betting.Bet) {
	e.met.BetPlaced(b.Sport, b.Stake)
	e.log.LogAttrs(ctx, slog.LevelInfo, "bet placed",
		slog.String("event.action", "bet.placed"),
		slog.String("pointsbook.sport", b.Sport),
		slog.Int64("pointsbook.points.staked", b.Stake),
		slog.String("pointsbook.bet.id", b.ID),
	)
}

func (e betEvents) BetRefused(ctx context.Context, code string) {
	e.met.BetRefused(code)
	e.log.LogAttrs(ctx, slog.LevelInfo, "bet refused",
		slog.String("event.action", "bet.refused"),
		slog.String("event.reason", code),
	)
}

// BetsSettled runs after a settlement batch commits (up to 500 bets).
func (e betEvents) BetsSettled(bets []sqlstore.SettledBet) {
	ctx := context.Background()
	for _, b := range bets {
		e.met.BetSettled(b.Sport, string(b.State), b.Paid)
		e.log.LogAttrs(ctx, slog.LevelInfo, "bet settled",
			slog.String("event.action", "bet.settled"),
			slog.String("event.outcome", string(b.State)),
			slog.String("pointsbook.sport", b.Sport),
			slog.Int64("pointsbook.points.paid", b.Paid),
			slog.String("pointsbook.bet.id", b.ID),
		)
	}
}

func (e betEvents) Credited(kind ledger.Kind, points int64) {
	e.met.Credited(string(kind), points)
}
