package testgate

import (
	"strings"
	"testing"
)

// recorder captures how Unavailable ends a test without ending this one.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, format
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, format
}

func TestRequired(t *testing.T) {
	tests := []struct {
		env, server string
		want        bool
	}{
		{"", "redis", false},
		{"postgres", "redis", false},
		{"postgres,redis", "redis", true},
		{" Postgres , REDIS ", "redis", true},
		{"redis", "", false},
		{"redisx", "redis", false},
	}
	for _, tt := range tests {
		t.Setenv(RequireEnv, tt.env)
		if got := Required(tt.server); got != tt.want {
			t.Errorf("Required(%q) with %s=%q = %v", tt.server, RequireEnv, tt.env, got)
		}
	}
}

func TestUnavailable(t *testing.T) {
	t.Setenv(RequireEnv, "postgres")
	var r recorder
	Unavailable(&r, "redis", "no server")
	if !r.skipped || r.failed {
		t.Fatalf("not required: skipped=%v failed=%v", r.skipped, r.failed)
	}
	t.Setenv(RequireEnv, "postgres,redis")
	r = recorder{}
	Unavailable(&r, "redis", "no server")
	if !r.failed || r.skipped || !strings.Contains(r.msg, "required") {
		t.Fatalf("required: skipped=%v failed=%v %q", r.skipped, r.failed, r.msg)
	}
}
