// Package betting holds markets, selections and bets and the pure rules on
// them: slip validation, the odds-change policy, grading a leg against a
// result and working out a bet's outcome. Storage runs these rules inside
// its transactions.
package betting

import (
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/idempotency"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// MarketKind names a market type.
type MarketKind string

const (
	OneXTwo   MarketKind = "1x2"
	Moneyline MarketKind = "moneyline"
	Total     MarketKind = "total"
	Handicap  MarketKind = "handicap"
)

// SelectionNames lists the selections each market kind offers, in order.
var SelectionNames = map[MarketKind][]string{
	OneXTwo:   {"home", "draw", "away"},
	Moneyline: {"home", "away"},
	Total:     {"over", "under"},
	Handicap:  {"home", "away"},
}

// HasLine reports whether the kind needs a line.
func (k MarketKind) HasLine() bool { return k == Total || k == Handicap }

// Market is a set of selections on one match.
type Market struct {
	ID         string       `json:"id"`
	MatchID    string       `json:"-"`
	Kind       MarketKind   `json:"kind"`
	Line       *odds.Line   `json:"line,omitempty"`
	Open       bool         `json:"open"`
	Selections []*Selection `json:"selections"`
}

// Selection is one outcome with its current price.
type Selection struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Odds odds.Odds `json:"odds"`
	// ImpliedPPM is the margin-free implied probability in parts per
	// million, kept with every odds version.
	ImpliedPPM int64 `json:"-"`
}

// NewMarket checks a market definition and fills in selections in order.
func NewMarket(kind MarketKind, line *odds.Line, prices map[string]odds.Odds) (*Market, error) {
	names, ok := SelectionNames[kind]
	if !ok {
		return nil, fault.New(fault.Invalid, "invalid_market", "Unknown market kind %q.", kind)
	}
	if kind.HasLine() != (line != nil) {
		return nil, fault.New(fault.Invalid, "invalid_market", "Market %s %s a line.", kind, map[bool]string{true: "needs", false: "takes no"}[kind.HasLine()])
	}
	if len(prices) != len(names) {
		return nil, fault.New(fault.Invalid, "invalid_market", "Market %s needs odds for %v.", kind, names)
	}
	m := &Market{Kind: kind, Line: line, Open: true}
	ps := make([]odds.Odds, 0, len(names))
	for _, n := range names {
		p, ok := prices[n]
		if !ok {
			return nil, fault.New(fault.Invalid, "invalid_market", "Market %s needs odds for %q.", kind, n)
		}
		if p < odds.Min || p > odds.Max {
			return nil, fault.New(fault.Invalid, "invalid_market", "Odds for %q must be between %s and %s.", n, odds.Min, odds.Max)
		}
		ps = append(ps, p)
	}
	fair := odds.FairPPM(ps)
	for i, n := range names {
		m.Selections = append(m.Selections, &Selection{Name: n, Odds: ps[i], ImpliedPPM: fair[i]})
	}
	return m, nil
}

// NewMatch is a match to create with its markets.
type NewMatch struct {
	Sport     string
	League    string
	Home      string
	Away      string
	KickoffAt time.Time
	Markets   []*Market
	// ExternalRef identifies the match at its provider, for idempotent
	// ingestion; empty for operator-created matches.
	ExternalRef string
	// Audit, when set, is written in the creating transaction with the
	// new match as its target.
	Audit *audit.Event
}

// CheckNames checks the league and team names by the rule for names people
// see (input.Name: no control, formatting or invisible characters), puts
// them in NFC and bounds them to 1 to 100 bytes.
//
// Codes: invalid_match.
func (nm *NewMatch) CheckNames() error {
	for _, s := range []*string{&nm.League, &nm.Home, &nm.Away} {
		n, err := input.Name(*s)
		if err != nil {
			return fault.New(fault.Invalid, "invalid_match", "League and team names must be text without control, formatting or invisible characters.")
		}
		if strings.TrimSpace(n) == "" || len(n) > 100 {
			return fault.New(fault.Invalid, "invalid_match", "League and team names must be 1 to 100 characters.")
		}
		*s = n
	}
	return nil
}

// Match is a match with its markets.
type Match struct {
	*sport.Match
	Markets []*Market
}

