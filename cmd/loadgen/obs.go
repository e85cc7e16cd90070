package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/pointsbook/pointsbook/internal/procstat"
)

// ---- obs --------------------------------------------------------------
//
// What observability costs a request: the JSON list of 200 matches at 32
// clients on two servers over one database, one with the access log off
// (PB_LOG_LEVEL=warn: no line per request, nothing to ship) and one that writes every
// access line with a GeoIP place and ships the whole log to OpenSearch
// (a loopback server answering the documented _bulk protocol), measured
// in alternating rounds. Every request comes through a trusted proxy
// (the load generator) with an X-Forwarded-For in the documentation
// ranges the GeoIP file places: a few addresses seen again and again
// (the lookup cache hits) or a new IPv6 address each request (it misses).

type obsFigure struct {
	off, cached, uncached obsStats
	shipped               int64 // documents the _bulk server received
	dropped, failed       int64 // from the logging server's metrics
}

type obsStats struct {
	rounds []webStats
	// cpu is the server process's CPU time over its rounds, and served
	// the requests it answered: their ratio is steadier than a rate,
	// which moves with whatever else the machine runs.
	cpu    time.Duration
	served int
}

// cpuPerRequest is the server's CPU time per answered request.
func (s obsStats) cpuPerRequest() time.Duration {
	if s.served == 0 {
		return 0
	}
	return s.cpu / time.Duration(s.served)
}

// merged is mergeStats with the median round's rate: on a shared
// machine a round now and then runs at two thirds of the others' rate,
// and a mean would carry that into the ratio.
func (s obsStats) merged() webStats {
	m := mergeStats(s.rounds)
	rates := make([]float64, len(s.rounds))
	for i, r := range s.rounds {
		rates[i] = r.rps
	}
	m.rps = median(rates)
	return m
}

func (l *loadgen) phaseObs(ctx context.Context) error {
	d, err := l.freshDB(ctx, "pbload_obs_")
	if err != nil {
		return err
	}
	proxy := "PB_TRUSTED_PROXIES=127.0.0.1/32"
	bulk := newBulkCounter()
	defer bulk.Close()
	// The baseline has the shipper too, idle at warn level: its buffer
	// alone makes the heap larger and garbage collection rarer, which
	// measured without it made logging look 20 % faster than none.
	off, err := l.startServer(ctx, d, proxy, "PB_OPENSEARCH_URL="+bulk.URL)
	if err != nil {
		return err
	}
	defer off.stop()
	c := newClient(off.base, webWorkers)
	defer c.close()
	tok, err := c.login(ctx, adminUser, off.adminPW)
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	seoul, _ := time.LoadLocation("Asia/Seoul")
	now := time.Now().In(seoul)
	day := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, seoul)
	for i := range webFootball {
		if err := createWebMatch(ctx, c, tok, "football", fmt.Sprintf("Obs League %d", i%10), i, day.Add(time.Duration(i)*5*time.Minute)); err != nil {
			return err
		}
	}
	geo := filepath.Join(l.tmp, "obs-city.mmdb")
	if err := writeCityDB(geo); err != nil {
		return err
	}
	// The same admin password: the second server seeds the same operator.
	on, err := l.startServerAs(ctx, d, off.adminPW, proxy, "PB_LOG_LEVEL=info", "PB_GEOIP_DB="+geo, "PB_OPENSEARCH_URL="+bulk.URL)
	if err != nil {
		return err
	}
	defer on.stop()
	cOn := newClient(on.base, webWorkers)
	defer cOn.close()

	path := "/api/v1/matches?sport=football&date=" + day.Format(time.DateOnly) + "&limit=200"
	few := make([]string, 64)
	for i := range few {
		few[i] = "203.0.113." + strconv.Itoa(i+1)
	}
	cachedXFF := func(r *http.Request) { r.Header.Set("X-Forwarded-For", few[rand.IntN(len(few))]) }
	newXFF := func(r *http.Request) {
		var a [16]byte
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
		for i := 4; i < 16; i++ {
			a[i] = byte(rand.Uint32())
		}
		r.Header.Set("X-Forwarded-For", netip.AddrFrom16(a).String())
	}
	fig := &obsFigure{}
	type variant struct {
		name string
		srv  *server
		c    *client
		xff  func(*http.Request)
		into *obsStats
	}
	vs := []variant{{"logging off", off, c, cachedXFF, &fig.off}, {"log+geo (cached)+ship", on, cOn, cachedXFF, &fig.cached}, {"log+geo (uncached)+ship", on, cOn, newXFF, &fig.uncached}}
	// Rounds of 5 s in cycles of off, cached, uncached, uncached, cached,
	// off, so each variant meets the machine early and late; as many
	// cycles as -duration holds (at least one).
	const round = 5 * time.Second
	cycles := max(1, int(l.opt.duration/(6*round)))
	var order []int
	for range cycles {
		order = append(order, 0, 1, 2, 2, 1, 0)
	}
	for _, i := range order {
		v := vs[i]
		cpu0, err0 := procstat.CPU(v.srv.cmd.Process.Pid)
		st := hammerReq(ctx, v.c, path, webWorkers, round, v.xff)
		cpu1, err1 := procstat.CPU(v.srv.cmd.Process.Pid)
		if err0 == nil && err1 == nil {
			v.into.cpu += cpu1 - cpu0
			v.into.served += st.n
		}
		l.logf("obs: %-26s %7.0f req/s  p50 %s  p99 %s  errors %d  server CPU %.0f µs/request", v.name, st.rps, ms(st.p50), ms(st.p99), st.errors,
			float64(cpu1-cpu0)/float64(time.Microsecond)/float64(max(st.n, 1)))
		v.into.rounds = append(v.into.rounds, st)
	}
	// Let the shipper's last batch (every 2 s) arrive before counting.
	time.Sleep(3 * time.Second)
	fig.shipped = bulk.docs.Load()
	fig.dropped, fig.failed = scrapeSum(ctx, cOn, "pointsbook_log_dropped_total"), scrapeSum(ctx, cOn, "pointsbook_log_failed_total")
	l.r.obs = fig
	return nil
}

