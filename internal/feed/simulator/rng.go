package simulator

import "math"

// rng is a small splitmix64 generator. The simulator derives one from the
// seed and a match's identity for every match, so that a match plays out
// the same whatever else was asked for, in whatever order; its own
// generator also keeps results stable across Go releases, which
// math/rand does not promise for its derived distributions.
type rng struct{ s uint64 }

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// newRNG seeds a generator from a sequence of identifying values.
func newRNG(parts ...uint64) *rng {
	h := uint64(0x6a09e667f3bcc909)
	for _, p := range parts {
		h = mix(h ^ mix(p+0x9e3779b97f4a7c15))
	}
	return &rng{s: h}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// float is uniform in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn is uniform in [0, n); the modulo bias is below 1e-17 for our n.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// exp is exponential with mean 1.
func (r *rng) exp() float64 { return -math.Log(1 - r.float()) }

// norm is standard normal (Box–Muller; one of the pair is discarded to
// keep the generator stateless beyond its counter).
func (r *rng) norm() float64 {
	u, v := r.float(), r.float()
	return math.Sqrt(-2*math.Log(1-u)) * math.Cos(2*math.Pi*v)
}

// pick draws an index from a probability mass function.
func (r *rng) pick(pmf []float64) int {
	u := r.float()
	for i, p := range pmf {
		if u < p {
			return i
		}
		u -= p
	}
	return len(pmf) - 1
}
