package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// agg is the median of repeated HTTP runs with the spread.
type agg struct {
	n                 int
	bps, bpsLo, bpsHi float64
	p50, p99, p999    time.Duration
	p99Lo, p99Hi      time.Duration
	errors            int
}

func aggregate(runs []loadStats) agg {
	a := agg{n: len(runs)}
	if a.n == 0 {
		return a
	}
	var bps []float64
	var p50, p99, p999 []time.Duration
	for _, r := range runs {
		bps = append(bps, r.bps)
		p50, p99, p999 = append(p50, r.p50), append(p99, r.p99), append(p999, r.p999)
		a.errors += r.errorCount()
	}
	slices.Sort(bps)
	slices.Sort(p50)
	slices.Sort(p99)
	slices.Sort(p999)
	a.bps, a.bpsLo, a.bpsHi = median(bps), bps[0], bps[len(bps)-1]
	a.p50, a.p99, a.p999 = median(p50), median(p99), median(p999)
	a.p99Lo, a.p99Hi = p99[0], p99[len(p99)-1]
	return a
}

func median[T float64 | time.Duration](s []T) T {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (a agg) String() string {
	if a.n == 1 {
		return fmt.Sprintf("%.0f bets/s  p50 %s  p99 %s  p99.9 %s  errors %d", a.bps, ms(a.p50), ms(a.p99), ms(a.p999), a.errors)
	}
	return fmt.Sprintf("%.0f bets/s (%.0f–%.0f)  p50 %s  p99 %s (%s–%s)  p99.9 %s  errors %d  [median of %d]",
		a.bps, a.bpsLo, a.bpsHi, ms(a.p50), ms(a.p99), ms(a.p99Lo), ms(a.p99Hi), ms(a.p999), a.errors, a.n)
}

type goal struct {
	name, measured string
	pass, aim      bool // aim: reported, not required
}

// goals evaluates every goal whose figures were measured.
func (l *loadgen) goals() []goal {
	var gs []goal
	r := l.r
	if w := r.web; w != nil && w.list.rps > 0 {
		ratio := w.page.rps / w.list.rps
		gs = append(gs,
			goal{name: "web: main page ≥ 0.8 × the JSON list's rate", measured: fmt.Sprintf("%.2f ×", ratio), pass: ratio >= 0.8},
			goal{name: "web: first visit ≤ 60 KB compressed", measured: fmt.Sprintf("%.1f KB", float64(w.firstVisit)/1024), pass: w.firstVisit <= 60*1024},
			goal{name: "web: second visit ≤ 20 KB compressed", measured: fmt.Sprintf("%.1f KB", float64(w.revisit)/1024), pass: w.revisit <= 20*1024})
		if l.opt.db == "sqlite" {
			gs = append(gs, goal{name: "web (SQLite): main page p99 ≤ 50 ms at 32 clients", measured: ms(w.page.p99), pass: w.page.p99 <= 50*time.Millisecond})
		}
	}
	if o := r.obs; o != nil && o.off.merged().rps > 0 {
		off := o.off.merged().rps
		for _, v := range []struct {
			name string
			s    obsStats
		}{{"cached", o.cached}, {"uncached", o.uncached}} {
			ratio := v.s.merged().rps / off
			gs = append(gs, goal{name: "obs: log + GeoIP (" + v.name + ") + shipping ≥ 0.95 × logging off", measured: fmt.Sprintf("%.3f ×", ratio), pass: ratio >= 0.95})
		}
		if c0 := o.off.cpuPerRequest(); c0 > 0 {
			for _, v := range []struct {
				name string
				s    obsStats
			}{{"cached", o.cached}, {"uncached", o.uncached}} {
				extra := float64(v.s.cpuPerRequest()-c0) / float64(c0)
				gs = append(gs, goal{name: "obs (aim): server CPU per request, log + GeoIP (" + v.name + ") + shipping, ≤ 1.05 × off", measured: fmt.Sprintf("%+.1f %%", 100*extra), pass: extra <= 0.05, aim: true})
			}
		}
		gs = append(gs, goal{name: "obs: nothing dropped or failed", measured: fmt.Sprintf("%d dropped, %d failed", o.dropped, o.failed), pass: o.dropped == 0 && o.failed == 0})
	}
	h := aggregate(r.http)
	if l.opt.db == "sqlite" && h.n > 0 {
		if r.ceiling1 > 0 {
			ratio := h.bps / r.ceiling1
			gs = append(gs, goal{name: "SQLite: http ≥ 1.5 × ceiling (1 bet/tx)", measured: fmt.Sprintf("%.2f ×", ratio), pass: ratio >= 1.5})
		}
		if r.ceiling100 > 0 {
			ratio := h.bps / r.ceiling100
			gs = append(gs, goal{name: "SQLite (aim): http ≥ 0.5 × ceiling (100 bets/tx)", measured: fmt.Sprintf("%.2f ×", ratio), pass: ratio >= 0.5, aim: true})
		}
		gs = append(gs, goal{name: "SQLite: http p99 ≤ 100 ms", measured: ms(h.p99), pass: h.p99 <= 100*time.Millisecond})
	}
	if l.opt.db == "postgres" && h.n > 0 {
		if r.pgbenchTPS > 0 {
			ratio := h.bps / r.pgbenchTPS
			gs = append(gs, goal{name: "PostgreSQL: http ≥ 0.8 × pgbench tpcb-like", measured: fmt.Sprintf("%.2f ×", ratio), pass: ratio >= 0.8})
		}
		gs = append(gs, goal{name: "PostgreSQL: http p99 ≤ 100 ms", measured: ms(h.p99), pass: h.p99 <= 100*time.Millisecond})
	}
	if s := r.settle; s != nil {
		gs = append(gs, goal{name: fmt.Sprintf("Settlement: %d bets ≤ 4 s", s.bets), measured: s.took.Round(time.Millisecond).String(),
			pass: s.status == 200 && s.took <= 4*time.Second && s.settledInRequest == int64(s.bets)})
		gs = append(gs, goal{name: "Settlement: placement p99 during it ≤ 100 ms", measured: ms(s.during.p99), pass: s.during.p99 <= 100*time.Millisecond})
	}
	if len(r.hot[16]) > 0 && len(r.hot[50]) > 0 {
		h16, h50 := aggregate(r.hot[16]), aggregate(r.hot[50])
		ratio := h16.bps / h50.bps
		gs = append(gs, goal{name: "Hot account: 1 house account (16 rows) ≥ 0.7 × 50 rows", measured: fmt.Sprintf("%.2f ×", ratio), pass: ratio >= 0.7})
	}
	return gs
}

// failed reports whether a required goal was missed.
func (l *loadgen) failed() bool {
	for _, g := range l.goals() {
		if !g.pass && !g.aim {
			return true
		}
	}
	return false
}

// summary prints every figure and the goals.
func (l *loadgen) summary() {
	r := l.r
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nSUMMARY (db=%s, c=%d, players=%d, duration=%s, settings=%v)\n", l.opt.db, l.opt.c, l.opt.players, l.opt.duration, l.opt.set)
	fmt.Fprintln(tw, "figure\tvalue")
	if r.ceiling1 > 0 {
		fmt.Fprintf(tw, "store ceiling, 1 bet per transaction\t%.0f bets/s\n", r.ceiling1)
	}
	if r.ceiling100 > 0 {
		fmt.Fprintf(tw, "store ceiling, 100 bets per transaction\t%.0f bets/s\n", r.ceiling100)
	}
	if len(r.http) > 0 {
		fmt.Fprintf(tw, "http placement\t%s\n", aggregate(r.http))
	}
	if s := r.settle; s != nil {
		fmt.Fprintf(tw, "settlement of %d open bets (POST result)\t%s (status %d; %d settled within the request, %.0f bets/s)\n",
			s.bets, s.took.Round(time.Millisecond), s.status, s.settledInRequest, float64(s.settledInRequest)/s.took.Seconds())
		fmt.Fprintf(tw, "  bets on the match at the end\t%d settled, %d open\n", s.settled, s.open)
		fmt.Fprintf(tw, "  placement before settlement\t%.0f bets/s  p50 %s  p99 %s  errors %s\n", s.before.bps, ms(s.before.p50), ms(s.before.p99), s.before.errorsText())
		fmt.Fprintf(tw, "  placement during settlement\t%.0f bets/s  p50 %s  p99 %s  errors %s\n", s.during.bps, ms(s.during.p50), ms(s.during.p99), s.during.errorsText())
		fmt.Fprintf(tw, "  seeding through PlaceDirect\t%.0f bets/s\n", s.seedRate)
	}
	for _, n := range hotShards {
		if len(r.hot[n]) > 0 {
			fmt.Fprintf(tw, "http, PB_HOUSE_SHARDS=%d\t%s\n", n, aggregate(r.hot[n]))
		}
	}
	if len(r.hot[50]) > 0 {
		h50 := aggregate(r.hot[50]).bps
		if len(r.hot[16]) > 0 {
			fmt.Fprintf(tw, "  ratio 16 rows / 50 rows\t%.2f\n", aggregate(r.hot[16]).bps/h50)
		}
		if len(r.hot[1]) > 0 {
			fmt.Fprintf(tw, "  ratio 1 row / 50 rows\t%.2f\n", aggregate(r.hot[1]).bps/h50)
		}
	}
	if r.pgbenchTPS > 0 {
		fmt.Fprintf(tw, "pgbench tpcb-like (8 clients, 2 threads, scale 10)\t%.0f tps\n", r.pgbenchTPS)
	}
	if w := r.web; w != nil {
		fmt.Fprintf(tw, "main page, %d matches (%d KB)\t%.0f req/s  p50 %s  p99 %s  errors %d\n", w.pageMatches, w.pageRaw/1024, w.page.rps, ms(w.page.p50), ms(w.page.p99), w.page.errors)
		fmt.Fprintf(tw, "JSON list of the same matches\t%.0f req/s  p50 %s  p99 %s  errors %d\n", w.list.rps, ms(w.list.p50), ms(w.list.p99), w.list.errors)
		fmt.Fprintf(tw, "main page, first visit (HTML + CSS + JS, compressed)\t%.1f KB (%s)\n", float64(w.firstVisit)/1024, strings.Join(w.assets, ", "))
		fmt.Fprintf(tw, "main page, second visit (HTML, compressed)\t%.1f KB\n", float64(w.revisit)/1024)
	}
	if o := r.obs; o != nil {
		for _, v := range []struct {
			name string
			s    obsStats
		}{{"JSON list, logging off", o.off}, {"JSON list, log + GeoIP (cached) + shipping", o.cached}, {"JSON list, log + GeoIP (uncached) + shipping", o.uncached}} {
			m := v.s.merged()
			fmt.Fprintf(tw, "%s\t%.0f req/s (median round)  p50 %s  p99 %s  errors %d  server CPU %.1f µs/request\n", v.name, m.rps, ms(m.p50), ms(m.p99), m.errors,
				float64(v.s.cpuPerRequest())/float64(time.Microsecond))
		}
		fmt.Fprintf(tw, "log documents shipped / dropped / failed\t%d / %d / %d\n", o.shipped, o.dropped, o.failed)
	}
	fmt.Fprintln(tw, "\ngoal\tmeasured\tresult")
	for _, g := range l.goals() {
		res := "PASS"
		if !g.pass {
			res = "FAIL"
			if g.aim {
				res = "missed (aim)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g.name, g.measured, res)
	}
	tw.Flush()
	fmt.Fprint(l.out, b.String())
}
