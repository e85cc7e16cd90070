//go:build linux

// Linux only: the child server is started with Pdeathsig so that it dies
// with the test binary even when a timeout kills the tests before their
// cleanups run.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/pgtest"
)

const (
	crashPlayers = 20
	crashWorkers = 16
	crashStake   = 100
	crashBonus   = 50_000 // the default PB_SIGNUP_BONUS
	// The server is killed crashKillAfter into the load, or later if fewer
	// than crashMinAcked bets have been acknowledged by then (a slow
	// database), but never later than crashKillBy. The load goes on after
	// the kill until every worker has had a request fail, so requests are
	// in flight when it lands and keep failing after it.
	crashKillAfter  = 900 * time.Millisecond
	crashKillBy     = 4 * time.Second
	crashMinAcked   = 50
	crashReadyLimit = 15 * time.Second
)

// TestCrashRecovery kills the real binary with SIGKILL in the middle of a
// bet load and restarts it on the same data: every bet that was answered
// 201 must still exist, the ledger must verify, and each player's balance
// must match the bets stored.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		crashRecovery(t, bin, map[string]string{"PB_DATA_DIR": t.TempDir()})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		crashRecovery(t, bin, map[string]string{"PB_DATA_DIR": t.TempDir(), "PB_DATABASE_URL": url})
	})
}

// buildBinary builds this package into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pointsbook")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// childEnv is the process environment of the binary: ours without any
// PB_ variable, plus the test server's settings.
func childEnv(settings map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PB_") {
			env = append(env, kv)
		}
	}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return env
}

// childServer is the binary running as a child process.
type childServer struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done is closed
}

// startBinary starts bin serve, appending its output to logPath. The
// process is killed on cleanup if it is still running.
func startBinary(t *testing.T, bin string, env []string, logPath string) *childServer {
	t.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	s := &childServer{cmd: cmd, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = cmd.Process.Kill()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Errorf("pid %d did not exit after SIGKILL", cmd.Process.Pid)
		}
	})
	return s
}

// signal sends sig and waits up to timeout for the process to exit.
func (s *childServer) signal(t *testing.T, sig os.Signal, timeout time.Duration) error {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-s.done:
		return s.err
	case <-time.After(timeout):
		t.Fatalf("pid %d still running %v after %v", s.cmd.Process.Pid, timeout, sig)
		return nil
	}
}

type player struct {
	name, id, token string
}

type ack struct {
	bet    string
	player int
}

