package throttle_test

import (
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/throttle"
	"github.com/pointsbook/pointsbook/internal/throttle/throttletest"
)

// TestContract runs the behaviour every Limiter must have on the in-process
// one (redisthrottle runs it on Redis).
func TestContract(t *testing.T) {
	throttletest.RunContract(t, func(t *testing.T, now func() time.Time) throttle.Limiter {
		return throttle.NewMemory(now, 0)
	})
}
