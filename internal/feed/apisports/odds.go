package apisports

import (
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
)

type oddsItem struct {
	Fixture struct {
		ID flexID `json:"id"`
	} `json:"fixture"`
	Game struct {
		ID flexID `json:"id"`
	} `json:"game"`
	Bookmakers []bookmaker `json:"bookmakers"`
}

type bookmaker struct {
	ID   flexID      `json:"id"`
	Name looseString `json:"name"`
	Bets []bet       `json:"bets"`
}

type bet struct {
	Name   looseString `json:"name"`
	Values []betValue  `json:"values"`
}

type betValue struct {
	Value looseString     `json:"value"`
	Odd   json.RawMessage `json:"odd"`
}

// parsedOdds is one odds answer: the chosen markets per match Ref (nil
// when the match has no 1x2 or moneyline market) and its paging.
type parsedOdds struct {
	markets map[string][]feed.Market
	skipped int
	pages   paging
}

// parseOddsBody reads a whole odds answer.
func parseOddsBody(sp string, body []byte, prefer []string, log *slog.Logger) (*parsedOdds, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: err.Error()}
	}
	if perr := env.providerError(sp); perr != nil {
		return nil, perr
	}
	return parseOddsItems(sp, env, prefer, log)
}

func parseOddsItems(sp string, env *envelope, prefer []string, log *slog.Logger) (*parsedOdds, error) {
	items, err := env.items()
	if err != nil {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: err.Error()}
	}
	out := &parsedOdds{markets: map[string][]feed.Market{}, pages: env.pages()}
	for _, raw := range items {
		var it oddsItem
		if err := json.Unmarshal(raw, &it); err != nil {
			out.skipped++
			log.Warn("apisports: skipped malformed odds item", "sport", sp, "match", refOrUnknown(sp, oddsItemID(raw)), "err", shortErr(err))
			continue
		}
		id := it.Fixture.ID
		if sp != "football" || id == "" {
			if it.Game.ID != "" {
				id = it.Game.ID
			}
		}
		if id == "" {
			out.skipped++
			log.Warn("apisports: skipped odds item without a match id", "sport", sp)
			continue
		}
		ref := sp + ":" + string(id)
		if _, dup := out.markets[ref]; dup {
			log.Warn("apisports: odds listed twice for a match; the first copy is kept", "sport", sp, "match", ref)
			continue
		}
		out.markets[ref] = chooseMarkets(sp, it.Bookmakers, prefer)
	}
	return out, nil
}

func oddsItemID(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, k := range []string{"fixture", "game"} {
		var o map[string]json.RawMessage
		if json.Unmarshal(m[k], &o) == nil && o["id"] != nil {
			var id flexID
			_ = id.UnmarshalJSON(o["id"])
			if id != "" {
				return string(id)
			}
		}
	}
	return ""
}

// marketKinds lists, per sport, the kinds we take from bookmakers in the
// order they are offered; the sport's main market comes first.
//
// Moneyline is only taken where the reference says the 2-way price
// includes overtime (baseball, basketball, hockey), which is how our
// moneyline settles. In football "Home/Away" is draw-no-bet on the 90
// minutes, and in handball its rule is unknown, so neither is mapped.
var marketKinds = map[string][]betting.MarketKind{
	"football":   {betting.OneXTwo, betting.Total, betting.Handicap},
	"handball":   {betting.OneXTwo, betting.Total, betting.Handicap},
	"hockey":     {betting.OneXTwo, betting.Moneyline, betting.Total, betting.Handicap},
	"basketball": {betting.Moneyline, betting.OneXTwo, betting.Total, betting.Handicap},
	"baseball":   {betting.Moneyline, betting.OneXTwo, betting.Total, betting.Handicap},
}

// betKinds maps normalised bet names onto market kinds. The value set is
// checked too: a name alone does not make a market (a "Home/Away" with a
// Draw value is 3-way).
var betKinds = map[string]betting.MarketKind{
	"match winner":     betting.OneXTwo,
	"3way result":      betting.OneXTwo,
	"home/away":        betting.Moneyline,
	"money line":       betting.Moneyline,
	"moneyline":        betting.Moneyline,
	"goals over/under": betting.Total,
	"over/under":       betting.Total,
	"asian handicap":   betting.Handicap,
	"handicap":         betting.Handicap,
}

func normName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// chooseMarkets picks, for each kind, the first preferred bookmaker that
// offers it and otherwise the first other bookmaker in answer order, so
// each market carries the name of the book its prices came from. Without
// a 1x2 or moneyline market the match gets none: it is not bettable on
// the provider's prices.
func chooseMarkets(sp string, books []bookmaker, prefer []string) []feed.Market {
	perBook := make([]map[betting.MarketKind]feed.Market, len(books))
	for i, b := range books {
		perBook[i] = bookMarkets(sp, b)
	}
	isPreferred := map[string]bool{}
	for _, p := range prefer {
		isPreferred[p] = true
	}
	var out []feed.Market
	main := false
	for _, kind := range marketKinds[sp] {
		var pick *feed.Market
		for _, p := range prefer {
			for i, b := range books {
				if string(b.ID) == p {
					if m, ok := perBook[i][kind]; ok && pick == nil {
						pick = &m
					}
				}
			}
			if pick != nil {
				break
			}
		}
		for i, b := range books {
			if pick != nil {
				break
			}
			if isPreferred[string(b.ID)] {
				continue
			}
			if m, ok := perBook[i][kind]; ok {
				pick = &m
			}
		}
		if pick == nil {
			continue
		}
		if kind == betting.OneXTwo || kind == betting.Moneyline {
			main = true
		}
		out = append(out, *pick)
	}
	if !main {
		return nil
	}
	return out
}