// MainMarket returns the 1x2 or moneyline market, if any.
func (m *Match) MainMarket() *Market {
	for _, mk := range m.Markets {
		if mk.Kind == OneXTwo || mk.Kind == Moneyline {
			return mk
		}
	}
	return nil
}

// OddsPolicy says what to do when the price moved since the client saw it.
type OddsPolicy string

const (
	Reject       OddsPolicy = "reject"
	AcceptHigher OddsPolicy = "accept_higher"
	AcceptAny    OddsPolicy = "accept_any"
)

// Valid reports whether p is a known policy.
func (p OddsPolicy) Valid() bool { return p == Reject || p == AcceptHigher || p == AcceptAny }

// Accepts reports whether a bet requested at price want may be placed at
// the current price got.
func (p OddsPolicy) Accepts(want, got odds.Odds) bool {
	switch p {
	case AcceptAny:
		return true
	case AcceptHigher:
		return got >= want
	default:
		return got == want
	}
}

// Limits are the operator's bet limits.
type Limits struct {
	MinStake  int64
	MaxStake  int64
	MaxPayout int64
	MaxLegs   int
}

// DefaultLimits are the limits of a fresh install.
var DefaultLimits = Limits{MinStake: 100, MaxStake: 50_000, MaxPayout: 1_000_000, MaxLegs: 10}

// LegRequest is one leg as the client sent it.
type LegRequest struct {
	SelectionID string    `json:"selection_id"`
	Odds        odds.Odds `json:"odds"`
}

// Slip is a bet request.
type Slip struct {
	Stake      int64        `json:"stake"`
	Legs       []LegRequest `json:"legs"`
	OddsPolicy OddsPolicy   `json:"odds_policy"`
}

// Check validates the shape of a slip before anything is read from the
// store: stake bounds, leg count, policy, no repeated selection.
//
// Codes: invalid_stake, stake_out_of_limits, invalid_legs, invalid_odds_policy.
func (s *Slip) Check(l Limits) error {
	if s.OddsPolicy == "" {
		s.OddsPolicy = Reject
	}
	if !s.OddsPolicy.Valid() {
		return fault.New(fault.Invalid, "invalid_odds_policy", "odds_policy must be reject, accept_higher or accept_any.")
	}
	if s.Stake <= 0 {
		return fault.New(fault.Invalid, "invalid_stake", "The stake must be a positive whole number of points.")
	}
	if s.Stake < l.MinStake || s.Stake > l.MaxStake {
		return fault.New(fault.Refused, "stake_out_of_limits", "The stake must be between %d and %d points.", l.MinStake, l.MaxStake).
			With("min_stake", l.MinStake).With("max_stake", l.MaxStake)
	}
	if len(s.Legs) == 0 || len(s.Legs) > l.MaxLegs {
		return fault.New(fault.Invalid, "invalid_legs", "A bet has 1 to %d legs.", l.MaxLegs)
	}
	seen := make(map[string]bool, len(s.Legs))
	for _, leg := range s.Legs {
		if leg.SelectionID == "" || len(leg.SelectionID) > 64 {
			return fault.New(fault.Invalid, "invalid_legs", "Every leg needs a selection_id.")
		}
		if leg.Odds < odds.Min || leg.Odds > odds.Max {
			return fault.New(fault.Invalid, "invalid_legs", "Every leg needs the odds the client saw, between %s and %s.", odds.Min, odds.Max)
		}
		if seen[leg.SelectionID] {
			return fault.New(fault.Invalid, "duplicate_match", "A bet may have only one leg per match.")
		}
		seen[leg.SelectionID] = true
	}
	return nil
}

// Offer is what the store knows about a selection at placement time.
type Offer struct {
	SelectionID string
	Selection   string
	MarketID    string
	MarketKind  MarketKind
	Line        *odds.Line
	Odds        odds.Odds
	ImpliedPPM  int64
	MarketOpen  bool
	MatchID     string
	MatchState  sport.State
	KickoffAt   time.Time
	// Sport is the match's sport (a sport.Sport name).
	Sport string
}

