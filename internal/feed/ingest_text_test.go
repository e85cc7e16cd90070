package feed_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/pgtest"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// A provider's names cannot be refused, so they are cleaned: bytes that
// are not UTF-8, NUL, bidirectional overrides and zero-width characters
// are dropped and the rest stored in NFC, on both databases (PostgreSQL
// would refuse the NUL and the bytes outright, failing the whole batch).
// A fixture whose ids are not text is skipped as malformed.
func TestIngestCleansProviderNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *sqlstore.DB
	}{
		{"sqlite", func(t *testing.T) *sqlstore.DB {
			return openStore(t, filepath.Join(t.TempDir(), "pb.db"))
		}},
		{"postgres", func(t *testing.T) *sqlstore.DB { return openStore(t, pgtest.NewDatabase(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := tc.open(t)
			ctx := context.Background()
			p := &scripted{}
			in := &feed.Ingester{Provider: p, Store: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Holder: "test",
				Zone: time.UTC, Interval: time.Second, Now: func() time.Time { return now }}
			kick := now.Add(2 * time.Hour)
			dirty := fx("1", "NS", sport.Scheduled, kick, nil)
			dirty.League.Name = "K League\x00 1"
			dirty.Home.Name = "Se\xffoul\u202E FC"
			dirty.Away.Name = "Caf\u200Be\u0301 United\u2028"
			badRef := fx("2", "NS", sport.Scheduled, kick, nil)
			badRef.Home.Ref = "h\x00"
			nothingLeft := fx("3", "NS", sport.Scheduled, kick, nil)
			nothingLeft.Away.Name = "\u200B\x00"
			p.set(dirty, badRef, nothingLeft)
			st, err := in.Cycle(ctx)
			if err != nil || st.Skipped != 2 {
				t.Fatalf("cycle = %+v, %v", st, err)
			}
			ms, _, err := db.FindMatches(ctx, sport.MatchFilter{})
			if err != nil || len(ms) != 1 {
				t.Fatalf("matches = %d, %v", len(ms), err)
			}
			m := ms[0]
			if m.League.Name != "K League 1" || m.Home.Name != "Seoul FC" || m.Away.Name != "Café United" {
				t.Errorf("stored names %q, %q, %q", m.League.Name, m.Home.Name, m.Away.Name)
			}
			if strings.ContainsRune(m.Away.Name, '\u0301') {
				t.Errorf("away name %q is not NFC", m.Away.Name)
			}
		})
	}
}

func openStore(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return now }
	return db
}
