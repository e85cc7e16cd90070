package terraform_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/pgtest"
)

// TestEnvironmentVariablesRejectBadValues runs `terraform plan` on the
// environments' variable declarations alone (no resources, so no provider
// and no cloud): the example tfvars must pass, and each wrong value must stop
// the plan with its own message.
func TestEnvironmentVariablesRejectBadValues(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform; not in -short")
	}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		if tf, err = exec.LookPath("tofu"); err != nil {
			pgtest.Unavailable(t, "terraform", "neither terraform nor tofu on PATH")
		}
	}
	for _, env := range []string{"staging", "production"} {
		dir := t.TempDir()
		for _, f := range []string{"variables.tf", "terraform.tfvars.example"} {
			b, err := os.ReadFile(filepath.Join("envs", env, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(f, ".example")), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		run := func(args ...string) (string, error) {
			cmd := exec.Command(tf, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "TF_IN_AUTOMATION=1", "TF_INPUT=0",
				"TF_VAR_vpn_tunnel1_preshared_key=Example.key.1", "TF_VAR_vpn_tunnel2_preshared_key=Example.key.2")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := run("init", "-backend=false", "-no-color"); err != nil {
			t.Fatalf("%s: init: %v\n%s", env, err, out)
		}
		if out, err := run("plan", "-no-color", "-refresh=false"); err != nil {
			t.Fatalf("%s: plan with the example values: %v\n%s", env, err, out)
		}
		for _, tt := range []struct{ arg, message string }{
			{"aws_vpc_cidr=10.10.0.0/33", "aws_vpc_cidr must be a valid CIDR block"},
			{"azure_address_space=10.20.0.0/24", "azure_address_space must be a valid CIDR block of /22 or larger"},
			{"hostname=Play.Example", "hostname must be a lower-case DNS name"},
			{"image_registry=https://ghcr.io", "image_registry must be a registry host"},
			{`app_environment={PB_DATABASE_URL="postgres://x"}`, "app_environment is for non-secret settings"},
			{`app_environment={PB_METRICS_TOKEN="x"}`, "app_environment is for non-secret settings"},
			{`app_environment={log_level="info"}`, "app_environment keys must be PB_* setting names"},
			{`azure_continents=["EU","XX"]`, "azure_continents must hold Route 53 continent codes"},
			{`key_vault_allowed_ips=["0.0.0.0/0"]`, "key_vault_allowed_ips must be IPv4 addresses or CIDR blocks"},
			{`monitoring_cidrs=["0.0.0.0/0"]`, "monitoring_cidrs must contain valid CIDR blocks of the monitoring network"},
			{`monitoring_cidrs=["10.1.2.0/33"]`, "monitoring_cidrs must contain valid CIDR blocks of the monitoring network"},
			{"vpn_tunnel1_preshared_key=", "vpn_tunnel1_preshared_key must be set"},
		} {
			out, err := run("plan", "-no-color", "-refresh=false", "-var", tt.arg)
			if err == nil {
				t.Errorf("%s: plan with %s succeeded", env, tt.arg)
				continue
			}
			// terraform wraps long messages; compare without line breaks.
			flat := strings.Join(strings.Fields(out), " ")
			if !strings.Contains(flat, tt.message) {
				t.Errorf("%s: plan with %s failed without %q:\n%s", env, tt.arg, tt.message, out)
			}
		}
	}
}
