package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// client speaks the API over keep-alive connections.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 120 * time.Second}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// call sends a JSON request and decodes a JSON answer into out (when
// non-nil). It returns the status; a status other than want is an error.
func (c *client) call(ctx context.Context, method, path, token string, body, out any, want int) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != want {
		return resp.StatusCode, fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *client) login(ctx context.Context, username, password string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	_, err := c.call(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, &out, http.StatusOK)
	return out.Token, err
}

// selection is one bettable outcome, with its odds as the API shows them.
type selection struct {
	ID   string `json:"id"`
	Odds string `json:"odds"`
}

type matchOut struct {
	ID      string `json:"id"`
	Markets []struct {
		Selections []selection `json:"selections"`
	} `json:"markets"`
	MainMarket struct {
		Selections []selection `json:"selections"`
	} `json:"main_market"`
}

// createMatch creates a football match with a 1x2 market through the
// admin API.
func (c *client) createMatch(ctx context.Context, adminToken string, n int, kickoff time.Time) (*matchOut, error) {
	body := map[string]any{
		"sport": "football", "league": "Load League",
		"home": fmt.Sprintf("Load Home %d", n), "away": fmt.Sprintf("Load Away %d", n),
		"kickoff_at": kickoff.UTC().Format(time.RFC3339),
		"markets": []map[string]any{
			{"kind": "1x2", "odds": map[string]string{"home": "2.00", "draw": "3.40", "away": "3.80"}},
			{"kind": "total", "line": "2.5", "odds": map[string]string{"over": "1.90", "under": "1.90"}},
		},
	}
	var m matchOut
	_, err := c.call(ctx, "POST", "/api/v1/admin/matches", adminToken, body, &m, http.StatusCreated)
	return &m, err
}

// fixture is what the HTTP load needs: matches to bet on and players.
type fixture struct {
	adminToken string
	matches    []*matchOut
	sels       []selection
	tokens     []string
}

// setup creates nMatches matches and signs up and logs in n players.
func (l *loadgen) setup(ctx context.Context, s *server, c *client, nMatches, n int) (*fixture, error) {
	tok, err := c.login(ctx, adminUser, s.adminPW)
	if err != nil {
		return nil, fmt.Errorf("admin login: %w", err)
	}
	f := &fixture{adminToken: tok}
	kick := time.Now().Add(4 * time.Hour).Truncate(time.Minute)
	for i := 0; i < nMatches; i++ {
		m, err := c.createMatch(ctx, tok, i+1, kick.Add(time.Duration(i)*5*time.Minute))
		if err != nil {
			return nil, err
		}
		f.matches = append(f.matches, m)
		for _, mk := range m.Markets {
			f.sels = append(f.sels, mk.Selections...)
		}
	}
	if len(f.sels) == 0 {
		return nil, fmt.Errorf("created matches have no selections")
	}
	f.tokens = make([]string, n)
	run := randHex(3)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	next := atomic.Int64{}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				name := fmt.Sprintf("lg%s_%d", run, i)
				pw := "load-password-" + run
				body := map[string]string{"username": name, "password": pw, "email": name + "@example.com", "nickname": name}
				_, err := c.call(ctx, "POST", "/api/v1/auth/signup", "", body, nil, http.StatusCreated)
				if err == nil {
					f.tokens[i], err = c.login(ctx, name, pw)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("player %s: %w", name, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return f, ctx.Err()
}

// sample is one bet request: when it started (since the load began) and
// how long it took.
type sample struct {
	start, lat time.Duration
	status     int // 0: transport error
}

// loadRun is the outcome of one HTTP placement load.
type loadRun struct {
	began   time.Time
	elapsed time.Duration
	samples []sample
}

// runLoad has c workers place bets (stake 100, a random selection and a
// random player each, accept_any, a fresh Idempotency-Key each) until
// stop is closed or ctx ends. Requests still in flight then are waited for
// and counted.
func runLoad(ctx context.Context, c *client, f *fixture, workers int, stop <-chan struct{}) *loadRun {
	r := &loadRun{began: time.Now()}
	per := make([][]sample, workers)
	run := randHex(4)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
			out := make([]sample, 0, 4096)
			var buf bytes.Buffer
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					per[w] = out
					return
				case <-ctx.Done():
					per[w] = out
					return
				default:
				}
				sel := f.sels[rng.IntN(len(f.sels))]
				tok := f.tokens[rng.IntN(len(f.tokens))]
				buf.Reset()
				buf.WriteString(`{"stake":100,"legs":[{"selection_id":"`)
				buf.WriteString(sel.ID)
				buf.WriteString(`","odds":"`)
				buf.WriteString(sel.Odds)
				buf.WriteString(`"}],"odds_policy":"accept_any"}`)
				req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/bets", bytes.NewReader(buf.Bytes()))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Idempotency-Key", "lg-"+run+"-"+strconv.Itoa(w)+"-"+strconv.Itoa(seq))
				t0 := time.Now()
				resp, err := c.hc.Do(req)
				status := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				out = append(out, sample{start: t0.Sub(r.began), lat: time.Since(t0), status: status})
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(r.began)
	for _, s := range per {
		r.samples = append(r.samples, s...)
	}
	return r
}

// loadStats summarises the samples that started in [from, to).
type loadStats struct {
	window         time.Duration
	ok             int
	bps            float64 // 201s per second of window
	p50, p99, p999 time.Duration
	statuses       map[int]int
}

func (r *loadRun) stats(from, to time.Duration) loadStats {
	st := loadStats{window: to - from, statuses: map[int]int{}}
	var lats []time.Duration
	for _, s := range r.samples {
		if s.start < from || s.start >= to {
			continue
		}
		st.statuses[s.status]++
		if s.status == http.StatusCreated {
			st.ok++
		}
		lats = append(lats, s.lat)
	}
	slices.Sort(lats)
	st.p50, st.p99, st.p999 = quantile(lats, 0.50), quantile(lats, 0.99), quantile(lats, 0.999)
	if st.window > 0 {
		st.bps = float64(st.ok) / st.window.Seconds()
	}
	return st
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// errorsText lists the non-201 statuses, e.g. "none" or "503×12 net×1".
func (st loadStats) errorsText() string {
	var keys []int
	for k := range st.statuses {
		if k != http.StatusCreated {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		if k == 0 {
			fmt.Fprintf(&b, "net×%d", st.statuses[k])
		} else {
			fmt.Fprintf(&b, "%d×%d", k, st.statuses[k])
		}
	}
	return b.String()
}

func (st loadStats) errorCount() int {
	n := 0
	for k, v := range st.statuses {
		if k != http.StatusCreated {
			n += v
		}
	}
	return n
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
