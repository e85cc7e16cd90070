// Package terraform_test checks the Terraform under deploy/terraform
// without a cloud account or provider registry: every module and
// environment loads, every variable has a type and a description, every
// output a description, every module call passes exactly the variables
// the module declares (all required ones, no unknown ones), and every
// reference to a module output or variable exists.
package terraform_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// meta-arguments of a module block, which are not module variables.
var meta = map[string]bool{"source": true, "version": true, "providers": true, "depends_on": true, "count": true, "for_each": true}

// problems lists what is wrong with the configuration in dir.
func problems(dir string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	mod, diags := tfconfig.LoadModule(dir)
	if diags.HasErrors() {
		return []string{fmt.Sprintf("%s: %v", dir, diags)}
	}
	for n, v := range mod.Variables {
		if v.Type == "" || v.Description == "" {
			bad("variable %s lacks a type or a description", n)
		}
	}
	for n, o := range mod.Outputs {
		if o.Description == "" {
			bad("output %s lacks a description", n)
		}
	}
	children := map[string]*tfconfig.Module{}
	for name, mc := range mod.ModuleCalls {
		child, d := tfconfig.LoadModule(filepath.Join(dir, mc.Source))
		if d.HasErrors() {
			bad("module %s (%s): %v", name, mc.Source, d)
			continue
		}
		children[name] = child
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	locals := map[string]bool{}
	var bodies []*hclsyntax.Body
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			bad("%v", err)
			continue
		}
		file, d := hclsyntax.ParseConfig(src, f, hcl.Pos{Line: 1, Column: 1})
		if d.HasErrors() {
			bad("%v", d)
			continue
		}
		body := file.Body.(*hclsyntax.Body)
		bodies = append(bodies, body)
		for _, b := range body.Blocks {
			if b.Type == "locals" {
				for name := range b.Body.Attributes {
					locals[name] = true
				}
			}
		}
		for _, b := range body.Blocks {
			if b.Type != "module" || len(b.Labels) == 0 {
				continue
			}
			child := children[b.Labels[0]]
			if child == nil {
				continue
			}
			passed := map[string]bool{}
			for name := range b.Body.Attributes {
				if meta[name] {
					continue
				}
				passed[name] = true
				if _, ok := child.Variables[name]; !ok {
					bad("module %s is passed unknown variable %s", b.Labels[0], name)
				}
			}
			for name, v := range child.Variables {
				if v.Required && !passed[name] {
					bad("module %s misses required variable %s", b.Labels[0], name)
				}
			}
		}
		walk(body, func(t hcl.Traversal) {
			switch {
			case t.RootName() == "module" && len(t) >= 3:
				name, ok1 := t[1].(hcl.TraverseAttr)
				output, ok2 := t[2].(hcl.TraverseAttr)
				if !ok1 || !ok2 {
					return
				}
				child := children[name.Name]
				if child == nil {
					bad("reference to unknown module %s", name.Name)
				} else if _, ok := child.Outputs[output.Name]; !ok {
					bad("module.%s.%s is not an output of the module", name.Name, output.Name)
				}
			case t.RootName() == "var" && len(t) >= 2:
				if v, ok := t[1].(hcl.TraverseAttr); ok {
					if _, declared := mod.Variables[v.Name]; !declared {
						bad("var.%s is not declared", v.Name)
					}
				}
			}
		})
	}
	// Locals may be defined in any file of the module, so they are
	// checked once every file is read.
	for _, body := range bodies {
		walk(body, func(t hcl.Traversal) {
			if t.RootName() == "local" && len(t) >= 2 {
				if l, ok := t[1].(hcl.TraverseAttr); ok && !locals[l.Name] {
					bad("local.%s is not defined", l.Name)
				}
			}
		})
	}
	sort.Strings(out)
	return out
}

// walk calls fn for every variable reference in body.
func walk(body *hclsyntax.Body, fn func(hcl.Traversal)) {
	for _, a := range body.Attributes {
		for _, t := range a.Expr.Variables() {
			fn(t)
		}
	}
	for _, b := range body.Blocks {
		walk(b.Body, fn)
	}
}

func TestModulesAndEnvironments(t *testing.T) {
	dirs, _ := filepath.Glob("modules/*")
	envs, _ := filepath.Glob("envs/*")
	if len(dirs) < 9 || len(envs) < 2 {
		t.Fatalf("found %d modules and %d environments", len(dirs), len(envs))
	}
	for _, dir := range append(dirs, envs...) {
		t.Run(dir, func(t *testing.T) {
			for _, p := range problems(dir) {
				t.Error(p)
			}
		})
	}
}

// TestCheckerCatchesMistakes proves each check can fail, on a small
// broken configuration in testdata.
func TestCheckerCatchesMistakes(t *testing.T) {
	got := problems("testdata/broken/env")
	want := []string{
		"local.missing is not defined",
		"module app is passed unknown variable colour",
		"module app misses required variable size",
		"module.app.missing is not an output of the module",
		"output out lacks a description",
		"reference to unknown module nowhere",
		"var.undeclared is not declared",
		"variable untyped lacks a type or a description",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("problems =\n%q\nwant\n%q", got, want)
	}
}
