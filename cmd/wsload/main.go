// Command wsload measures the live WebSocket endpoint (GET /api/v1/ws)
// under fan-out load and compares it with Centrifugo on the same machine,
// in the same run: each scenario runs on both servers in turn,
// alternating which goes first, and the summary gives each figure's
// median over -repeat runs. It is not part of .ci/run.
//
//	go run ./cmd/wsload -centrifugo /work/centrifugo-bin/centrifugo
//	go run ./cmd/wsload -targets pointsbook -scenarios one,idle -repeat 1
//
// Every run starts fresh servers: the pointsbook binary (go build
// ./cmd/pointsbook, or -bin) on a PostgreSQL database of its own (pbws_*,
// dropped at exit), and Centrifugo with cmd/wsload/centrifugo.json. The
// clients (coder/websocket, compression off) subscribe to one room (or
// are spread over -rooms); events are published at a fixed rate through
// each server's own publishing path from -publishers concurrent requests:
// Pointsbook's operator announcement, POST
// /api/v1/admin/matches/{id}/announcements with the operator's bearer
// token, and Centrifugo's server API, POST /api/publish with its API key.
// Each event's text is "wsload <run> <seq> <unix ns>", the time the
// event was due by the schedule, so a client measures publish-to-delivery
// latency on receipt, including any time the publishing path made the
// publishers wait.
//
// Scenarios (-scenarios, default all):
//
//	one   one instance (Centrifugo: memory engine), -rate publishes/s
//	two   two instances sharing a Redis the run starts (Pointsbook: the
//	      same database and PB_REDIS_URL; Centrifugo: Redis engine):
//	      publishes on the first, clients on the second
//	chat  one instance at -chat-rate publishes/s: latency at a chat-like load
//	idle  RSS of one instance before and after -clients idle subscribed
//	      connections
//
// Figures: delivered events/s (distinct events received over the time
// from the first publish to the last delivery), p50/p99 publish-to-delivery
// latency, events undelivered after the -drain (deliveries owed by the
// accepted publishes, minus those received), the servers' CPU seconds
// (user + system from /proc/<pid>/stat, over the publishing and the
// drain) per million deliveries, and the RSS growth per idle subscribed
// connection. The goals of docs/performance.md ("Real time") are checked
// at the end; the exit status is 1 when a run fails or a goal is missed,
// 2 for bad flags.
//
// Only loopback is used: the servers listen on 127.0.0.1 and the
// PostgreSQL URL must name this machine. Every child process and database
// is removed on exit, on an error and on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pointsbook/pointsbook/internal/loadrun"
)

type options struct {
	clients     int
	rooms       int
	rate        float64
	chatRate    float64
	duration    time.Duration
	drain       time.Duration
	publishers  int
	repeat      int
	scenarios   []string
	targets     []string
	bin         string
	centrifugo  string
	redisServer string
	pgURL       string
	set         []string
	timeout     time.Duration
}

var (
	allScenarios = []string{"one", "two", "chat", "idle"}
	allTargets   = []string{"pointsbook", "centrifugo"}
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("wsload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.clients, "clients", 2000, "subscribed connections")
	fs.IntVar(&o.rooms, "rooms", 1, "rooms the connections and publishes are spread over")
	fs.Float64Var(&o.rate, "rate", 200, "publishes/s of the one and two scenarios")
	fs.Float64Var(&o.chatRate, "chat-rate", 25, "publishes/s of the chat scenario")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "publishing time per run")
	fs.DurationVar(&o.drain, "drain", 5*time.Second, "wait for deliveries after the last publish")
	fs.IntVar(&o.publishers, "publishers", 16, "concurrent publish requests")
	fs.IntVar(&o.repeat, "repeat", 3, "runs of each scenario on each target")
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "comma list of "+strings.Join(allScenarios, ","))
	targ := fs.String("targets", strings.Join(allTargets, ","), "comma list of "+strings.Join(allTargets, ","))
	fs.StringVar(&o.bin, "bin", "", "pointsbook binary (default: build ./cmd/pointsbook)")
	fs.StringVar(&o.centrifugo, "centrifugo", "", "Centrifugo v6 binary (default: centrifugo on PATH)")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary, for the two scenario")
	fs.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL admin URL (loopback only)")
	loadrun.SettingsFlag(fs, &o.set, "extra PB_* KEY=VALUE for every pointsbook server (repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Minute, "hard bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return 2
	}
	var err error
	if o.scenarios, err = list(*scen, allScenarios); err == nil {
		o.targets, err = list(*targ, allTargets)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if o.clients < 1 || o.rooms < 1 || o.rooms > o.clients || o.rate <= 0 || o.chatRate <= 0 || o.publishers < 1 || o.repeat < 1 ||
		o.duration < time.Second || o.drain < 0 {
		fmt.Fprintln(stderr, "-clients, -rooms (≤ clients), -rate, -chat-rate, -publishers and -repeat must be positive, -duration at least 1s")
		return 2
	}
	if err := loadrun.CheckLoopbackPostgres(o.pgURL); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if slices.Contains(o.targets, "centrifugo") {
		if o.centrifugo == "" {
			o.centrifugo = "centrifugo"
		}
		p, err := exec.LookPath(o.centrifugo)
		if err != nil {
			fmt.Fprintln(stderr, "no Centrifugo binary: build one outside the repository with\n  GOBIN=/some/dir go install github.com/centrifugal/centrifugo/v6@v6.9.1\nand pass -centrifugo /some/dir/centrifugo (or -targets pointsbook)")
			return 2
		}
		o.centrifugo = p
	}

	l := &wsload{opt: o, out: stdout}
	return loadrun.Main(loadrun.Run{Name: "wsload", Timeout: o.timeout, Run: l.run, Summary: l.summary, Failed: l.failed, Cleanup: l.cleanup}, stderr)
}

