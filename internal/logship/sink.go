// Package logship ships the process log to OpenSearch (or Elasticsearch):
// every JSON line the process logs is also a document, routed by
// event.dataset to the daily index pointsbook-access-YYYY.MM.DD,
// pointsbook-audit-… or pointsbook-app-…, sent in batches by the official
// client's bulk indexer. Logging never waits for OpenSearch: a bounded
// buffer takes each document or drops it, and every document ends
// counted as shipped, failed (refused by the cluster or lost with a
// request that kept failing) or dropped (no room, or still buffered when
// the shutdown deadline passed). On start it installs the index templates
// (templates/*.json) and an ISM retention policy.
package logship

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/opensearchutil"
)

// Config is the sink's connection and its bounds. Zero values take the
// defaults noted.
type Config struct {
	// URL is http(s)://[user:password@]host[:port][/path]; credentials in
	// it are used when Username is empty (the Terraform modules write
	// them there).
	URL                string
	Username, Password string
	// APIKey, when set, is sent as "Authorization: ApiKey <key>" instead
	// of basic authentication.
	APIKey string
	// CACert is PEM certificates trusted besides the system's (a private
	// cluster's CA).
	CACert []byte
	// Retention is how long an index is kept by the ISM policy (30 days).
	Retention time.Duration
	// Setup installs the index templates and the ISM policy on start.
	Setup bool

	QueueEvents   int           // documents buffered at most (16384)
	QueueBytes    int64         // bytes buffered at most (32 MiB)
	MaxDocBytes   int           // a longer line is dropped (1 MiB)
	FlushBytes    int           // a batch is sent at this size (5 MB)
	FlushInterval time.Duration // or after this long (2 s)
	Workers       int           // batches in flight at once (2)
	// RequestTimeout bounds one attempt's wait for response headers
	// (10 s); FlushTimeout bounds a whole batch, retries and reading the
	// answer included (30 s), so a stalled cluster frees the sender.
	RequestTimeout time.Duration
	FlushTimeout   time.Duration
	// MaxRetries is the client's retries of a request answered 429 or
	// 5xx, or cut off (3), after RetryBackoff (exponential from 250 ms,
	// jittered, at most 10 s).
	MaxRetries   int
	RetryBackoff func(attempt int) time.Duration
	// ItemRetries is how many more batches a document refused with 429
	// or 5xx, or lost with its request, rides in (2).
	ItemRetries int
	// ReportInterval is how often refusals and drops are logged (10 s).
	ReportInterval time.Duration
	// SetupRetry is the first wait before installing again after a
	// failure (5 s, doubling to 5 min).
	SetupRetry time.Duration

	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.QueueEvents, 16384)
	if c.QueueBytes <= 0 {
		c.QueueBytes = 32 << 20
	}
	def(&c.MaxDocBytes, 1<<20)
	def(&c.FlushBytes, 5_000_000)
	def(&c.Workers, 2)
	def(&c.MaxRetries, 3)
	if c.ItemRetries == 0 {
		c.ItemRetries = 2
	}
	defd(&c.Retention, 30*24*time.Hour)
	defd(&c.FlushInterval, 2*time.Second)
	defd(&c.RequestTimeout, 10*time.Second)
	defd(&c.FlushTimeout, 30*time.Second)
	defd(&c.ReportInterval, 10*time.Second)
	defd(&c.SetupRetry, 5*time.Second)
	if c.RetryBackoff == nil {
		c.RetryBackoff = backoff
	}
}

