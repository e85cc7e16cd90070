package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// ---- web --------------------------------------------------------------
//
// The main page against the JSON list of the same matches: 500 matches
// on one day (200 football in ten leagues, 75 of each other sport),
// measured in alternating rounds with -c workers each, every request
// asking for compression as a browser does. Then the main page's weight:
// HTML, stylesheets and scripts (module imports followed) as a first
// visit downloads them, and the HTML alone on a second visit (assets are
// cached for a year).

// webFigure is the web phase's result.
type webFigure struct {
	page, list           webStats
	firstVisit, revisit  int // compressed bytes
	pageRaw, pageMatches int
	assets               []string
}

type webStats struct {
	n        int
	rps      float64
	p50, p99 time.Duration
	errors   int
}

const webMatches, webFootball, webWorkers = 500, 200, 32

func (l *loadgen) phaseWeb(ctx context.Context) error {
	d, err := l.freshDB(ctx, "pbload_web_")
	if err != nil {
		return err
	}
	s, err := l.startServer(ctx, d)
	if err != nil {
		return err
	}
	defer s.stop()
	c := newClient(s.base, webWorkers)
	defer c.close()
	tok, err := c.login(ctx, adminUser, s.adminPW)
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	// Tomorrow in Korea: a whole day ahead, whatever the hour of the run.
	seoul, _ := time.LoadLocation("Asia/Seoul")
	now := time.Now().In(seoul)
	day := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, seoul)
	date := day.Format(time.DateOnly)
	l.logf("web: creating %d matches on %s", webMatches, date)
	sports := []string{"baseball", "basketball", "hockey", "handball"}
	for i := range webMatches {
		sp, league := "football", fmt.Sprintf("Web League %d", i%10)
		if i >= webFootball {
			sp = sports[(i-webFootball)%len(sports)]
			league = fmt.Sprintf("Web %s League %d", sp, i%3)
		}
		kick := day.Add(time.Duration(i%(24*12)) * 5 * time.Minute)
		if err := createWebMatch(ctx, c, tok, sp, league, i, kick); err != nil {
			return err
		}
	}
	page := "/?sport=football&date=" + date
	list := "/api/v1/matches?sport=football&date=" + date + "&limit=200"
	// Both answer 200 matches: check before timing them.
	body, _, err := fetch(ctx, c, page, "")
	if err != nil {
		return err
	}
	fig := &webFigure{pageRaw: len(body), pageMatches: strings.Count(body, `class="match"`)}
	if fig.pageMatches != webFootball {
		return fmt.Errorf("the main page shows %d matches, want %d", fig.pageMatches, webFootball)
	}
	round := l.opt.duration / 2
	var pages, lists []webStats
	for i := range 2 {
		// Alternate which goes first: the second of a pair runs on a warmer
		// (or busier) machine.
		order := []string{page, list}
		if i == 1 {
			slices.Reverse(order)
		}
		for _, path := range order {
			st := hammer(ctx, c, path, webWorkers, round)
			l.logf("web: %-60s %7.0f req/s  p50 %s  p99 %s  errors %d", path, st.rps, ms(st.p50), ms(st.p99), st.errors)
			if path == page {
				pages = append(pages, st)
			} else {
				lists = append(lists, st)
			}
		}
	}
	fig.page, fig.list = mergeStats(pages), mergeStats(lists)
	if err := fig.weigh(ctx, c, page); err != nil {
		return err
	}
	l.r.web = fig
	return nil
}

func createWebMatch(ctx context.Context, c *client, tok, sp, league string, n int, kick time.Time) error {
	main := map[string]any{"kind": "1x2", "odds": map[string]string{"home": "2.10", "draw": "3.30", "away": "3.40"}}
	if sp == "baseball" || sp == "basketball" {
		main = map[string]any{"kind": "moneyline", "odds": map[string]string{"home": "1.85", "away": "1.95"}}
	}
	body := map[string]any{
		"sport": sp, "league": league,
		"home": fmt.Sprintf("Home Team %d", n), "away": fmt.Sprintf("Away Team %d", n),
		"kickoff_at": kick.UTC().Format(time.RFC3339),
		"markets": []map[string]any{main,
			{"kind": "total", "line": "2.5", "odds": map[string]string{"over": "1.90", "under": "1.90"}}},
	}
	_, err := c.call(ctx, "POST", "/api/v1/admin/matches", tok, body, nil, http.StatusCreated)
	return err
}

// fetch GETs path as a browser would (compression accepted) and returns
// the body, decompressed only when asked for text to parse, and the
// number of bytes that crossed the wire.
func fetch(ctx context.Context, c *client, path, encoding string) (string, int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return string(b), len(b), nil
}

var (
	assetRef  = regexp.MustCompile(`(?:href|src)="(/static/[^"]+\.(?:css|js))"`)
	importRef = regexp.MustCompile(`(?m)(?:^|;)\s*import\s[^"']*["']\./([^"']+\.js)["']`)
)

// weigh measures the main page's first and second visit in compressed
// bytes: the HTML with gzip (what the site sends every browser), the
// assets with the best coding a current browser accepts.
func (f *webFigure) weigh(ctx context.Context, c *client, page string) error {
	const browser = "gzip, deflate, br, zstd"
	html, err := uncompressed(ctx, c, page)
	if err != nil {
		return err
	}
	_, htmlBytes, err := fetch(ctx, c, page, browser)
	if err != nil {
		return err
	}
	f.revisit, f.firstVisit = htmlBytes, htmlBytes
	seen := map[string]bool{}
	queue := []string{}
	for _, m := range assetRef.FindAllStringSubmatch(html, -1) {
		queue = append(queue, m[1])
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		_, n, err := fetch(ctx, c, u, browser)
		if err != nil {
			return err
		}
		f.firstVisit += n
		f.assets = append(f.assets, fmt.Sprintf("%s %d B", u[strings.LastIndex(u, "/")+1:], n))
		if strings.HasSuffix(u, ".js") {
			src, err := uncompressed(ctx, c, u)
			if err != nil {
				return err
			}
			dir := u[:strings.LastIndex(u, "/")+1]
			for _, m := range importRef.FindAllStringSubmatch(src, -1) {
				queue = append(queue, dir+m[1])
			}
		}
	}
	return nil
}

func uncompressed(ctx context.Context, c *client, path string) (string, error) {
	b, _, err := fetch(ctx, c, path, "identity")
	return b, err
}

// hammer GETs path with workers for d and summarises the answers.
func hammer(ctx context.Context, c *client, path string, workers int, d time.Duration) webStats {
	return hammerReq(ctx, c, path, workers, d, nil)
}

// hammerReq is hammer with set, when not nil, applied to every request.
func hammerReq(ctx context.Context, c *client, path string, workers int, d time.Duration, set func(*http.Request)) webStats {
	var mu sync.Mutex
	var lats []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				if set != nil {
					set(req)
				}
				t0 := time.Now()
				resp, err := c.hc.Do(req)
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats, errs = append(lats, mine...), errs+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lats)
	return webStats{n: len(lats), rps: float64(len(lats)) / d.Seconds(), p50: quantile(lats, 0.5), p99: quantile(lats, 0.99), errors: errs}
}

// mergeStats combines rounds: the rate is the mean, the latencies those
// of the slower round (the conservative figure).
func mergeStats(rounds []webStats) webStats {
	var out webStats
	for _, r := range rounds {
		out.n += r.n
		out.rps += r.rps / float64(len(rounds))
		out.p50, out.p99 = max(out.p50, r.p50), max(out.p99, r.p99)
		out.errors += r.errors
	}
	return out
}
