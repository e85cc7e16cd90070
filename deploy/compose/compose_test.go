// Package compose holds the local production stack. There is no container
// engine on the CI machines, so compose_test.go validates compose.yaml with
// compose-go (the loader `docker compose` itself uses: JSON-schema
// validation, interpolation, consistency of references) and checks the
// topology; topology_test.go runs the same nginx config in front of two
// instances of the binary without containers.
package compose

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/pointsbook/pointsbook/internal/config"
)

// load validates and loads a compose file the way `docker compose config`
// does, with an empty environment so only the file's defaults apply.
func load(t *testing.T, file string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithName("pointsbook"),
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv(nil),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func project(t *testing.T) *types.Project {
	t.Helper()
	p, err := load(t, "compose.yaml")
	if err != nil {
		t.Fatalf("compose.yaml does not validate: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

// TestComposeRejectsBadFiles proves the loader really validates: each file
// is compose.yaml with one mistake.
func TestComposeRejectsBadFiles(t *testing.T) {
	good, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, old, new string }{
		{"unknown key", "    hostname: pointsbook-1\n", "    hostname: pointsbook-1\n    hostnme: typo\n"},
		{"dependency on a missing service", "      pointsbook-2:\n        condition: service_healthy", "      pointsbook-3:\n        condition: service_healthy"},
		{"wrong type", "      retries: 10\n", "      retries: many\n"},
		{"undeclared volume", "      - redis:/data\n", "      - rediz:/data\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(good), tt.old) {
				t.Fatalf("compose.yaml no longer contains %q: update the test", tt.old)
			}
			bad := strings.Replace(string(good), tt.old, tt.new, 1)
			// Same directory, so relative paths resolve as for the real file.
			f := filepath.Join(t.TempDir(), "compose.yaml")
			if err := os.WriteFile(f, []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := load(t, f); err == nil {
				t.Errorf("compose file with %s loaded without error", tt.name)
			}
		})
	}
}

func TestComposeTopology(t *testing.T) {
	p := project(t)

	want := []string{"nginx", "node-exporter", "opensearch", "opensearch-dashboards", "opensearch-setup", "pointsbook-1", "pointsbook-2",
		"pointsbook-migrate", "postgres-exporter", "postgres-primary", "postgres-replica", "prometheus", "redis"}
	if got := p.ServiceNames(); !slices.Equal(sortedCopy(got), want) {
		t.Errorf("services %v, want %v", sortedCopy(got), want)
	}

	// Two identical instances of the image.
	one, two := service(t, p, "pointsbook-1"), service(t, p, "pointsbook-2")
	if one.Image != two.Image || one.Image == "" {
		t.Errorf("instances run images %q and %q, want the same", one.Image, two.Image)
	}
	if !reflect.DeepEqual(one.Environment, two.Environment) {
		t.Errorf("instances have different environments:\n%v\n%v", one.Environment, two.Environment)
	}
	if want := []string{"CMD", "/pointsbook", "healthcheck"}; one.HealthCheck == nil || !slices.Equal(one.HealthCheck.Test, want) {
		t.Errorf("instance health check %v, want %v", one.HealthCheck, want)
	}

	// Each instance is wired to the service that provides what it needs.
	for _, tt := range []struct{ key, host, scheme string }{
		{"PB_DATABASE_URL", "postgres-primary", "postgres"},
		{"PB_DATABASE_REPLICA_URL", "postgres-replica", "postgres"},
		{"PB_REDIS_URL", "redis", "redis"},
		{"PB_OPENSEARCH_URL", "opensearch", "http"},
	} {
		u, err := url.Parse(env(one, tt.key))
		if err != nil || u.Scheme != tt.scheme || u.Hostname() != tt.host {
			t.Errorf("%s = %q, want a %s:// URL of %s", tt.key, env(one, tt.key), tt.scheme, tt.host)
			continue
		}
		if !slices.Contains(one.GetDependencies(), tt.host) {
			t.Errorf("instances use %s (%s) but do not depend on it", tt.host, tt.key)
		}
	}
	if !slices.Contains(one.GetDependencies(), "pointsbook-migrate") {
		t.Error("instances do not wait for pointsbook-migrate")
	}
	if env(service(t, p, "pointsbook-migrate"), "PB_DATABASE_URL") != env(one, "PB_DATABASE_URL") {
		t.Error("pointsbook-migrate migrates another database than the instances use")
	}

	// Every PB_ setting is one the binary reads (a typo would be silently
	// ignored at run time), or one a later feature reads.
	known := configEnvNames()
	pending := map[string]string{
		"PB_REDIS_URL": "chat and live updates (Redis bus)",
	}
	for k := range one.Environment {
		if strings.HasPrefix(k, "PB_") && !known[k] && pending[k] == "" {
			t.Errorf("instances set %s, which internal/config does not read", k)
		}
	}

	// Redis password: the one the server requires is the one in the URL.
	rd := service(t, p, "redis")
	ru, _ := url.Parse(env(one, "PB_REDIS_URL"))
	pw, _ := ru.User.Password()
	if i := slices.Index(rd.Command, "--requirepass"); i < 0 || i+1 >= len(rd.Command) || rd.Command[i+1] != pw || pw == "" {
		t.Errorf("redis command %v does not require the password of PB_REDIS_URL", rd.Command)
	}

	// PostgreSQL: the replica streams from the primary, through the slot and
	// user the primary's init script creates.
	primary, replica := service(t, p, "postgres-primary"), service(t, p, "postgres-replica")
	if env(replica, "PRIMARY_HOST") != "postgres-primary" || !slices.Contains(replica.GetDependencies(), "postgres-primary") {
		t.Error("postgres-replica does not follow postgres-primary")
	}
	for _, k := range []string{"REPLICATION_USER", "REPLICATION_PASSWORD", "REPLICATION_SLOT"} {
		if env(primary, k) == "" || env(primary, k) != env(replica, k) {
			t.Errorf("%s differs between primary (%q) and replica (%q)", k, env(primary, k), env(replica, k))
		}
	}
	if !slices.Contains(primary.Command, "wal_level=replica") {
		t.Error("primary does not run with wal_level=replica")
	}
	for _, s := range []types.ServiceConfig{primary, replica} {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
				}
			}
		}
	}

	// nginx: the repo's config, in front of both instances.
	ng := service(t, p, "nginx")
	deps := ng.GetDependencies()
	if !slices.Contains(deps, "pointsbook-1") || !slices.Contains(deps, "pointsbook-2") {
		t.Errorf("nginx depends on %v, want both instances", deps)
	}
	abs, _ := filepath.Abs("nginx.conf")
	if !slices.ContainsFunc(ng.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == abs && v.Target == "/etc/nginx/nginx.conf" && v.ReadOnly
	}) {
		t.Errorf("nginx does not mount %s read-only as /etc/nginx/nginx.conf: %v", abs, ng.Volumes)
	}
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(env(one, "PB_HTTP_ADDR"), ":")
	servers := regexp.MustCompile(`(?m)^\s*server\s+([a-z0-9-]+):(\d+)`).FindAllStringSubmatch(string(conf), -1)
	var upstreams []string
	for _, s := range servers {
		upstreams = append(upstreams, s[1])
		if s[2] != port {
			t.Errorf("nginx upstream %s:%s, but the instances listen on port %s", s[1], s[2], port)
		}
	}
	if !slices.Equal(upstreams, []string{"pointsbook-1", "pointsbook-2"}) {
		t.Errorf("nginx upstreams %v, want pointsbook-1 and pointsbook-2", upstreams)
	}

	// OpenSearch + Dashboards + the one-shot loader of the saved objects.
	osd := service(t, p, "opensearch-dashboards")
	if !strings.Contains(env(osd, "OPENSEARCH_HOSTS"), "http://opensearch:9200") || !slices.Contains(osd.GetDependencies(), "opensearch") {
		t.Errorf("dashboards not pointed at opensearch: %q", env(osd, "OPENSEARCH_HOSTS"))
	}
	setup := service(t, p, "opensearch-setup")
	for _, d := range []string{"opensearch", "opensearch-dashboards"} {
		if !slices.Contains(setup.GetDependencies(), d) {
			t.Errorf("opensearch-setup does not wait for %s", d)
		}
	}
	objects, _ := filepath.Abs("../opensearch")
	if !slices.ContainsFunc(setup.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == objects && v.Target == env(setup, "SAVED_OBJECTS_DIR")
	}) {
		t.Errorf("opensearch-setup does not mount %s at $SAVED_OBJECTS_DIR", objects)
	}
}

func configEnvNames() map[string]bool {
	names := map[string]bool{}
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		if e := typ.Field(i).Tag.Get("env"); e != "" {
			names[e] = true
		}
	}
	return names
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
