package storetest

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// Ingestion hands on, after commit, what changed of a match — its state
// (or kick-off), its live score, its odds — with the full current value,
// for the match's room and its sport's lobby; an upsert that changes
// nothing sends nothing.
func testMatchEvents(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	var got capture
	db.SetAfterCommit(got.send)
	ctx := context.Background()
	kick := c.now().Add(3 * time.Hour)
	ing, err := db.UpsertFixture(ctx, "apisports", fixture("football:7", kick, sport.Scheduled, 200))
	if err != nil {
		t.Fatal(err)
	}
	room, lobby := live.MatchChannel(ing.MatchID), live.LobbyChannel("football")
	// expect checks the events sent since the last call: each of types on
	// the room and on the lobby, and returns the room's by type.
	expect := func(step string, types ...string) map[string]live.Event {
		t.Helper()
		var want, have []string
		for _, typ := range types {
			want = append(want, room+" "+typ, lobby+" "+typ)
		}
		byType := map[string]live.Event{}
		for _, ev := range got.take() {
			have = append(have, ev.Channel+" "+ev.Type)
			if ev.Channel == room {
				byType[ev.Type] = ev
			}
		}
		sort.Strings(want)
		sort.Strings(have)
		if strings.Join(want, ", ") != strings.Join(have, ", ") {
			t.Fatalf("%s: sent [%s], want [%s]", step, strings.Join(have, ", "), strings.Join(want, ", "))
		}
		return byType
	}
	expect("a new match", live.MatchState, live.MatchScore, live.OddsChanged)
	if _, err := db.UpsertFixture(ctx, "apisports", fixture("football:7", kick, sport.Scheduled, 200)); err != nil {
		t.Fatal(err)
	}
	expect("the same fixture")
	if _, err := db.UpsertFixture(ctx, "apisports", fixture("football:7", kick, sport.Scheduled, 210)); err != nil {
		t.Fatal(err)
	}
	var od live.OddsData
	decode(t, expect("a new price", live.OddsChanged)[live.OddsChanged], &od)
	if od.Match != ing.MatchID || len(od.Markets) != 1 || od.Markets[0].Selections[0].Odds != 210 {
		t.Fatalf("odds.changed %+v", od)
	}
	if _, err := db.UpsertFixture(ctx, "apisports", fixture("football:7", kick.Add(time.Hour), sport.Scheduled, 210)); err != nil {
		t.Fatal(err)
	}
	var sd live.StateData
	decode(t, expect("a new kick-off", live.MatchState)[live.MatchState], &sd)
	if sd.State != sport.Scheduled || !sd.KickoffAt.Equal(kick.Add(time.Hour)) {
		t.Fatalf("match.state %+v", sd)
	}
	f := fixture("football:7", kick.Add(time.Hour), sport.Live, 210)
	f.Status, f.Score = "1H", &sport.Score{Home: 1, Away: 0, Regulation: sport.Pair{Home: 1, Away: 0}}
	if _, err := db.UpsertFixture(ctx, "apisports", f); err != nil {
		t.Fatal(err)
	}
	evs := expect("kick-off", live.MatchState, live.MatchScore, live.OddsChanged)
	decode(t, evs[live.OddsChanged], &od)
	if od.Markets[0].Open {
		t.Fatalf("live match's markets still open: %+v", od.Markets[0])
	}
	f.Score = &sport.Score{Home: 2, Away: 0, Regulation: sport.Pair{Home: 2, Away: 0}}
	if _, err := db.UpsertFixture(ctx, "apisports", f); err != nil {
		t.Fatal(err)
	}
	var sc live.ScoreData
	decode(t, expect("a goal", live.MatchScore)[live.MatchScore], &sc)
	if sc.Match != ing.MatchID || sc.Score == nil || sc.Score.Home != 2 || sc.Score.Away != 0 {
		t.Fatalf("match.score %+v", sc)
	}
	// An operator's state, new price and result.
	if err := db.SetMatchState(ctx, ing.MatchID, sport.Scheduled); err != nil {
		t.Fatal(err)
	}
	decode(t, expect("an operator's state", live.MatchState, live.OddsChanged)[live.MatchState], &sd)
	if sd.State != sport.Scheduled {
		t.Fatalf("match.state %+v", sd)
	}
	if err := db.UpdateOdds(ctx, od.Markets[0].Selections[1].ID, 350); err != nil {
		t.Fatal(err)
	}
	decode(t, expect("an operator's price", live.OddsChanged)[live.OddsChanged], &od)
	if od.Markets[0].Selections[1].Odds != 350 || !od.Markets[0].Open {
		t.Fatalf("odds.changed %+v", od.Markets[0])
	}
	if _, err := db.RecordResult(ctx, ing.MatchID, result(3, 1, 3, 1), true, nil); err != nil {
		t.Fatal(err)
	}
	evs = expect("a result", live.MatchState, live.MatchScore, live.OddsChanged)
	decode(t, evs[live.MatchState], &sd)
	decode(t, evs[live.MatchScore], &sc)
	decode(t, evs[live.OddsChanged], &od)
	if sd.State != sport.Finished || sc.Score == nil || sc.Score.Home != 3 || od.Markets[0].Open {
		t.Fatalf("after the result: %+v %+v %+v", sd, sc.Score, od.Markets[0])
	}
	// A refused change sends nothing.
	if err := db.SetMatchState(ctx, ing.MatchID, sport.Live); err == nil {
		t.Fatal("a state change after the result was allowed")
	}
	expect("a refused state")
}

func decode(t testing.TB, ev live.Event, v any) {
	t.Helper()
	if err := json.Unmarshal(ev.Data, v); err != nil {
		t.Fatalf("%s %s: %v", ev.Type, ev.Data, err)
	}
}
