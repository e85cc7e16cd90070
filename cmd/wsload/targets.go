package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pointsbook/pointsbook/internal/loadrun"
	"github.com/pointsbook/pointsbook/internal/procstat"
)

// centrifugoConfig is the configuration every Centrifugo node of a run
// starts with; the address, the port and, on two nodes, the Redis engine
// are set per node through its CENTRIFUGO_* environment.
//
//go:embed centrifugo.json
var centrifugoConfig []byte

// target is a server under test.
type target interface {
	name() string
	// deploy starts fresh servers: one, or two sharing a Redis (pair),
	// the clients then connecting to the second and events published on
	// the first.
	deploy(ctx context.Context, pair bool) (*deployment, error)
}

// deployment is a target's running servers.
type deployment struct {
	procs     []*proc // the first publishes; clients connect to the last
	clientURL string
	proto     protocol
	channels  []string // one per room
	// publish sends one event with text to a room, through the server's
	// own publishing path.
	publish func(ctx context.Context, hc *http.Client, room int, text string) error
}

func (d *deployment) stop() {
	for _, p := range d.procs {
		p.stop()
	}
}

// logs are the ends of the servers' logs, for an error.
func (d *deployment) logs() string {
	var b strings.Builder
	for i, p := range d.procs {
		if t := p.logTail(); t != "" {
			fmt.Fprintf(&b, "\n--- %s %d log:\n%s", p.name, i+1, t)
		}
	}
	return b.String()
}

func (d *deployment) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, p := range d.procs {
		t, err := procstat.CPU(p.pid())
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- Pointsbook ------------------------------------------------------

// pointsbook is the real binary on a PostgreSQL database of its own;
// two instances share it and the run's Redis.
type pointsbook struct {
	l       *wsload
	dbURL   string
	adminPW string
	token   string   // the operator's bearer token
	matches []string // one per room
}

const adminUser = "wsloadadmin"

func (p *pointsbook) name() string { return "pointsbook" }

// setup creates the database, the operator and one match per room.
func (p *pointsbook) setup(ctx context.Context) error {
	l := p.l
	name := "pbws_" + randHex(6)
	if err := l.pgAdmin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	l.atExit(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.pgAdmin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "wsload: drop database %s: %v\n", name, err)
		}
	})
	u, _ := url.Parse(l.opt.pgURL)
	u.Path = "/" + name
	p.dbURL = u.String()
	p.adminPW = "wl-" + randHex(12)
	s, base, err := p.start(ctx, "")
	if err != nil {
		return err
	}
	defer s.stop()
	hc := &http.Client{Timeout: 30 * time.Second}
	var login struct {
		Token string `json:"token"`
	}
	if err := callJSON(ctx, hc, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": adminUser, "password": p.adminPW}, &login, http.StatusOK); err != nil {
		return fmt.Errorf("operator login: %w", err)
	}
	p.token = login.Token
	for i := range l.opt.rooms {
		body := map[string]any{
			"sport": "football", "league": "WS Load League",
			"home": fmt.Sprintf("WS Home %d", i), "away": fmt.Sprintf("WS Away %d", i),
			"kickoff_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
			"markets": []map[string]any{
				{"kind": "1x2", "odds": map[string]string{"home": "2.00", "draw": "3.40", "away": "3.80"}},
			},
		}
		var m struct {
			ID string `json:"id"`
		}
		if err := callJSON(ctx, hc, "POST", base+"/api/v1/admin/matches", p.token, body, &m, http.StatusCreated); err != nil {
			return fmt.Errorf("create match: %w", err)
		}
		p.matches = append(p.matches, m.ID)
	}
	return nil
}

// start starts one instance; redisURL "" keeps its bus in process.
func (p *pointsbook) start(ctx context.Context, redisURL string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	env := append(baseEnv(),
		"PB_HTTP_ADDR="+addr,
		"PB_PUBLIC_URL=http://"+addr,
		"PB_LOG_LEVEL=warn",
		"PB_DATABASE_URL="+p.dbURL,
		"PB_ADMIN_USERNAME="+adminUser,
		"PB_ADMIN_PASSWORD="+p.adminPW,
		"PB_ARGON2_MEMORY_KIB=1024",
		"PB_ARGON2_TIME=1",
		// No sports feed: its writes and events are not the load.
		"PB_FEED=none",
		// Clients name themselves in X-Forwarded-For, as they would
		// behind a reverse proxy, so the per-address limit (32) sees
		// 2,000 addresses.
		"PB_TRUSTED_PROXIES=127.0.0.1/32",
	)
	if redisURL != "" {
		env = append(env, "PB_REDIS_URL="+redisURL)
	}
	env = append(env, p.l.opt.set...)
	base := "http://" + addr
	s, err := p.l.startProc(ctx, "pointsbook", p.l.bin, []string{"serve"}, env, httpReady(base+"/readyz"))
	return s, base, err
}