// bookMarkets reads one bookmaker's bets into at most one market per kind.
func bookMarkets(sp string, b bookmaker) map[betting.MarketKind]feed.Market {
	allowed := map[betting.MarketKind]bool{}
	for _, k := range marketKinds[sp] {
		allowed[k] = true
	}
	source := string(b.Name)
	if source == "" {
		source = "bookmaker " + string(b.ID)
	}
	out := map[betting.MarketKind]feed.Market{}
	for _, bt := range b.Bets {
		kind, ok := betKinds[normName(string(bt.Name))]
		if !ok || !allowed[kind] {
			continue
		}
		if _, done := out[kind]; done {
			continue
		}
		var m *feed.Market
		switch kind {
		case betting.OneXTwo:
			m = fixedMarket(kind, bt.Values, "home", "draw", "away")
		case betting.Moneyline:
			m = fixedMarket(kind, bt.Values, "home", "away")
		case betting.Total:
			m = lineMarket(kind, bt.Values)
		case betting.Handicap:
			m = lineMarket(kind, bt.Values)
		}
		if m != nil {
			m.Source = source
			out[kind] = *m
		}
	}
	return out
}

// parseOdd reads a decimal price exactly. The provider sends strings; a
// bare number is taken by its literal text, never through a float.
func parseOdd(raw json.RawMessage) (odds.Odds, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return 0, false
	}
	if s[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		s = strings.TrimSpace(s)
	}
	o, err := odds.Parse(s)
	return o, err == nil
}

// fixedMarket builds a market whose values must be exactly the given
// selection names, each once, each with a readable price. Any bad price
// skips the whole market (another bookmaker may have a clean one).
func fixedMarket(kind betting.MarketKind, values []betValue, names ...string) *feed.Market {
	if len(values) != len(names) {
		return nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	prices := map[string]odds.Odds{}
	for _, v := range values {
		n := normName(string(v.Value))
		if !want[n] {
			return nil
		}
		if _, dup := prices[n]; dup {
			return nil
		}
		o, ok := parseOdd(v.Odd)
		if !ok {
			return nil
		}
		prices[n] = o
	}
	if !plausible(prices) {
		return nil
	}
	return &feed.Market{Kind: kind, Prices: prices}
}

type linePrices struct {
	a, b   odds.Odds // over/under, or home/away
	haveA  bool
	haveB  bool
	broken bool // a bad price or a repeated value on this line
	line   odds.Line
}

// lineMarket reads a totals ("Over 2.5") or handicap ("Home -1") bet and
// keeps the one line closest to even money. Quarter lines, lines with a
// bad price and lines missing a side are skipped; the others still count.
//
// A handicap's away value is read as the away side's own handicap, so
// "Away +1" is the other side of "Home -1" (the usual Asian notation); the
// line stored is the home line. Because the reference does not show a
// recorded away value, each pair must also price like one two-way market
// (see plausible), which a pair read the wrong way round does not.
func lineMarket(kind betting.MarketKind, values []betValue) *feed.Market {
	sideA, sideB := "over", "under"
	if kind == betting.Handicap {
		sideA, sideB = "home", "away"
	}
	lines := map[odds.Line]*linePrices{}
	for _, v := range values {
		side, lineText, ok := strings.Cut(normName(string(v.Value)), " ")
		if !ok || (side != sideA && side != sideB) {
			continue
		}
		line, err := odds.ParseLine(strings.TrimSpace(lineText))
		if err != nil {
			continue // quarter or unreadable line
		}
		if kind == betting.Handicap && side == sideB {
			line = -line
		}
		if kind == betting.Total && line <= 0 {
			continue
		}
		lp := lines[line]
		if lp == nil {
			lp = &linePrices{line: line}
			lines[line] = lp
		}
		o, okOdd := parseOdd(v.Odd)
		if !okOdd {
			lp.broken = true
			continue
		}
		if side == sideA {
			lp.broken = lp.broken || lp.haveA
			lp.a, lp.haveA = o, true
		} else {
			lp.broken = lp.broken || lp.haveB
			lp.b, lp.haveB = o, true
		}
	}
	var best *linePrices
	for _, lp := range lines {
		if lp.broken || !lp.haveA || !lp.haveB || !plausible(map[string]odds.Odds{sideA: lp.a, sideB: lp.b}) {
			continue
		}
		if best == nil || closer(lp, best) {
			best = lp
		}
	}
	if best == nil {
		return nil
	}
	line := best.line
	return &feed.Market{Kind: kind, Line: &line, Prices: map[string]odds.Odds{sideA: best.a, sideB: best.b}}
}

// closer orders lines by distance from even money, then by smaller
// absolute line, then lower line, so the choice never depends on map order.
func closer(x, y *linePrices) bool {
	dx, dy := absInt(int64(x.a)-int64(x.b)), absInt(int64(y.a)-int64(y.b))
	if dx != dy {
		return dx < dy
	}
	if ax, ay := absInt(int64(x.line)), absInt(int64(y.line)); ax != ay {
		return ax < ay
	}
	return x.line < y.line
}

func absInt(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// plausible says whether prices look like one complete market: the
// implied probabilities sum to a normal bookmaker's book (roughly 97% to
// 135%). A mismatched set (a handicap pair read the wrong way, values
// from two different markets) sums far from that.
func plausible(prices map[string]odds.Odds) bool {
	var sum int64
	for _, p := range prices {
		sum += odds.ImpliedPPM(p)
	}
	return sum >= 970_000 && sum <= 1_350_000
}