// Price checks a slip against current offers (in the slip's leg order) and
// returns the legs at the prices the bet is placed at, with the potential
// payout.
//
// Codes: unknown_selection, market_closed, duplicate_match, odds_changed,
// payout_over_limit.
func Price(s *Slip, offers []*Offer, l Limits, now time.Time) ([]*Leg, int64, error) {
	legs := make([]*Leg, len(s.Legs))
	matches := make(map[string]bool, len(s.Legs))
	var changed []map[string]any
	prices := make([]odds.Odds, len(s.Legs))
	for i, req := range s.Legs {
		o := offers[i]
		if o == nil {
			return nil, 0, fault.New(fault.NotFound, "unknown_selection", "Selection %q does not exist.", req.SelectionID)
		}
		if !o.MarketOpen || o.MatchState != sport.Scheduled || !now.Before(o.KickoffAt) {
			return nil, 0, fault.New(fault.Refused, "market_closed", "Betting on this match has closed.").With("selection_id", o.SelectionID)
		}
		if matches[o.MatchID] {
			return nil, 0, fault.New(fault.Invalid, "duplicate_match", "A bet may have only one leg per match.")
		}
		matches[o.MatchID] = true
		if !s.OddsPolicy.Accepts(req.Odds, o.Odds) {
			changed = append(changed, map[string]any{"selection_id": o.SelectionID, "odds": o.Odds})
		}
		prices[i] = o.Odds
		legs[i] = &Leg{
			SelectionID: o.SelectionID, MatchID: o.MatchID, MarketID: o.MarketID,
			MarketKind: o.MarketKind, Selection: o.Selection, Line: o.Line,
			Odds: o.Odds, ImpliedPPM: PPM(o.ImpliedPPM), State: LegOpen,
		}
	}
	if changed != nil {
		return nil, 0, fault.New(fault.Conflict, "odds_changed", "The odds have changed; please review the new odds.").With("legs", changed)
	}
	payout, ok := odds.Payout(s.Stake, prices)
	if !ok || payout > l.MaxPayout {
		return nil, 0, fault.New(fault.Refused, "payout_over_limit", "The potential payout is over the limit of %d points; lower the stake.", l.MaxPayout).With("max_payout", l.MaxPayout)
	}
	return legs, payout, nil
}

// LegState is a leg's outcome.
type LegState string

const (
	LegOpen LegState = "open"
	LegWon  LegState = "won"
	LegLost LegState = "lost"
	LegVoid LegState = "void"
	LegPush LegState = "push"
)

// State is a bet's state.
type State string

const (
	Open State = "open"
	Won  State = "won"
	Lost State = "lost"
	Void State = "void"
)

// Leg is one selection inside a bet with the price it was taken at.
type Leg struct {
	SelectionID string     `json:"selection_id"`
	MatchID     string     `json:"match_id"`
	MarketID    string     `json:"market_id"`
	MarketKind  MarketKind `json:"market_kind"`
	Selection   string     `json:"selection"`
	Line        *odds.Line `json:"line,omitempty"`
	Odds        odds.Odds  `json:"odds"`
	// ImpliedPPM is the margin-free implied probability of the selection
	// when the leg was taken.
	ImpliedPPM PPM      `json:"implied_probability"`
	State      LegState `json:"state"`
	// Match is what the leg is on, as it stands now; filled by the bet
	// reads (absent from a placement's answer).
	Match *LegMatch `json:"match,omitempty"`
	// Rule is a plain-language statement of how the leg was graded.
	Rule string `json:"-"`
	// ResultID points at the match result the leg was graded on.
	ResultID string `json:"-"`
}

// LegMatch is the match a leg is on, as a list of bets shows it: the teams,
// league, sport, kick-off, state and the current score (the running score
// while in play, the result once there is one, else null).
type LegMatch struct {
	Sport     string       `json:"sport"`
	League    sport.Ref    `json:"league"`
	Home      sport.Ref    `json:"home"`
	Away      sport.Ref    `json:"away"`
	KickoffAt time.Time    `json:"kickoff_at"`
	State     sport.State  `json:"state"`
	Score     *sport.Score `json:"score"`
}

// PPM is a probability in parts per million. JSON shows it as a decimal
// with four places, rounded to nearest ("0.4878"), as match details show
// a selection's implied probability.
type PPM int64

// String returns the probability with four decimals.
func (p PPM) String() string {
	tenThousandths := (int64(p) + 50) / 100 // rounded before splitting, so 0.99996 shows as 1.0000
	return fmt.Sprintf("%d.%04d", tenThousandths/10_000, tenThousandths%10_000)
}

