package geoip

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/geoip/geoiptest"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"github.com/pointsbook/pointsbook/internal/request"
)

func fixture(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	geoiptest.Write(t, path, geoiptest.Fixture)
	d := New(path, nil)
	if !d.Loaded() {
		t.Fatal("fixture database not loaded")
	}
	return d, path
}

func TestLookup(t *testing.T) {
	t.Parallel()
	d, _ := fixture(t)
	seoul := &request.Geo{CountryISO: "KR", CountryName: "South Korea", City: "Seoul", Lat: 37.5665, Lon: 126.978, HasLocation: true}
	london := &request.Geo{CountryISO: "GB", CountryName: "United Kingdom", City: "London", Lat: 51.5074, Lon: -0.1278, HasLocation: true}
	tests := []struct {
		addr string
		want *request.Geo
	}{
		{"203.0.113.9", seoul},
		{"::ffff:203.0.113.9", seoul}, // the mapped form of the same client
		{"198.51.100.7", &request.Geo{CountryISO: "JP", CountryName: "Japan"}},
		{"2001:db8::1", london},
		{"2001:db8:ffff::1", london},
		{"192.0.2.1", nil},   // public, but not in the file
		{"2001:db9::1", nil}, // just outside the file's range
		// Never looked up: the file places 10.0.0.0/8, the answer is still nil.
		{"10.1.2.3", nil},
		{"172.16.0.1", nil},
		{"192.168.1.1", nil},
		{"127.0.0.1", nil},
		{"::1", nil},
		{"169.254.1.1", nil},
		{"fe80::1", nil},
		{"fd00::1", nil},
		{"100.64.0.1", nil},
		{"0.0.0.0", nil},
		{"::", nil},
		{"224.0.0.1", nil},
		{"ff02::1", nil},
		{"255.255.255.255", nil},
		{"", nil}, // no address at all
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			for range 2 { // a miss, then the cached answer
				got := d.Lookup(a)
				if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
					t.Fatalf("Lookup(%s) = %+v, want %+v", tt.addr, got, tt.want)
				}
			}
		})
	}
}

func TestWithoutADatabaseNothingFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database\n"), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.mmdb")
	geoiptest.Write(t, truncated, geoiptest.Fixture)
	raw, err := os.ReadFile(truncated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "damaged.mmdb")
	// The tree intact in length but overwritten: only Verify finds it.
	copy(raw[:64], bytes.Repeat([]byte{0xff}, 64))
	if err := os.WriteFile(damaged, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"missing": filepath.Join(dir, "none.mmdb"), "garbage": garbage, "truncated": truncated, "damaged": damaged,
	} {
		t.Run(name, func(t *testing.T) {
			logs := &logtest.Buffer{}
			d := New(path, slog.New(slog.NewJSONHandler(logs, nil)))
			if d.Loaded() {
				t.Fatal("loaded a bad file")
			}
			if g := d.Lookup(netip.MustParseAddr("203.0.113.9")); g != nil {
				t.Fatalf("place without a database: %+v", g)
			}
			if !strings.Contains(logs.String(), "geoip database not loaded") || !strings.Contains(logs.String(), path) {
				t.Fatalf("not reported at start: %s", logs.String())
			}
		})
	}
}

// bump marks the file as changed, as a new version would: rename-based
// writes within one timestamp tick are otherwise indistinguishable.
func bump(t *testing.T, path string, n int) {
	t.Helper()
	at := time.Now().Add(time.Duration(n) * time.Hour)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	d, path := fixture(t)
	client := netip.MustParseAddr("203.0.113.9")
	if g := d.Lookup(client); g == nil || g.City != "Seoul" {
		t.Fatalf("before: %+v", g)
	}
	if ok, err := d.Reload(); ok || err != nil {
		t.Fatalf("unchanged file reloaded: %v %v", ok, err)
	}

	// A new version moves the client; the cached answer goes with the old file.
	geoiptest.Write(t, path, map[string]geoiptest.Place{"203.0.113.0/24": {ISO: "KR", Country: "South Korea", City: "Busan"}})
	bump(t, path, 1)
	if ok, err := d.Reload(); !ok || err != nil {
		t.Fatalf("new file not loaded: %v %v", ok, err)
	}
	if g := d.Lookup(client); g == nil || g.City != "Busan" || g.HasLocation {
		t.Fatalf("after reload: %+v", g)
	}

	// A corrupt new version is refused; the previous one stays in use, and
	// the same bad version is not read again until it changes.
	if err := os.WriteFile(path, []byte("half a download"), 0o600); err != nil {
		t.Fatal(err)
	}
	bump(t, path, 2)
	if ok, err := d.Reload(); ok || err == nil {
		t.Fatalf("corrupt file: %v %v", ok, err)
	}
	if ok, err := d.Reload(); ok || err != nil {
		t.Fatalf("corrupt file read twice: %v %v", ok, err)
	}
	if g := d.Lookup(client); g == nil || g.City != "Busan" {
		t.Fatalf("previous database lost: %+v", g)
	}

	// A missing file keeps the previous one too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Reload(); err == nil {
		t.Fatal("missing file not reported")
	}
	if g := d.Lookup(client); g == nil || g.City != "Busan" {
		t.Fatalf("previous database lost: %+v", g)
	}
}

