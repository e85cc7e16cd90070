// Package config is the one configuration struct of the binary: read from
// PB_* environment variables (with *_FILE variants for secrets), defaults
// that give a zero-setup laptop run, validated as a whole, and printable
// with secrets redacted.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/programme"
)

// Config is every setting of the binary. Each field's env tag names its
// variable; help is the description shown in the README table; secret
// fields are redacted when printed and may also be read from the file
// named by <VAR>_FILE.
type Config struct {
	HTTPAddr        string        `env:"PB_HTTP_ADDR" help:"Listen address of the HTTP server."`
	PublicURL       string        `env:"PB_PUBLIC_URL" help:"Public base URL; an https URL makes session cookies Secure."`
	ShutdownTimeout time.Duration `env:"PB_SHUTDOWN_TIMEOUT" help:"How long a graceful shutdown waits for requests in flight."`
	LogLevel        string        `env:"PB_LOG_LEVEL" help:"debug, info, warn or error."`
	AccessLogProbes bool          `env:"PB_ACCESS_LOG_PROBES" help:"true: the access log also has the health probes (/healthz, /readyz) and /metrics, which load balancers and Prometheus call every few seconds."`
	GeoIPDB         string        `env:"PB_GEOIP_DB" help:"Path of a MaxMind-format city database (GeoLite2-City or compatible) that places clients in the access log and audit events (client.geo.*); reread within a minute of the file changing. A missing or corrupt file is logged and the server runs without places. Empty: no places."`

	DataDir            string `env:"PB_DATA_DIR" help:"Directory of the SQLite database (and other local files)."`
	DatabaseURL        string `env:"PB_DATABASE_URL" secret:"url" help:"postgres://… for PostgreSQL; empty for SQLite at PB_DATA_DIR/pointsbook.db."`
	DatabaseReplicaURL string `env:"PB_DATABASE_REPLICA_URL" secret:"url" help:"Optional PostgreSQL read replica for catalogue, history and leaderboard reads."`
	DatabaseMaxConns   int    `env:"PB_DATABASE_MAX_CONNS" help:"Connection pool size."`

	GroupCommitMax  int           `env:"PB_GROUP_COMMIT_MAX" help:"Most bet placements that share one commit."`
	GroupCommitWait time.Duration `env:"PB_GROUP_COMMIT_WAIT" help:"How long a placement waits for others to share its commit (0: share only what is already queued)."`
	Writers         int           `env:"PB_DATABASE_WRITERS" help:"Placement batches committing at once on PostgreSQL (SQLite always has one writer); each player's bets go to one of them."`
	SettleWorkers   int           `env:"PB_SETTLE_WORKERS" help:"Settlement batches of one match written at once on PostgreSQL (SQLite: one)."`
	HouseShards     int           `env:"PB_HOUSE_SHARDS" help:"Rows the house balance is spread over, so concurrent stakes do not queue on one row."`
	ListCacheTTL    time.Duration `env:"PB_LIST_CACHE_TTL" help:"How long a day's match list and sport counts are reused across requests (this instance's own catalogue writes refresh them at once; 0: read every time)."`

	MinStake    int64 `env:"PB_BET_MIN_STAKE" help:"Smallest stake, in points."`
	MaxStake    int64 `env:"PB_BET_MAX_STAKE" help:"Largest stake, in points."`
	MaxPayout   int64 `env:"PB_BET_MAX_PAYOUT" help:"Largest payout of one bet, in points."`
	MaxLegs     int   `env:"PB_BET_MAX_LEGS" help:"Most legs in an accumulator (2 to 10)."`
	DailyCap    int64 `env:"PB_DAILY_STAKE_CAP" help:"Most points one player may stake in a calendar day of their time zone (0: no cap); players can set lower limits of their own."`
	SignupBonus int64 `env:"PB_SIGNUP_BONUS" help:"Points credited once to every new player."`

	TopupTarget   int64         `env:"PB_TOPUP_TARGET" help:"A top-up refills a balance below this to this many points (debts included)."`
	TopupInterval time.Duration `env:"PB_TOPUP_INTERVAL" help:"Least time between two top-ups of one player."`
	CheckinBase   int64         `env:"PB_CHECKIN_BASE" help:"Daily check-in bonus on the first day of a streak, in points."`
	CheckinStep   int64         `env:"PB_CHECKIN_STEP" help:"Points added to the check-in bonus per consecutive day, up to PB_CHECKIN_CAP_DAY."`
	CheckinCapDay int           `env:"PB_CHECKIN_CAP_DAY" help:"Streak day from which the check-in bonus stops growing."`
	GrantMax      int64         `env:"PB_GRANT_MAX" help:"Largest operator grant (POST /api/v1/admin/grants), in points."`
	SecretsKey    string        `env:"PB_SECRETS_KEY" secret:"true" help:"32-byte key (64 hex digits or base64) sealing partner secrets; empty: a key generated once into PB_DATA_DIR/secrets.key."`

	SessionTTL    time.Duration `env:"PB_SESSION_TTL" help:"Lifetime of a login session."`
	Argon2Memory  uint32        `env:"PB_ARGON2_MEMORY_KIB" help:"argon2id memory per password hash, in KiB."`
	Argon2Time    uint32        `env:"PB_ARGON2_TIME" help:"argon2id passes."`
	Argon2Threads uint8         `env:"PB_ARGON2_THREADS" help:"argon2id lanes."`

	RequireEmailVerification string        `env:"PB_REQUIRE_EMAIL_VERIFICATION" help:"true: an account whose e-mail address is unverified cannot log in; false: verification is offered but optional; empty: true exactly when PB_SMTP_URL is set."`
	CodeKey                  string        `env:"PB_CODE_KEY" secret:"true" help:"Key (at least 32 characters) of the HMAC under which e-mail codes are stored; empty: a random key kept in PB_DATA_DIR/code.key. Set it when several instances share a database."`
	SMTPURL                  string        `env:"PB_SMTP_URL" secret:"url" help:"smtp://user:pass@host:587?tls=starttls|implicit|none (smtps:// means implicit TLS); empty: mail is written as .eml files to PB_DATA_DIR/outbox/."`
	MailFrom                 string        `env:"PB_MAIL_FROM" help:"From address of the mail we send (codes, reset links)."`
	MailTimeout              time.Duration `env:"PB_MAIL_TIMEOUT" help:"Longest a request waits for a message to be handed over; a failed send is logged (without its code or link) and the player can ask again."`

	Feed               string        `env:"PB_FEED" help:"Sports data: simulator (fictional leagues, no network), apisports, or none (operators enter matches)."`
	FeedInterval       time.Duration `env:"PB_FEED_INTERVAL" help:"How often the feed is polled (API-Sports also plans within its daily budget)."`
	SimSpeed           float64       `env:"PB_SIM_SPEED" help:"Simulator time factor: 60 plays a football match in under two minutes."`
	SimSeed            int64         `env:"PB_SIM_SEED" help:"Simulator seed: the same seed gives the same leagues, teams and results."`
	OddsMargin         float64       `env:"PB_ODDS_MARGIN" help:"Bookmaker margin of the odds model, as a fraction (0.05 = 5%)."`
	OddsFallback       string        `env:"PB_ODDS_FALLBACK" help:"model: price provider matches without bookmaker odds with our model; none: leave them unbettable."`
	PostponedVoidAfter time.Duration `env:"PB_POSTPONED_VOID_AFTER" help:"A postponed match not played within this time of its original kick-off is voided."`
	APISportsKey       string        `env:"PB_APISPORTS_KEY" secret:"true" help:"API-Sports key (PB_FEED=apisports)."`
	APISportsBudget    int           `env:"PB_APISPORTS_DAILY_BUDGET" help:"API-Sports requests per sport per day (100 on the free plan)."`

	OIDCIssuer       string `env:"PB_OIDC_ISSUER" help:"OpenID Connect issuer URL (exactly the iss of its tokens) for sign-in with Cognito, Keycloak, Google…; set with the client id and secret, or leave all three empty."`
	OIDCClientID     string `env:"PB_OIDC_CLIENT_ID" help:"Client id registered at the OIDC issuer; register PB_PUBLIC_URL/api/v1/auth/oidc/callback as its redirect URI."`
	OIDCName         string `env:"PB_OIDC_NAME" help:"What the site's \"sign in with …\" button names the OIDC issuer (e.g. Google); default \"OpenID Connect\"."`
	OIDCClientSecret string `env:"PB_OIDC_CLIENT_SECRET" secret:"true" help:"Client secret at the OIDC issuer (also keys the sign-in state cookie's HMAC)."`

	AdminUsername string `env:"PB_ADMIN_USERNAME" help:"Creates (or resets) this operator account at start when set with PB_ADMIN_PASSWORD."`
	AdminPassword string `env:"PB_ADMIN_PASSWORD" secret:"true" help:"Password of PB_ADMIN_USERNAME."`

	RedisURL        string  `env:"PB_REDIS_URL" secret:"url" help:"redis:// or rediss:// URL of the Redis that instances share: login and code-entry limits, real-time events and room presence; redis+cluster://host:port?addr=host:port&addr=… (or rediss+cluster://) for a Redis Cluster, with sharded pub/sub. Empty: each instance counts alone and real-time events stay in the instance."`
	TrustedProxies  string  `env:"PB_TRUSTED_PROXIES" help:"Comma-separated CIDR prefixes of the reverse proxies whose X-Forwarded-For names the client (empty: trust none)."`
	OTelEndpoint    string  `env:"PB_OTEL_ENDPOINT" help:"OTLP/HTTP base URL of an OpenTelemetry collector (http://collector:4318; spans go to /v1/traces): HTTP requests, bet placement's store call and commit, and live-bus publishes are traced. Empty: tracing off, at no cost."`
	OTelSampleRatio float64 `env:"PB_OTEL_SAMPLE_RATIO" help:"Fraction of new traces kept (0 to 1) when PB_OTEL_ENDPOINT is set; a request from a trusted proxy with a traceparent follows its caller's decision."`
	AllowedOrigins  string  `env:"PB_ALLOWED_ORIGINS" help:"Comma-separated origins (https://host[:port]) whose pages may open the live WebSocket besides the site's own host (empty: same origin only)."`

	MetricsToken string `env:"PB_METRICS_TOKEN" secret:"true" help:"Bearer token a scrape of /metrics must present (Authorization: Bearer <token>); empty: /metrics is open to whoever reaches the port."`

	OpenSearchURL       string        `env:"PB_OPENSEARCH_URL" secret:"url" help:"http(s)://[user:password@]host[:port] of the OpenSearch (or Elasticsearch) cluster the log is also shipped to, into daily indices pointsbook-access-*, -audit-*, -app-* (docs/operations.md, Log shipping); empty: the log goes to stdout only."`
	OpenSearchUsername  string        `env:"PB_OPENSEARCH_USERNAME" file:"true" help:"User for basic authentication to PB_OPENSEARCH_URL (instead of one in the URL); PB_OPENSEARCH_USERNAME_FILE reads it from a file."`
	OpenSearchPassword  string        `env:"PB_OPENSEARCH_PASSWORD" secret:"true" help:"Password of PB_OPENSEARCH_USERNAME."`
	OpenSearchAPIKey    string        `env:"PB_OPENSEARCH_API_KEY" secret:"true" help:"API key sent as \"Authorization: ApiKey …\" instead of a user and password."`
	OpenSearchCAFile    string        `env:"PB_OPENSEARCH_CA_FILE" help:"PEM file of a CA trusted, besides the system's, for the cluster's certificate."`
	OpenSearchRetention time.Duration `env:"PB_OPENSEARCH_RETENTION" help:"Log indices older than this are deleted by the ISM policy the binary installs (whole days are written as days: 720h is 30d)."`
	OpenSearchSetup     bool          `env:"PB_OPENSEARCH_SETUP" help:"Install the index templates and the ISM retention policy at start, retrying in the background; false where the binary's user may only write documents."`
}

