package apisports

import (
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/sport"
)

// TestStatusTable checks every code of the reference's table, per sport,
// and that no sport maps a code the table does not list.
func TestStatusTable(t *testing.T) {
	t.Parallel()
	type col struct {
		state sport.State
		codes string
	}
	table := map[string][]col{
		"football": {
			{sport.Scheduled, "TBD NS"},
			{sport.Live, "1H HT 2H ET BT P LIVE"},
			{sport.Suspended, "SUSP INT"},
			{sport.Finished, "FT AET PEN"},
			{sport.Postponed, "PST"},
			{sport.Cancelled, "CANC"},
			{sport.Abandoned, "ABD"},
			// Awarded and walkover: voided, code kept. AWA is the spelling
			// of the documentation copy for AWD.
			{sport.Abandoned, "AWD AWA WO"},
		},
		"basketball": {
			{sport.Scheduled, "NS"},
			{sport.Live, "Q1 Q2 Q3 Q4 OT BT HT"},
			{sport.Suspended, "SUSP"},
			{sport.Finished, "FT AOT"},
			{sport.Postponed, "POST"},
			{sport.Cancelled, "CANC"},
			{sport.Abandoned, "ABD AWD"},
		},
		"baseball": {
			{sport.Scheduled, "NS"},
			{sport.Live, "IN1 IN2 IN3 IN4 IN5 IN6 IN7 IN8 IN9"},
			{sport.Suspended, "INTR"},
			{sport.Finished, "FT"},
			{sport.Postponed, "POST"},
			{sport.Cancelled, "CANC"},
			{sport.Abandoned, "ABD"},
		},
		"hockey": {
			{sport.Scheduled, "NS"},
			{sport.Live, "P1 P2 P3 OT PT BT"},
			{sport.Suspended, "INTR"},
			{sport.Finished, "FT AOT AP"},
			{sport.Postponed, "POST"},
			{sport.Cancelled, "CANC"},
			{sport.Abandoned, "ABD AW"},
		},
		"handball": {
			{sport.Scheduled, "NS"},
			{sport.Live, "1H 2H HT ET BT PT"},
			{sport.Suspended, "INTR"},
			{sport.Finished, "FT AET AP"},
			{sport.Postponed, "POST"},
			{sport.Cancelled, "CANC"},
			{sport.Abandoned, "ABD AW WO"},
		},
	}
	for sp, cols := range table {
		n := 0
		for _, c := range cols {
			for _, code := range strings.Fields(c.codes) {
				n++
				if got := mapStatus(sp, code); got != c.state {
					t.Errorf("%s %s = %q, want %q", sp, code, got, c.state)
				}
				if got := mapStatus(sp, " "+strings.ToLower(code)+" "); got != c.state {
					t.Errorf("%s %q (case, spaces) = %q, want %q", sp, code, got, c.state)
				}
			}
		}
		if len(statusTable[sp]) != n {
			t.Errorf("%s maps %d codes, the table lists %d", sp, len(statusTable[sp]), n)
		}
		for _, unknown := range []string{"", "XYZ", "IN10", "AWA2", "Q5", "FT?"} {
			if got := mapStatus(sp, unknown); got != "" {
				t.Errorf("%s unknown %q = %q, want empty (held)", sp, unknown, got)
			}
		}
	}
	// Codes that exist in one sport only are not borrowed by another.
	for _, c := range [][2]string{{"baseball", "AOT"}, {"baseball", "P1"}, {"football", "AP"}, {"hockey", "PEN"}, {"basketball", "AW"}, {"handball", "Q1"}, {"curling", "FT"}} {
		if got := mapStatus(c[0], c[1]); got != "" {
			t.Errorf("%s %s = %q, want empty", c[0], c[1], got)
		}
	}
	if len(table) != len(sportSlugs) {
		t.Errorf("table covers %d sports", len(table))
	}
}

