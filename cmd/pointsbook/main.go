// Command pointsbook is the whole product in one binary: the web API,
// settlement and the admin tools.
//
//	pointsbook [serve]     run the server (default)
//	pointsbook migrate     apply database migrations and exit
//	pointsbook admin …     operator tools (create-user, verify-ledger, partner)
//	pointsbook healthcheck exit 0 when /healthz answers (container probes)
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // viewers' time zones work on images without zoneinfo

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/api"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/geoip"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/logship"
	"github.com/pointsbook/pointsbook/internal/metrics"
	"github.com/pointsbook/pointsbook/internal/oidc"
	"github.com/pointsbook/pointsbook/internal/server"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
	"github.com/pointsbook/pointsbook/internal/tracing"
	"github.com/pointsbook/pointsbook/internal/web"
	"github.com/pointsbook/pointsbook/internal/worker"
	"github.com/pointsbook/pointsbook/internal/ws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr))
}

// Run is the testable entry point: it returns the process exit code.
func Run(ctx context.Context, args []string, lookup func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "configuration:\n%v\n", err)
		return 2
	}
	// Only the server ships its log; the one-shot commands write stdout.
	var ship *logship.Sink
	if cmd == "serve" {
		if ship, err = newLogShipper(cfg); err != nil {
			fmt.Fprintf(stderr, "configuration:\n%v\n", err)
			return 2
		}
	}
	log := newShippingLogger(stdout, cfg.LogLevel, ship)
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.StringVar(&cfg.HTTPAddr, "addr", cfg.HTTPAddr, "listen address (overrides PB_HTTP_ADDR)")
		if err := fs.Parse(args); err != nil {
			return 2
		}
		m := &Main{Config: cfg, Log: log, LogShip: ship}
		if err := m.Open(ctx); err != nil {
			log.Error("start failed", "err", err)
			return 1
		}
		// Starting (parsing templates, compressing the assets, loading
		// the catalogues) leaves about 100 MB of garbage that the runtime
		// would give back to the system only over minutes: give it back
		// now, so an instance's memory is what it holds.
		debug.FreeOSMemory()
		code := 0
		select {
		case <-ctx.Done():
		case <-m.Failed():
			// Already logged by the group; the process stops rather than
			// run without one of its parts.
			code = 1
		}
		log.Info("shutting down")
		if err := m.Close(); err != nil {
			log.Error("shutdown", "err", err)
			return 1
		}
		return code
	case "migrate":
		db, err := sqlstore.Connect(ctx, storeConfig(cfg))
		if err != nil {
			log.Error("migrate failed", "err", err)
			return 1
		}
		db.Close()
		log.Info("migrations applied", "dialect", db.Dialect())
		return 0
	case "admin":
		return runAdmin(ctx, cfg, log, args, stdin, stdout, stderr)
	case "healthcheck":
		return healthcheck(cfg.HTTPAddr, stderr)
	case "config":
		fmt.Fprint(stdout, cfg.String())
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q; use serve, migrate, admin, healthcheck or config\n", cmd)
		return 2
	}
}

func storeConfig(cfg config.Config) sqlstore.Config {
	url := cfg.DatabaseURL
	if url == "" {
		url = filepath.Join(cfg.DataDir, "pointsbook.db")
	}
	return sqlstore.Config{
		URL: url, ReplicaURL: cfg.DatabaseReplicaURL, MaxConns: cfg.DatabaseMaxConns,
		Limits:         betting.Limits{MinStake: cfg.MinStake, MaxStake: cfg.MaxStake, MaxPayout: cfg.MaxPayout, MaxLegs: cfg.MaxLegs},
		DailyStakeCap:  cfg.DailyCap,
		GroupCommitMax: cfg.GroupCommitMax, GroupCommitWait: cfg.GroupCommitWait, Writers: cfg.Writers, SettleWorkers: cfg.SettleWorkers, HouseShards: cfg.HouseShards,
		ListCacheTTL: cfg.ListCacheTTL,
	}
}

// openStore opens the store with its workers running, for the admin
// tools; the server connects and runs them itself (Main.Open).
func openStore(ctx context.Context, cfg config.Config) (*sqlstore.DB, error) {
	return sqlstore.Open(ctx, storeConfig(cfg))
}

func hashParams(cfg config.Config) account.HashParams {
	return account.HashParams{MemoryKiB: cfg.Argon2Memory, Time: cfg.Argon2Time, Threads: cfg.Argon2Threads}
}

