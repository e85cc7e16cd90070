// Package odds holds the exact decimal odds type and the arithmetic on it.
// Odds are stored as an integer count of hundredths so that no float ever
// decides how many points a player receives.
package odds

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Odds is a decimal price in hundredths: 205 means "2.05".
type Odds int64

// Bounds of a price a market may carry. Below 1.01 a bet cannot win
// anything; above 1000.00 is a data error, not a price.
const (
	Min Odds = 101
	Max Odds = 100000
	One Odds = 100
)

var errSyntax = errors.New("odds must be a decimal number with at most two decimals, like 2.05")

// Parse reads a decimal string ("2", "2.0", "2.05", "2.050"). More than two
// significant decimals is an error rather than a silent rounding.
func Parse(s string) (Odds, error) {
	v, err := parseHundredths(s)
	if err != nil {
		return 0, err
	}
	if v < int64(Min) || v > int64(Max) {
		return 0, fmt.Errorf("odds %s are outside %s to %s", s, Min, Max)
	}
	return Odds(v), nil
}

// parseHundredths parses an optionally signed decimal into hundredths.
func parseHundredths(s string) (int64, error) {
	if s == "" || len(s) > 16 {
		return 0, errSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !digits(whole) || !digits(frac) {
		return 0, errSyntax
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, errSyntax
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1e12 {
		return 0, errSyntax
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	v := w*100 + f
	if neg {
		v = -v
	}
	return v, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func formatHundredths(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

func (o Odds) String() string { return formatHundredths(int64(o)) }

// MarshalJSON writes odds as a JSON string with two decimals, as docs/api.md states.
func (o Odds) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

// UnmarshalJSON accepts a JSON string ("2.05").
func (o *Odds) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errSyntax
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Line is a handicap or total line in hundredths ("-1.5" is -150). Lines are
// whole or half numbers: a whole line can push, a half line cannot.
type Line int64

// ParseLine reads a line such as "2.5", "-1", "+0.5".
func ParseLine(s string) (Line, error) {
	v, err := parseHundredths(s)
	if err != nil {
		return 0, errors.New("line must be a number like 2.5 or -1")
	}
	if v%50 != 0 {
		return 0, errors.New("line must be a whole or half number (quarter lines are not offered)")
	}
	if v < -100000 || v > 100000 {
		return 0, errors.New("line is out of range")
	}
	return Line(v), nil
}

func (l Line) String() string { return formatHundredths(int64(l)) }

func (l Line) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

func (l *Line) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("line must be a JSON string")
	}
	v, err := ParseLine(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Payout returns stake × the product of prices, rounded down to whole
// points. Products of ten prices overflow int64, so the sum is done in
// big integers; ok is false when the result does not fit in int64.
func Payout(stake int64, prices []Odds) (payout int64, ok bool) {
	n := new(big.Int).SetInt64(stake)
	d := big.NewInt(1)
	hundred := big.NewInt(100)
	for _, p := range prices {
		n.Mul(n, big.NewInt(int64(p)))
		d.Mul(d, hundred)
	}
	n.Quo(n, d) // stake and prices are positive: Quo truncates = floor
	if !n.IsInt64() {
		return 0, false
	}
	return n.Int64(), true
}

// Combined returns the product of prices rounded down to hundredths, the
// figure shown as a bet's total odds. ok is false on overflow.
func Combined(prices []Odds) (Odds, bool) {
	v, ok := Payout(100, prices)
	return Odds(v), ok
}

// ImpliedPPM is the implied probability of a price, 1/odds, in parts per
// million (rounded to nearest). It includes the bookmaker's margin.
func ImpliedPPM(o Odds) int64 {
	if o <= 0 {
		return 0
	}
	return (100_000_000 + int64(o)/2) / int64(o)
}

// FairPPM removes the margin from a market by normalising the implied
// probabilities of its selections so they sum to one million.
func FairPPM(prices []Odds) []int64 {
	out := make([]int64, len(prices))
	var sum int64
	for i, p := range prices {
		out[i] = ImpliedPPM(p)
		sum += out[i]
	}
	if sum == 0 {
		return out
	}
	for i := range out {
		out[i] = (out[i]*1_000_000 + sum/2) / sum
	}
	return out
}
