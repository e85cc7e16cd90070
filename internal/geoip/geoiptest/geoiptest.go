// Package geoiptest writes small MaxMind-format city databases for tests,
// with the documentation address ranges standing in for real clients.
package geoiptest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network's record. Empty fields are left out of it, as a
// real database leaves out what it does not know.
type Place struct {
	ISO, Country, City string
	// HasLocation writes Lat and Lon.
	HasLocation bool
	Lat, Lon    float64
}

// Fixture is the database most tests use: a city with a location, a
// country alone, an IPv6 city, and a private network that a lookup must
// never reach even though the file places it.
var Fixture = map[string]Place{
	"203.0.113.0/24":  {ISO: "KR", Country: "South Korea", City: "Seoul", HasLocation: true, Lat: 37.5665, Lon: 126.978},
	"198.51.100.0/24": {ISO: "JP", Country: "Japan"},
	"2001:db8::/32":   {ISO: "GB", Country: "United Kingdom", City: "London", HasLocation: true, Lat: 51.5074, Lon: -0.1278},
	"10.0.0.0/8":      {ISO: "US", Country: "United States", City: "Nowhere"},
}

// Write writes a GeoLite2-City database of places (keyed by CIDR) to
// path, through a temporary file and a rename, as geoipupdate does.
func Write(t testing.TB, path string, places map[string]Place) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "GeoLite2-City",
		Languages:    []string{"en"},
		Description:  map[string]string{"en": "Pointsbook test city database"},
		// The documentation ranges are reserved; tests use them as public.
		IncludeReservedNetworks: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, p := range places {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{}
		if p.ISO != "" || p.Country != "" {
			rec["country"] = mmdbtype.Map{
				"iso_code": mmdbtype.String(p.ISO),
				"names":    mmdbtype.Map{"en": mmdbtype.String(p.Country)},
			}
		}
		if p.City != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.City)}}
		}
		if p.HasLocation {
			rec["location"] = mmdbtype.Map{
				"latitude": mmdbtype.Float64(p.Lat), "longitude": mmdbtype.Float64(p.Lon),
				"accuracy_radius": mmdbtype.Uint16(50),
			}
		}
		if err := tree.Insert(network, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".geoip-*.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(tmp); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}