// Main is a running server.
type Main struct {
	Config config.Config
	Log    *slog.Logger
	// LogShip is the OpenSearch sink Log tees to (nil: stdout only): the
	// first worker started and the last stopped, so it ships the
	// shutdown's own lines.
	LogShip *logship.Sink

	DB *sqlstore.DB
	// Now is the clock of the feed and simulator (tests inject one).
	Now func() time.Time
	// RedisPrefix prefixes the limiter's Redis keys ("": the default);
	// tests give each run its own so runs never share counts.
	RedisPrefix string
	feed        *feedRunner
	limiter     *attemptLimiter
	server      *http.Server
	listener    net.Listener
	workers     *worker.Group
	hub         *ws.Hub
	// connState, when set, is told of each connection's state changes
	// (http.Server.ConnState): tests learn when a request is in flight.
	connState func(net.Conn, http.ConnState)

	// bus carries real-time events and room presence (see liveBus).
	bus *liveBus
	// geo places clients (PB_GEOIP_DB); nil without a database.
	geo *geoip.DB

	// tracing exports spans when PB_OTEL_ENDPOINT is set; off otherwise.
	tracing *tracing.Provider
}

// geoLocator opens PB_GEOIP_DB, if set. A file that cannot be used is
// logged by geoip and the server runs without places, watching the file
// for a good version.
func (m *Main) geoLocator() server.Locator {
	if m.Config.GeoIPDB == "" {
		return nil
	}
	m.geo = geoip.New(m.Config.GeoIPDB, m.Log)
	if m.geo.Loaded() {
		m.Log.Info("geoip database loaded", "path", m.Config.GeoIPDB)
	}
	return m.geo
}

func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now().UTC()
}

// Open connects to the database (retrying while it is unreachable, so a
// server started before its database comes up on its own), seeds the
// operator account, starts listening and starts the workers (see start).
func (m *Main) Open(ctx context.Context) error {
	var err error
	m.tracing, err = tracing.New(ctx, tracing.Config{
		Endpoint: m.Config.OTelEndpoint, SampleRatio: m.Config.OTelSampleRatio, Version: version(), Log: m.Log,
	})
	if err != nil {
		return err
	}
	if err := m.open(ctx); err != nil {
		m.tracing.Shutdown(context.Background()) //nolint:errcheck // nothing was traced yet worth keeping
		return err
	}
	return nil
}

