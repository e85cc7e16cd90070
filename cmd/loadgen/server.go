package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

const adminUser = "loadadmin"

// server is a pointsbook child process.
type server struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	env     []string
	logPath string
	exited  chan struct{}
	waitErr error
	adminPW string
}

// serverEnv is the environment of the server (and of its admin commands)
// on database d. Later entries win: the -set settings, then extra.
func (l *loadgen) serverEnv(d *database, addr, adminPW string, extra ...string) []string {
	env := baseEnv()
	env = append(env,
		"PB_HTTP_ADDR="+addr,
		"PB_PUBLIC_URL=http://"+addr,
		"PB_LOG_LEVEL=warn",
		"PB_ADMIN_USERNAME="+adminUser,
		"PB_ADMIN_PASSWORD="+adminPW,
		// Quick hashing: sign-up and login are setup here, not the load.
		"PB_ARGON2_MEMORY_KIB=1024",
		"PB_ARGON2_TIME=1",
		// Enough points for every bet of the run (stake 100).
		"PB_SIGNUP_BONUS=100000000",
		// Set explicitly: the binary's default must not decide a figure
		// that names the setting.
		"PB_HOUSE_SHARDS=16",
		// No sports feed: its background writes would share the database
		// with the load; the matches bet on are created by the operator.
		"PB_FEED=none",
	)
	env = append(env, d.env()...)
	env = append(env, l.opt.set...)
	return append(env, extra...)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer starts the binary on d and waits until /readyz answers.
// extra are more PB_* settings (e.g. PB_HOUSE_SHARDS=50).
func (l *loadgen) startServer(ctx context.Context, d *database, extra ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, adminPW: "lg-" + randHex(12), exited: make(chan struct{})}
	s.env = l.serverEnv(d, addr, s.adminPW, extra...)
	logf, err := os.CreateTemp(l.tmp, "server-*.log")
	if err != nil {
		return nil, err
	}
	s.logPath = logf.Name()
	s.cmd = exec.Command(l.bin, "serve")
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	setParentDeathSignal(s.cmd)
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	l.atExit(func() { s.stop() })

	deadline := time.Now().Add(90 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited at start (%v):\n%s", s.waitErr, s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server not ready after 90s:\n%s", s.logTail())
		}
	}
}

// stop asks the server to shut down (SIGTERM), and kills it if it has not
// exited 30 s later. It is safe to call more than once.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("server did not stop within 30s; killed")
	}
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		return fmt.Errorf("server exited with %v:\n%s", s.waitErr, s.logTail())
	}
	return s.waitErr
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// verifyLedger runs `pointsbook admin verify-ledger` against the server's
// database (normally after the server has stopped).
func (l *loadgen) verifyLedger(ctx context.Context, s *server) (string, error) {
	out, err := runCommand(ctx, 10*time.Minute, s.env, l.bin, "admin", "verify-ledger")
	// The admin command logs at warn level and above only; keep its
	// verdict line(s).
	out = strings.TrimSpace(out)
	if err != nil {
		return out, fmt.Errorf("verify-ledger failed: %w: %s", err, out)
	}
	return out, nil
}