// backoff is exponential from 250 ms with full jitter, at most 10 s.
func backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt, 6)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// Sink buffers documents and ships them. Make it with New, hand it to
// NewHandler, run it as a worker (Run, Stop).
type Sink struct {
	cfg    Config
	client *opensearchapi.Client
	log    atomic.Pointer[slog.Logger]

	ch          chan *doc
	queuedBytes atomic.Int64
	stopping    atomic.Bool // no more retries: the last batches are going
	stopped     atomic.Bool // Offer drops: the sink has shut down

	counts  [numKinds]counters
	retries atomic.Uint64

	// acct guards inflight and closed: a document given to the indexer is
	// settled once, by its callback or, when the shutdown deadline cut
	// the indexer off, by the final reconciliation as dropped.
	acct     sync.Mutex
	inflight [numKinds]int64
	closed   bool

	names atomic.Pointer[dayNames]

	mu        sync.Mutex
	lastErr   string
	lastErrAt time.Time
	refused   map[string]int // "index status type" → count since the last report
	setup     string         // pending, done, failing, off
	failAt    atomic.Int64   // unix ns of the last failed request
	okAt      atomic.Int64   // unix ns of the last shipped document
	reported  [numKinds]uint64

	bi       opensearchutil.BulkIndexer
	biCancel context.CancelFunc
	// addCtx is the main loop's wait for room in the indexer: Stop
	// cancels it so a stalled cluster cannot keep Run from stopping.
	addCtx    context.Context
	cancelAdd context.CancelFunc
	stopReq   chan context.Context
	done      chan struct{}
	running   atomic.Bool
}

type counters struct {
	sent, shipped, failed, dropped atomic.Uint64
}

type dayNames struct {
	day   [10]byte
	names [numKinds]string
}

// doc is one document: its bytes and where it goes. It is the bulk
// item's body, so the callbacks find it again.
type doc struct {
	bytes.Reader
	b     []byte
	kind  Kind
	tries int
	index string
}

// New checks the configuration and makes the client; nothing is sent
// until Run.
func New(cfg Config) (*Sink, error) {
	cfg.defaults()
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the OpenSearch URL must be an http or https URL")
	}
	if cfg.Username == "" && u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	u.User = nil // credentials travel in the header, never in a URL an error may print
	header := http.Header{}
	if cfg.APIKey != "" {
		header.Set("Authorization", "ApiKey "+cfg.APIKey)
		cfg.Username, cfg.Password = "", ""
	}
	tr := cfg.Transport
	if tr == nil {
		t, err := transport(cfg)
		if err != nil {
			return nil, err
		}
		tr = t
	}
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{
		Addresses: []string{u.String()},
		Username:  cfg.Username, Password: cfg.Password,
		Header:         header,
		Transport:      tr,
		RetryOnStatus:  []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		MaxRetries:     cfg.MaxRetries,
		RetryBackoff:   cfg.RetryBackoff,
		RequestTimeout: cfg.RequestTimeout,
		// One address, used as given (a managed domain's endpoint or a load
		// balancer): no node discovery, no health-check traffic.
		DiscoverNodesOnStart:  new(false),
		HealthCheckMaxRetries: -1,
		MaxRetryClusterHealth: -1,
	}})
	if err != nil {
		return nil, fmt.Errorf("opensearch client: %w", err)
	}
	s := &Sink{
		cfg: cfg, client: client,
		ch:      make(chan *doc, cfg.QueueEvents),
		refused: map[string]int{},
		setup:   "pending",
		stopReq: make(chan context.Context, 1),
		done:    make(chan struct{}),
	}
	s.addCtx, s.cancelAdd = context.WithCancel(context.Background())
	if !cfg.Setup {
		s.setup = "off"
	}
	return s, nil
}

