package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// cmdTimeout bounds every initdb/pg_ctl/pg_basebackup call so a wedged
	// server fails the test instead of hanging until the go test deadline.
	cmdTimeout = 2 * time.Minute

	// readyTimeout bounds how long a started server may take to accept
	// connections.
	readyTimeout = 30 * time.Second

	logTailLines = 30
)

// Cluster is a private PostgreSQL server owned by one test. Unlike the shared
// server behind URL, it may be stopped, restarted and replicated.
type Cluster struct {
	tools *toolchain
	dir   string // owned by the server user; holds data/, the socket and the log
	port  int
}

// toolchain locates the server binaries and decides which OS user runs them.
type toolchain struct {
	bin string
	// cred is set when the test runs as root: PostgreSQL refuses to run as
	// root, so every server command is run as the postgres user instead.
	cred *syscall.Credential
}

// findToolchain is computed once per test binary; the answer cannot change.
var findToolchain = sync.OnceValues(func() (*toolchain, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	t := &toolchain{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs OS user postgres: %w", err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("user postgres: %w", err)
		}
		// An empty Groups list drops root's supplementary groups too.
		t.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	return t, nil
})

// findBinDir prefers pg_config, but only if initdb is really next to it:
// pg_config may come from a client-only package of another version.
func findBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first; "9.6" parses as 9 and sorts below "15".
	major := func(bin string) int {
		v, _, _ := strings.Cut(filepath.Base(filepath.Dir(bin)), ".")
		n, _ := strconv.Atoi(v)
		return n
	}
	slices.SortFunc(globbed, func(a, b string) int { return major(b) - major(a) })
	candidates = append(candidates, globbed...)

	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl) found via pg_config or in /usr/lib/postgresql/*/bin")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// StartCluster initialises and starts a new primary with an empty
// "pointsbook" database, listening on a free loopback port. It is stopped
// and deleted on cleanup. Durability settings (fsync) are left at their
// defaults so crash tests mean something; only initdb skips syncing.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c := newCluster(tb)
	if c == nil {
		return nil
	}
	c.mustRun(tb, "initdb", "-D", c.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")

	// Replicas copy this file via pg_basebackup, so it covers them too.
	hba := "# pgtest: trust everything local; these clusters only listen on loopback.\n" +
		"local all all trust\n" +
		"local replication all trust\n" +
		"host all all 127.0.0.1/32 trust\n" +
		"host replication all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(c.dataDir(), "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		tb.Fatalf("pgtest: write pg_hba.conf: %v", err)
	}
	c.configure(tb, "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n")
	c.Start(tb)

	if err := execSQL(c.adminURL(), "CREATE DATABASE pointsbook"); err != nil {
		tb.Fatalf("pgtest: create database pointsbook: %v", err)
	}
	return c
}

// StartReplica clones c with pg_basebackup and starts the copy as a
// streaming hot standby on its own port. Stop it, start it and clean it up
// the same way as a primary.
func (c *Cluster) StartReplica(tb testing.TB) *Cluster {
	tb.Helper()
	r := newCluster(tb)
	if r == nil {
		return nil
	}
	// -R writes standby.signal and primary_conninfo; "-c fast" asks for an
	// immediate checkpoint instead of waiting for a spread one.
	r.mustRun(tb, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres",
		"-D", r.dataDir(), "-R", "-X", "stream", "-c", "fast", "--no-sync")
	// The copied postgresql.conf carries the primary's port and socket
	// directory; the settings appended here override them.
	r.configure(tb, "")
	r.Start(tb)
	return r
}

// newCluster makes the cluster's directory, picks its port and registers the
// cleanup that stops the server and deletes everything. It returns nil only
// if tb's Skipf/Fatalf return (fakes in tests).
func newCluster(tb testing.TB) *Cluster {
	tb.Helper()
	tools, err := findToolchain()
	if err != nil {
		Unavailable(tb, "postgres", "cannot run a private cluster: %v", err)
		return nil
	}
	// Not tb.TempDir(): its parents are private to root, so the postgres
	// user could not reach a data directory inside it.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
		return nil
	}
	c := &Cluster{tools: tools, dir: dir}
	tb.Cleanup(func() { c.destroy(tb) })
	if tools.cred != nil {
		if err := os.Chown(dir, int(tools.cred.Uid), int(tools.cred.Gid)); err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
	}
	if c.port, err = freePort(); err != nil {
		tb.Fatalf("pgtest: pick a port: %v", err)
	}
	return c
}

// destroy runs at cleanup. It keeps going after errors so that a failed
// stop still removes the directory, and vice versa.
func (c *Cluster) destroy(tb testing.TB) {
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
		// Immediate: nothing needs to survive, so don't wait for a checkpoint.
		if err := c.run("pg_ctl", "stop", "-D", c.dataDir(), "-m", "immediate", "-w"); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	}
	if tb.Failed() {
		c.logTail(tb)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		tb.Errorf("pgtest: %v", err)
	}
}

// URL returns a connection URL for the cluster's "pointsbook" database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/pointsbook?sslmode=disable", c.port)
}

// Port returns the TCP port the cluster listens on; it survives Stop/Start.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the server down cleanly (fast mode) and waits until it is gone.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	c.mustRun(tb, "pg_ctl", "stop", "-D", c.dataDir(), "-m", "fast", "-w")
}

// Start starts a stopped server again on the same port and data directory
// and returns once it accepts connections.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	// -l appends, so the log keeps the history of every start.
	c.mustRun(tb, "pg_ctl", "start", "-D", c.dataDir(), "-l", c.logPath(), "-w")

	// pg_ctl -w already waits, but confirm over TCP: that is what tests use.
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for {
		err := ping(ctx, c.adminURL())
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("pgtest: cluster on port %d not accepting connections: %v", c.port, err)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitReplayed waits until replica has replayed everything c had written
// when the call began, so a following read on the replica sees it.
func (c *Cluster) WaitReplayed(tb testing.TB, replica *Cluster, timeout time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var target string
	if err := queryRow(ctx, c.adminURL(), "SELECT pg_current_wal_lsn()::text", nil, &target); err != nil {
		tb.Fatalf("pgtest: primary WAL position: %v", err)
		return
	}
	var (
		done    bool
		replay  string
		lastErr error
	)
	for {
		// NULL replay LSN means nothing replayed yet: treat as not done.
		lastErr = queryRow(ctx, replica.adminURL(),
			"SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false), coalesce(pg_last_wal_replay_lsn()::text, '')",
			[]any{target}, &done, &replay)
		if lastErr == nil && done {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("pgtest: replica on port %d did not replay up to %s within %v (replayed %q, last error: %v)",
				replica.port, target, timeout, replay, lastErr)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// adminURL points at the always-present "postgres" database, usable before
// "pointsbook" exists.
func (c *Cluster) adminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// configure appends per-instance settings to postgresql.conf. Appending
// works because the last occurrence of a setting wins, which is also how a
// replica overrides the values it copied from its primary. The file rather
// than pg_ctl -o keeps the settings across Stop/Start without re-quoting.
func (c *Cluster) configure(tb testing.TB, extra string) {
	tb.Helper()
	conf := fmt.Sprintf("\n# pgtest\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n%s",
		c.port, strings.ReplaceAll(c.dir, "'", "''"), extra)
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		tb.Fatalf("pgtest: configure cluster: %v", err)
	}
}

func (c *Cluster) mustRun(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if err := c.run(name, args...); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// run executes a server binary as the server user, inside the cluster's
// directory, and returns its output in the error on failure.
func (c *Cluster) run(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.tools.bin, name), args...)
	cmd.Dir = c.dir // the postgres user may not be able to enter our cwd
	cmd.Env = c.env()
	// If a child ever kept our output pipe open, don't hang on it.
	cmd.WaitDelay = 5 * time.Second
	if c.tools.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.tools.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// env drops PG* variables, which would silently redirect the tools to
// another server or data directory, and pins the locale so initdb does not
// depend on what the machine has installed.
func (c *Cluster) env() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "HOME=")
	})
	// HOME must be readable by the server user (libpq looks for ~/.pgpass).
	return append(env, "LC_ALL=C", "HOME="+c.dir)
}

func (c *Cluster) logTail(tb testing.TB) {
	data, err := os.ReadFile(c.logPath())
	if err != nil {
		tb.Logf("pgtest: no server log: %v", err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	lines = lines[max(0, len(lines)-logTailLines):]
	tb.Logf("pgtest: last %d lines of %s (port %d):\n%s", len(lines), c.logPath(), c.port, strings.Join(lines, "\n"))
}

// freePort asks the kernel for an unused port. Another process could take it
// before the server binds it, but on a test machine that race is rare and
// shows up as a clear "could not bind" in the server log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ping(ctx context.Context, connURL string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func queryRow(ctx context.Context, connURL, sql string, args []any, dest ...any) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, sql, args...).Scan(dest...)
}
