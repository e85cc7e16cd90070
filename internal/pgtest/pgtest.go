// Package pgtest provides helpers for tests that need a real PostgreSQL
// server: a gate that turns "server missing" into a skip locally but a
// failure in CI, throwaway databases on a shared server, and private
// clusters (see StartCluster) for tests that must stop servers or replicate.
//
// These are non-test files so that tests in other packages can import them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pointsbook/pointsbook/internal/testgate"
)

const (
	// postgresURLEnv points at a shared server on which NewDatabase creates
	// per-test databases.
	postgresURLEnv = "PB_TEST_POSTGRES_URL"

	pingTimeout = 5 * time.Second
)

// Required reports whether PB_TEST_REQUIRE lists server; see testgate.
func Required(server string) bool { return testgate.Required(server) }

// Unavailable ends the test because server cannot be used: it fails when
// the environment says the server is required, and skips otherwise; see
// testgate.
func Unavailable(tb testing.TB, server string, format string, args ...any) {
	tb.Helper()
	testgate.Unavailable(tb, server, format, args...)
}

// URL returns PB_TEST_POSTGRES_URL after checking that the server answers,
// so that tests fail or skip up front rather than with a confusing error
// deep inside the code under test.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(postgresURLEnv)
	if u == "" {
		Unavailable(tb, "postgres", "%s is not set", postgresURLEnv)
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := ping(ctx, u); err != nil {
		Unavailable(tb, "postgres", "cannot reach %s: %v", redact(u), err)
		return ""
	}
	return u
}

// NewDatabase creates an empty database on the server at URL(tb) and returns
// a URL for it. Each test gets its own database so tests can run in parallel
// and never see each other's rows. The database is dropped on cleanup.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := URL(tb)
	if base == "" {
		return "" // only reachable with a fake tb whose Skipf returns
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// A malformed URL is a configuration bug, not a missing server.
		tb.Fatalf("pgtest: %s must be a postgres:// URL, got %q (err: %v)", postgresURLEnv, redact(base), err)
		return ""
	}

	name := "pbtest_" + randomHex(8)
	ident := pgx.Identifier{name}.Sanitize()
	if err := execSQL(base, "CREATE DATABASE "+ident); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
		return ""
	}
	tb.Cleanup(func() {
		// FORCE disconnects pools the test forgot to close; otherwise the
		// drop would fail and leak the database.
		if err := execSQL(base, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// execSQL runs one statement on a fresh connection. A fresh connection per call
// keeps the helpers free of shared state, and CREATE/DROP DATABASE cannot run
// inside a transaction anyway.
func execSQL(connURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// redact hides a password so that failure messages are safe to paste.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}
