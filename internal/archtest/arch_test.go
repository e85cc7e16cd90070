// Package archtest checks the dependency rules of the layout: domain
// packages import no adapter, driver or HTTP code, and adapters talk to
// each other only through domain types.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pointsbook/pointsbook/"

// domain packages hold types and rules only.
var domain = []string{"account", "betting", "fault", "idempotency", "ledger", "odds", "programme", "sport", "config", "clientip", "playlimit"}

// forbidden for domain packages (and their dependencies).
var adapterPrefixes = []string{
	module + "internal/sqlstore", module + "internal/api", module + "internal/server", module + "internal/storetest",
	module + "internal/pgtest", module + "internal/oidc", module + "cmd/", module + "internal/mail", "github.com/wneessen/go-mail",
	"github.com/jackc/pgx", "modernc.org/sqlite", "database/sql", "net/http",
}

type pkg struct {
	ImportPath string
	Deps       []string
	Imports    []string
}

func list(t *testing.T, pattern string) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", pattern).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestDomainImportsNoAdapter(t *testing.T) {
	for _, name := range domain {
		for _, p := range list(t, module+"internal/"+name) {
			for _, d := range p.Deps {
				for _, bad := range adapterPrefixes {
					if strings.HasPrefix(d, bad) {
						t.Errorf("%s depends on %s: domain packages import no adapter", p.ImportPath, d)
					}
				}
			}
		}
	}
}

func TestAdaptersMeetOnlyThroughDomainTypes(t *testing.T) {
	rules := map[string][]string{
		module + "internal/api":      {module + "internal/sqlstore", module + "internal/server", module + "internal/oidc"},
		module + "internal/sqlstore": {module + "internal/api", module + "internal/server", module + "internal/oidc"},
		module + "internal/server":   {module + "internal/sqlstore", module + "internal/api", module + "internal/oidc"},
		module + "internal/oidc":     {module + "internal/sqlstore", module + "internal/api", module + "internal/server"},
		module + "internal/mail":     {module + "internal/sqlstore", module + "internal/api", module + "internal/server", module + "internal/oidc"},
	}
	for from, banned := range rules {
		for _, p := range list(t, from) {
			for _, imp := range p.Imports {
				for _, b := range banned {
					if imp == b {
						t.Errorf("%s imports %s", p.ImportPath, imp)
					}
				}
			}
		}
	}
}
