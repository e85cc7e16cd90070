package apisports

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var quiet = slog.New(slog.DiscardHandler)

func TestOddsChoice(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		sport  string
		file   string
		prefer []string
		want   map[string][]string
	}{
		{
			// Bet365 (preferred) has no 1x2: Bwin, the next preferred, gives
			// it, not 1xBet although it comes first in the answer. Bet365's
			// total is the line nearest even money (the quarter line 2.25 is
			// nearer but skipped); its handicap likewise (-0.25 skipped).
			// Bet365's 1x2 for 1035003 has an unreadable odd: Bwin's is used.
			// 1035004 has no 1x2 anywhere: no markets at all.
			name: "football preferred 8,6", sport: "football", file: "football/odds_fixture.json", prefer: []string{"8", "6"},
			want: map[string][]string{
				"football:1035001": {"1x2 Bwin 2.05/3.30/3.60", "total 2.50 Bet365 1.85/1.95", "handicap -0.50 Bet365 1.95/1.90"},
				"football:1035003": {"1x2 Bwin 1.85/3.40/4.20"},
				"football:1035004": nil,
			},
		},
		{
			name: "football preferred 6,8", sport: "football", file: "football/odds_fixture.json", prefer: []string{"6", "8"},
			want: map[string][]string{
				"football:1035001": {"1x2 Bwin 2.05/3.30/3.60", "total 2.50 Bwin 1.87/1.93", "handicap -0.50 Bet365 1.95/1.90"},
				"football:1035003": {"1x2 Bwin 1.85/3.40/4.20"},
				"football:1035004": nil,
			},
		},
		{
			// No preference: the first bookmaker in the answer that has it.
			name: "football no preference", sport: "football", file: "football/odds_fixture.json",
			want: map[string][]string{
				"football:1035001": {"1x2 1xBet 2.10/3.20/3.50", "total 2.50 Bet365 1.85/1.95", "handicap -0.50 Bet365 1.95/1.90"},
				"football:1035003": {"1x2 Bwin 1.85/3.40/4.20"},
				"football:1035004": nil,
			},
		},
		{
			// v1: "game" key; "Home/Away" at Bwin is the moneyline; totals
			// fall back to 1xBet; "Moneyline" from a non-preferred book; a
			// 3-way "Home/Away" is no moneyline.
			name: "basketball", sport: "basketball", file: "v1/odds_game.json", prefer: []string{"8", "6"},
			want: map[string][]string{
				"basketball:4001003": {"moneyline Bwin 1.70/2.15", "total 221.50 1xBet 1.90/1.90", "handicap -3.50 Bwin 1.91/1.89"},
				"basketball:4001009": {"moneyline Pinnacle 1.95/1.95"},
				"basketball:4001010": nil,
			},
		},
		{
			// "Money Line" is read when it is the only 2-way book.
			name: "basketball prefer 1xBet", sport: "basketball", file: "v1/odds_game.json", prefer: []string{"11"},
			want: map[string][]string{
				"basketball:4001003": {"moneyline 1xBet 1.72/2.10", "total 221.50 1xBet 1.90/1.90", "handicap -3.50 Bwin 1.91/1.89"},
				"basketball:4001009": {"moneyline Pinnacle 1.95/1.95"},
				"basketball:4001010": nil,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			po, err := parseOddsBody(c.sport, readTestdata(t, c.file), c.prefer, quiet)
			if err != nil {
				t.Fatal(err)
			}
			if len(po.markets) != len(c.want) {
				t.Errorf("markets for %v", keys(po.markets))
			}
			for ref, want := range c.want {
				got, ok := po.markets[ref]
				if !ok {
					t.Errorf("%s missing", ref)
				}
				if g := describe(got); !slices.Equal(g, want) {
					t.Errorf("%s = %q, want %q", ref, g, want)
				}
				checkMarkets(t, ref, got)
			}
		})
	}
}

// checkMarkets asserts what the store will accept: every market passes
// betting.NewMarket, lines are whole or half, a main market is present.
func checkMarkets(t testing.TB, ref string, ms []feed.Market) {
	t.Helper()
	main := false
	for _, m := range ms {
		if _, err := betting.NewMarket(m.Kind, m.Line, m.Prices); err != nil {
			t.Errorf("%s: market %s rejected: %v", ref, m.Kind, err)
		}
		if m.Line != nil && int64(*m.Line)%50 != 0 {
			t.Errorf("%s: quarter line %s", ref, m.Line)
		}
		if m.Source == "" {
			t.Errorf("%s: market %s without a source", ref, m.Kind)
		}
		main = main || m.Kind == betting.OneXTwo || m.Kind == betting.Moneyline
	}
	if len(ms) > 0 && !main {
		t.Errorf("%s: markets without a 1x2 or moneyline", ref)
	}
}

func oddsBody(items string) []byte {
	return []byte(`{"get":"odds","errors":[],"results":1,"response":[` + items + `]}`)
}