func TestScoreRules(t *testing.T) {
	t.Parallel()
	raw := func(s string) []byte { return []byte(s) }
	pair := func(h, a int) rawPair {
		return rawPair{Home: optInt{V: h, Set: true}, Away: optInt{V: a, Set: true}}
	}
	var none rawPair
	cases := []struct {
		name string
		got  func() (*sport.Score, string)
		want *sport.Score
		note bool
	}{
		{"football FT", func() (*sport.Score, string) {
			return footballScore(sport.Finished, "FT", pair(2, 1), pair(2, 1), none)
		}, score(2, 1, 2, 1), false},
		{"football AET", func() (*sport.Score, string) {
			return footballScore(sport.Finished, "AET", pair(2, 1), pair(1, 1), pair(1, 0))
		}, score(2, 1, 1, 1), false},
		{"football AET without fulltime is held", func() (*sport.Score, string) {
			return footballScore(sport.Finished, "AET", pair(2, 1), none, pair(1, 0))
		}, nil, true},
		{"football AET whose fulltime includes extra time is held", func() (*sport.Score, string) {
			return footballScore(sport.Finished, "AET", pair(2, 1), pair(2, 1), pair(1, 0))
		}, nil, true},
		{"football PEN", func() (*sport.Score, string) {
			return footballScore(sport.Finished, "PEN", pair(1, 1), pair(0, 0), pair(1, 1))
		}, score(1, 1, 0, 0), false},
		{"football ET live uses fulltime", func() (*sport.Score, string) {
			return footballScore(sport.Live, "ET", pair(2, 1), pair(1, 1), none)
		}, score(2, 1, 1, 1), false},
		{"football FT without goals is held", func() (*sport.Score, string) {
			return footballScore(sport.Finished, "FT", none, none, none)
		}, nil, true},
		{"football NS has no score", func() (*sport.Score, string) {
			return footballScore(sport.Scheduled, "NS", pair(0, 0), none, none)
		}, nil, false},
		{"basketball AOT", func() (*sport.Score, string) {
			return basketballScore(sport.Finished, "AOT", raw(`{"home":{"quarter_1":20,"quarter_2":20,"quarter_3":20,"quarter_4":20,"over_time":9,"total":89},"away":{"quarter_1":25,"quarter_2":15,"quarter_3":20,"quarter_4":20,"over_time":4,"total":84}}`))
		}, score(89, 84, 80, 80), false},
		{"basketball AOT from an unlevel regulation is held", func() (*sport.Score, string) {
			return basketballScore(sport.Finished, "AOT", raw(`{"home":{"quarter_1":21,"quarter_2":20,"quarter_3":20,"quarter_4":20,"over_time":8,"total":89},"away":{"quarter_1":25,"quarter_2":15,"quarter_3":20,"quarter_4":20,"over_time":4,"total":84}}`))
		}, nil, true},
		{"basketball AOT without quarters is held", func() (*sport.Score, string) {
			return basketballScore(sport.Finished, "AOT", raw(`{"home":{"total":89},"away":{"total":84}}`))
		}, nil, true},
		{"basketball FT whose quarters disagree is held", func() (*sport.Score, string) {
			return basketballScore(sport.Finished, "FT", raw(`{"home":{"quarter_1":20,"quarter_2":20,"quarter_3":20,"quarter_4":20,"total":81},"away":{"quarter_1":20,"quarter_2":20,"quarter_3":20,"quarter_4":20,"total":80}}`))
		}, nil, true},
		{"basketball FT with total only", func() (*sport.Score, string) {
			return basketballScore(sport.Finished, "FT", raw(`{"home":{"total":"81"},"away":{"total":80}}`))
		}, score(81, 80, 81, 80), false},
		{"baseball extra innings beyond the ninth by number", func() (*sport.Score, string) {
			return baseballScore(sport.Finished, raw(`{"home":{"innings":{"1":1,"9":0,"10":0,"11":1},"total":3},"away":{"innings":{"1":2,"10":0,"11":0},"total":2}}`))
		}, score(3, 2, 2, 2), false},
		{"baseball extra after an unlevel nine is held", func() (*sport.Score, string) {
			return baseballScore(sport.Finished, raw(`{"home":{"innings":{"extra":1},"total":5},"away":{"innings":{"extra":0},"total":2}}`))
		}, nil, true},
		{"baseball extra above the total is held", func() (*sport.Score, string) {
			return baseballScore(sport.Finished, raw(`{"home":{"innings":{"extra":7},"total":5},"away":{"innings":{"extra":0},"total":2}}`))
		}, nil, true},
		{"hockey AOT", func() (*sport.Score, string) {
			return hockeyScore(sport.Finished, "AOT", raw(`{"home":2,"away":3}`), raw(`{"first":"0-1","second":"1-0","third":"1-1","overtime":"0-1","penalties":null}`))
		}, score(2, 3, 2, 2), false},
		{"hockey AP with a level final is held", func() (*sport.Score, string) {
			return hockeyScore(sport.Finished, "AP", raw(`{"home":2,"away":2}`), raw(`{"first":"0-1","second":"1-0","third":"1-1","overtime":"0-0","penalties":"3-2"}`))
		}, nil, true},
		{"hockey AP without periods is held", func() (*sport.Score, string) {
			return hockeyScore(sport.Finished, "AP", raw(`{"home":3,"away":2}`), raw(`null`))
		}, nil, true},
		{"hockey FT whose periods disagree is held", func() (*sport.Score, string) {
			return hockeyScore(sport.Finished, "FT", raw(`{"home":3,"away":2}`), raw(`{"first":"1-0","second":"1-1","third":"0-1"}`))
		}, nil, true},
		{"handball AET", func() (*sport.Score, string) {
			return handballScore(sport.Finished, "AET", raw(`{"home":33,"away":31}`), raw(`{"first":{"home":14,"away":15},"second":{"home":15,"away":14},"extra":{"home":4,"away":2}}`))
		}, score(33, 31, 29, 29), false},
		{"handball FT with string periods", func() (*sport.Score, string) {
			return handballScore(sport.Finished, "FT", raw(`{"home":30,"away":28}`), raw(`{"first":"15-14","second":"15-14"}`))
		}, score(30, 28, 30, 28), false},
	}
	for _, c := range cases {
		got, note := c.got()
		if !sameScore(got, c.want) || (note != "") != c.note {
			t.Errorf("%s: %+v %q, want %+v (note %v)", c.name, got, note, c.want, c.note)
		}
	}
}
