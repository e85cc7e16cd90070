package odds

import (
	"encoding/json"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Odds
		ok   bool
	}{
		{"2.05", 205, true},
		{"2", 200, true},
		{"2.0", 200, true},
		{"2.050", 205, true},
		{"1.01", 101, true},
		{"1000", 100000, true},
		{"1.00", 0, false},
		{"1000.01", 0, false},
		{"2.055", 0, false},
		{"", 0, false},
		{".5", 0, false},
		{"2.", 200, true},
		{"abc", 0, false},
		{"-2.05", 0, false},
		{"2,05", 0, false},
		{"99999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	b, err := json.Marshal(struct{ O Odds }{205})
	if err != nil || string(b) != `{"O":"2.05"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var v struct{ O Odds }
	if err := json.Unmarshal([]byte(`{"O":"3.3"}`), &v); err != nil || v.O != 330 {
		t.Fatalf("Unmarshal = %v, %v", v.O, err)
	}
	if err := json.Unmarshal([]byte(`{"O":3.3}`), &v); err == nil {
		t.Fatal("a JSON number was accepted as odds")
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		in   string
		want Line
		ok   bool
	}{
		{"2.5", 250, true}, {"-1.5", -150, true}, {"+0.5", 50, true}, {"3", 300, true},
		{"0", 0, true}, {"2.25", 0, false}, {"x", 0, false}, {"-", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseLine(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if s := Line(-150).String(); s != "-1.50" {
		t.Fatalf("String = %q", s)
	}
}

func TestPayout(t *testing.T) {
	tests := []struct {
		stake  int64
		prices []Odds
		want   int64
	}{
		{1000, []Odds{205}, 2050},
		{333, []Odds{205}, 682},           // 682.65 rounds down
		{100, []Odds{101, 101, 101}, 103}, // 103.0301
		{100, nil, 100},
		{999, []Odds{333, 100}, 3326}, // 3326.67, a void leg counts as 1.00
	}
	for _, tt := range tests {
		got, ok := Payout(tt.stake, tt.prices)
		if !ok || got != tt.want {
			t.Errorf("Payout(%d, %v) = %d, %v; want %d", tt.stake, tt.prices, got, ok, tt.want)
		}
	}
	ten := make([]Odds, 10)
	for i := range ten {
		ten[i] = Max
	}
	if _, ok := Payout(50000, ten); ok {
		t.Fatal("overflowing payout reported ok")
	}
}

func TestFairPPM(t *testing.T) {
	got := FairPPM([]Odds{190, 190})
	if got[0] != 500000 || got[1] != 500000 {
		t.Fatalf("FairPPM = %v", got)
	}
	if p := ImpliedPPM(200); p != 500000 {
		t.Fatalf("ImpliedPPM(2.00) = %d", p)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2.05", "1", "-1.5", "1000.00", "0.5", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := Parse(s)
		if err == nil {
			if o < Min || o > Max {
				t.Fatalf("Parse(%q) = %v outside bounds", s, o)
			}
			back, err := Parse(o.String())
			if err != nil || back != o {
				t.Fatalf("round trip %q -> %v -> %v, %v", s, o, back, err)
			}
		}
		if l, err := ParseLine(s); err == nil {
			if back, err := ParseLine(l.String()); err != nil || back != l {
				t.Fatalf("line round trip %q -> %v -> %v, %v", s, l, back, err)
			}
		}
	})
}