func transport(cfg Config) (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cfg.CACert) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(cfg.CACert) {
			return nil, errors.New("the OpenSearch CA file holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		MaxIdleConnsPerHost:   cfg.Workers + 2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}, nil
}

// SetLogger sets where the sink reports refusals, drops and setup
// (normally the process log the sink itself tees: each report is
// rate-limited, so shipping them cannot feed on itself).
func (s *Sink) SetLogger(l *slog.Logger) { s.log.Store(l) }

func (s *Sink) logger() *slog.Logger {
	if l := s.log.Load(); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Offer buffers one JSON line as a document, or drops it when the buffer
// is full; it never blocks. The line is copied.
func (s *Sink) Offer(p []byte) {
	line := bytes.TrimRight(p, "\r\n")
	k, day := route(line)
	c := &s.counts[k]
	c.sent.Add(1)
	if s.stopped.Load() || len(line) == 0 || len(line) > s.cfg.MaxDocBytes || len(s.ch) == cap(s.ch) {
		c.dropped.Add(1)
		return
	}
	n := int64(len(line))
	if s.queuedBytes.Add(n) > s.cfg.QueueBytes {
		s.queuedBytes.Add(-n)
		c.dropped.Add(1)
		return
	}
	d := &doc{b: bytes.Clone(line), kind: k, index: s.indexName(k, day)}
	select {
	case s.ch <- d:
	default:
		s.queuedBytes.Add(-n)
		c.dropped.Add(1)
	}
}

// indexName is pointsbook-<kind>-YYYY.MM.DD of the document's day (today
// in UTC when the line has no readable @timestamp).
func (s *Sink) indexName(k Kind, day []byte) string {
	if day == nil {
		day = time.Now().UTC().AppendFormat(make([]byte, 0, 10), time.DateOnly)
	}
	if p := s.names.Load(); p != nil && bytes.Equal(p.day[:], day) {
		return p.names[k]
	}
	p := &dayNames{}
	copy(p.day[:], day)
	dotted := strings.ReplaceAll(string(day), "-", ".")
	for i := range p.names {
		p.names[i] = "pointsbook-" + kindNames[i] + "-" + dotted
	}
	s.names.Store(p)
	return p.names[k]
}

// Name is the worker's name.
func (s *Sink) Name() string { return "log-shipper" }

// Run installs the templates in the background (when Setup) and hands
// buffered documents to the bulk indexer until Stop.
func (s *Sink) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("log shipper already ran")
	}
	biCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.biCancel = cancel
	bi, err := opensearchutil.NewBulkIndexer(opensearchutil.BulkIndexerConfig{
		Client:        s.client,
		NumWorkers:    s.cfg.Workers,
		FlushBytes:    s.cfg.FlushBytes,
		FlushInterval: s.cfg.FlushInterval,
		Context:       biCtx,
		OnError:       s.onError,
		OnFlushStart: func(ctx context.Context) context.Context {
			ctx, cancel := context.WithTimeout(ctx, s.cfg.FlushTimeout)
			return context.WithValue(ctx, flushCancelKey{}, cancel)
		},
		OnFlushEnd: func(ctx context.Context) {
			if cancel, ok := ctx.Value(flushCancelKey{}).(context.CancelFunc); ok {
				cancel()
			}
		},
	})
	if err != nil {
		cancel()
		close(s.done)
		return err
	}
	s.bi = bi
	setupCtx, stopSetup := context.WithCancel(ctx)
	var setupDone sync.WaitGroup
	if s.cfg.Setup {
		setupDone.Go(func() { s.setupLoop(setupCtx) })
	}
	report := time.NewTicker(s.cfg.ReportInterval)
	defer report.Stop()
	for {
		select {
		case d := <-s.ch:
			s.queuedBytes.Add(-int64(len(d.b)))
			if !s.add(s.addCtx, d) && !s.putBack(d) {
				s.counts[d.kind].dropped.Add(1)
			}
		case <-report.C:
			s.report()
		case sctx := <-s.stopReq:
			stopSetup()
			setupDone.Wait()
			s.finish(sctx)
			return nil
		case <-ctx.Done():
			// Cancelled without Stop: what is buffered is dropped, and
			// counted so.
			stopSetup()
			setupDone.Wait()
			s.finish(ctx)
			return nil
		}
	}
}

type flushCancelKey struct{}

