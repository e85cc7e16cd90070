package feed

import (
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
)

// TypicalRates are a side's expected regulation scoring in an average
// match of each sport, used when nothing better is known about a team.
var TypicalRates = map[string]float64{
	"football":   1.35,
	"baseball":   4.4,
	"basketball": 105,
	"hockey":     2.9,
	"handball":   27,
}

// RateSource estimates both sides' scoring rates for a fixture from what
// is known about the teams; ok is false when too little is known.
type RateSource func(f *Fixture) (home, away float64, ok bool)

// ModelPricer prices fixtures with the odds model: from the provider's
// own ratings when it has them, else from rates estimated from stored
// results, else from the sport's typical rates.
func ModelPricer(m odds.Model, rates RateSource) Pricer {
	return func(f *Fixture) []Market {
		home, away := TypicalRates[f.Sport], TypicalRates[f.Sport]
		switch {
		case f.Ratings != nil:
			home, away = f.Ratings.Home, f.Ratings.Away
		case rates != nil:
			if h, a, ok := rates(f); ok {
				home, away = h, a
			}
		}
		priced, err := m.Price(f.Sport, home, away)
		if err != nil {
			return nil
		}
		out := make([]Market, 0, len(priced))
		for _, p := range priced {
			out = append(out, Market{Kind: betting.MarketKind(p.Kind), Line: p.Line, Prices: p.Prices(), Source: "model"})
		}
		return out
	}
}
