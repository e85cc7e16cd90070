package betting

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/sport"
)

// A list of bets is the API's largest answer per row, and encoding/json
// spends most of its time on it finding fields by reflection and
// re-checking what each MarshalJSON wrote. Bet therefore writes itself by
// appending: the output is byte for byte what encoding/json writes from
// the struct tags (json_test.go holds the two side by side).

// MarshalJSON writes the bet as its struct tags describe.
func (b *Bet) MarshalJSON() ([]byte, error) { return b.AppendJSON(nil), nil }

// AppendJSON appends the bet's JSON document to dst.
func (b *Bet) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, b.ID)
	dst = append(dst, `,"state":`...)
	dst = appendString(dst, string(b.State))
	dst = append(dst, `,"stake":`...)
	dst = strconv.AppendInt(dst, b.Stake, 10)
	dst = append(dst, `,"odds":`...)
	dst = appendString(dst, string(b.Odds))
	dst = append(dst, `,"potential_payout":`...)
	dst = strconv.AppendInt(dst, b.PotentialPayout, 10)
	if b.Payout != nil {
		dst = append(dst, `,"payout":`...)
		dst = strconv.AppendInt(dst, *b.Payout, 10)
	}
	dst = append(dst, `,"odds_policy":`...)
	dst = appendString(dst, string(b.OddsPolicy))
	dst = append(dst, `,"placed_at":`...)
	dst = appendTime(dst, b.PlacedAt)
	if b.SettledAt != nil {
		dst = append(dst, `,"settled_at":`...)
		dst = appendTime(dst, *b.SettledAt)
	}
	dst = append(dst, `,"legs":`...)
	if b.Legs == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, l := range b.Legs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = l.appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	if b.Settlement != nil {
		// A receipt is shown one bet at a time, never in a list: the
		// general encoder is fast enough for it.
		s, _ := json.Marshal(b.Settlement) // plain fields: cannot fail
		dst = append(dst, `,"settlement":`...)
		dst = append(dst, s...)
	}
	return append(dst, '}')
}

func (l *Leg) appendJSON(dst []byte) []byte {
	if l == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"selection_id":`...)
	dst = appendString(dst, l.SelectionID)
	dst = append(dst, `,"match_id":`...)
	dst = appendString(dst, l.MatchID)
	dst = append(dst, `,"market_id":`...)
	dst = appendString(dst, l.MarketID)
	dst = append(dst, `,"market_kind":`...)
	dst = appendString(dst, string(l.MarketKind))
	dst = append(dst, `,"selection":`...)
	dst = appendString(dst, l.Selection)
	if l.Line != nil {
		dst = append(dst, `,"line":"`...)
		dst = appendHundredths(dst, int64(*l.Line))
		dst = append(dst, '"')
	}
	dst = append(dst, `,"odds":"`...)
	dst = appendHundredths(dst, int64(l.Odds))
	dst = append(dst, `","implied_probability":"`...)
	dst = l.ImpliedPPM.appendText(dst)
	dst = append(dst, `","state":`...)
	dst = appendString(dst, string(l.State))
	if l.Match != nil {
		dst = append(dst, `,"match":`...)
		dst = l.Match.appendJSON(dst)
	}
	return append(dst, '}')
}

func (m *LegMatch) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"sport":`...)
	dst = appendString(dst, m.Sport)
	dst = append(dst, `,"league":`...)
	dst = appendRef(dst, m.League)
	dst = append(dst, `,"home":`...)
	dst = appendRef(dst, m.Home)
	dst = append(dst, `,"away":`...)
	dst = appendRef(dst, m.Away)
	dst = append(dst, `,"kickoff_at":`...)
	dst = appendTime(dst, m.KickoffAt)
	dst = append(dst, `,"state":`...)
	dst = appendString(dst, string(m.State))
	dst = append(dst, `,"score":`...)
	if s := m.Score; s == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, `{"home":`...)
		dst = strconv.AppendInt(dst, int64(s.Home), 10)
		dst = append(dst, `,"away":`...)
		dst = strconv.AppendInt(dst, int64(s.Away), 10)
		dst = append(dst, `,"regulation":{"home":`...)
		dst = strconv.AppendInt(dst, int64(s.Regulation.Home), 10)
		dst = append(dst, `,"away":`...)
		dst = strconv.AppendInt(dst, int64(s.Regulation.Away), 10)
		dst = append(dst, "}}"...)
	}
	return append(dst, '}')
}

func appendRef(dst []byte, r sport.Ref) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, r.ID)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, r.Name)
	return append(dst, '}')
}

// appendText appends String's text.
func (p PPM) appendText(dst []byte) []byte {
	tenThousandths := (int64(p) + 50) / 100
	if tenThousandths < 0 { // never stored; String's text for it
		return append(dst, p.String()...)
	}
	dst = strconv.AppendInt(dst, tenThousandths/10_000, 10)
	frac := tenThousandths % 10_000
	return append(dst, '.', byte('0'+frac/1000), byte('0'+frac/100%10), byte('0'+frac/10%10), byte('0'+frac%10))
}

// appendHundredths appends odds or a line as odds.Odds.String and
// odds.Line.String write them ("2.05", "-1.50").
func appendHundredths(dst []byte, v int64) []byte {
	if v < 0 {
		dst, v = append(dst, '-'), -v
	}
	dst = strconv.AppendInt(dst, v/100, 10)
	return append(dst, '.', byte('0'+v%100/10), byte('0'+v%10))
}

// appendTime appends t as time.Time's MarshalJSON writes it (for the
// years 0 to 9999 that it accepts and a bet has).
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendString appends s as a JSON string. Text that encoding/json would
// escape (quotes, backslashes, control characters, <, > and &, U+2028 and
// U+2029, invalid UTF-8) is rare in a bet and goes through encoding/json,
// so the escaping is exactly its own.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendEscaped(dst, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return appendEscaped(dst, s)
		}
		i += size
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendEscaped(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string: cannot fail
	return append(dst, b...)
}