// startServerAs is startServer with a given operator password.
func (l *loadgen) startServerAs(ctx context.Context, d *database, adminPW string, extra ...string) (*server, error) {
	return l.startServer(ctx, d, append(extra, "PB_ADMIN_PASSWORD="+adminPW)...)
}

// scrapeSum sums every sample of a counter in the server's /metrics.
func scrapeSum(ctx context.Context, c *client, name string) int64 {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/metrics", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		if f := strings.Fields(line); len(f) == 2 {
			v, _ := strconv.ParseFloat(f[1], 64)
			sum += v
		}
	}
	return int64(sum)
}

// bulkCounter is a loopback OpenSearch as far as the shipper uses one:
// _bulk answers every document created (NDJSON action and document
// lines, per-item status), and template and policy requests succeed.
type bulkCounter struct {
	*httptest.Server
	docs atomic.Int64
}

func newBulkCounter() *bulkCounter {
	b := &bulkCounter{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "_ism/policies") {
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"error":{"type":"status_exception"},"status":404}`) //nolint:errcheck
				return
			}
			io.WriteString(w, `{"acknowledged":true}`) //nolint:errcheck
			return
		}
		body, _ := io.ReadAll(r.Body)
		lines := bytes.Count(body, []byte("\n"))
		n := lines / 2
		b.docs.Add(int64(n))
		var out bytes.Buffer
		out.WriteString(`{"took":1,"errors":false,"items":[`)
		for i := range n {
			if i > 0 {
				out.WriteByte(',')
			}
			out.WriteString(`{"create":{"status":201,"result":"created"}}`)
		}
		out.WriteString("]}")
		w.Write(out.Bytes()) //nolint:errcheck
	}))
	return b
}

// writeCityDB writes a GeoLite2-City-format file placing the
// documentation ranges the load's addresses come from.
func writeCityDB(path string) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", Languages: []string{"en"},
		Description: map[string]string{"en": "loadgen city database"}, IncludeReservedNetworks: true})
	if err != nil {
		return err
	}
	for cidr, p := range map[string][4]string{
		"203.0.113.0/24": {"KR", "South Korea", "Seoul", "37.5665,126.978"},
		"2001:db8::/32":  {"GB", "United Kingdom", "London", "51.5074,-0.1278"},
	} {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			return err
		}
		lat, lon, _ := strings.Cut(p[3], ",")
		la, _ := strconv.ParseFloat(lat, 64)
		lo, _ := strconv.ParseFloat(lon, 64)
		rec := mmdbtype.Map{
			"country":  mmdbtype.Map{"iso_code": mmdbtype.String(p[0]), "names": mmdbtype.Map{"en": mmdbtype.String(p[1])}},
			"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p[2])}},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(la), "longitude": mmdbtype.Float64(lo), "accuracy_radius": mmdbtype.Uint16(50)},
		}
		if err := tree.Insert(network, rec); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