// MarshalText is String, so JSON shows the probability as a string.
func (p PPM) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a probability with up to six decimals.
func (p *PPM) UnmarshalText(b []byte) error {
	whole, frac, _ := strings.Cut(string(b), ".")
	if (whole != "0" && whole != "1") || len(frac) > 6 || strings.Trim(frac, "0123456789") != "" {
		return fmt.Errorf("probability %q is not a decimal from 0 to 1 with up to six places", b)
	}
	v := int64(whole[0]-'0') * 1_000_000
	for i := 0; i < 6; i++ {
		d := int64(0)
		if i < len(frac) {
			d = int64(frac[i] - '0')
		}
		v += d * []int64{100_000, 10_000, 1_000, 100, 10, 1}[i]
	}
	if v > 1_000_000 {
		return fmt.Errorf("probability %q is over 1", b)
	}
	*p = PPM(v)
	return nil
}

// TotalOdds is a bet's combined price exactly as it pays: the product of
// its legs' odds as a decimal with every digit it has. Odds are
// hundredths, so n legs have at most 2n decimals and the text is exact:
// stake × TotalOdds rounded down is the payout. It has at least two
// decimals and no trailing zero beyond them (2.05 × 1.50 is "3.075",
// 2.00 × 1.50 is "3.00", a single is its leg's odds).
type TotalOdds string

// TotalOf returns the exact product of prices; "" for none.
func TotalOf(prices []odds.Odds) TotalOdds {
	if len(prices) == 0 {
		return ""
	}
	digits := productDigits(prices)
	decimals := 2 * len(prices)
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-decimals], strings.TrimRight(digits[len(digits)-decimals:], "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return TotalOdds(whole + "." + frac)
}

// productDigits returns the decimal digits of the product of prices. A
// list works it out for every bet it shows, mostly singles and short
// accumulators, so it multiplies in uint64 while the product fits (eight
// legs at 2.00 do) and with big.Int past that.
func productDigits(prices []odds.Odds) string {
	n := uint64(1)
	for _, p := range prices {
		hi, lo := bits.Mul64(n, uint64(p))
		if p <= 0 || hi != 0 {
			return bigProduct(prices).String()
		}
		n = lo
	}
	return strconv.FormatUint(n, 10)
}

func bigProduct(prices []odds.Odds) *big.Int {
	n := big.NewInt(1)
	for _, p := range prices {
		n.Mul(n, big.NewInt(int64(p)))
	}
	return n
}

// Payout returns stake × t rounded down to whole points; ok is false when
// t is not a decimal or the result does not fit in int64.
func (t TotalOdds) Payout(stake int64) (payout int64, ok bool) {
	whole, frac, _ := strings.Cut(string(t), ".")
	if whole == "" || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, false
	}
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return 0, false
	}
	n.Mul(n, big.NewInt(stake))
	n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
	if !n.IsInt64() {
		return 0, false
	}
	return n.Int64(), true
}

// Bet is a placed bet.
type Bet struct {
	ID              string      `json:"id"`
	UserID          string      `json:"-"`
	State           State       `json:"state"`
	Stake           int64       `json:"stake"`
	Odds            TotalOdds   `json:"odds"`
	PotentialPayout int64       `json:"potential_payout"`
	Payout          *int64      `json:"payout,omitempty"`
	OddsPolicy      OddsPolicy  `json:"odds_policy"`
	PlacedAt        time.Time   `json:"placed_at"`
	SettledAt       *time.Time  `json:"settled_at,omitempty"`
	Legs            []*Leg      `json:"legs"`
	Settlement      *Settlement `json:"settlement,omitempty"`
	// Version counts settlements: 0 while never settled, +1 per
	// settlement or correction.
	Version int `json:"-"`
	// Sport is what the bet is on, for counting and the bet events of
	// the log: the legs' sport, or Mixed when they differ. Set by
	// placement.
	Sport string `json:"-"`
}

// Mixed is the sport of an accumulator whose legs are on several sports.
const Mixed = "mixed"

// WithSport is the sport of a bet whose legs so far are on sport
// (empty for none) once a leg on s is added: the sport they share, or
// Mixed.
func WithSport(sport, s string) string {
	if sport == "" || sport == s {
		return s
	}
	return Mixed
}

