package compose

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

func startInstance(t *testing.T, bin, dbURL string) instance {
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
	ins := []instance{startInstance(t, bin, db), startInstance(t, bin, db)}
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

// TestTopologyWebSocketUpgrade proves nginx.conf passes a WebSocket upgrade
// through: the binary has no /api/v1/ws yet, so both upstreams are a minimal
// upgrade endpoint that checks the forwarded Upgrade/Connection headers,
// answers 101 and then echoes bytes, after greeting first (both directions).
func TestTopologyWebSocketUpgrade(t *testing.T) {
	nginxBinary(t)
	var (
		mu   sync.Mutex
		seen []string
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s upgrade=%q connection=%q", r.URL.Path, r.Header.Get("Upgrade"), r.Header.Get("Connection")))
		mu.Unlock()
		if r.URL.Path != "/api/v1/ws" || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !strings.EqualFold(r.Header.Get("Connection"), "upgrade") {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello\n")
		buf.Flush()
		io.Copy(conn, buf.Reader) // echo until the client closes
	})
	var ups []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		ups = append(ups, l.Addr().String())
	}
	lb, _ := startNginx(t, ups[0], ups[1])

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", lb)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /api/v1/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		mu.Lock()
		t.Fatalf("upgrade through nginx: %s %v (upstream saw %q)", resp.Status, resp.Header, seen)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "hello\n" {
		t.Fatalf("server-to-client bytes: %q, %v", line, err)
	}
	for _, msg := range []string{"ping\n", "second message\n"} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		if got, err := br.ReadString('\n'); err != nil || got != msg {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
	}

	// A plain request on the same route reaches the upstream without the
	// upgrade headers (Connection empty so upstream keepalive is reused).
	resp2, err := http.Get("http://" + lb + "/api/v1/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusBadRequest {
		t.Errorf("plain GET /api/v1/ws: %s, want the upstream's 400", resp2.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[1] != `/api/v1/ws upgrade="" connection=""` {
		t.Errorf("upstream saw %q, want the upgrade then a plain request without Upgrade/Connection", seen)
	}
}