// Stop sends what is buffered within ctx's deadline; what is left when
// it passes is counted as dropped.
func (s *Sink) Stop(ctx context.Context) error {
	select {
	case s.stopReq <- ctx:
	default:
	}
	s.cancelAdd()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// add hands a document to the indexer, waiting for room until ctx ends;
// false means it was not taken (and is not counted yet).
func (s *Sink) add(ctx context.Context, d *doc) bool {
	d.Reset(d.b)
	s.acct.Lock()
	s.inflight[d.kind]++
	s.acct.Unlock()
	err := s.bi.Add(ctx, opensearchutil.BulkIndexerItem{
		Index: d.index, Action: "create", Body: d,
		OnSuccess: s.onSuccess, OnFailure: s.onFailure,
	})
	if err != nil {
		s.settle(d, nil)
		return false
	}
	return true
}

// putBack returns a document the main loop could not hand over (Stop
// interrupted it) to the buffer, for the final drain.
func (s *Sink) putBack(d *doc) bool {
	select {
	case s.ch <- d:
		s.queuedBytes.Add(int64(len(d.b)))
		return true
	default:
		return false
	}
}

// settle counts a document's end once: inflight → shipped, failed or
// dropped.
func (s *Sink) settle(d *doc, into *atomic.Uint64) {
	s.acct.Lock()
	if !s.closed {
		s.inflight[d.kind]--
		if into != nil {
			into.Add(1)
		}
	}
	s.acct.Unlock()
}

func (s *Sink) onSuccess(_ context.Context, item opensearchutil.BulkIndexerItem, _ opensearchapi.BulkRespItem) {
	d := item.Body.(*doc)
	s.settle(d, &s.counts[d.kind].shipped)
	s.okAt.Store(time.Now().UnixNano())
}

// onFailure handles a document the cluster refused (err nil, the item's
// status and error type in resp) or that went with a failed request
// (err). A refusal for load (429, 5xx) or a lost request sends the
// document again in a later batch, a bounded number of times; anything
// else is counted failed. Nothing of the document is logged: only its
// index, the status and the error type.
func (s *Sink) onFailure(_ context.Context, item opensearchutil.BulkIndexerItem, resp opensearchapi.BulkRespItem, err error) {
	d := item.Body.(*doc)
	transient := err != nil || resp.Status == http.StatusTooManyRequests || resp.Status >= 500
	if transient && d.tries < s.cfg.ItemRetries && !s.stopping.Load() && s.requeue(d) {
		s.retries.Add(1)
		s.settle(d, nil)
		return
	}
	s.settle(d, &s.counts[d.kind].failed)
	if err == nil {
		typ := "unknown"
		if resp.Error != nil && resp.Error.Type != "" {
			typ = safeText(resp.Error.Type, 64)
		}
		s.noteRefused(d.index, resp.Status, typ)
	}
}

func (s *Sink) requeue(d *doc) bool {
	n := int64(len(d.b))
	if s.queuedBytes.Add(n) > s.cfg.QueueBytes {
		s.queuedBytes.Add(-n)
		return false
	}
	d.tries++
	select {
	case s.ch <- d:
		return true
	default:
		s.queuedBytes.Add(-n)
		d.tries--
		return false
	}
}

func (s *Sink) onError(_ context.Context, err error) {
	if errors.Is(err, context.Canceled) && s.stopping.Load() {
		return
	}
	s.failAt.Store(time.Now().UnixNano())
	s.noteError(err)
}

func (s *Sink) noteError(err error) {
	s.mu.Lock()
	s.lastErr = safeText(err.Error(), 200)
	s.lastErrAt = time.Now().UTC()
	s.mu.Unlock()
}

func (s *Sink) noteRefused(index string, status int, typ string) {
	s.mu.Lock()
	s.refused[fmt.Sprintf("%s %d %s", index, status, typ)]++
	s.lastErr = fmt.Sprintf("%s refused a document: %d %s", index, status, typ)
	s.lastErrAt = time.Now().UTC()
	s.mu.Unlock()
}

// report logs what was refused and dropped since the last report, once
// per ReportInterval at most.
func (s *Sink) report() {
	s.mu.Lock()
	var refused []string
	for k, n := range s.refused {
		refused = append(refused, fmt.Sprintf("%s ×%d", k, n))
	}
	clear(s.refused)
	var dropped []string
	for _, k := range Kinds() {
		n := s.counts[k].dropped.Load()
		if n > s.reported[k] {
			dropped = append(dropped, fmt.Sprintf("%s=%d", k, n-s.reported[k]))
			s.reported[k] = n
		}
	}
	s.mu.Unlock()
	if len(refused) > 0 {
		s.logger().Warn("log shipping: OpenSearch refused documents", "refused", strings.Join(refused, "; "))
	}
	if len(dropped) > 0 {
		s.logger().Warn("log shipping: buffer full, documents dropped", "dropped", strings.Join(dropped, " "))
	}
}

// finish sends what is buffered and closes the indexer within ctx; when
// ctx ends first, in-flight requests are cancelled and everything not
// shipped is counted.
func (s *Sink) finish(ctx context.Context) {
	defer close(s.done)
	s.stopping.Store(true)
	s.stopped.Store(true)
	s.drainInto(ctx)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if err := s.bi.Close(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			s.noteError(err)
		}
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		s.biCancel()
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
		}
	}
	s.biCancel()
	s.drainInto(ctx) // a document a failed batch put back meanwhile
	s.acct.Lock()
	s.closed = true
	for k := range s.inflight {
		s.counts[k].dropped.Add(uint64(s.inflight[k]))
		s.inflight[k] = 0
	}
	s.acct.Unlock()
	s.report()
	s.cancelAdd()
	_ = s.client.Client.Close()
}

