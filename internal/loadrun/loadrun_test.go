package loadrun_test

import (
	"flag"
	"io"
	"testing"

	"github.com/pointsbook/pointsbook/internal/loadrun"
)

// Load generators create and drop databases and flood servers: only
// this machine's PostgreSQL may be named.
func TestCheckLoopbackPostgres(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"postgres://postgres@127.0.0.1:5432/test", true},
		{"postgresql://u@localhost/test", true},
		{"postgres://u@[::1]:5432/test", true},
		{"postgres://u@db.example.com/test", false},
		{"postgres://u@10.0.0.5/test", false},
		{"postgres://u@127.0.0.1:5432,10.0.0.5:5432/test", false},
		{"postgres://u@127.0.0.1/test?host=10.0.0.5", false},
		{"mysql://u@127.0.0.1/test", false},
		{"://", false},
	} {
		if err := loadrun.CheckLoopbackPostgres(tt.url); (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestSettingsFlag(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var set []string
	loadrun.SettingsFlag(fs, &set, "settings")
	if err := fs.Parse([]string{"-set", "PB_A=1", "-set", "PB_B=x=y"}); err != nil {
		t.Fatal(err)
	}
	if len(set) != 2 || set[0] != "PB_A=1" || set[1] != "PB_B=x=y" {
		t.Errorf("set = %q", set)
	}
	for _, bad := range []string{"A=1", "PB_A", "=1"} {
		if err := fs.Parse([]string{"-set", bad}); err == nil {
			t.Errorf("-set %q accepted", bad)
		}
	}
}
