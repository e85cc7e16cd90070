package betting

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/pointsbook/pointsbook/internal/odds"
)

func TestTotalOf(t *testing.T) {
	for _, tt := range []struct {
		prices []odds.Odds
		want   TotalOdds
	}{
		{[]odds.Odds{205}, "2.05"},
		{[]odds.Odds{200}, "2.00"},
		{[]odds.Odds{205, 150}, "3.075"}, // shown as 3.07 before, for a payout of 3,075 on 1,000
		{[]odds.Odds{200, 150}, "3.00"},
		{[]odds.Odds{101, 101}, "1.0201"},
		{[]odds.Odds{250, 155}, "3.875"},
		{[]odds.Odds{100000, 100000}, "1000000.00"},
		{[]odds.Odds{101, 101, 101}, "1.030301"},
		{[]odds.Odds{100000, 100000, 100000, 100000, 100000}, "1000000000000000.00"}, // past uint64: big.Int
		{[]odds.Odds{4294967297, 4294967297}, "1844674408229948.6209"},               // 2^64 + 2^33 + 1: just past
		{[]odds.Odds{4294967295, 4294967297}, "1844674407370955.1615"},               // 2^64 - 1: just fits
		{nil, ""},
	} {
		if got := TotalOf(tt.prices); got != tt.want {
			t.Errorf("TotalOf(%v) = %q, want %q", tt.prices, got, tt.want)
		}
	}
}

// TestTotalOddsPaysAsShown: for random slips, stake × the shown total odds
// rounded down is the payout the bet is placed with (odds.Payout).
func TestTotalOddsPaysAsShown(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 4))
	for i := 0; i < 20_000; i++ {
		prices := make([]odds.Odds, 1+r.IntN(DefaultLimits.MaxLegs))
		for j := range prices {
			if r.IntN(4) == 0 {
				prices[j] = odds.Min + odds.Odds(r.IntN(int(odds.Max-odds.Min)+1))
			} else {
				prices[j] = odds.Min + odds.Odds(r.IntN(500)) // the usual range
			}
		}
		stake := DefaultLimits.MinStake + r.Int64N(DefaultLimits.MaxStake-DefaultLimits.MinStake+1)
		shown := TotalOf(prices)
		want, ok1 := odds.Payout(stake, prices)
		got, ok2 := shown.Payout(stake)
		if ok1 != ok2 || got != want {
			t.Fatalf("stake %d × %s (%v) = %d, %v; the bet pays %d, %v", stake, shown, prices, got, ok2, want, ok1)
		}
		b, _ := json.Marshal(shown)
		var back TotalOdds
		if err := json.Unmarshal(b, &back); err != nil || back != shown {
			t.Fatalf("%s through JSON: %s, %v", shown, back, err)
		}
	}
	for _, bad := range []TotalOdds{"", "x", "1.2.3", "-1.00", ".5"} {
		if _, ok := bad.Payout(1000); ok {
			t.Errorf("Payout of %q is ok", bad)
		}
	}
}

func TestPPMText(t *testing.T) {
	for ppm, want := range map[PPM]string{0: "0.0000", 487_805: "0.4878", 487_850: "0.4879", 999_960: "1.0000", 1_000_000: "1.0000", 50: "0.0001"} {
		if got := ppm.String(); got != want {
			t.Errorf("PPM(%d) = %q, want %q", ppm, got, want)
		}
		var back PPM
		if err := back.UnmarshalText([]byte(want)); err != nil || back.String() != want {
			t.Errorf("UnmarshalText(%q) = %d, %v", want, back, err)
		}
	}
	for _, bad := range []string{"", "2.0", "1.1", "0.1234567", "0.x", "-0.1"} {
		var p PPM
		if err := p.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) = %d, want an error", bad, p)
		}
	}
	b, _ := json.Marshal(Leg{ImpliedPPM: 487_805})
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil || v["implied_probability"] != "0.4878" || v["match"] != nil {
		t.Fatalf("leg JSON = %s", b)
	}
}
