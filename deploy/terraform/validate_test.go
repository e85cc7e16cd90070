package terraform_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/pgtest"
)

// validate.sh needs provider binaries that take half an hour to build, so
// CI checks the two parts that do not: the skip path, and the filesystem
// mirror it builds (terraform init accepts it and installs every provider
// from it; the stand-in providers are never executed by init).

func runValidate(t *testing.T, providerDir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("./validate.sh", args...)
	cmd.Env = append(os.Environ(), "TF_PROVIDER_BIN="+providerDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestValidateScriptSkipsWithoutProviders(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		if _, err := exec.LookPath("tofu"); err != nil {
			pgtest.Unavailable(t, "terraform", "neither terraform nor tofu on PATH")
		}
	}
	out, err := runValidate(t, t.TempDir())
	if err != nil {
		t.Fatalf("validate.sh without providers: %v (want exit 0 and a skip notice)\n%s", err, out)
	}
	for _, want := range []string{"SKIPPED terraform validate",
		"- aws (go install github.com/hashicorp/terraform-provider-aws@v1.60.1-0.20260602190131-5f2286d6d836)",
		"- azurerm (go install github.com/hashicorp/terraform-provider-azurerm@v1.44.1-0.20260824201233-fae580791926)",
		"- random (go install github.com/terraform-providers/terraform-provider-random@v1.3.2-0.20260513075824-f8d869dc98d9)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateScriptMirrorLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform init twice; not in -short")
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		if _, err := exec.LookPath("tofu"); err != nil {
			pgtest.Unavailable(t, "terraform", "neither terraform nor tofu on PATH")
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"aws", "azurerm", "random"} {
		stub := filepath.Join(dir, "terraform-provider-"+name)
		if err := os.WriteFile(stub, []byte("#!/bin/sh\necho stand-in provider >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runValidate(t, dir, "--init-only")
	if err != nil {
		t.Fatalf("validate.sh --init-only with a complete mirror: %v\n%s", err, out)
	}
	if n := strings.Count(out, "init ok (mirror layout accepted)"); n != 2 {
		t.Errorf("%d environments initialised from the mirror, want 2:\n%s", n, out)
	}

	// Stand-ins are no Go builds of the pinned commits: a real validation
	// refuses them rather than label them as the pinned releases.
	out, err = runValidate(t, dir)
	if err == nil || !strings.Contains(out, "was built from something other than Go, not github.com/hashicorp/terraform-provider-aws@v1.60.1-") {
		t.Errorf("validate.sh with stand-in providers: %v (want a refusal)\n%s", err, out)
	}

	// Without one provider the script must skip, not half-validate.
	if err := os.Remove(filepath.Join(dir, "terraform-provider-random")); err != nil {
		t.Fatal(err)
	}
	out, err = runValidate(t, dir, "--init-only")
	if err != nil || !strings.Contains(out, "SKIPPED") || !strings.Contains(out, "- random ") || strings.Contains(out, "- aws ") {
		t.Errorf("validate.sh with random missing: %v\n%s", err, out)
	}
}
