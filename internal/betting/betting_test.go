package betting

import (
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

func line(s string) *odds.Line {
	l, err := odds.ParseLine(s)
	if err != nil {
		panic(err)
	}
	return &l
}

func TestGrade(t *testing.T) {
	football, _ := sport.Lookup("football")
	basketball, _ := sport.Lookup("basketball")
	// 2-2 after 90 minutes, 3-2 after extra time.
	aet := sport.Score{Home: 3, Away: 2, Regulation: sport.Pair{Home: 2, Away: 2}}
	ot := sport.Score{Home: 101, Away: 99, Regulation: sport.Pair{Home: 95, Away: 95}}
	tests := []struct {
		name      string
		sp        sport.Sport
		kind      MarketKind
		line      *odds.Line
		selection string
		score     sport.Score
		want      LegState
	}{
		{"1x2 uses regulation: draw wins", football, OneXTwo, nil, "draw", aet, LegWon},
		{"1x2 uses regulation: home loses", football, OneXTwo, nil, "home", aet, LegLost},
		{"moneyline uses final", basketball, Moneyline, nil, "home", ot, LegWon},
		{"moneyline away loses", basketball, Moneyline, nil, "away", ot, LegLost},
		{"moneyline tie pushes", basketball, Moneyline, nil, "home", sport.Score{Home: 1, Away: 1, Regulation: sport.Pair{Home: 1, Away: 1}}, LegPush},
		{"football total 3.0 with 3 goals pushes", football, Total, line("3"), "over", sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}}, LegPush},
		{"football total over 2.5 wins", football, Total, line("2.5"), "over", sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}}, LegWon},
		{"football total ignores extra time", football, Total, line("4.5"), "over", aet, LegLost},
		{"football under 4.5 with 5 after ET wins", football, Total, line("4.5"), "under", aet, LegWon},
		{"basketball total includes OT", basketball, Total, line("195.5"), "over", ot, LegWon},
		{"handicap home -1.5 wins by 2", football, Handicap, line("-1.5"), "home", sport.Score{Home: 3, Away: 1, Regulation: sport.Pair{Home: 3, Away: 1}}, LegWon},
		{"handicap away +1.5 loses by 2", football, Handicap, line("-1.5"), "away", sport.Score{Home: 3, Away: 1, Regulation: sport.Pair{Home: 3, Away: 1}}, LegLost},
		{"handicap home -1 by 1 pushes", football, Handicap, line("-1"), "home", sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}}, LegPush},
		{"handicap away +1 by 1 pushes", football, Handicap, line("-1"), "away", sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}}, LegPush},
		{"handicap away +0.5 draw wins", football, Handicap, line("-0.5"), "away", sport.Score{Home: 1, Away: 1, Regulation: sport.Pair{Home: 1, Away: 1}}, LegWon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rule := Grade(tt.sp, tt.kind, tt.line, tt.selection, tt.score)
			if got != tt.want {
				t.Fatalf("Grade = %s (%s), want %s", got, rule, tt.want)
			}
			if rule == "" {
				t.Fatal("no rule text")
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	leg := func(s LegState, o odds.Odds) *Leg { return &Leg{State: s, Odds: o} }
	tests := []struct {
		name   string
		legs   []*Leg
		state  State
		payout int64
	}{
		{"single won", []*Leg{leg(LegWon, 205)}, Won, 2050},
		{"single lost", []*Leg{leg(LegLost, 205)}, Lost, 0},
		{"single open", []*Leg{leg(LegOpen, 205)}, Open, 0},
		{"single void", []*Leg{leg(LegVoid, 205)}, Void, 1000},
		{"single push", []*Leg{leg(LegPush, 205)}, Void, 1000},
		{"acca lost early", []*Leg{leg(LegOpen, 200), leg(LegLost, 300)}, Lost, 0},
		{"acca waits for open leg", []*Leg{leg(LegWon, 200), leg(LegOpen, 300)}, Open, 0},
		{"acca won", []*Leg{leg(LegWon, 200), leg(LegWon, 150)}, Won, 3000},
		{"acca with void counts 1.00", []*Leg{leg(LegWon, 200), leg(LegVoid, 150)}, Won, 2000},
		{"acca all void", []*Leg{leg(LegPush, 200), leg(LegVoid, 150)}, Void, 1000},
		{"rounds down", []*Leg{leg(LegWon, 333), leg(LegWon, 333)}, Won, 11088},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := Outcome(1000, tt.legs)
			if s != tt.state || p != tt.payout {
				t.Fatalf("Outcome = %s %d, want %s %d", s, p, tt.state, tt.payout)
			}
		})
	}
}