// Default returns the configuration of a fresh laptop run.
func Default() Config {
	return Config{
		HTTPAddr:           ":8080",
		PublicURL:          "http://localhost:8080",
		ShutdownTimeout:    15 * time.Second,
		LogLevel:           "info",
		DataDir:            "./data",
		DatabaseMaxConns:   16,
		GroupCommitMax:     256,
		Writers:            2,
		SettleWorkers:      4,
		HouseShards:        16,
		ListCacheTTL:       time.Second,
		MinStake:           100,
		MaxStake:           50_000,
		MaxPayout:          1_000_000,
		MaxLegs:            10,
		DailyCap:           200_000,
		SignupBonus:        50_000,
		TopupTarget:        50_000,
		TopupInterval:      24 * time.Hour,
		CheckinBase:        500,
		CheckinStep:        250,
		CheckinCapDay:      7,
		GrantMax:           1_000_000,
		Feed:               "simulator",
		FeedInterval:       10 * time.Second,
		SimSpeed:           1,
		SimSeed:            1,
		OddsMargin:         0.05,
		OddsFallback:       "model",
		PostponedVoidAfter: 48 * time.Hour,
		APISportsBudget:    100,
		SessionTTL:         30 * 24 * time.Hour,
		Argon2Memory:       19 * 1024,
		Argon2Time:         2,
		Argon2Threads:      1,
		// Loopback only: a proxy on the same host (nginx, a dev proxy)
		// works out of the box, and nothing outside the host can connect
		// from a loopback address to forge X-Forwarded-For.
		TrustedProxies:  "127.0.0.0/8,::1/128",
		MailFrom:        "Pointsbook <no-reply@localhost>",
		MailTimeout:     10 * time.Second,
		OTelSampleRatio: 1,

		OpenSearchRetention: 30 * 24 * time.Hour,
		OpenSearchSetup:     true,
	}
}

