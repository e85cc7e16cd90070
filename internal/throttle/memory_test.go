package throttle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/throttle"
	"github.com/pointsbook/pointsbook/internal/throttle/throttletest"
)

func TestMemoryEvictsExpiredKeys(t *testing.T) {
	ctx := context.Background()
	c := throttletest.NewClock()
	m := throttle.NewMemory(c.Now, 10)
	for i := range 10 {
		m.Take(ctx, throttle.Limit{Key: fmt.Sprint("k", i), Max: 5, Window: time.Minute})
	}
	if m.Len() != 10 {
		t.Fatalf("Len = %d", m.Len())
	}
	c.Advance(time.Minute)
	m.Take(ctx, throttle.Limit{Key: "new", Max: 5, Window: time.Minute})
	if m.Len() != 1 {
		t.Fatalf("expired keys kept: Len = %d, want 1", m.Len())
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	ctx := context.Background()
	c := throttletest.NewClock()
	m := throttle.NewMemory(c.Now, 100)
	// The victim's key fills first and so expires first ...
	victim := throttle.Limit{Key: "victim", Max: 1, Window: 15 * time.Minute}
	m.Take(ctx, victim)
	c.Advance(time.Second)
	// ... but a long-lived key filled later survives a flood of fresh keys
	// better than the ones that are about to expire anyway.
	keep := throttle.Limit{Key: "long", Max: 1, Window: time.Hour}
	m.Take(ctx, keep)
	for i := range 5000 {
		c.Advance(time.Millisecond)
		m.Take(ctx, throttle.Limit{Key: fmt.Sprint("flood", i), Max: 5, Window: 15 * time.Minute})
		if m.Len() > 101 {
			t.Fatalf("after %d keys Len = %d, bound 100", i+1, m.Len())
		}
	}
	if r, _ := m.Take(ctx, keep); r.Allowed {
		t.Fatal("the key with the longest time left was evicted")
	}
}
