// Package geoip places client addresses with a MaxMind-format city
// database (GeoLite2-City, GeoIP2-City or a compatible file) for the
// access log and audit events.
//
// The file is read into memory rather than memory-mapped: an operator (or
// geoipupdate) replacing it in place must never fault a reader, and a
// reload then only swaps one pointer. Lookups are cached per loaded file,
// negative answers included, in a bounded cache. A file that cannot be
// read or does not verify is logged and never stops the binary: at start
// the binary runs without places, on a reload it keeps the previous file.
package geoip

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/pointsbook/pointsbook/internal/request"
)

// MaxFileSize bounds the file read into memory: GeoLite2-City is some
// 60 MB and the commercial city databases are below 200 MB.
const MaxFileSize = 512 << 20

// DefaultInterval is how often the file is checked for a new version.
// GeoLite2 is published weekly, so a minute's delay costs nothing.
const DefaultInterval = time.Minute

// DB is a city database that reloads itself when its file changes. It is
// safe for concurrent use.
type DB struct {
	path     string
	log      *slog.Logger
	cur      atomic.Pointer[generation]
	mu       sync.Mutex // serialises Reload
	tried    stamp      // the file version last read, good or not
	interval time.Duration
}

// generation is one loaded version of the file and its cache.
type generation struct {
	reader *geoip2.Reader // nil: no usable file yet
	cache  *cache
}

// stamp identifies a version of the file cheaply.
type stamp struct {
	mod  time.Time
	size int64
}

// New reads the database at path. A file that is missing or unusable is
// logged, and the DB answers no place until a good file appears there.
func New(path string, log *slog.Logger) *DB {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DB{path: path, log: log, interval: DefaultInterval}
	d.cur.Store(&generation{cache: newCache()})
	if _, err := d.Reload(); err != nil {
		log.Error("geoip database not loaded; running without client places", "path", path, "err", err)
	}
	return d
}

// Loaded reports whether a database is in use.
func (d *DB) Loaded() bool { return d.cur.Load().reader != nil }

// Reload reads the file again if it changed since it was last read (by
// modification time and size) and, when it verifies, puts it in use. A
// version that fails is not tried again until the file changes once more.
// It reports whether a new file was put in use.
func (d *DB) Reload() (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fi, err := os.Stat(d.path)
	if err != nil {
		return false, err
	}
	st := stamp{fi.ModTime(), fi.Size()}
	if st == d.tried {
		return false, nil
	}
	d.tried = st
	r, err := load(d.path)
	if err != nil {
		return false, err
	}
	d.cur.Store(&generation{reader: r, cache: newCache()})
	// The previous reader is not closed: lookups in flight may still use
	// it, and a reader over a byte slice holds nothing but memory, which
	// the collector takes back once they finish.
	return true, nil
}

func load(path string) (*geoip2.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(buf) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	// Verify walks the whole search tree and data section once, so a
	// truncated or damaged file is refused here rather than answering
	// lookups with errors for a week.
	raw, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, err
	}
	if err := raw.Verify(); err != nil {
		return nil, err
	}
	r, err := geoip2.OpenBytes(buf)
	if err != nil {
		return nil, err // also a database that is not a city or country one
	}
	return r, nil
}

// Name names the reload worker.
func (d *DB) Name() string { return "geoip" }

// Run checks the file for a new version every minute until ctx ends.
func (d *DB) Run(ctx context.Context) error {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			switch ok, err := d.Reload(); {
			case err != nil && !errors.Is(err, os.ErrNotExist):
				d.log.Error("geoip database not reloaded; keeping the previous one", "path", d.path, "err", err)
			case err != nil:
				d.log.Warn("geoip database file is missing; keeping the previous one", "path", d.path)
			case ok:
				d.log.Info("geoip database reloaded", "path", d.path)
			}
		}
	}
}

// Lookup is where a is, or nil: no database, an address the database
// does not place, or one that is never a client's public address
// (private, loopback, link-local, CGNAT, multicast…). The result is
// shared between callers and must not be changed.
func (d *DB) Lookup(a netip.Addr) *request.Geo {
	a = a.Unmap().WithZone("")
	if !Public(a) {
		return nil
	}
	g := d.cur.Load()
	if g.reader == nil {
		return nil
	}
	if geo, ok := g.cache.get(a); ok {
		return geo
	}
	geo := g.find(a)
	g.cache.put(a, geo)
	return geo
}

func (g *generation) find(a netip.Addr) *request.Geo {
	c, err := g.reader.City(a)
	if err != nil || c == nil {
		return nil
	}
	geo := &request.Geo{
		CountryISO:  clean(c.Country.ISOCode, 16),
		CountryName: clean(c.Country.Names.English, 128),
		City:        clean(c.City.Names.English, 128),
	}
	if c.Location.HasCoordinates() {
		lat, lon := *c.Location.Latitude, *c.Location.Longitude
		if lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
			geo.Lat, geo.Lon, geo.HasLocation = lat, lon, true
		}
	}
	if geo.CountryISO == "" && geo.City == "" && !geo.HasLocation {
		return nil
	}
	return geo
}

// clean bounds a database string and makes it valid UTF-8: the file comes
// from outside, and these strings go into every log line.
func clean(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4") // and the broadcast address
)

// Public reports whether a can be a client's address on the internet,
// and so worth looking up. The documentation ranges (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as public: tests
// and examples stand them in for real clients.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case !a.IsValid(), a.IsUnspecified(), a.IsLoopback(), a.IsPrivate(), // RFC 1918 and fc00::/7
		a.IsLinkLocalUnicast(), a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return false
	case a.Is4() && (cgnat.Contains(a) || thisNetwork.Contains(a) || reserved4.Contains(a)):
		return false
	}
	return true
}

// cache holds recent answers, nil ones included, in 16 shards of at most
// 2 × shardSize entries each: when a shard's current map is full it
// becomes the previous one and the one before is dropped, so entries in
// use survive (a hit in the previous map moves the entry forward) and the
// memory stays bounded whatever the traffic.
type cache struct {
	shards [16]shard
}

const shardSize = 1024

type shard struct {
	mu       sync.Mutex
	cur, old map[netip.Addr]*request.Geo
}

func newCache() *cache {
	c := &cache{}
	for i := range c.shards {
		c.shards[i].cur = make(map[netip.Addr]*request.Geo)
	}
	return c
}

func (c *cache) shard(a netip.Addr) *shard {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])
	h *= 0x9E3779B97F4A7C15
	return &c.shards[h>>60]
}

func (c *cache) get(a netip.Addr) (*request.Geo, bool) {
	s := c.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	if geo, ok := s.cur[a]; ok {
		return geo, true
	}
	geo, ok := s.old[a]
	if ok {
		s.add(a, geo)
	}
	return geo, ok
}

func (c *cache) put(a netip.Addr, geo *request.Geo) {
	s := c.shard(a)
	s.mu.Lock()
	s.add(a, geo)
	s.mu.Unlock()
}

func (s *shard) add(a netip.Addr, geo *request.Geo) {
	if len(s.cur) >= shardSize {
		s.old, s.cur = s.cur, make(map[netip.Addr]*request.Geo, shardSize)
	}
	s.cur[a] = geo
}

func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.old)
		s.mu.Unlock()
	}
	return n
}
