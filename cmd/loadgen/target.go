package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the bet counts
	_ "modernc.org/sqlite"             // "sqlite" driver for the bet counts

	"github.com/pointsbook/pointsbook/internal/loadrun"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// database is one fresh database for a phase.
type database struct {
	kind    string // "sqlite" or "postgres"
	name    string // PostgreSQL database name
	url     string // PostgreSQL URL
	dataDir string // SQLite: PB_DATA_DIR

	dropOnce sync.Once
	dropFn   func()
}

// drop removes the database now (it is also removed at exit).
func (d *database) drop() { d.dropOnce.Do(d.dropFn) }

// storeURL is what sqlstore.Open takes.
func (d *database) storeURL() string {
	if d.kind == "postgres" {
		return d.url
	}
	return filepath.Join(d.dataDir, "pointsbook.db")
}

// env is the server's setting for this database.
func (d *database) env() []string {
	if d.kind == "postgres" {
		return []string{"PB_DATABASE_URL=" + d.url}
	}
	return []string{"PB_DATA_DIR=" + d.dataDir}
}

// freshDB creates an empty database (a SQLite directory or a pbload_*
// PostgreSQL database) that is removed at exit.
func (l *loadgen) freshDB(ctx context.Context, prefix string) (*database, error) {
	if l.opt.db == "sqlite" {
		dir, err := os.MkdirTemp(l.tmp, "sqlite-")
		if err != nil {
			return nil, err
		}
		d := &database{kind: "sqlite", dataDir: dir, dropFn: func() { os.RemoveAll(dir) }}
		l.atExit(d.drop)
		return d, nil
	}
	name := prefix + randHex(6)
	if err := l.pgAdmin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, _ := url.Parse(l.opt.pgURL)
	u.Path = "/" + name
	d := &database{kind: "postgres", name: name, url: u.String(), dropFn: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.pgAdmin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: drop database %s: %v\n", name, err)
		}
	}}
	l.atExit(d.drop)
	return d, nil
}

// pgAdmin runs one statement on the admin database.
func (l *loadgen) pgAdmin(ctx context.Context, stmt string) error {
	return loadrun.Exec(ctx, l.opt.pgURL, stmt)
}

// rawSQL opens the database without the store, for counts the store API
// does not offer.
func (d *database) rawSQL() (*sql.DB, error) {
	if d.kind == "postgres" {
		return sql.Open("pgx", d.url)
	}
	return sql.Open("sqlite", "file:"+url.PathEscape(d.storeURL())+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
}

// openStore opens the store directly (ceiling and seeding), with the
// -set settings that the store's configuration knows.
func (l *loadgen) openStore(ctx context.Context, d *database, houseShards int) (*sqlstore.DB, error) {
	cfg := sqlstore.Config{URL: d.storeURL(), HouseShards: houseShards}
	for _, kv := range l.opt.set {
		k, v, _ := strings.Cut(kv, "=")
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil {
			continue
		}
		switch k {
		case "PB_DATABASE_MAX_CONNS":
			cfg.MaxConns = n
		case "PB_HOUSE_SHARDS":
			if houseShards == 0 {
				cfg.HouseShards = n
			}
		}
	}
	return sqlstore.Open(ctx, cfg)
}

// runCommand runs a command with a time bound and returns its combined
// output.
func runCommand(ctx context.Context, limit time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// baseEnv is this process's environment without any PB_* variable, so a
// developer's own settings cannot leak into a measurement.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PB_") {
			env = append(env, kv)
		}
	}
	return env
}

func urlParse(raw string) (*url.URL, error) { return url.Parse(raw) }