// drainInto hands the buffer to the indexer, or counts it dropped once
// ctx has ended.
func (s *Sink) drainInto(ctx context.Context) {
	for {
		select {
		case d := <-s.ch:
			s.queuedBytes.Add(-int64(len(d.b)))
			if ctx.Err() != nil || !s.add(ctx, d) {
				s.counts[d.kind].dropped.Add(1)
			}
		default:
			return
		}
	}
}

// IndexStats counts one kind's documents. Sent = Shipped + Failed +
// Dropped + what is still queued.
type IndexStats struct {
	Sent, Shipped, Failed, Dropped uint64
}

// Stats is a snapshot of the sink's counters.
type Stats struct {
	Index   [numKinds]IndexStats // by Kind
	Queued  int                  // buffered or in a batch not yet answered
	Retries uint64               // documents sent again after a 429, a 5xx or a lost request
}

// Stats reads the counters (cheap: for each scrape).
func (s *Sink) Stats() Stats {
	var st Stats
	for k := range st.Index {
		c := &s.counts[k]
		st.Index[k] = IndexStats{Sent: c.sent.Load(), Shipped: c.shipped.Load(), Failed: c.failed.Load(), Dropped: c.dropped.Load()}
	}
	s.acct.Lock()
	for _, n := range s.inflight {
		st.Queued += int(n)
	}
	s.acct.Unlock()
	st.Queued += len(s.ch)
	st.Retries = s.retries.Load()
	return st
}

// Details is the shipping state for /readyz: never part of readiness
// itself. state is failing while the latest request failed after the
// latest shipped document.
func (s *Sink) Details() map[string]any {
	st := s.Stats()
	var shipped, failed, dropped uint64
	for _, x := range st.Index {
		shipped += x.Shipped
		failed += x.Failed
		dropped += x.Dropped
	}
	state := "ok"
	if s.failAt.Load() > s.okAt.Load() {
		state = "failing"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := map[string]any{
		"state": state, "queued": st.Queued, "shipped": shipped, "failed": failed, "dropped": dropped,
		"setup": s.setup,
	}
	if s.lastErr != "" {
		d["last_error"] = s.lastErr
		d["last_error_at"] = s.lastErrAt.Format(time.RFC3339)
	}
	return d
}

// safeText is error text fit for logs and /readyz: valid UTF-8, no
// control characters, at most n bytes.
func safeText(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