// A binary started without a usable file picks one up when it appears.
func TestReloadAfterABadStart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	d := New(path, nil)
	if d.Loaded() {
		t.Fatal("loaded nothing")
	}
	geoiptest.Write(t, path, geoiptest.Fixture)
	if ok, err := d.Reload(); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	if g := d.Lookup(netip.MustParseAddr("198.51.100.1")); g == nil || g.CountryISO != "JP" {
		t.Fatalf("%+v", g)
	}
}

// The worker reports a bad new file and keeps serving the old one.
func TestRunReloadsAndReports(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	geoiptest.Write(t, path, geoiptest.Fixture)
	logs := &logtest.Buffer{}
	d := New(path, slog.New(slog.NewJSONHandler(logs, nil)))
	d.interval = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	bump(t, path, 1)
	waitFor(t, logs, "geoip database not reloaded; keeping the previous one")
	geoiptest.Write(t, path, map[string]geoiptest.Place{"203.0.113.0/24": {ISO: "KR", Country: "South Korea", City: "Incheon"}})
	bump(t, path, 2)
	waitFor(t, logs, "geoip database reloaded")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if g := d.Lookup(netip.MustParseAddr("203.0.113.1")); g == nil || g.City != "Incheon" {
		t.Fatalf("%+v", g)
	}
}

// Lookups race with reloads (run with -race).
func TestConcurrentLookupsAndReloads(t *testing.T) {
	t.Parallel()
	d, path := fixture(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				a := netip.AddrFrom4([4]byte{203, 0, 113, byte(i + w)})
				if g := d.Lookup(a); g == nil || g.CountryISO != "KR" {
					t.Errorf("Lookup(%s) = %+v", a, g)
					return
				}
			}
		})
	}
	for i := range 5 {
		geoiptest.Write(t, path, geoiptest.Fixture)
		bump(t, path, i+1)
		if _, err := d.Reload(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

// The cache stays bounded however many addresses are looked up, and an
// address in steady use survives the churn.
func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	d, _ := fixture(t)
	hot := netip.MustParseAddr("203.0.113.200")
	d.Lookup(hot)
	most := 2 * shardSize * len(d.cur.Load().cache.shards)
	for i := range most + most/2 {
		d.Lookup(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)}))
		if _, ok := d.cur.Load().cache.get(hot); !ok {
			t.Fatalf("hot entry evicted after %d lookups", i)
		}
	}
	if n := d.cur.Load().cache.len(); n > most {
		t.Fatalf("cache holds %d entries, bound %d", n, most)
	}
}

// BenchmarkLookup: "cached" is the cost every request pays once its
// client has been seen; "uncached" a first visit (a search of the file's
// tree and a decode of its record).
func BenchmarkLookup(b *testing.B) {
	d, _ := fixture(b)
	addrs := make([]netip.Addr, 256)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
	}
	b.Run("cached", func(b *testing.B) {
		for _, a := range addrs {
			d.Lookup(a)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if d.Lookup(addrs[i&255]) == nil {
				b.Fatal("no place")
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		g := d.cur.Load()
		for i := 0; b.Loop(); i++ {
			if g.find(addrs[i&255]) == nil {
				b.Fatal("no place")
			}
		}
	})
	b.Run("cached-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				d.Lookup(addrs[i&255])
				i++
			}
		})
	})
}

// waitFor polls the log for a line the worker writes in its own time.
func waitFor(t *testing.T, logs *logtest.Buffer, msg string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if strings.Contains(logs.String(), msg) {
			return
		}
	}
	t.Fatalf("no %q in %s", msg, logs.String())
}
