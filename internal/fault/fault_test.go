package fault

import (
	"fmt"
	"testing"
)

func TestCodeThroughWrapping(t *testing.T) {
	base := New(Refused, "insufficient_points", "You have %d points.", 800)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"direct", base, "insufficient_points"},
		{"wrapped", fmt.Errorf("place bet: %w", base), "insufficient_points"},
		{"plain", fmt.Errorf("driver: broken pipe"), "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Code(tt.err); got != tt.want {
				t.Fatalf("Code=%q, want %q", got, tt.want)
			}
		})
	}
	if base.Message != "You have 800 points." {
		t.Fatalf("Message=%q", base.Message)
	}
}

func TestWithCopies(t *testing.T) {
	a := New(Conflict, "odds_changed", "changed")
	b := a.With("odds", "2.10")
	if a.Details != nil {
		t.Fatal("With mutated the receiver")
	}
	if b.Details["odds"] != "2.10" {
		t.Fatalf("Details=%v", b.Details)
	}
}
