// Command loadgen measures bet placement and settlement on this machine
// and prints the figures the performance goals are stated in. Every
// figure of one database comes from one run, so that the ratios between
// them (the goals) are fair: the machine's absolute speed does not carry
// over to another machine, or even to another hour on a shared one.
//
//	go run ./cmd/loadgen -db sqlite
//	go run ./cmd/loadgen -db postgres -repeat 3
//
// Flags:
//
//	-db sqlite|postgres  database to measure (default sqlite)
//	-pg URL              PostgreSQL admin URL used to create and drop the
//	                     pbload_* databases (default
//	                     postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
//	-c N                 concurrency: HTTP workers, and store goroutines in
//	                     the ceiling phase (default 64)
//	-players N           players signed up for the HTTP load and seeded for
//	                     the ceiling phase (default 200)
//	-duration D          measured load per phase (default 15s)
//	-phases LIST         comma list of ceiling,http,settle,hot,pgbench
//	                     (default: all that apply; pgbench only on postgres)
//	-bin PATH            pointsbook binary; default: go build ./cmd/pointsbook
//	                     into a temporary directory
//	-repeat N            run the http phase, and each setting of the hot
//	                     phase, N times and report the median and the spread
//	                     (default 1)
//	-settle-bets N       open bets seeded on the settled match (default 100000)
//	-settle-players N    players those bets are spread over (default 1000)
//	-set KEY=VALUE       extra PB_* setting for every server started (and the
//	                     store opened by the ceiling phase); repeatable, e.g.
//	                     -set PB_GROUP_COMMIT_WAIT=2ms
//	-timeout D           hard bound on the whole run (default 45m)
//
// Phases:
//
//	ceiling  the store on its own (no HTTP): bets/s with one bet per
//	         transaction, then 100 per transaction (sqlstore.PlaceDirect)
//	http     the pointsbook binary as a child process; -c workers place
//	         bets over keep-alive HTTP; bets/s, p50, p99, p99.9, errors;
//	         then `pointsbook admin verify-ledger`
//	settle   100,000 open bets on one match, settled by an operator result
//	         while the http load runs on other matches
//	hot      the http phase with PB_HOUSE_SHARDS=16, 50 and 1
//	pgbench  pgbench tpcb-like TPS (8 clients, scale 10) on the same server
//	web      500 matches on one day; the main page of 200 of them against
//	         the JSON list of the same 200, 32 clients, alternating rounds;
//	         the page's compressed weight on a first and a second visit
//	         (not in the default set: -phases web)
//	obs      the JSON list of 200 matches at 32 clients with the access log
//	         off against access log + GeoIP (cached and uncached lookups) +
//	         shipping to a loopback OpenSearch _bulk server, alternating
//	         5 s rounds, the median round's rate of each (not in the
//	         default set: -phases obs; -duration 2m gives 4 cycles)
//
// The summary lists every figure and each goal with PASS or FAIL; the exit
// status is 1 when a phase fails (including a ledger that does not verify)
// or a required goal is missed, 2 for bad flags.
//
// Only loopback targets are accepted: the PostgreSQL host must be
// 127.0.0.1, ::1 or localhost, and servers listen on 127.0.0.1. Every
// database and child process created is removed on exit, on an error and
// on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/loadrun"
)

type options struct {
	db            string
	pgURL         string
	c             int
	players       int
	duration      time.Duration
	phases        []string
	bin           string
	repeat        int
	settleBets    int
	settlePlayers int
	set           []string
	timeout       time.Duration
}

