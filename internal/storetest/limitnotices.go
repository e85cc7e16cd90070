package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// A change to a player's limits, a cool-off or a self-exclusion stores a
// limit.changed notice in its own transaction and hands the same event on
// after commit, on the player's channel; a refused change stores and
// sends nothing.
func testLimitNotices(t *testing.T, open Opener) {
	db := open(t)
	newClock(db)
	var got capture
	db.SetAfterCommit(got.send)
	ctx := context.Background()
	u := mustUser(t, db, 0)
	got.take()
	span := func(s string) playlimit.Span {
		sp, err := playlimit.ParseSpan(s)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	var want []string
	for _, step := range []struct {
		name   string
		change func() error
		what   string // "": refused, nothing sent
	}{
		{"a daily limit", func() error {
			_, err := db.SetPlayLimits(ctx, u.ID, playlimit.Update{playlimit.Daily: i64(5000)}, nil)
			return err
		}, "limits"},
		{"a cool-off", func() error {
			_, err := db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, span("48h"), nil)
			return err
		}, "cooloff"},
		{"a shorter cool-off", func() error {
			_, err := db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, span("24h"), nil)
			return err
		}, ""},
		{"a self-exclusion", func() error {
			_, err := db.StartPlayBlock(ctx, u.ID, playlimit.SelfExclusion, span("6m"), nil)
			return err
		}, "self_exclusion"},
	} {
		err := step.change()
		if (err == nil) != (step.what != "") {
			t.Fatalf("%s: %v", step.name, err)
		}
		evs := got.take()
		if step.what == "" {
			if len(evs) != 0 {
				t.Fatalf("%s (refused) sent %+v", step.name, evs)
			}
			continue
		}
		var d live.LimitChangedData
		if len(evs) != 1 || evs[0].Type != live.LimitChanged || evs[0].Channel != live.UserChannel(u.ID) ||
			json.Unmarshal(evs[0].Data, &d) != nil || d.What != step.what {
			t.Fatalf("%s sent %+v", step.name, evs)
		}
		want = append(want, step.what)
	}
	ns := mustNotices(t, db, u.ID, 0, 0)
	if len(ns) != len(want) {
		t.Fatalf("%d notices, want %d: %+v", len(ns), len(want), ns)
	}
	for i, n := range ns {
		var d live.LimitChangedData
		if err := json.Unmarshal(n.Data, &d); err != nil || n.Type != live.LimitChanged || d.What != want[i] {
			t.Fatalf("notice %d: %s %s, want %s", i, n.Type, n.Data, want[i])
		}
	}
}