func TestOddsEdgeCases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		sport string
		item  string
		want  []string
	}{
		{"bare number odds are read exactly", "football",
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Match Winner","values":[{"value":"Home","odd":2.05},{"value":"Draw","odd":"3.3"},{"value":"Away","odd":"3.600"}]}]}]}`,
			[]string{"1x2 Bet365 2.05/3.30/3.60"}},
		{"three decimals are not rounded but refused", "football",
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Match Winner","values":[{"value":"Home","odd":"2.055"},{"value":"Draw","odd":"3.30"},{"value":"Away","odd":"3.60"}]}]}]}`,
			nil},
		{"football Home/Away is draw-no-bet, not a moneyline", "football",
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Home/Away","values":[{"value":"Home","odd":"1.50"},{"value":"Away","odd":"2.60"}]}]}]}`,
			nil},
		{"hockey offers both 3-way and moneyline, main first", "hockey",
			`{"game":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Home/Away","values":[{"value":"Home","odd":"1.80"},{"value":"Away","odd":"2.00"}]},{"name":"3Way Result","values":[{"value":"Home","odd":"2.30"},{"value":"Draw","odd":"4.00"},{"value":"Away","odd":"2.60"}]}]}]}`,
			[]string{"1x2 Bet365 2.30/4.00/2.60", "moneyline Bet365 1.80/2.00"}},
		{"a repeated value makes the market ambiguous", "football",
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Match Winner","values":[{"value":"Home","odd":"2.05"},{"value":"Home","odd":"3.30"},{"value":"Away","odd":"3.60"}]}]}]}`,
			nil},
		{"odds out of range are refused", "football",
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Match Winner","values":[{"value":"Home","odd":"1.00"},{"value":"Draw","odd":"3.30"},{"value":"Away","odd":"3.60"}]}]}]}`,
			nil},
		{"a bad line is skipped, the others kept", "football",
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Match Winner","values":[{"value":"Home","odd":"2.05"},{"value":"Draw","odd":"3.30"},{"value":"Away","odd":"3.60"}]},
			 {"name":"Goals Over/Under","values":[{"value":"Over 2.5","odd":"1.90"},{"value":"Under 2.5","odd":"x"},{"value":"Over 3.5","odd":"2.50"},{"value":"Under 3.5","odd":"1.55"},{"value":"Over 2.75","odd":"2.00"},{"value":"Under 2.75","odd":"1.85"}]}]}]}`,
			[]string{"1x2 Bet365 2.05/3.30/3.60", "total 3.50 Bet365 2.50/1.55"}},
		{"a handicap pair that does not price as one market is refused", "football",
			// "Away -1" read as the away side giving a goal does not
			// complement "Home -1": the book sums to about 70%.
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Match Winner","values":[{"value":"Home","odd":"2.05"},{"value":"Draw","odd":"3.30"},{"value":"Away","odd":"3.60"}]},
			 {"name":"Asian Handicap","values":[{"value":"Home -1","odd":"2.60"},{"value":"Away +1","odd":"3.90"}]}]}]}`,
			[]string{"1x2 Bet365 2.05/3.30/3.60"}},
		{"whole lines are kept", "football",
			`{"fixture":{"id":1},"bookmakers":[{"id":8,"name":"Bet365","bets":[{"name":"Match Winner","values":[{"value":"Home","odd":"2.05"},{"value":"Draw","odd":"3.30"},{"value":"Away","odd":"3.60"}]},
			 {"name":"Asian Handicap","values":[{"value":"Home 0","odd":"1.55"},{"value":"Away 0","odd":"2.45"},{"value":"Home +1","odd":"1.20"},{"value":"Away -1","odd":"4.50"},{"value":"Home -1","odd":"2.95"},{"value":"Away +1","odd":"1.40"}]}]}]}`,
			[]string{"1x2 Bet365 2.05/3.30/3.60", "handicap 0.00 Bet365 1.55/2.45"}},
		{"no bookmakers", "football", `{"fixture":{"id":1},"bookmakers":[]}`, nil},
	}
	for _, c := range cases {
		po, err := parseOddsBody(c.sport, oddsBody(c.item), []string{"8", "6"}, quiet)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := po.markets[c.sport+":1"]
		if g := describe(got); !slices.Equal(g, c.want) {
			t.Errorf("%s: %q, want %q", c.name, g, c.want)
		}
		checkMarkets(t, c.name, got)
	}
}

func TestOddsPagingAndErrors(t *testing.T) {
	t.Parallel()
	po, err := parseOddsBody("football", []byte(`{"errors":[],"paging":{"current":2,"total":"3"},"response":[]}`), nil, quiet)
	if err != nil || po.pages != (paging{Current: 2, Total: 3}) {
		t.Errorf("paging %+v %v", po, err)
	}
	if _, err := parseOddsBody("football", readTestdata(t, "errors/rate_limit.json"), nil, quiet); err == nil {
		t.Error("error envelope accepted")
	}
}