var allPhases = []string{"ceiling", "http", "settle", "hot", "pgbench", "web", "obs"}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.db, "db", "sqlite", "database: sqlite or postgres")
	fs.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL admin URL (loopback only)")
	fs.IntVar(&o.c, "c", 64, "concurrency")
	fs.IntVar(&o.players, "players", 200, "players")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "measured load per phase")
	phases := fs.String("phases", "", "comma list of "+strings.Join(allPhases, ",")+" (default all that apply)")
	fs.StringVar(&o.bin, "bin", "", "pointsbook binary (default: build ./cmd/pointsbook)")
	fs.IntVar(&o.repeat, "repeat", 1, "runs of the http phase and of each hot setting")
	fs.IntVar(&o.settleBets, "settle-bets", 100_000, "open bets on the settled match")
	fs.IntVar(&o.settlePlayers, "settle-players", 1000, "players holding the settled bets")
	loadrun.SettingsFlag(fs, &o.set, "extra PB_* KEY=VALUE for every server (repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 45*time.Minute, "hard bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return 2
	}
	if o.db != "sqlite" && o.db != "postgres" {
		fmt.Fprintln(stderr, "-db must be sqlite or postgres")
		return 2
	}
	if o.c < 1 || o.players < 1 || o.repeat < 1 || o.duration < time.Second || o.settleBets < 1 || o.settlePlayers < 1 {
		fmt.Fprintln(stderr, "-c, -players, -repeat, -settle-bets and -settle-players must be positive, -duration at least 1s")
		return 2
	}
	if *phases == "" {
		o.phases = []string{"ceiling", "http", "settle", "hot"}
		if o.db == "postgres" {
			o.phases = append(o.phases, "pgbench")
		}
	} else {
		for _, p := range strings.Split(*phases, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(allPhases, p) {
				fmt.Fprintf(stderr, "unknown phase %q; use %s\n", p, strings.Join(allPhases, ","))
				return 2
			}
			if p == "pgbench" && o.db != "postgres" {
				fmt.Fprintln(stderr, "the pgbench phase needs -db postgres")
				return 2
			}
			if !slices.Contains(o.phases, p) {
				o.phases = append(o.phases, p)
			}
		}
	}
	if o.db == "postgres" {
		if err := loadrun.CheckLoopbackPostgres(o.pgURL); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}

	l := &loadgen{opt: o, out: stdout}
	return loadrun.Main(loadrun.Run{Name: "loadgen", Timeout: o.timeout, Run: l.run, Summary: l.summary, Failed: l.failed, Cleanup: l.cleanup}, stderr)
}

// loadgen is one run: its options, what must be undone at exit, and the
// figures gathered so far.
type loadgen struct {
	opt  options
	out  io.Writer
	tmp  string
	bin  string
	undo []func()
	r    results
}

// atExit registers fn to run at exit, last registered first.
func (l *loadgen) atExit(fn func()) { l.undo = append(l.undo, fn) }

func (l *loadgen) cleanup() {
	for i := len(l.undo) - 1; i >= 0; i-- {
		l.undo[i]()
	}
	l.undo = nil
}

func (l *loadgen) logf(format string, args ...any) {
	fmt.Fprintf(l.out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (l *loadgen) run(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "pbload-")
	if err != nil {
		return err
	}
	l.tmp = tmp
	l.atExit(func() { os.RemoveAll(tmp) })
	if slices.ContainsFunc(l.opt.phases, func(p string) bool { return p != "ceiling" && p != "pgbench" }) {
		if err := l.buildBinary(ctx); err != nil {
			return err
		}
	}
	l.logf("loadgen: db=%s c=%d players=%d duration=%s phases=%s repeat=%d settings=%v",
		l.opt.db, l.opt.c, l.opt.players, l.opt.duration, strings.Join(l.opt.phases, ","), l.opt.repeat, l.opt.set)
	for _, p := range l.opt.phases {
		var err error
		switch p {
		case "ceiling":
			err = l.phaseCeiling(ctx)
		case "http":
			err = l.phaseHTTP(ctx)
		case "settle":
			err = l.phaseSettle(ctx)
		case "hot":
			err = l.phaseHot(ctx)
		case "pgbench":
			err = l.phasePgbench(ctx)
		case "web":
			err = l.phaseWeb(ctx)
		case "obs":
			err = l.phaseObs(ctx)
		}
		if err != nil {
			return fmt.Errorf("phase %s: %w", p, err)
		}
	}
	return nil
}

// buildBinary uses -bin or builds ./cmd/pointsbook into the temp dir.
func (l *loadgen) buildBinary(ctx context.Context) error {
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
	out, err := runCommand(ctx, 5*time.Minute, nil, "go", "build", "-o", l.bin, "./cmd/pointsbook")
	if err != nil {
		return fmt.Errorf("go build ./cmd/pointsbook (run loadgen from the repository root, or pass -bin): %w\n%s", err, out)
	}
	return nil
}
