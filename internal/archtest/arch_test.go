package archtest_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/archtest"
)

// TestModuleFollowsTiers checks this module against docs/architecture.md.
func TestModuleFollowsTiers(t *testing.T) {
	t.Parallel()
	rules := readRules(t, "../../docs/architecture.md")
	pkgs, err := archtest.List("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range archtest.Check(rules, pkgs, nil) {
		t.Error(err)
	}
}

// TestCheckRejectsFixture is the proof that the check can fail: a small
// module under testdata breaks each rule once, and every break must be
// reported, named by its path, and nothing else.
func TestCheckRejectsFixture(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "fixture")
	rules := readRules(t, filepath.Join(dir, "architecture.md"))
	pkgs, err := archtest.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	exceptions := []archtest.Edge{
		// Needed: without it edge/web → adapter/store would be reported.
		{From: "edge/web", To: "adapter/store"},
		// Not needed: no such import.
		{From: "domain/rules", To: "adapter/store"},
	}
	var got []string
	for _, err := range archtest.Check(rules, pkgs, exceptions) {
		got = append(got, err.Error())
	}
	want := []string{
		// A forbidden library, directly and through another domain package.
		"domain/scores → database/sql: database/sql is forbidden in the dependencies of the domain tier",
		"domain/rules → domain/scores → database/sql: database/sql is forbidden in the dependencies of the domain tier",
		// A forbidden package reached through the standard library:
		// expvar serves its variables over net/http.
		"domain/clock → expvar → net/http: net/http is forbidden in the dependencies of the domain tier",
		// An adapter reached from a leaf.
		"leaf/codes → adapter/store: the leaf tier may not depend on the adapter tier",
		// Adapters never import each other.
		"adapter/mailer → adapter/store: the adapter tier may not depend on the adapter tier",
		// A library outside the tier's list.
		"domain/rules → example.com/pretty: example.com/pretty is not among the third-party libraries the domain tier may import",
		// The table and the module must agree.
		"extra is not in the package table",
		"the package table lists runtime/worker, which is not a package of example.com/fixture",
		"the exception domain/rules → adapter/store is no longer needed: domain/rules does not import adapter/store; delete it",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("not reported: %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("reported, not expected: %s", g)
		}
	}
}

// TestParseRulesRejectsBadTables: a document the check cannot read is an
// error, not an empty rule set that lets everything pass.
func TestParseRulesRejectsBadTables(t *testing.T) {
	t.Parallel()
	const tiers = "| tier | may import | third-party | forbidden |\n| --- | --- | --- | --- |\n| leaf | leaf | any | — |\n"
	for name, c := range map[string]struct{ doc, want string }{
		"no package table": {tiers, "no package table"},
		"no tier table":    {"| package | tier |\n| --- | --- |\n| `a` | leaf |\n", "no tier table"},
		"listed twice":     {"| package | tier |\n| --- | --- |\n| `a` | leaf |\n| `a` | leaf |\n\n" + tiers, "a is listed twice"},
		"two per row":      {"| package | tier |\n| --- | --- |\n| `a`, `b` | leaf |\n\n" + tiers, "one package per row"},
		"unknown tier":     {"| package | tier |\n| --- | --- |\n| `a` | top |\n\n" + tiers, `a has the tier "top"`},
		"unknown import":   {"| package | tier |\n| --- | --- |\n| `a` | leaf |\n\n" + strings.Replace(tiers, "| leaf | leaf |", "| leaf | leaf, top |", 1), `may import "top"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := archtest.ParseRules([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func readRules(t *testing.T, path string) archtest.Rules {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := archtest.ParseRules(doc)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rules
}
