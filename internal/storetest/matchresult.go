package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// A match's result is read with its evidence; a correction replaces it;
// a void says so; before any result there is none.
func testMatchResult(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	m := mustMatch(t, db, c.now().Add(time.Hour))
	if o, err := db.MatchResult(ctx, m.ID); err != nil || o != nil {
		t.Fatalf("before a result: %v, %v", o, err)
	}
	c.advance(3 * time.Hour)
	first := result(2, 1, 2, 1)
	first.Evidence.FetchedAt = c.now().Add(-time.Minute)
	if _, err := db.RecordResult(ctx, m.ID, first, false, nil); err != nil {
		t.Fatal(err)
	}
	o, err := db.MatchResult(ctx, m.ID)
	if err != nil || o == nil || o.Void || o.Score != first.Score || o.State != sport.Finished ||
		o.Evidence.Source != "simulator" || o.Evidence.Status != "FT" || o.Evidence.ProviderMatchID != "sim-1" ||
		!o.Evidence.FetchedAt.Equal(first.Evidence.FetchedAt) {
		t.Fatalf("result = %+v, %v", o, err)
	}
	c.advance(time.Hour)
	fix := result(1, 1, 1, 1)
	fix.Evidence = sport.Evidence{Source: "operator", Status: "FT", Actor: "op", Reason: "goal disallowed on review", FetchedAt: c.now()}
	if _, err := db.RecordResult(ctx, m.ID, fix, true, nil); err != nil {
		t.Fatal(err)
	}
	if o, err := db.MatchResult(ctx, m.ID); err != nil || o.Score != fix.Score || o.Evidence.Actor != "op" || o.Evidence.Reason != fix.Evidence.Reason {
		t.Fatalf("corrected result = %+v, %v", o, err)
	}
	v := mustMatch(t, db, c.now().Add(time.Hour))
	if _, err := db.VoidMatch(ctx, v.ID, sport.Evidence{Source: "operator", Status: "CANC", Actor: "op", Reason: "storm", FetchedAt: c.now()}, true); err != nil {
		t.Fatal(err)
	}
	if o, err := db.MatchResult(ctx, v.ID); err != nil || !o.Void || o.Evidence.Reason != "storm" {
		t.Fatalf("void = %+v, %v", o, err)
	}
	for _, id := range []string{"m_999999", "x", ""} {
		if _, err := db.MatchResult(ctx, id); fault.Code(err) != "match_not_found" {
			t.Errorf("MatchResult(%q) = %v", id, err)
		}
	}
}
