package main

import (
	"bytes"
	"math/bits"
	"strconv"
	"time"
)

// A load event's text is a marker, "wsload <run> <seq> <unix ns>": the
// run it belongs to, its number within the run, and when its publish
// request was sent. Clients find markers in whatever frames their server
// sends (one event or a batch, Pointsbook's JSON array or Centrifugo's
// newline-separated replies) without decoding the protocol, so both
// servers' deliveries are counted and timed by the same code.
const markerPrefix = "wsload "

func formatMarker(run, seq uint64, at time.Time) string {
	b := make([]byte, 0, 48)
	b = append(b, markerPrefix...)
	b = strconv.AppendUint(b, run, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, at.UnixNano(), 10)
	return string(b)
}

// nextMarker finds the first well-formed marker in b. rest is what
// follows it (or, when none was found, nil).
func nextMarker(b []byte) (run, seq uint64, ns int64, rest []byte, ok bool) {
	for {
		i := bytes.Index(b, []byte(markerPrefix))
		if i < 0 {
			return 0, 0, 0, nil, false
		}
		b = b[i+len(markerPrefix):]
		var r, s, n uint64
		var ok1, ok2, ok3 bool
		p := b
		r, p, ok1 = number(p)
		if ok1 && len(p) > 0 && p[0] == ' ' {
			s, p, ok2 = number(p[1:])
		}
		if ok2 && len(p) > 0 && p[0] == ' ' {
			n, p, ok3 = number(p[1:])
		}
		if ok3 && n <= 1<<63-1 {
			return r, s, int64(n), p, true
		}
	}
}

// number reads up to 19 decimal digits (always below 2^63).
func number(b []byte) (uint64, []byte, bool) {
	var v uint64
	i := 0
	for ; i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	if i == 0 || (i < len(b) && b[i] >= '0' && b[i] <= '9') {
		return 0, b, false
	}
	return v, b[i:], true
}

// hist is a latency histogram in microseconds with log-linear buckets:
// 32 per power of two, so a percentile is within 3 % of the true value,
// in 4 KiB per client whatever the number of samples.
type hist struct {
	n      uint64
	counts [histBuckets]uint32
}

const (
	subBits     = 5
	histBuckets = (36 - subBits + 1) << subBits // up to 2^36 µs (19 h)
)

func bucketOf(us uint64) int {
	if us < 1<<subBits {
		return int(us)
	}
	us = min(us, 1<<36-1)
	l := bits.Len64(us) // > subBits
	g := l - subBits
	m := us >> (g - 1) // in [32, 64)
	return g<<subBits + int(m) - 1<<subBits
}

// bucketLow is the smallest value of bucket b, and width its span.
func bucketLow(b int) (low, width uint64) {
	if b < 1<<subBits {
		return uint64(b), 1
	}
	g := b >> subBits
	m := uint64(b&(1<<subBits-1) + 1<<subBits)
	return m << (g - 1), 1 << (g - 1)
}

func (h *hist) add(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.counts[bucketOf(uint64(us))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile is the q-quantile (0 < q ≤ 1), the middle of its bucket.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for b, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			low, w := bucketLow(b)
			return time.Duration(low*1000 + w*500)
		}
	}
	return 0
}
