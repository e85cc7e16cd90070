package compose

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// promConfig is the part of Prometheus's configuration file the stack
// uses. Decoding refuses unknown keys, so a misspelt key fails here instead
// of being ignored at run time.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func parsePromConfig(data []byte) (promConfig, error) {
	var c promConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

// exporterPorts are the exporters' default listen ports (neither service
// overrides --web.listen-address).
var exporterPorts = map[string]string{"node-exporter": "9100", "postgres-exporter": "9187"}

func TestPrometheusConfigRejectsUnknownKeys(t *testing.T) {
	for _, bad := range []string{
		"scrape_configs:\n  - job_name: x\n    static_config:\n      - targets: [a:1]\n",
		"global:\n  scrape_intervall: 15s\n",
		"scrape_configs: {}\n",
	} {
		if _, err := parsePromConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestComposeMetrics(t *testing.T) {
	p := project(t)
	prom := service(t, p, "prometheus")

	// The mounted file is the one --config.file names.
	var configPath string
	for _, a := range prom.Command {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			configPath = v
		}
	}
	file, _ := filepath.Abs("prometheus/prometheus.yml")
	if !slices.ContainsFunc(prom.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == file && v.Target == configPath && v.ReadOnly
	}) {
		t.Fatalf("prometheus does not mount %s read-only at its --config.file %q: %v", file, configPath, prom.Volumes)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parsePromConfig(data)
	if err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}

	// Every target is a service of the stack on the port it listens on.
	appPort := ""
	one := service(t, p, "pointsbook-1")
	_, appPort, _ = strings.Cut(env(one, "PB_HTTP_ADDR"), ":")
	jobs := map[string][]string{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				if err != nil {
					t.Errorf("job %s: target %q: %v", sc.JobName, target, err)
					continue
				}
				jobs[sc.JobName] = append(jobs[sc.JobName], host)
				if host == "localhost" && port == "9090" {
					continue // Prometheus itself
				}
				s, err := p.GetService(host)
				if err != nil {
					t.Errorf("job %s: target %s is not a service of the stack", sc.JobName, target)
					continue
				}
				want := exporterPorts[host]
				if s.Image == one.Image {
					want = appPort
				}
				if port != want {
					t.Errorf("job %s: target %s, but %s listens on %q", sc.JobName, target, host, want)
				}
			}
		}
	}

	// Both instances (every service running the app image, except the
	// one-shot migration), the host and the database are scraped.
	var instances []string
	for _, s := range p.Services {
		if s.Image == one.Image && s.Name != "pointsbook-migrate" {
			instances = append(instances, s.Name)
		}
	}
	slices.Sort(instances)
	got := slices.Sorted(slices.Values(jobs["pointsbook"]))
	if len(instances) < 2 || !slices.Equal(got, instances) {
		t.Errorf("job pointsbook scrapes %v, want every instance %v", got, instances)
	}
	for job, host := range map[string]string{"node": "node-exporter", "postgres": "postgres-exporter"} {
		if !slices.Contains(jobs[job], host) {
			t.Errorf("job %s does not scrape %s", job, host)
		}
	}

	// node-exporter reads the host: its pid namespace and its root, read-only,
	// where --path.rootfs says.
	ne := service(t, p, "node-exporter")
	var rootfs string
	for _, a := range ne.Command {
		if v, ok := strings.CutPrefix(a, "--path.rootfs="); ok {
			rootfs = v
		}
	}
	if ne.Pid != "host" || rootfs == "" || !slices.ContainsFunc(ne.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == "/" && v.Target == rootfs && v.ReadOnly
	}) {
		t.Errorf("node-exporter: pid %q, --path.rootfs %q, volumes %v; want the host's pid namespace and / mounted read-only at the rootfs", ne.Pid, rootfs, ne.Volumes)
	}

	// postgres-exporter reads the primary, as the user and with the password
	// the primary was created with.
	pe, primary := service(t, p, "postgres-exporter"), service(t, p, "postgres-primary")
	u, err := url.Parse("postgres://" + env(pe, "DATA_SOURCE_URI"))
	if err != nil || u.Hostname() != "postgres-primary" || strings.TrimPrefix(u.Path, "/") != env(primary, "POSTGRES_DB") {
		t.Errorf("postgres-exporter DATA_SOURCE_URI %q, want the primary's database %s", env(pe, "DATA_SOURCE_URI"), env(primary, "POSTGRES_DB"))
	}
	if env(pe, "DATA_SOURCE_USER") != env(primary, "POSTGRES_USER") || env(pe, "DATA_SOURCE_PASS") != env(primary, "POSTGRES_PASSWORD") || env(pe, "DATA_SOURCE_PASS") == "" {
		t.Error("postgres-exporter's user or password is not the primary's")
	}
	if !slices.Contains(pe.GetDependencies(), "postgres-primary") {
		t.Error("postgres-exporter does not wait for postgres-primary")
	}
}

// TestImagesPinned: every image but the one built here names a version, so
// the stack does not change under a `docker compose pull`.
func TestImagesPinned(t *testing.T) {
	p := project(t)
	one := service(t, p, "pointsbook-1")
	version := regexp.MustCompile(`:v?\d+(\.\d+)*(-[a-z0-9.]+)?$`)
	for _, s := range p.Services {
		if s.Image == one.Image {
			continue
		}
		if !version.MatchString(s.Image) {
			t.Errorf("service %s runs %q, want an image with a version tag", s.Name, s.Image)
		}
	}
}