func (p *pointsbook) deploy(ctx context.Context, pair bool) (*deployment, error) {
	d := &deployment{proto: pointsbookProto{}}
	for _, m := range p.matches {
		d.channels = append(d.channels, "match:"+m)
	}
	redisURL := ""
	if pair {
		redisURL = "redis://" + p.l.redisAddr + "/0"
	}
	a, baseA, err := p.start(ctx, redisURL)
	if err != nil {
		return nil, err
	}
	d.procs = append(d.procs, a)
	baseB := baseA
	if pair {
		b, base, err := p.start(ctx, redisURL)
		if err != nil {
			d.stop()
			return nil, err
		}
		d.procs, baseB = append(d.procs, b), base
	}
	d.clientURL = "ws" + strings.TrimPrefix(baseB, "http") + "/api/v1/ws"
	d.publish = func(ctx context.Context, hc *http.Client, room int, text string) error {
		return callJSON(ctx, hc, "POST", baseA+"/api/v1/admin/matches/"+p.matches[room]+"/announcements", p.token,
			map[string]string{"text": text}, nil, http.StatusAccepted)
	}
	return d, nil
}

// ---- Centrifugo ------------------------------------------------------

// centrifugo is a Centrifugo binary built outside the repository
// (docs/performance.md says how), on its memory engine alone and on its
// Redis engine as two nodes.
type centrifugo struct {
	l      *wsload
	config string // the file written from centrifugoConfig
	apiKey string
}

func (c *centrifugo) name() string { return "centrifugo" }

func (c *centrifugo) setup() error {
	var cfg map[string]any
	if err := json.Unmarshal(centrifugoConfig, &cfg); err != nil {
		return fmt.Errorf("centrifugo.json: %w", err)
	}
	c.config = filepath.Join(c.l.tmp, "centrifugo.json")
	c.apiKey = randHex(16)
	return os.WriteFile(c.config, centrifugoConfig, 0o600)
}

func (c *centrifugo) start(ctx context.Context, redisAddr string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	host, port, _ := net.SplitHostPort(addr)
	env := append(baseEnv(),
		"CENTRIFUGO_HTTP_SERVER_ADDRESS="+host,
		"CENTRIFUGO_HTTP_SERVER_PORT="+port,
		"CENTRIFUGO_HTTP_API_KEY="+c.apiKey,
	)
	if redisAddr != "" {
		env = append(env,
			"CENTRIFUGO_ENGINE_TYPE=redis",
			"CENTRIFUGO_ENGINE_REDIS_ADDRESS=redis://"+redisAddr,
		)
	}
	base := "http://" + addr
	s, err := c.l.startProc(ctx, "centrifugo", c.l.opt.centrifugo, []string{"--config", c.config}, env, httpReady(base+"/health"))
	return s, base, err
}

func (c *centrifugo) deploy(ctx context.Context, pair bool) (*deployment, error) {
	d := &deployment{proto: centrifugoProto{}}
	for i := range c.l.opt.rooms {
		d.channels = append(d.channels, fmt.Sprintf("bench%d", i))
	}
	redisAddr := ""
	if pair {
		redisAddr = c.l.redisAddr
	}
	a, baseA, err := c.start(ctx, redisAddr)
	if err != nil {
		return nil, err
	}
	d.procs = append(d.procs, a)
	baseB := baseA
	if pair {
		b, base, err := c.start(ctx, redisAddr)
		if err != nil {
			d.stop()
			return nil, err
		}
		d.procs, baseB = append(d.procs, b), base
	}
	d.clientURL = "ws" + strings.TrimPrefix(baseB, "http") + "/connection/websocket"
	d.publish = func(ctx context.Context, hc *http.Client, room int, text string) error {
		body := map[string]any{"channel": d.channels[room], "data": map[string]string{"text": text}}
		var out struct {
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := callJSONKey(ctx, hc, baseA+"/api/publish", c.apiKey, body, &out); err != nil {
			return err
		}
		if out.Error != nil {
			return fmt.Errorf("publish: %d %s", out.Error.Code, out.Error.Message)
		}
		return nil
	}
	return d, nil
}

// ---- HTTP ------------------------------------------------------------

func callJSON(ctx context.Context, hc *http.Client, method, url, token string, body, out any, want int) error {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return do(ctx, hc, method, url, h, body, out, want)
}

func callJSONKey(ctx context.Context, hc *http.Client, url, key string, body, out any) error {
	h := http.Header{}
	h.Set("X-API-Key", key)
	return do(ctx, hc, "POST", url, h, body, out, http.StatusOK)
}

func do(ctx context.Context, hc *http.Client, method, url string, h http.Header, body, out any, want int) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %.200s", method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(rb))
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// ---- PostgreSQL and Redis --------------------------------------------

// pgAdmin runs one statement on the admin database.
func (l *wsload) pgAdmin(ctx context.Context, stmt string) error {
	return loadrun.Exec(ctx, l.opt.pgURL, stmt)
}

// startRedis starts the run's own Redis on loopback, without persistence,
// so the two-instance runs share it with nobody else's traffic.
func (l *wsload) startRedis(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	p, err := l.startProc(ctx, "redis", l.opt.redisServer,
		[]string{"--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", l.tmp},
		baseEnv(), redisReady(addr))
	if err != nil {
		return err
	}
	l.redis, l.redisAddr = p, addr
	return nil
}