func crashRecovery(t *testing.T, bin string, settings map[string]string) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	settings["PB_HTTP_ADDR"] = addr
	settings["PB_ARGON2_MEMORY_KIB"] = "1024"
	settings["PB_ARGON2_TIME"] = "1"
	settings["PB_ADMIN_USERNAME"] = adminUser
	settings["PB_ADMIN_PASSWORD"] = adminPassword
	// The load is on the test's own match: without a feed, the start has
	// no import of past seasons to compete with the tests beside it.
	settings["PB_FEED"] = "none"
	env := childEnv(settings)
	logPath := filepath.Join(t.TempDir(), "server.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("last server log lines:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})

	first := startBinary(t, bin, env, logPath)
	waitStatus(t, base+"/readyz", http.StatusOK, crashReadyLimit, 50*time.Millisecond)

	_, home := createMatch(t, base, login(t, base, adminUser, adminPassword))
	players := make([]player, crashPlayers)
	for i := range players {
		name := fmt.Sprintf("crash%02d", i)
		players[i] = player{name: name, id: signup(t, base, name)}
		players[i].token = login(t, base, name, playerPassword)
	}

	// The load: every worker places bets for players in turn and records
	// each one answered 201. The server is killed part-way through.
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: crashWorkers, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	var (
		mu          sync.Mutex
		acked       []ack
		ackCount    atomic.Int64
		refused     atomic.Int64 // answered, but not 201
		failed      atomic.Int64 // no answer (the server died)
		ackedAtKill int
		stopLoad    = make(chan struct{})
		// enoughAcked is closed at the crashMinAcked-th acknowledgement;
		// allFailed once every worker has had a request go unanswered
		// after the kill.
		killed      atomic.Bool
		enoughAcked = make(chan struct{})
		allFailed   = make(chan struct{})
		failedBy    sync.Map // worker → true
		failedN     atomic.Int64
	)
	var wg sync.WaitGroup
	for w := 0; w < crashWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i += crashWorkers {
				select {
				case <-stopLoad:
					return
				default:
				}
				p := i % crashPlayers
				r, err := call(client, "POST", base+"/api/v1/bets", players[p].token, betSlip(crashStake, home))
				switch {
				case err != nil:
					failed.Add(1)
					if killed.Load() {
						if _, seen := failedBy.LoadOrStore(w, true); !seen && failedN.Add(1) == crashWorkers {
							close(allFailed)
						}
					}
					// Pacing, not ordering: the server is gone; don't spin.
					time.Sleep(10 * time.Millisecond)
				case r.Status == http.StatusCreated:
					var b struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal(r.Body, &b); err != nil || b.ID == "" {
						t.Errorf("201 without a bet id: %s", r)
						continue
					}
					mu.Lock()
					acked = append(acked, ack{bet: b.ID, player: p})
					mu.Unlock()
					if ackCount.Add(1) == crashMinAcked {
						close(enoughAcked)
					}
				default:
					if refused.Add(1) <= 3 {
						t.Logf("bet refused: %s", r)
					}
				}
			}
		}(w)
	}
	loadStart := time.Now()
	// The kill lands at a moment of the load, chosen by time: the load
	// runs crashKillAfter, then until enough bets are acknowledged.
	<-time.After(crashKillAfter)
	select {
	case <-enoughAcked:
	case <-time.After(crashKillBy - crashKillAfter):
	}
	killedAt := time.Since(loadStart)
	mu.Lock()
	ackedAtKill = len(acked)
	mu.Unlock()
	killed.Store(true)
	err := first.signal(t, syscall.SIGKILL, 10*time.Second)
	select {
	case <-allFailed:
	case <-time.After(10 * time.Second):
		t.Errorf("%d of %d load workers had a request fail in 10 s after the kill", failedN.Load(), crashWorkers)
	}
	close(stopLoad)
	wg.Wait()
	if ws, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the server did not die of SIGKILL: %v", err)
	}
	t.Logf("load: killed %v in, %d bets acknowledged (%d before the kill), %d refused, %d requests without an answer",
		killedAt.Round(time.Millisecond), len(acked), ackedAtKill, refused.Load(), failed.Load())
	if ackedAtKill == 0 {
		t.Fatalf("no bet acknowledged in %v: the load never got going", killedAt)
	}
	if failed.Load() == 0 {
		t.Fatalf("no request failed: the kill did not land during the load")
	}

	// Restart the same binary on the same data.
	restart := time.Now()
	second := startBinary(t, bin, env, logPath)
	waitStatus(t, base+"/readyz", http.StatusOK, crashReadyLimit, 50*time.Millisecond)
	t.Logf("ready again %v after restart", time.Since(restart).Round(time.Millisecond))

	// Every acknowledged bet survived, readable by its owner.
	var lost atomic.Int64
	jobs := make(chan ack)
	var vg sync.WaitGroup
	for w := 0; w < 8; w++ {
		vg.Add(1)
		go func() {
			defer vg.Done()
			for a := range jobs {
				r, err := call(client, "GET", base+"/api/v1/bets/"+a.bet, players[a.player].token, nil)
				if err != nil || r.Status != http.StatusOK {
					if lost.Add(1) <= 5 {
						t.Errorf("acknowledged bet %s of %s after the crash: %v %v", a.bet, players[a.player].name, r, err)
					}
				}
			}
		}()
	}
	for _, a := range acked {
		jobs <- a
	}
	close(jobs)
	vg.Wait()
	if n := lost.Load(); n > 0 {
		t.Fatalf("%d of %d acknowledged bets are missing after the crash", n, len(acked))
	}

	// Each wallet equals the bonus minus the stakes of the bets stored
	// (which may include bets committed but never acknowledged), and
	// every acknowledged bet is among them.
	ackedBy := make([]map[string]bool, crashPlayers)
	for i := range ackedBy {
		ackedBy[i] = map[string]bool{}
	}
	for _, a := range acked {
		ackedBy[a.player][a.bet] = true
	}
	stored := 0
	for i, p := range players {
		ids := listBets(t, base, p.token)
		stored += len(ids)
		for id := range ackedBy[i] {
			if !ids[id] {
				t.Errorf("%s: acknowledged bet %s not in /me/bets", p.name, id)
			}
		}
		var me struct {
			Balance int64 `json:"balance"`
		}
		mustCall(t, "GET", base+"/api/v1/me", p.token, nil, http.StatusOK).decode(t, &me)
		if want := int64(crashBonus - crashStake*len(ids)); me.Balance != want {
			t.Errorf("%s: balance %d, want %d (bonus minus %d bets of %d)", p.name, me.Balance, want, len(ids), crashStake)
		}
	}
	t.Logf("%d bets stored, %d acknowledged", stored, len(acked))

	// The ledger checks out, verified by the admin tool as an operator
	// would run it, beside the running server.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	verify := exec.CommandContext(ctx, bin, "admin", "verify-ledger")
	verify.Env = env
	var out bytes.Buffer
	verify.Stdout, verify.Stderr = &out, &out
	if err := verify.Run(); err != nil {
		t.Errorf("admin verify-ledger after the crash: %v\n%s", err, out.String())
	} else if !strings.Contains(out.String(), "ledger ok") {
		t.Errorf("admin verify-ledger output: %s", out.String())
	}

	// And the restarted server still shuts down cleanly on SIGTERM.
	if err := second.signal(t, syscall.SIGTERM, 20*time.Second); err != nil {
		t.Errorf("serve after SIGTERM: %v, want exit 0", err)
	}
}

// listBets pages through GET /api/v1/me/bets and returns the bet ids.
func listBets(t *testing.T, base, token string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	cursor := ""
	for page := 0; page < 1000; page++ {
		url := base + "/api/v1/me/bets?limit=100"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		var list struct {
			Items []struct {
				ID    string `json:"id"`
				Stake int64  `json:"stake"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		mustCall(t, "GET", url, token, nil, http.StatusOK).decode(t, &list)
		for _, b := range list.Items {
			if ids[b.ID] {
				t.Fatalf("bet %s listed twice", b.ID)
			}
			if b.Stake != crashStake {
				t.Errorf("bet %s has stake %d, want %d", b.ID, b.Stake, crashStake)
			}
			ids[b.ID] = true
		}
		if list.NextCursor == "" {
			return ids
		}
		cursor = list.NextCursor
	}
	t.Fatalf("more than 1000 pages of bets")
	return nil
}
