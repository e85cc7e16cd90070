package sport

import "testing"

func TestScoreCheck(t *testing.T) {
	tests := []struct {
		name string
		s    Score
		ok   bool
	}{
		{"regular", Score{Home: 2, Away: 1, Regulation: Pair{Home: 2, Away: 1}}, true},
		{"extra time", Score{Home: 3, Away: 2, Regulation: Pair{Home: 2, Away: 2}}, true},
		{"negative", Score{Home: -1, Away: 0}, false},
		{"regulation above final", Score{Home: 1, Away: 0, Regulation: Pair{Home: 2, Away: 0}}, false},
		{"absurd", Score{Home: 1001, Away: 0, Regulation: Pair{Home: 1001, Away: 0}}, false},
	}
	for _, tt := range tests {
		if err := tt.s.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
