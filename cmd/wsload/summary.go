package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func median[T float64 | time.Duration | int64](s []T) T {
	if len(s) == 0 {
		return 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// med is a scenario's medians on one target.
type med struct {
	n                  int
	perSec, cpuPerM    float64
	perSecLo, perSecHi float64
	p50, p99           time.Duration
	undeliveredMax     int64
}

func (l *wsload) medians(scenario, target string) med {
	var m med
	var rate, cpu []float64
	var p50, p99 []time.Duration
	for _, f := range l.fanouts[scenario] {
		if f.target != target {
			continue
		}
		m.n++
		rate, cpu = append(rate, f.perSec), append(cpu, f.cpuPerM)
		p50, p99 = append(p50, f.p50), append(p99, f.p99)
		m.undeliveredMax = max(m.undeliveredMax, f.undelivered)
	}
	if m.n == 0 {
		return m
	}
	m.perSec, m.cpuPerM, m.p50, m.p99 = median(rate), median(cpu), median(p50), median(p99)
	m.perSecLo, m.perSecHi = slices.Min(rate), slices.Max(rate)
	return m
}

func (l *wsload) idleMedian(target string) (float64, int) {
	var v []float64
	for _, r := range l.idles {
		if r.target == target {
			v = append(v, r.perConn)
		}
	}
	return median(v), len(v)
}

type goal struct {
	name, measured string
	pass, aim      bool
}

func (l *wsload) goals() []goal {
	var gs []goal
	ratio := func(a, b float64) string { return fmt.Sprintf("%.2f ×", a/b) }
	for _, key := range []string{"one", "two"} {
		pb, cf := l.medians(key, "pointsbook"), l.medians(key, "centrifugo")
		if pb.n == 0 || cf.n == 0 {
			continue
		}
		name := "one instance: delivered/s ≥ 1.0 × Centrifugo (memory), nothing undelivered"
		pass := pb.perSec >= cf.perSec && pb.undeliveredMax == 0
		if key == "two" {
			name = "two instances + Redis: delivered/s ≥ 1.0 × Centrifugo (Redis, two nodes)"
			pass = pb.perSec >= cf.perSec
		}
		gs = append(gs, goal{name: name, measured: fmt.Sprintf("%s (undelivered ≤ %d)", ratio(pb.perSec, cf.perSec), pb.undeliveredMax), pass: pass})
	}
	if pb, cf := l.medians("chat", "pointsbook"), l.medians("chat", "centrifugo"); pb.n > 0 && cf.n > 0 {
		gs = append(gs, goal{name: "chat-like load: p99 ≤ 1.0 × Centrifugo's", measured: fmt.Sprintf("%s vs %s", ms(pb.p99), ms(cf.p99)), pass: pb.p99 <= cf.p99})
	}
	pbi, n1 := l.idleMedian("pointsbook")
	cfi, n2 := l.idleMedian("centrifugo")
	if n1 > 0 && n2 > 0 {
		gs = append(gs, goal{name: "RSS per idle subscribed connection ≤ Centrifugo's", measured: fmt.Sprintf("%.1f KB vs %.1f KB", pbi/1024, cfi/1024), pass: pbi <= cfi})
	}
	if n1 > 0 {
		gs = append(gs, goal{name: "RSS per idle subscribed connection ≤ 36 KB (aim)", measured: fmt.Sprintf("%.1f KB", pbi/1024), pass: pbi <= 36*1024, aim: true})
	}
	if pb, cf := l.medians("one", "pointsbook"), l.medians("one", "centrifugo"); pb.n > 0 && cf.n > 0 {
		gs = append(gs, goal{name: "one instance: CPU s per million deliveries ≤ Centrifugo's", measured: fmt.Sprintf("%.2f vs %.2f", pb.cpuPerM, cf.cpuPerM), pass: pb.cpuPerM <= cf.cpuPerM})
	}
	return gs
}

func (l *wsload) failed() bool {
	for _, g := range l.goals() {
		if !g.pass && !g.aim {
			return true
		}
	}
	return false
}

func (l *wsload) summary() {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nSUMMARY (clients=%d rooms=%d rate=%.0f/s chat-rate=%.0f/s duration=%s drain=%s publishers=%d; load average at start %s, end %s)\n",
		l.opt.clients, l.opt.rooms, l.opt.rate, l.opt.chatRate, l.opt.duration, l.opt.drain, l.opt.publishers, l.loadStart, loadavg())
	fmt.Fprintln(tw, "scenario\ttarget\tdelivered/s (min–max)\tp50\tp99\tundelivered (max)\tCPU s/M deliveries\truns")
	scs := l.scenarios()
	for _, key := range l.opt.scenarios {
		if key == "idle" {
			continue
		}
		for _, t := range l.opt.targets {
			m := l.medians(key, t)
			if m.n == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s (%s, %.0f/s)\t%s\t%.0f (%.0f–%.0f)\t%s\t%s\t%d\t%.2f\t%d\n", key, scs[key].desc, scs[key].rate*float64(l.opt.clients),
				t, m.perSec, m.perSecLo, m.perSecHi, ms(m.p50), ms(m.p99), m.undeliveredMax, m.cpuPerM, m.n)
		}
	}
	for _, t := range l.opt.targets {
		if v, n := l.idleMedian(t); n > 0 {
			fmt.Fprintf(tw, "idle (%d connections)\t%s\tRSS %.1f KB per connection\t\t\t\t\t%d\n", l.opt.clients, t, v/1024, n)
		}
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
