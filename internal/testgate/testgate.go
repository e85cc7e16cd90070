// Package testgate decides what a test does when a server it needs (a
// PostgreSQL, a Redis) cannot be reached: skip on a laptop without it, but
// fail when PB_TEST_REQUIRE lists the server, as CI does, so that a broken
// service container cannot silently turn the suite green.
//
// A non-test package so that the helpers of every server (pgtest,
// redistest) share one gate.
package testgate

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// RequireEnv lists servers whose absence must fail tests instead of
// skipping them, e.g. "postgres,redis".
const RequireEnv = "PB_TEST_REQUIRE"

// Required reports whether PB_TEST_REQUIRE lists server (comma-separated,
// case-insensitive, surrounding spaces ignored).
func Required(server string) bool {
	server = strings.TrimSpace(server)
	if server == "" {
		return false
	}
	for _, s := range strings.Split(os.Getenv(RequireEnv), ",") {
		if strings.EqualFold(strings.TrimSpace(s), server) {
			return true
		}
	}
	return false
}

// Unavailable ends the test because server cannot be used: it fails when
// the environment says the server is required, and skips otherwise.
func Unavailable(tb testing.TB, server string, format string, args ...any) {
	tb.Helper()
	reason := fmt.Sprintf(format, args...)
	if Required(server) {
		tb.Fatalf("%s is required (%s=%q) but unavailable: %s", server, RequireEnv, os.Getenv(RequireEnv), reason)
		return
	}
	tb.Skipf("%s unavailable: %s (add %q to %s to fail instead)", server, reason, server, RequireEnv)
}