func (m *Main) open(ctx context.Context) error {
	cfg := m.Config
	tp := m.tracing.TracerProvider()
	storeCfg := storeConfig(cfg)
	storeCfg.Tracer = tp
	var err error
	for attempt := 0; ; attempt++ {
		m.DB, err = sqlstore.Connect(ctx, storeCfg)
		if err == nil || !errors.Is(err, fault.ErrUnavailable) || attempt == 30 {
			break
		}
		m.Log.Warn("database unreachable; retrying", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	// Audit events are logged once committed, with the other lines.
	m.DB.SetAuditLog(m.Log)
	met, betEvents := m.newMetrics()
	if cfg.AdminUsername != "" {
		if err := ensureAdmin(ctx, m.DB, cfg, cfg.AdminUsername, cfg.AdminPassword, cfg.AdminUsername+"@localhost", cfg.AdminUsername); err != nil {
			return fmt.Errorf("seed operator: %w", err)
		}
	}
	sender, err := newMailer(cfg, m.Log)
	if err != nil {
		m.DB.Close()
		return fmt.Errorf("mail: %w", err)
	}
	key, err := codeKey(cfg)
	if err != nil {
		m.DB.Close()
		return fmt.Errorf("code key: %w", err)
	}
	sealer, err := loadSealer(cfg)
	if err != nil {
		m.DB.Close()
		return fmt.Errorf("secrets key: %w", err)
	}
	if cfg.SecretsKey == "" && cfg.DatabaseURL != "" {
		m.Log.Warn("partner secrets are sealed with a key generated in the data directory; set PB_SECRETS_KEY on every instance when several share the database", "file", secretsKeyFile(cfg))
	}
	if m.limiter, err = newAttemptLimiter(ctx, cfg, m.RedisPrefix, m.Log); err != nil {
		m.DB.Close()
		return err
	}
	trusted, _ := clientip.ParsePrefixes(cfg.TrustedProxies) // checked by config.Validate
	auth := account.NewAuth(m.DB, account.AuthConfig{
		SignupBonus: cfg.SignupBonus, SessionTTL: cfg.SessionTTL, Hash: hashParams(cfg), Limiter: m.limiter,
		Mailer: accountMailer{sender}, MailTimeout: cfg.MailTimeout, CodeKey: key, PublicURL: cfg.PublicURL,
		RequireEmailVerification: cfg.EmailVerificationRequired(),
	}, m.Log)
	// One chat for the API and the live endpoint; its bus is set once the
	// bus is made, before anything is served.
	chatSvc := &chat.Service{Store: m.DB, Limiter: m.limiter}
	opt := api.Options{
		Auth: auth, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), TrustedProxies: trusted,
		Programme: programmeRules(cfg), Secrets: sealer, Chat: chatSvc, Bets: betEvents,
	}
	if cfg.OIDCIssuer != "" {
		flow, err := oidc.New(oidc.Config{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: strings.TrimRight(cfg.PublicURL, "/") + "/api/v1/auth/oidc/callback"})
		if err != nil {
			m.limiter.Close()
			m.DB.Close()
			return fmt.Errorf("oidc: %w", err)
		}
		opt.OIDC = flow
	}
	a := api.New(m.DB, opt, m.Log)
	catalog, err := i18n.Load()
	if err != nil {
		m.limiter.Close()
		m.DB.Close()
		return err
	}
	siteOpt := web.Options{Auth: auth, Catalog: catalog, SecureCookies: opt.SecureCookies, Log: m.Log}
	siteOpt.Programme = opt.Programme
	siteOpt.Limits = betting.Limits{MinStake: cfg.MinStake, MaxStake: cfg.MaxStake, MaxPayout: cfg.MaxPayout, MaxLegs: cfg.MaxLegs}
	siteOpt.TrustedProxies = trusted
	if cfg.OIDCIssuer != "" {
		siteOpt.OIDCName = cmp.Or(cfg.OIDCName, "OpenID Connect")
	}
	site, err := web.New(m.DB, siteOpt)
	if err != nil {
		m.limiter.Close()
		m.DB.Close()
		return err
	}
	if m.feed, err = m.newFeed(); err != nil {
		m.limiter.Close()
		m.DB.Close()
		return fmt.Errorf("feed: %w", err)
	}
	busPrefix := ""
	if m.RedisPrefix != "" {
		busPrefix = m.RedisPrefix + "live:"
	}
	if m.bus, err = newLiveBus(cfg, busPrefix, m.Log, tp); err != nil {
		m.limiter.Close()
		m.DB.Close()
		return err
	}
	chatSvc.Bus = m.bus.bus
	// Settlement and credits hand their events on after commit, never
	// waiting on the bus.
	m.DB.SetAfterCommit(m.bus.relay.Send)
	ready := server.Readiness{DB: m.DB}
	var feedDetails func() map[string]any
	if m.feed != nil {
		ready.Warm, feedDetails = m.feed.warm.Load, m.feed.details
		m.feed.register(met)
	}
	ready.Details = func() map[string]any {
		d := map[string]any{}
		if feedDetails != nil {
			d = feedDetails()
		}
		d["rate_limiter"] = m.limiter.details()
		d["live_bus"] = m.bus.details()
		d["log_shipping"] = logShippingDetails(m.LogShip)
		return d
	}
	if m.LogShip != nil {
		registerLogShipping(met, m.LogShip)
	}
	m.limiter.register(met)
	m.bus.register(met)
	m.listener, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		m.bus.close()
		m.limiter.Close()
		m.DB.Close()
		return err
	}
	// The bus is Redis with PB_REDIS_URL, so events reach the sockets of
	// every instance; in process otherwise (newLiveBus).
	m.hub = ws.New(ws.Options{
		Bus: m.bus.bus, Presence: m.bus.presence, Matches: m.DB, Sessions: auth, Recheck: m.DB, Log: m.Log,
		Chat:           chatSvc,
		AllowedOrigins: cfg.Origins(), TrustedProxies: trusted,
	})
	met.Live(func() metrics.LiveStats {
		st := m.hub.Stats()
		return metrics.LiveStats{Connections: st.Connections, Overflows: st.Overflows, Delivered: st.Delivered, FramesIn: st.FramesIn, FramesOut: st.FramesOut}
	})
	m.server = &http.Server{
		// Each surface is traced inside the root handler's middleware (the
		// access log), which makes the request's metadata the spans read;
		// probes and /metrics are not traced.
		Handler: server.Handler(tracing.Handler(tp, server.API(a.Handler(), m.hub.Handler())), tracing.Handler(tp, site.Handler()), ready, met,
			&server.Access{Clients: clientip.New(trusted), Geo: m.geoLocator(), Probes: cfg.AccessLogProbes}, m.Log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// The server's own errors (TLS handshakes, bad requests) go to the
		// JSON log like everything else.
		ErrorLog:  slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
		ConnState: m.connState,
	}
	m.start(ctx)
	m.Log.Info("listening", "addr", m.listener.Addr().String(), "database", m.DB.Dialect())
	return nil
}

// start runs the background work as workers of one group, each after
// what it needs: the store's workers (the SQLite checkpointer, then the
// bet writers, which placement and SQLite's settlement wait for), the
// live bus (settlements, the feed and requests publish on it), the
// sweeper (it settles through the writers), the feed (its results start
// settlements), and HTTP last, once everything a request may need runs.
// Close stops them in the reverse order.
func (m *Main) start(ctx context.Context) {
	m.workers = &worker.Group{Log: m.Log}
	if m.LogShip != nil {
		m.workers.Start(ctx, m.LogShip)
	}
	m.workers.Start(ctx, m.DB.Workers()...)
	m.workers.Start(ctx, m.bus)
	if m.geo != nil {
		m.workers.Start(ctx, m.geo)
	}
	m.workers.Start(ctx, worker.Func("sweeper", m.sweep))
	if m.feed != nil {
		m.workers.Start(ctx, worker.Func("feed", func(ctx context.Context) error {
			m.feed.run(ctx, m)
			return nil
		}))
	}
	// The hub before HTTP: stopped after it, so no upgrade arrives once it
	// has told its clients to reconnect elsewhere.
	m.workers.Start(ctx, m.hub)
	m.workers.Start(ctx, httpWorker{m.server, m.listener})
}

// Failed receives a worker that ended before Close stopped it.
func (m *Main) Failed() <-chan *worker.ExitError { return m.workers.Failed() }

// Addr is the address the server listens on (useful with port 0).
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Close stops the workers in the reverse of their start order, all
// within PB_SHUTDOWN_TIMEOUT: HTTP first, finishing the requests in
// flight, then the feed and the sweeper, then the bet writers, which
// place what is queued, then the checkpointer; the database closes last,
// so nothing in flight loses its connection. Close may run more than
// once.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	err := m.workers.Stop(ctx)
	// The last requests' spans are queued by now; a collector that is
	// down loses them, which is no reason to fail the shutdown.
	if terr := m.tracing.Shutdown(ctx); terr != nil {
		m.Log.Warn("tracing: spans not exported at shutdown", "err", terr)
	}
	return errors.Join(err, m.limiter.Close(), m.DB.Close())
}