// Load reads the environment over the defaults.
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	var errs []error
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("env")
		raw, ok := lookup(name)
		if f.Tag.Get("secret") != "" || f.Tag.Get("file") != "" {
			if path, fok := lookup(name + "_FILE"); fok && path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
					continue
				}
				raw, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if !ok {
			continue
		}
		if err := set(v.Field(i), raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func set(f reflect.Value, raw string) error {
	raw = strings.TrimSpace(raw)
	switch f.Kind() {
	case reflect.String:
		f.SetString(raw)
	case reflect.Bool:
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("not true or false: %q", raw)
		}
		f.SetBool(v)
	case reflect.Int, reflect.Int64:
		if f.Type() == reflect.TypeOf(time.Duration(0)) {
			d, err := time.ParseDuration(raw)
			if err != nil {
				return fmt.Errorf("not a duration like 15s or 1h: %q", raw)
			}
			f.SetInt(int64(d))
			return nil
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", raw)
		}
		f.SetInt(n)
	case reflect.Float64:
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", raw)
		}
		f.SetFloat(v)
	case reflect.Uint8, reflect.Uint32:
		n, err := strconv.ParseUint(raw, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("not a whole number in range: %q", raw)
		}
		f.SetUint(n)
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// redisSchemes are PB_REDIS_URL's schemes: one Redis, or a Redis Cluster
// (each plain or TLS).
var redisSchemes = map[string]bool{"redis": true, "rediss": true, "redis+cluster": true, "rediss+cluster": true}

// Validate checks the configuration as a whole.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("PB_HTTP_ADDR %q is not host:port", c.HTTPAddr)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("PB_PUBLIC_URL must be an http or https URL")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("PB_LOG_LEVEL must be debug, info, warn or error")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("PB_DATABASE_URL must be a postgres:// URL (leave it empty for SQLite)")
	}
	if c.DatabaseReplicaURL != "" && c.DatabaseURL == "" {
		bad("PB_DATABASE_REPLICA_URL needs PB_DATABASE_URL (a replica is a PostgreSQL feature)")
	}
	if c.DatabaseReplicaURL != "" && !strings.HasPrefix(c.DatabaseReplicaURL, "postgres") {
		bad("PB_DATABASE_REPLICA_URL must be a postgres:// URL")
	}
	if c.DatabaseMaxConns < 1 || c.DatabaseMaxConns > 1000 {
		bad("PB_DATABASE_MAX_CONNS must be 1 to 1000")
	}
	if c.GroupCommitMax < 1 || c.GroupCommitMax > 2000 {
		bad("PB_GROUP_COMMIT_MAX must be 1 to 2000")
	}
	if c.GroupCommitWait < 0 || c.GroupCommitWait > 50*time.Millisecond {
		bad("PB_GROUP_COMMIT_WAIT must be 0 to 50ms")
	}
	if c.ListCacheTTL < 0 || c.ListCacheTTL > time.Minute {
		bad("PB_LIST_CACHE_TTL must be 0 to 1m")
	}
	if c.Writers < 1 || c.Writers > 64 {
		bad("PB_DATABASE_WRITERS must be 1 to 64")
	}
	if c.SettleWorkers < 1 || c.SettleWorkers > 64 {
		bad("PB_SETTLE_WORKERS must be 1 to 64")
	}
	if c.HouseShards < 1 || c.HouseShards > 256 {
		bad("PB_HOUSE_SHARDS must be 1 to 256")
	}
	if c.MinStake < 1 || c.MaxStake < c.MinStake {
		bad("PB_BET_MIN_STAKE must be at least 1 and at most PB_BET_MAX_STAKE")
	}
	if c.MaxPayout < c.MaxStake || c.MaxPayout > 1<<40 {
		bad("PB_BET_MAX_PAYOUT must be at least PB_BET_MAX_STAKE")
	}
	if c.MaxLegs < 2 || c.MaxLegs > 10 {
		bad("PB_BET_MAX_LEGS must be 2 to 10")
	}
	if c.DailyCap != 0 && (c.DailyCap < c.MinStake || c.DailyCap > 1<<40) {
		bad("PB_DAILY_STAKE_CAP must be 0 (no cap) or at least PB_BET_MIN_STAKE")
	}
	if c.SignupBonus < 0 || c.SignupBonus > 1<<40 {
		bad("PB_SIGNUP_BONUS must not be negative")
	}
	if c.TopupTarget < 1 || c.TopupTarget > 1<<40 {
		bad("PB_TOPUP_TARGET must be 1 to %d", int64(1<<40))
	}
	if c.TopupInterval < time.Minute {
		bad("PB_TOPUP_INTERVAL must be at least 1m")
	}
	if c.CheckinCapDay < 1 || c.CheckinCapDay > 366 {
		bad("PB_CHECKIN_CAP_DAY must be 1 to 366")
	} else if c.CheckinBase < 1 || c.CheckinStep < 0 || c.CheckinBase+c.CheckinStep*int64(c.CheckinCapDay-1) > 1<<30 {
		bad("PB_CHECKIN_BASE must be at least 1, PB_CHECKIN_STEP not negative, and the bonus of day PB_CHECKIN_CAP_DAY at most %d", 1<<30)
	}
	if c.GrantMax < 1 || c.GrantMax > 1<<40 {
		bad("PB_GRANT_MAX must be 1 to %d", int64(1<<40))
	}
	if c.SecretsKey != "" {
		if _, err := programme.ParseKey(c.SecretsKey); err != nil {
			bad("PB_SECRETS_KEY: %v", err)
		}
	}
	if c.SessionTTL < time.Minute {
		bad("PB_SESSION_TTL must be at least 1m")
	}
	if c.Argon2Memory < 1024 || c.Argon2Time < 1 || c.Argon2Threads < 1 {
		bad("argon2id parameters must be at least 1024 KiB, 1 pass, 1 lane")
	}
	switch c.Feed {
	case "simulator", "none":
	case "apisports":
		if c.APISportsKey == "" {
			bad("PB_FEED=apisports needs PB_APISPORTS_KEY")
		}
	default:
		bad("PB_FEED must be simulator, apisports or none")
	}
	if c.FeedInterval < time.Second || c.FeedInterval > time.Hour {
		bad("PB_FEED_INTERVAL must be 1s to 1h")
	}
	if !(c.SimSpeed >= 1 && c.SimSpeed <= 3600) {
		bad("PB_SIM_SPEED must be 1 to 3600")
	}
	if !(c.OddsMargin >= 0 && c.OddsMargin <= 0.3) {
		bad("PB_ODDS_MARGIN must be a fraction from 0 to 0.3 (0.05 = 5%%)")
	}
	if c.OddsFallback != "model" && c.OddsFallback != "none" {
		bad("PB_ODDS_FALLBACK must be model or none")
	}
	if c.PostponedVoidAfter < time.Hour {
		bad("PB_POSTPONED_VOID_AFTER must be at least 1h")
	}
	if c.APISportsBudget < 10 || c.APISportsBudget > 1_000_000 {
		bad("PB_APISPORTS_DAILY_BUDGET must be 10 to 1000000")
	}
	if n := countSet(c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret); n != 0 && n != 3 {
		bad("PB_OIDC_ISSUER, PB_OIDC_CLIENT_ID and PB_OIDC_CLIENT_SECRET go together: set all three or none")
	}
	if c.OIDCIssuer != "" && !issuerURL(c.OIDCIssuer) {
		bad("PB_OIDC_ISSUER must be an https URL without query or fragment (http only for localhost)")
	}
	if (c.AdminUsername == "") != (c.AdminPassword == "") {
		bad("PB_ADMIN_USERNAME and PB_ADMIN_PASSWORD go together")
	}
	if c.AdminPassword != "" && len(c.AdminPassword) < 10 {
		bad("PB_ADMIN_PASSWORD needs at least 10 characters")
	}
	if c.OTelEndpoint != "" {
		if u, err := url.Parse(c.OTelEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			bad("PB_OTEL_ENDPOINT must be an http or https URL without credentials, query or fragment (http://collector:4318)")
		}
	}
	if !(c.OTelSampleRatio >= 0 && c.OTelSampleRatio <= 1) {
		bad("PB_OTEL_SAMPLE_RATIO must be 0 to 1")
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || !redisSchemes[u.Scheme] || u.Host == "" {
			bad("PB_REDIS_URL must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL")
		}
	}
	if _, err := clientip.ParsePrefixes(c.TrustedProxies); err != nil {
		bad("PB_TRUSTED_PROXIES: %v", err)
	}
	for _, o := range c.Origins() {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad("PB_ALLOWED_ORIGINS: %q is not an origin (https://host[:port])", o)
		}
	}
	switch c.RequireEmailVerification {
	case "", "true", "false":
	default:
		bad("PB_REQUIRE_EMAIL_VERIFICATION must be true, false or empty")
	}
	if c.CodeKey != "" && len(c.CodeKey) < 32 {
		bad("PB_CODE_KEY needs at least 32 characters")
	}
	if c.SMTPURL != "" {
		// The full parse (TLS mode, port) happens when the sender is made;
		// errors here must not echo the URL, which holds a password.
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("PB_SMTP_URL must look like smtp://user:pass@host:587?tls=starttls")
		}
	}
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || !strings.Contains(a.Address, "@") {
		bad("PB_MAIL_FROM must be an address like Pointsbook <no-reply@example.com>")
	}
	if c.MailTimeout < time.Second || c.MailTimeout > time.Minute {
		bad("PB_MAIL_TIMEOUT must be 1s to 1m")
	}
	if c.OpenSearchURL != "" {
		// Never echo the URL: it may hold a password.
		if u, err := url.Parse(c.OpenSearchURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("PB_OPENSEARCH_URL must be an http or https URL like https://user:password@search.example.com:443")
		}
	} else if c.OpenSearchUsername != "" || c.OpenSearchPassword != "" || c.OpenSearchAPIKey != "" || c.OpenSearchCAFile != "" {
		bad("PB_OPENSEARCH_USERNAME, _PASSWORD, _API_KEY and _CA_FILE need PB_OPENSEARCH_URL")
	}
	if (c.OpenSearchUsername == "") != (c.OpenSearchPassword == "") {
		bad("PB_OPENSEARCH_USERNAME and PB_OPENSEARCH_PASSWORD go together")
	}
	if c.OpenSearchAPIKey != "" && c.OpenSearchUsername != "" {
		bad("set PB_OPENSEARCH_API_KEY or PB_OPENSEARCH_USERNAME and PB_OPENSEARCH_PASSWORD, not both")
	}
	if c.OpenSearchRetention < time.Hour || c.OpenSearchRetention > 10*366*24*time.Hour {
		bad("PB_OPENSEARCH_RETENTION must be 1h to 87840h (ten years), e.g. 720h for 30 days")
	}
	if c.ShutdownTimeout <= 0 {
		bad("PB_SHUTDOWN_TIMEOUT must be positive")
	}
	return errors.Join(errs...)
}