// Outcome works out a bet's state and payout from its legs. A bet is lost
// as soon as one leg loses; otherwise it stays open until every leg is
// graded; void and push legs count as price 1.00; a bet whose every leg is
// void or push is void and returns the stake.
func Outcome(stake int64, legs []*Leg) (State, int64) {
	var prices []odds.Odds
	open, returned := false, 0
	for _, l := range legs {
		switch l.State {
		case LegLost:
			return Lost, 0
		case LegOpen:
			open = true
		case LegWon:
			prices = append(prices, l.Odds)
		case LegVoid, LegPush:
			returned++
		}
	}
	if open {
		return Open, 0
	}
	if returned == len(legs) {
		return Void, stake
	}
	payout, _ := odds.Payout(stake, prices) // bounded by the placement check
	return Won, payout
}

// Grade decides a leg against a result. Lines are whole or half numbers,
// so a leg is won, lost or (on a whole line landing exactly) pushed.
func Grade(sp sport.Sport, kind MarketKind, line *odds.Line, selection string, sc sport.Score) (LegState, string) {
	reg, fin := sc.Regulation, sc.Final()
	switch kind {
	case OneXTwo:
		got := winner(reg)
		return wonIf(got == selection), fmt.Sprintf("1x2 settles on the regulation score %d-%d: %s.", reg.Home, reg.Away, got)
	case Moneyline:
		got := winner(fin)
		if got == "draw" {
			return LegPush, fmt.Sprintf("Moneyline on the final score %d-%d: a tie returns the stake.", fin.Home, fin.Away)
		}
		return wonIf(got == selection), fmt.Sprintf("Moneyline settles on the final score %d-%d including overtime: %s.", fin.Home, fin.Away, got)
	case Total, Handicap:
		used, which := fin, "final score including overtime"
		if sp.RegulationTotals {
			used, which = reg, "regulation score"
		}
		if line == nil {
			return LegVoid, "The market had no line; the leg is void."
		}
		var diff int64 // >0: the selection is ahead of the line
		if kind == Total {
			goals := int64(used.Home+used.Away) * 100
			diff = goals - int64(*line)
			if selection == "under" {
				diff = -diff
			}
		} else {
			margin := int64(used.Home-used.Away)*100 + int64(*line) // line applies to home
			diff = margin
			if selection == "away" {
				diff = -diff
			}
		}
		state := LegLost
		switch {
		case diff > 0:
			state = LegWon
		case diff == 0:
			state = LegPush
		}
		return state, fmt.Sprintf("%s %s %s settles on the %s %d-%d: %s.", kind, selection, line, which, used.Home, used.Away, state)
	}
	return LegVoid, "Unknown market kind; the leg is void."
}

func winner(p sport.Pair) string {
	switch {
	case p.Home > p.Away:
		return "home"
	case p.Away > p.Home:
		return "away"
	}
	return "draw"
}

func wonIf(b bool) LegState {
	if b {
		return LegWon
	}
	return LegLost
}

// PlaceRequest is a bet to place for a user.
type PlaceRequest struct {
	UserID      string
	Slip        Slip
	Idempotency *idempotency.Key
}

// BetFilter selects a user's bets.
type BetFilter struct {
	// State is open, won, lost, void, or "settled" for any of the last three.
	State  string
	Cursor string
	Limit  int
}

// Settlement is a settled bet's receipt: what each leg was graded on and
// every settlement or correction applied, with its point delta.
type Settlement struct {
	Legs    []LegEvidence       `json:"legs"`
	History []SettlementVersion `json:"history"`
}

// LegEvidence is the evidence one leg was graded on.
type LegEvidence struct {
	SelectionID     string       `json:"selection_id"`
	MatchID         string       `json:"match_id"`
	State           LegState     `json:"state"`
	Outcome         string       `json:"outcome"` // "result" or "void"
	Source          string       `json:"source"`
	ProviderMatchID string       `json:"provider_match_id,omitempty"`
	Status          string       `json:"status"`
	Score           *sport.Score `json:"score,omitempty"`
	FetchedAt       time.Time    `json:"fetched_at"`
	Rule            string       `json:"rule"`
	Reason          string       `json:"reason,omitempty"`
}

// SettlementVersion is one settlement (version 1) or correction (2, 3…).
type SettlementVersion struct {
	Version int       `json:"version"`
	State   State     `json:"state"`
	Payout  int64     `json:"payout"`
	Delta   int64     `json:"delta"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}