func list(s string, known []string) ([]string, error) {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(known, p) {
			return nil, fmt.Errorf("unknown %q; use %s", p, strings.Join(known, ","))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// wsload is one run: options, what must be undone at exit, the figures.
type wsload struct {
	opt       options
	out       io.Writer
	tmp       string
	bin       string
	redis     *proc
	redisAddr string
	runID     atomic.Uint64
	pubStart  time.Time
	undo      []func()
	loadStart string // load averages when the runs began

	fanouts map[string][]*fanout // scenario → runs of every target
	idles   []*idle
}

func (l *wsload) atExit(fn func()) { l.undo = append(l.undo, fn) }

func (l *wsload) cleanup() {
	for i := len(l.undo) - 1; i >= 0; i-- {
		l.undo[i]()
	}
	l.undo = nil
}

func (l *wsload) logf(format string, args ...any) {
	fmt.Fprintf(l.out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (l *wsload) run(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "wsload-")
	if err != nil {
		return err
	}
	l.tmp = tmp
	l.atExit(func() { os.RemoveAll(tmp) })
	l.fanouts = make(map[string][]*fanout)
	var targets []target
	for _, name := range l.opt.targets {
		switch name {
		case "pointsbook":
			if err := l.buildBinary(ctx); err != nil {
				return err
			}
			p := &pointsbook{l: l}
			l.logf("pointsbook: database, operator and %d match(es)", l.opt.rooms)
			if err := p.setup(ctx); err != nil {
				return err
			}
			targets = append(targets, p)
		case "centrifugo":
			c := &centrifugo{l: l}
			if err := c.setup(); err != nil {
				return err
			}
			targets = append(targets, c)
		}
	}
	if slices.Contains(l.opt.scenarios, "two") {
		if err := l.startRedis(ctx); err != nil {
			return err
		}
	}
	l.loadStart = loadavg()
	l.logf("wsload: clients=%d rooms=%d rate=%.0f/s chat-rate=%.0f/s duration=%s drain=%s publishers=%d repeat=%d scenarios=%s targets=%s load average %s",
		l.opt.clients, l.opt.rooms, l.opt.rate, l.opt.chatRate, l.opt.duration, l.opt.drain, l.opt.publishers, l.opt.repeat,
		strings.Join(l.opt.scenarios, ","), strings.Join(l.opt.targets, ","), l.loadStart)
	scs := l.scenarios()
	for rep := range l.opt.repeat {
		for _, key := range l.opt.scenarios {
			sc := scs[key]
			order := slices.Clone(targets)
			if rep%2 == 1 {
				slices.Reverse(order)
			}
			for _, t := range order {
				if sc.rate == 0 {
					r, err := l.runIdle(ctx, t)
					if err != nil {
						return fmt.Errorf("%s on %s: %w", key, t.name(), err)
					}
					l.idles = append(l.idles, r)
					l.logf("%-4s %-10s run %d: RSS %.1f → %.1f MB, %.1f KB per connection", key, t.name(), rep+1,
						float64(r.before)/(1<<20), float64(r.after)/(1<<20), r.perConn/1024)
					continue
				}
				f, err := l.runFanout(ctx, t, sc)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", key, t.name(), err)
				}
				l.fanouts[key] = append(l.fanouts[key], f)
				l.logf("%-4s %-10s run %d: %s", key, t.name(), rep+1, f)
			}
		}
	}
	l.logf("load average at the end: %s", loadavg())
	return nil
}

func (f *fanout) String() string {
	s := fmt.Sprintf("%.0f delivered/s of %.0f offered  p50 %s  p99 %s  undelivered %d  CPU %.2f s/M deliveries (%.1f s",
		f.perSec, f.offered, ms(f.p50), ms(f.p99), f.undelivered, f.cpuPerM, f.cpu.Seconds())
	if f.redisCPU > 0 {
		s += fmt.Sprintf("; Redis %.1f s", f.redisCPU.Seconds())
	}
	s += fmt.Sprintf("; generator %.1f s)  published %d in %s (up to %s late, request p99 %s)", f.selfCPU.Seconds(), f.published, f.pubWindow.Round(time.Millisecond), f.pubLate.Round(time.Millisecond), ms(f.pubP99))
	if f.pubErrors > 0 || f.dups > 0 || f.ended > 0 {
		s += fmt.Sprintf("  publish errors %d  duplicates %d  connections ended %d", f.pubErrors, f.dups, f.ended)
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// buildBinary uses -bin or builds ./cmd/pointsbook into the temp dir.
func (l *wsload) buildBinary(ctx context.Context) error {
	if l.opt.bin != "" {
		abs, err := filepath.Abs(l.opt.bin)
		if err != nil {
			return err
		}
		l.bin = abs
		return nil
	}
	l.bin = filepath.Join(l.tmp, "pointsbook")
	l.logf("building ./cmd/pointsbook")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", l.bin, "./cmd/pointsbook")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/pointsbook (run wsload from the repository root, or pass -bin): %w\n%s", err, out)
	}
	return nil
}