// version is the module version the binary was built from, for traces'
// service.version: "(devel)" in a source build.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}

// httpWorker serves the API until it is stopped.
type httpWorker struct {
	server   *http.Server
	listener net.Listener
}

func (h httpWorker) Name() string { return "http" }

func (h httpWorker) Run(ctx context.Context) error {
	if err := h.server.Serve(h.listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Stop stops accepting connections and waits for the requests in flight
// until ctx ends.
func (h httpWorker) Stop(ctx context.Context) error { return h.server.Shutdown(ctx) }

// sweep settles matches whose settlement was interrupted (at once, then
// every 30 s) and purges old idempotency keys and expired account
// records (hourly), until ctx ends.
func (m *Main) sweep(ctx context.Context) error {
	settle := time.NewTicker(30 * time.Second)
	purge := time.NewTicker(time.Hour)
	defer settle.Stop()
	defer purge.Stop()
	m.settlePending(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-settle.C:
			m.settlePending(ctx)
		case <-purge.C:
			if n, err := m.DB.PurgeIdempotencyKeys(ctx, 48*time.Hour); err != nil {
				m.Log.Warn("purge idempotency keys", "err", err)
			} else if n > 0 {
				m.Log.Info("purged idempotency keys", "count", n)
			}
			if n, err := m.DB.PurgeAccountRecords(ctx); err != nil {
				m.Log.Warn("purge expired sessions, codes and reset links", "err", err)
			} else if n > 0 {
				m.Log.Info("purged expired sessions, codes and reset links", "count", n)
			}
		}
	}
}

func (m *Main) settlePending(ctx context.Context) {
	if err := m.DB.SettlePending(ctx); err != nil && ctx.Err() == nil {
		m.Log.Warn("settle pending matches", "err", err)
	}
}

func healthcheck(addr string, stderr io.Writer) int {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "unhealthy: status", resp.StatusCode)
		return 1
	}
	return 0
}
