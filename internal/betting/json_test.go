package betting

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// plainBet has Bet's fields and tags but not its MarshalJSON, so
// encoding/json writes it by reflection: the text Bet must reproduce.
type plainBet Bet

// TestBetJSON compares Bet's own encoding with encoding/json's over bets
// with and without every optional part, names that need escaping, and
// random values.
func TestBetJSON(t *testing.T) {
	t.Parallel()
	kst := time.FixedZone("KST", 9*3600)
	placed := time.Date(2026, 12, 8, 1, 2, 3, 450_000_000, time.UTC)
	settled := placed.Add(3*time.Hour + 7*time.Nanosecond)
	payout := int64(3075)
	line, negLine := odds.Line(250), odds.Line(-150)
	match := &LegMatch{Sport: "football", League: sport.Ref{ID: "lg_1", Name: "K League 1"},
		Home: sport.Ref{ID: "tm_1", Name: "Jeonbuk"}, Away: sport.Ref{ID: "tm_2", Name: "Ulsan"},
		KickoffAt: placed.In(kst), State: sport.Live, Score: &sport.Score{Home: 2, Away: 1, Regulation: sport.Pair{Home: 2, Away: 1}}}
	legs := []*Leg{
		{SelectionID: "s_1", MatchID: "m_1", MarketID: "mk_1", MarketKind: OneXTwo, Selection: "home", Odds: 205, ImpliedPPM: 487_804, State: LegWon, Match: match},
		{SelectionID: "s_2", MatchID: "m_2", MarketID: "mk_2", MarketKind: Total, Selection: "over", Line: &line, Odds: 150, ImpliedPPM: 999_960, State: LegOpen,
			Match: &LegMatch{Sport: "ice-hockey", League: sport.Ref{ID: "lg_2", Name: "Brighton & Hove <U21> \"A\" \\ 리그"},
				Home: sport.Ref{ID: "tm_3", Name: "Line\u2028Sep\tTab\x01"}, Away: sport.Ref{ID: "tm_4", Name: "bad \xff utf-8"},
				KickoffAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), State: sport.Scheduled}},
		{SelectionID: "s_3", MatchID: "m_3", MarketID: "mk_3", MarketKind: Handicap, Selection: "away", Line: &negLine, Odds: 100000, ImpliedPPM: 0, State: LegPush},
	}
	bets := []*Bet{
		{ID: "b_1", State: Open, Stake: 100, Odds: "2.05", PotentialPayout: 205, OddsPolicy: "reject", PlacedAt: placed, Legs: legs[:1]},
		{ID: "b_2", State: Won, Stake: 1000, Odds: "3.075", PotentialPayout: 3075, Payout: &payout, OddsPolicy: "accept_higher",
			PlacedAt: placed, SettledAt: &settled, Legs: legs[:2],
			Settlement: &Settlement{Legs: []LegEvidence{{SelectionID: "s_1", MatchID: "m_1", State: LegWon, Outcome: "result", Source: "operator",
				Status: "FT", Score: match.Score, FetchedAt: settled, Rule: "home & away <regulation>"}},
				History: []SettlementVersion{{Version: 1, State: Won, Payout: 3075, Delta: 3075, At: settled}}}},
		{ID: "b_3", State: Void, Legs: legs},
		{ID: "b_4", Legs: []*Leg{}},
		{ID: "b_5"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		b := &Bet{ID: fmt.Sprintf("b_%d", r.Int64()), State: State(randText(r)), Stake: r.Int64(), Odds: TotalOdds(randText(r)),
			PotentialPayout: r.Int64N(1 << 40), OddsPolicy: OddsPolicy(randText(r)), PlacedAt: time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).UTC()}
		for range r.IntN(4) {
			l := &Leg{SelectionID: randText(r), MatchID: randText(r), MarketID: randText(r), MarketKind: MarketKind(randText(r)),
				Selection: randText(r), Odds: odds.Odds(r.Int64N(1e7)), ImpliedPPM: PPM(r.Int64N(1_000_001)), State: LegState(randText(r))}
			if r.IntN(2) == 0 {
				v := odds.Line(r.Int64N(200_001) - 100_000)
				l.Line = &v
			}
			if r.IntN(3) > 0 {
				l.Match = &LegMatch{Sport: randText(r), League: sport.Ref{ID: randText(r), Name: randText(r)}, Home: sport.Ref{ID: randText(r), Name: randText(r)},
					Away: sport.Ref{ID: randText(r), Name: randText(r)}, KickoffAt: time.Unix(r.Int64N(1<<33), 0).In(kst), State: sport.State(randText(r))}
				if r.IntN(2) == 0 {
					l.Match.Score = &sport.Score{Home: r.IntN(200), Away: r.IntN(200), Regulation: sport.Pair{Home: r.IntN(100), Away: r.IntN(100)}}
				}
			}
			b.Legs = append(b.Legs, l)
		}
		bets = append(bets, b)
	}
	for _, b := range bets {
		want, err := json.Marshal((*plainBet)(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := b.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("bet %s:\n got %s\nwant %s", b.ID, got, want)
		}
		// Through encoding/json, as edge.WriteJSON writes a single bet.
		if got, err := json.Marshal(b); err != nil || !bytes.Equal(got, want) {
			t.Errorf("json.Marshal of bet %s: %v\n got %s\nwant %s", b.ID, err, got, want)
		}
	}
}

// randText returns a short string of letters, mostly plain, sometimes with
// a character JSON escapes or a multi-byte one.
func randText(r *rand.Rand) string {
	const alphabet = "abcxyz_019 ABC"
	odd := []string{"\"", "\\", "<", ">", "&", "\n", "\x00", "\u2029", "é", "한", "\xe2\x80", "\U0001F600"}
	var b []byte
	for range r.IntN(12) {
		if r.IntN(20) == 0 {
			b = append(b, odd[r.IntN(len(odd))]...)
		} else {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
	}
	return string(b)
}
