package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestNextMarker(t *testing.T) {
	t.Parallel()
	at := time.Unix(1765000000, 123456789)
	one := formatMarker(3, 17, at)
	tests := []struct {
		name  string
		frame string
		want  [][3]int64 // run, seq, ns
	}{
		{"pointsbook batch", `[{"type":"announcement","channel":"match:m_1","data":{"match":"m_1","text":"` + one + `","at":"x"}},{"type":"announcement","data":{"text":"` + formatMarker(3, 18, at) + `"}}]`,
			[][3]int64{{3, 17, at.UnixNano()}, {3, 18, at.UnixNano()}}},
		{"centrifugo lines", `{"push":{"channel":"bench0","pub":{"data":{"text":"` + one + `"}}}}` + "\n" + `{}`,
			[][3]int64{{3, 17, at.UnixNano()}}},
		{"no marker", `[{"type":"presence","data":{"count":2}}]`, nil},
		{"truncated", `"wsload 3 17"`, nil},
		{"malformed then good", `wsload x wsload 1 2 3"`, [][3]int64{{1, 2, 3}}},
		{"too many digits", `wsload 1 2 12345678901234567890"`, nil},
		{"prefix at end", `wsload `, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got [][3]int64
			b := []byte(tt.frame)
			for {
				run, seq, ns, rest, ok := nextMarker(b)
				if !ok {
					break
				}
				got = append(got, [3]int64{int64(run), int64(seq), ns})
				b = rest
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("markers = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzNextMarker(f *testing.F) {
	f.Add([]byte(`{"text":"wsload 1 2 3"}`))
	f.Add([]byte(`wsload wsload 9 9 9999999999999999999`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for {
			_, _, ns, rest, ok := nextMarker(b)
			if !ok {
				break
			}
			if ns < 0 || len(rest) >= len(b) {
				t.Fatalf("ns %d, rest %d of %d", ns, len(rest), len(b))
			}
			b = rest
		}
	})
}

func TestHistQuantile(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	var h hist
	var all []time.Duration
	for range 100_000 {
		d := time.Duration(r.ExpFloat64() * float64(3*time.Millisecond))
		h.add(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := all[int(q*float64(len(all)))-1]
		got := h.quantile(q)
		if diff := float64(got-want) / float64(want); diff < -0.04 || diff > 0.04 {
			t.Errorf("q%.3f = %s, want %s ± 4%%", q, got, want)
		}
	}
}

func TestBuckets(t *testing.T) {
	t.Parallel()
	prev := -1
	for _, us := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1 << 20, 1<<36 - 1, 1 << 40} {
		b := bucketOf(us)
		if b < prev || b >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d after %d", us, b, prev)
		}
		prev = b
		low, w := bucketLow(b)
		if us < 1<<36 && (us < low || us >= low+w) {
			t.Errorf("%d in bucket %d = [%d, %d)", us, b, low, low+w)
		}
	}
}
