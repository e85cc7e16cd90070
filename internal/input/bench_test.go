package input

import "testing"

// benchSlip has the shape of a bet slip, the body decoded most often.
type benchSlip struct {
	Stake int64 `json:"stake"`
	Legs  []struct {
		SelectionID string `json:"selection_id"`
		Odds        string `json:"odds"`
	} `json:"legs"`
	Policy string `json:"odds_policy"`
}

var benchSlipBody = []byte(`{"stake":100,"legs":[{"selection_id":"s_123456","odds":"2.05"}],"odds_policy":"accept_any"}`)

// BenchmarkDecodeJSON is the whole strict decode of a one-leg slip: the
// text walk, then the decode. BenchmarkDecodeStrict is the decode alone,
// so the difference is what the walk costs.
func BenchmarkDecodeJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var s benchSlip
		if err := DecodeJSON(benchSlipBody, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStrict(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var s benchSlip
		if err := decodeStrict(benchSlipBody, &s); err != nil {
			b.Fatal(err)
		}
	}
}
