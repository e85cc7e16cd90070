// Package loadrun is what the load generators (cmd/loadgen, cmd/wsload)
// share: a run bounded by a deadline and stopped by a signal, with its
// summary printed either way, and the PostgreSQL they create databases
// on, which must be this machine's.
package loadrun

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Run is one load generator's run.
type Run struct {
	Name    string // "loadgen": the prefix of its messages
	Timeout time.Duration
	Run     func(context.Context) error
	Summary func()
	Failed  func() bool // a required goal was missed
	Cleanup func()
}

// Main runs r until it ends, its timeout passes or SIGINT/SIGTERM
// arrives, prints its summary in every case, and returns the exit
// status: 1 when the run failed or missed a goal, 0 otherwise.
func Main(r Run, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	defer r.Cleanup()
	if err := r.Run(ctx); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "%s: stopped (%v): %v\n", r.Name, context.Cause(ctx), err)
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", r.Name, err)
		}
		r.Summary()
		return 1
	}
	r.Summary()
	if r.Failed() {
		return 1
	}
	return 0
}

// CheckLoopbackPostgres refuses a PostgreSQL URL whose host is not this machine.
func CheckLoopbackPostgres(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("-pg must be a postgres:// URL")
	}
	hosts := []string{u.Hostname()}
	if strings.Contains(u.Host, ",") {
		hosts = nil
		for _, h := range strings.Split(u.Host, ",") {
			if hh, _, err := net.SplitHostPort(h); err == nil {
				h = hh
			}
			hosts = append(hosts, strings.Trim(h, "[]"))
		}
	}
	q := u.Query()
	for _, k := range []string{"host", "hostaddr"} {
		if v := q.Get(k); v != "" {
			hosts = append(hosts, strings.Split(v, ",")...)
		}
	}
	for _, h := range hosts {
		if !isLoopback(h) {
			return fmt.Errorf("refusing non-loopback PostgreSQL host %q: load generators only target 127.0.0.1, ::1 or localhost", h)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Exec runs one statement on the PostgreSQL database at dsn (the admin
// database: CREATE and DROP DATABASE), within a minute.
func Exec(ctx context.Context, dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// SettingsFlag defines -set on fs: a PB_NAME=value added to *set each
// time it is given, for every server the generator starts.
func SettingsFlag(fs *flag.FlagSet, set *[]string, usage string) {
	fs.Func("set", usage, func(s string) error {
		k, _, ok := strings.Cut(s, "=")
		if !ok || !strings.HasPrefix(k, "PB_") {
			return errors.New("want PB_NAME=value")
		}
		*set = append(*set, s)
		return nil
	})
}