func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}

// issuerURL accepts what OIDC Discovery allows as an issuer: https, no
// query or fragment. Plain http is allowed for a loopback issuer only
// (development and tests), since tokens fetched over it could be forged.
func issuerURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
	}
	return false
}

// EmailVerificationRequired says whether an unverified address blocks
// login: as configured, or by default only when real mail goes out (an
// install writing mail to the outbox must work without reading it).
func (c Config) EmailVerificationRequired() bool {
	if c.RequireEmailVerification == "" {
		return c.SMTPURL != ""
	}
	return c.RequireEmailVerification == "true"
}

// String lists every setting, one per line, with secrets redacted: a URL
// keeps everything but its password, any other secret shows only whether
// it is set.
func (c Config) String() string {
	var b strings.Builder
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		fmt.Fprintf(&b, "%s=%s\n", f.Tag.Get("env"), display(f, v.Field(i)))
	}
	return b.String()
}

func display(f reflect.StructField, v reflect.Value) string {
	s := fmt.Sprint(v.Interface())
	switch f.Tag.Get("secret") {
	case "":
		return s
	case "url":
		return RedactURL(s)
	default:
		if s == "" {
			return ""
		}
		return "[redacted]"
	}
}

// RedactURL hides the password of a URL (and the whole value when it
// does not parse, since it may still hold one).
func RedactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "[redacted]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Setting describes one variable for documentation.
type Setting struct {
	Env, Default, Help string
	Secret             bool
}

// Settings lists every variable with its default, for the README table.
func Settings() []Setting {
	d := reflect.ValueOf(Default())
	var out []Setting
	for i := 0; i < d.NumField(); i++ {
		f := d.Type().Field(i)
		out = append(out, Setting{Env: f.Tag.Get("env"), Default: fmt.Sprint(d.Field(i).Interface()), Help: f.Tag.Get("help"), Secret: f.Tag.Get("secret") != ""})
	}
	return out
}

// Origins lists PB_ALLOWED_ORIGINS.
func (c Config) Origins() []string {
	var out []string
	for _, o := range strings.Split(c.AllowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
