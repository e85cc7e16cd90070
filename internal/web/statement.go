package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/ledger"
	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// statementStore is what the points statement reads, with the
// signatures the API uses.
type statementStore interface {
	PlayerAccount(ctx context.Context, userID string) (int64, error)
	Statement(ctx context.Context, accountID int64, cursor string, limit int) ([]*ledger.Entry, string, error)
	ActivityStatement(ctx context.Context, userID string, r playlimit.Range) (*playlimit.Activity, error)
}

const (
	// entriesPerPage is one page of the statement's table.
	entriesPerPage = 30
	// chartEntries is how many of the latest entries the balance chart
	// draws.
	chartEntries = 200
)

// statementEntry is a ledger entry with the receipt it belongs to, if any.
type statementEntry struct {
	*ledger.Entry
	// Bet is the bet id of a stake, payout, refund or reversal ("b_12").
	Bet string
}

// activityPeriod is the activity statement of one period.
type activityPeriod struct {
	Key string // catalogue key of the period's name
	*playlimit.Activity
}

type statementData struct {
	Entries  []statementEntry
	Cursor   string
	Next     string
	Chart    *balanceChart
	Activity []activityPeriod
}

// handleStatement is the points statement: the ledger entries, newest
// first, 30 a page with the store's cursor; on the first page a chart of
// the balance over the latest entries and the activity statement (staked,
// returned and net) for today, this week, this month and 30 days, in the
// viewer's zone.
func (s *Web) handleStatement(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	ctx, uid := r.Context(), sess.User.ID
	acct, err := s.store.PlayerAccount(ctx, uid)
	if err != nil {
		return err
	}
	d := &statementData{Cursor: r.URL.Query().Get("cursor")}
	entries, next, err := s.store.Statement(ctx, acct, d.Cursor, entriesPerPage)
	if err != nil {
		return err
	}
	d.Next = next
	for _, e := range entries {
		d.Entries = append(d.Entries, statementEntry{Entry: e, Bet: betOfReference(e.Reference)})
	}
	if d.Cursor == "" {
		recent := entries
		if next != "" {
			if recent, _, err = s.store.Statement(ctx, acct, "", chartEntries); err != nil {
				return err
			}
		}
		d.Chart = newBalanceChart(recent)
		// Each period runs to the end of today, so what happened this
		// very second is in it.
		zone, now := viewerZone(r), s.now().UTC()
		end := playlimit.Daily.End(now, zone).UTC()
		for _, p := range []struct {
			key  string
			from time.Time
		}{
			{"statement.period.today", playlimit.Daily.Start(now, zone)},
			{"statement.period.week", playlimit.Weekly.Start(now, zone)},
			{"statement.period.month", playlimit.Monthly.Start(now, zone)},
			{"statement.period.30d", now.Add(-playlimit.DefaultStatementSpan)},
		} {
			act, err := s.store.ActivityStatement(ctx, uid, playlimit.Range{From: p.from.UTC(), To: end})
			if err != nil {
				return err
			}
			d.Activity = append(d.Activity, activityPeriod{Key: p.key, Activity: act})
		}
	}
	return s.render(w, r, http.StatusOK, "statement", d)
}

// betOfReference is the bet a ledger reference names ("bet:12:stake",
// "bet:12:v2" → "b_12"), or "".
func betOfReference(ref string) string {
	rest, ok := strings.CutPrefix(ref, "bet:")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return ""
	}
	return "b_" + id
}
