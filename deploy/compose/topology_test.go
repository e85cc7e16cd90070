package compose

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pointsbook/pointsbook/internal/pgtest"
)

// The local stack without containers: Debian's nginx with the repo's
// nginx.conf (only addresses and file paths substituted) in front of two
// instances of the binary sharing one PostgreSQL database.

// nginxBinary finds nginx; a missing one fails the test when PB_TEST_REQUIRE
// lists nginx (CI) and skips it otherwise.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx" // Debian's, often off a user's PATH
	}
	pgtest.Unavailable(t, "nginx", "no nginx on PATH or in /usr/sbin (apt-get install nginx)")
	return ""
}

// renderNginx returns nginx.conf with the compose host names replaced by
// loopback upstreams, the listener moved to a loopback port, and pid and log
// files moved under dir. Each substitution must match exactly once, so the
// test breaks (rather than testing another config) when nginx.conf changes.
func renderNginx(t *testing.T, dir, listen, up1, up2 string) string {
	t.Helper()
	src, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(src)
	for _, r := range [][2]string{
		{"server pointsbook-1:8080 ", "server " + up1 + " "},
		{"server pointsbook-2:8080 ", "server " + up2 + " "},
		{"listen 80 default_server;", "listen " + listen + " default_server;"},
		{"pid /tmp/nginx.pid;", "pid " + filepath.Join(dir, "nginx.pid") + ";"},
		{"error_log /dev/stderr warn;", "error_log " + filepath.Join(dir, "error.log") + " warn;"},
		{"access_log /dev/stdout json;", "access_log " + filepath.Join(dir, "access.log") + " json;"},
		{"include mime.types;", "include /etc/nginx/mime.types;"},
	} {
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("nginx.conf contains %q %d times, want once: update renderNginx", r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startNginx checks the rendered config with `nginx -t`, runs nginx in the
// foreground and returns its address; it is stopped on cleanup.
func startNginx(t *testing.T, up1, up2 string) (addr, dir string) {
	t.Helper()
	bin := nginxBinary(t)
	dir = t.TempDir()
	// Workers drop to an unprivileged user when started as root; they must
	// reach the temp directories nginx creates under the prefix.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	conf := renderNginx(t, dir, addr, up1, up2)
	args := []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"}
	if out, err := exec.Command(bin, append([]string{"-t"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	stop(t, cmd)
	waitHTTP(t, "http://"+addr+"/nginx-health", func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(b)
	})
	return addr, dir
}

// stop starts cmd and registers its end: SIGTERM, then SIGKILL after 10 s.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP polls url until it answers 200; diag explains a timeout.
func waitHTTP(t *testing.T, url string, diag func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60 s (last: %v)\n%s", url, err, diag())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// buildBinary builds cmd/pointsbook once for the test (static, as in the
// image). It builds in the repository root, so the binary gets the root
// module's dependency versions, as the image does, not this module's.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pointsbook")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/pointsbook")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type instance struct {
	addr string
	log  string
}

func startInstance(t *testing.T, bin, dbURL string, env ...string) instance {
	t.Helper()
	dir := t.TempDir()
	in := instance{addr: freeAddr(t), log: filepath.Join(dir, "out.log")}
	f, err := os.Create(in.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"PB_HTTP_ADDR=" + in.addr,
		"PB_DATABASE_URL=" + dbURL,
		"PB_REDIS_URL=redis://127.0.0.1:6379/0",
		"PB_FEED=none",
		"PB_DATA_DIR=" + dir,
		"PB_LOG_LEVEL=info",
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = f, f
	stop(t, cmd)
	return in
}

func TestTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; not in -short")
	}
	nginxBinary(t) // before the expensive part
	db := pgtest.NewDatabase(t)
	bin := buildBinary(t)

	// As compose's pointsbook-migrate: migrate (and create the system
	// accounts) once, then start both instances at the same time.
	migrate := exec.Command(bin, "migrate")
	migrate.Env = []string{"PB_DATABASE_URL=" + db, "PB_FEED=none", "PB_DATA_DIR=" + t.TempDir()}
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("pointsbook migrate: %v\n%s", err, out)
	}
	// One operator, made by the first instance only: two starting at once
	// would race to create it.
	ins := []instance{startInstance(t, bin, db, "PB_ADMIN_USERNAME="+adminUser, "PB_ADMIN_PASSWORD="+adminPassword), startInstance(t, bin, db)}
	for _, in := range ins {
		waitHTTP(t, "http://"+in.addr+"/readyz", func() string {
			b, _ := os.ReadFile(in.log)
			return string(b)
		})
	}
	lb, dir := startNginx(t, ins[0].addr, ins[1].addr)

	for _, path := range []string{"/readyz", "/healthz", "/api/v1/sports"} {
		resp, err := http.Get("http://" + lb + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s through nginx: %s", path, resp.Status)
		}
	}
	const n = 20
	for i := range n {
		req, _ := http.NewRequest("GET", "http://"+lb+"/api/v1/sports", nil)
		req.Header.Set("User-Agent", fmt.Sprintf("topology-test/%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/sports through nginx: %s", resp.Status)
		}
	}
	// Each instance logged some of the requests, with nginx's forwarded
	// headers; together all of them.
	total := 0
	for _, in := range ins {
		got := countLines(t, in.log, `"url.path":"/api/v1/sports"`, `"user_agent.original":"topology-test/`)
		if got == 0 {
			b, _ := os.ReadFile(in.log)
			t.Errorf("instance %s served none of the %d requests\n%s", in.addr, n, b)
		}
		total += got
	}
	if total != n {
		t.Errorf("instances logged %d requests, want %d", total, n)
	}
	// nginx's own JSON access log names both upstreams.
	for _, in := range ins {
		if countLines(t, filepath.Join(dir, "access.log"), `"upstream":"`+in.addr+`"`) == 0 {
			t.Errorf("nginx access log never names upstream %s", in.addr)
		}
	}

	t.Run("the live endpoint through nginx", func(t *testing.T) {
		liveThroughNginx(t, lb, dir, ins)
	})
}

const (
	adminUser     = "topology_admin"
	adminPassword = "topology-admin-password-1"
)

// liveThroughNginx opens two sockets to GET /api/v1/ws through nginx, as a
// browser on the site would (its Origin, which the endpoint compares with
// the Host nginx passes on), one on each instance (least_conn), subscribes
// both to a match room, and has an operator's announcement, posted through
// nginx to either instance, reach both: the upgrade passes both ways and
// the instances share events through Redis.
func liveThroughNginx(t *testing.T, lb, dir string, ins []instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := "http://" + lb
	var login struct{ Token string }
	postJSON(t, base+"/api/v1/auth/login", "", `{"username":"`+adminUser+`","password":"`+adminPassword+`"}`, http.StatusOK, &login)
	ko := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	var match struct{ ID string }
	postJSON(t, base+"/api/v1/admin/matches", login.Token, `{"sport":"football","league":"K League 1","home":"Seoul FC","away":"Busan United","kickoff_at":"`+ko+`",
		"markets":[{"kind":"1x2","odds":{"home":"2.05","draw":"3.30","away":"3.60"}}]}`, http.StatusCreated, &match)
	room := "match:" + match.ID

	var socks []*websocket.Conn
	for range 2 {
		c, resp, err := websocket.Dial(ctx, "ws://"+lb+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
		if err != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("upgrade through nginx: %v (%v)\n%s", err, resp, b)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","channel":"`+room+`"}`)); err != nil {
			t.Fatal(err)
		}
		waitEvent(ctx, t, c, "subscribed")
		socks = append(socks, c)
	}
	var ann struct{}
	postJSON(t, base+"/api/v1/admin/matches/"+match.ID+"/announcements", login.Token, `{"text":"through nginx"}`, 0, &ann)
	for i, c := range socks {
		if data := waitEvent(ctx, t, c, "announcement"); !strings.Contains(data, `"text":"through nginx"`) {
			t.Fatalf("socket %d: announcement %s", i, data)
		}
	}
	for _, c := range socks {
		c.Close(websocket.StatusNormalClosure, "")
	}
	// nginx logs a socket when it ends: one on each instance, each 101.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, in := range ins {
			if countLines(t, filepath.Join(dir, "access.log"), `"uri":"/api/v1/ws"`, `"status":101`, `"upstream":"`+in.addr+`"`) == 1 {
				n++
			}
		}
		if n == len(ins) {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
			t.Fatalf("nginx did not log one socket (101) on each instance:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond) // polls nginx's log; decides no order
	}
}

// postJSON posts body with token's session ("": none), expects want (0:
// any 2xx) and decodes the answer into out.
func postJSON(t *testing.T, url, token, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if (want != 0 && resp.StatusCode != want) || (want == 0 && resp.StatusCode/100 != 2) {
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: %s: %v", url, b, err)
		}
	}
}

// waitEvent reads c's frames (JSON arrays of events) until an event of
// type typ, and returns its data.
func waitEvent(ctx context.Context, t *testing.T, c *websocket.Conn, typ string) string {
	t.Helper()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var evs []struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &evs); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		for _, ev := range evs {
			if ev.Type == typ {
				return string(ev.Data)
			}
		}
	}
}

func countLines(t *testing.T, file string, subs ...string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
line:
	for sc.Scan() {
		for _, s := range subs {
			if !strings.Contains(sc.Text(), s) {
				continue line
			}
		}
		n++
	}
	return n
}