func TestSlipCheck(t *testing.T) {
	leg := LegRequest{SelectionID: "s_1", Odds: 205}
	tests := []struct {
		name string
		slip Slip
		code string
	}{
		{"ok", Slip{Stake: 1000, Legs: []LegRequest{leg}}, ""},
		{"zero stake", Slip{Stake: 0, Legs: []LegRequest{leg}}, "invalid_stake"},
		{"negative stake", Slip{Stake: -5, Legs: []LegRequest{leg}}, "invalid_stake"},
		{"below min", Slip{Stake: 99, Legs: []LegRequest{leg}}, "stake_out_of_limits"},
		{"above max", Slip{Stake: 50001, Legs: []LegRequest{leg}}, "stake_out_of_limits"},
		{"no legs", Slip{Stake: 1000}, "invalid_legs"},
		{"eleven legs", Slip{Stake: 1000, Legs: make([]LegRequest, 11)}, "invalid_legs"},
		{"same selection twice", Slip{Stake: 1000, Legs: []LegRequest{leg, leg}}, "duplicate_match"},
		{"bad policy", Slip{Stake: 1000, Legs: []LegRequest{leg}, OddsPolicy: "maybe"}, "invalid_odds_policy"},
		{"missing odds", Slip{Stake: 1000, Legs: []LegRequest{{SelectionID: "s_1"}}}, "invalid_legs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.slip.Check(DefaultLimits)
			if got := fault.Code(err); got != tt.code {
				t.Fatalf("code=%q (%v), want %q", got, err, tt.code)
			}
		})
	}
}

func TestPrice(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	offer := func(id, match string, o odds.Odds) *Offer {
		return &Offer{SelectionID: id, Selection: "home", MarketID: "mk", MarketKind: OneXTwo, Odds: o,
			MarketOpen: true, MatchID: match, MatchState: sport.Scheduled, KickoffAt: now.Add(time.Hour)}
	}
	req := func(id string, o odds.Odds) LegRequest { return LegRequest{SelectionID: id, Odds: o} }
	closed := offer("s_1", "m_1", 205)
	closed.KickoffAt = now
	live := offer("s_1", "m_1", 205)
	live.MatchState = sport.Live
	tests := []struct {
		name   string
		policy OddsPolicy
		stake  int64
		legs   []LegRequest
		offers []*Offer
		code   string
		payout int64
	}{
		{"exact", Reject, 1000, []LegRequest{req("s_1", 205)}, []*Offer{offer("s_1", "m_1", 205)}, "", 2050},
		{"reject on higher", Reject, 1000, []LegRequest{req("s_1", 205)}, []*Offer{offer("s_1", "m_1", 210)}, "odds_changed", 0},
		{"accept higher", AcceptHigher, 1000, []LegRequest{req("s_1", 205)}, []*Offer{offer("s_1", "m_1", 210)}, "", 2100},
		{"accept higher refuses lower", AcceptHigher, 1000, []LegRequest{req("s_1", 205)}, []*Offer{offer("s_1", "m_1", 200)}, "odds_changed", 0},
		{"accept any", AcceptAny, 1000, []LegRequest{req("s_1", 205)}, []*Offer{offer("s_1", "m_1", 150)}, "", 1500},
		{"unknown", Reject, 1000, []LegRequest{req("s_9", 205)}, []*Offer{nil}, "unknown_selection", 0},
		{"kicked off", Reject, 1000, []LegRequest{req("s_1", 205)}, []*Offer{closed}, "market_closed", 0},
		{"live", Reject, 1000, []LegRequest{req("s_1", 205)}, []*Offer{live}, "market_closed", 0},
		{"two legs one match", Reject, 1000, []LegRequest{req("s_1", 205), req("s_2", 300)}, []*Offer{offer("s_1", "m_1", 205), offer("s_2", "m_1", 300)}, "duplicate_match", 0},
		{"acca", Reject, 1000, []LegRequest{req("s_1", 200), req("s_2", 300)}, []*Offer{offer("s_1", "m_1", 200), offer("s_2", "m_2", 300)}, "", 6000},
		{"payout cap", Reject, 50000, []LegRequest{req("s_1", 5000)}, []*Offer{offer("s_1", "m_1", 5000)}, "payout_over_limit", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slip := &Slip{Stake: tt.stake, Legs: tt.legs, OddsPolicy: tt.policy}
			legs, payout, err := Price(slip, tt.offers, DefaultLimits, now)
			if got := fault.Code(err); got != tt.code {
				t.Fatalf("code=%q (%v), want %q", got, err, tt.code)
			}
			if err == nil && (payout != tt.payout || len(legs) != len(tt.legs)) {
				t.Fatalf("payout=%d legs=%d, want %d", payout, len(legs), tt.payout)
			}
		})
	}
}

func TestNewMarket(t *testing.T) {
	if _, err := NewMarket(Total, nil, map[string]odds.Odds{"over": 190, "under": 190}); fault.Code(err) != "invalid_market" {
		t.Fatalf("total without line: %v", err)
	}
	if _, err := NewMarket(OneXTwo, nil, map[string]odds.Odds{"home": 190, "away": 190}); fault.Code(err) != "invalid_market" {
		t.Fatalf("1x2 without draw: %v", err)
	}
	m, err := NewMarket(Moneyline, nil, map[string]odds.Odds{"home": 190, "away": 190})
	if err != nil || len(m.Selections) != 2 || m.Selections[0].Name != "home" || m.Selections[0].ImpliedPPM != 500000 {
		t.Fatalf("moneyline: %+v, %v", m, err)
	}
}
