// Package archtest checks a module against the dependency rules its
// architecture document states: the package table gives every package a
// tier, and the tier table says which tiers and libraries each tier may
// depend on. The document is the source of truth; Check only enforces it,
// on the packages' full dependencies (not only their direct imports), as
// `go list -deps` reports them without tests.
package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Rules is what the document says.
type Rules struct {
	// Packages maps a package's path relative to the module root
	// ("internal/fault", "cmd/pointsbook"; "." for the root itself) to its
	// tier.
	Packages map[string]string
	// Tiers maps a tier's name to its rule.
	Tiers map[string]Tier
}

// Tier is one row of the tier table.
type Tier struct {
	// MayImport lists the tiers whose packages this tier's may depend on.
	MayImport []string
	// ThirdParty lists the import-path prefixes of the libraries outside
	// the standard library that this tier's packages (and the module
	// packages they depend on) may import; nil means any.
	ThirdParty []string
	// Forbidden lists import-path prefixes that may appear nowhere in the
	// dependencies, standard library included.
	Forbidden []string
}

// Edge is one import, by the paths of both ends relative to the module
// root.
type Edge struct{ From, To string }

// Package is the part of `go list -json` output that Check reads.
type Package struct {
	ImportPath string
	Standard   bool
	DepOnly    bool
	Imports    []string
	Module     *struct {
		Path string
		Main bool
	}
	Error *struct{ Err string }
}

// ParseRules reads the two tables of an architecture document: the one
// whose header has the columns "package" and "tier" (one package per row,
// in backquotes), and the one whose first column is "tier", with the columns
// "may import", "third-party" and "forbidden". In list cells items are
// separated by commas and may be backquoted; "any" means no restriction
// and "—" an empty list.
func ParseRules(doc []byte) (Rules, error) {
	r := Rules{Packages: map[string]string{}, Tiers: map[string]Tier{}}
	var errs []error
	var sawPackages, sawTiers bool
	for _, t := range tables(doc) {
		col := func(name string) int {
			return slices.IndexFunc(t.header, func(h string) bool { return strings.HasPrefix(strings.ToLower(h), name) })
		}
		switch pkgCol, tierCol := col("package"), col("tier"); {
		case pkgCol == 0 && tierCol > 0:
			sawPackages = true
			for _, row := range t.rows {
				paths := quoted(row[pkgCol])
				if len(paths) != 1 {
					errs = append(errs, fmt.Errorf("package table: %q: one package per row, in backquotes", row[pkgCol]))
					continue
				}
				p := paths[0]
				if _, dup := r.Packages[p]; dup {
					errs = append(errs, fmt.Errorf("package table: %s is listed twice", p))
					continue
				}
				r.Packages[p] = strings.TrimSpace(row[tierCol])
			}
		case tierCol == 0:
			may, third, forbidden := col("may import"), col("third-party"), col("forbidden")
			if may < 0 || third < 0 || forbidden < 0 {
				errs = append(errs, errors.New(`tier table: needs the columns "may import", "third-party" and "forbidden"`))
				continue
			}
			sawTiers = true
			for _, row := range t.rows {
				name := strings.TrimSpace(row[0])
				if _, dup := r.Tiers[name]; dup {
					errs = append(errs, fmt.Errorf("tier table: %s is listed twice", name))
					continue
				}
				r.Tiers[name] = Tier{MayImport: list(row[may]), ThirdParty: list(row[third]), Forbidden: list(row[forbidden])}
			}
		}
	}
	if !sawPackages {
		errs = append(errs, errors.New(`no package table (columns "package" and "tier")`))
	}
	if !sawTiers {
		errs = append(errs, errors.New(`no tier table (first column "tier")`))
	}
	for p, tier := range r.Packages {
		if _, ok := r.Tiers[tier]; !ok {
			errs = append(errs, fmt.Errorf("package table: %s has the tier %q, which the tier table does not define", p, tier))
		}
	}
	for name, t := range r.Tiers {
		for _, m := range t.MayImport {
			if _, ok := r.Tiers[m]; !ok {
				errs = append(errs, fmt.Errorf("tier table: %s may import %q, which is not a tier", name, m))
			}
		}
		if t.MayImport == nil {
			errs = append(errs, fmt.Errorf("tier table: %s: name the tiers it may import (\"any\" is not a list of tiers)", name))
		}
	}
	return r, errors.Join(errs...)
}

type table struct {
	header []string
	rows   [][]string
}

// tables returns the document's markdown tables, each row with as many
// cells as its header.
func tables(doc []byte) []table {
	var out []table
	var cur *table
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			cur = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case cur == nil:
			out = append(out, table{header: cells})
			cur = &out[len(out)-1]
		case strings.Trim(strings.Join(cells, ""), "-: ") == "":
			// the delimiter row
		default:
			cells = append(cells, make([]string, max(0, len(cur.header)-len(cells)))...)
			cur.rows = append(cur.rows, cells[:len(cur.header)])
		}
	}
	return out
}

// quoted returns the backquoted spans of a cell.
func quoted(cell string) []string {
	parts := strings.Split(cell, "`")
	var out []string
	for i := 1; i < len(parts)-1; i += 2 {
		out = append(out, parts[i])
	}
	return out
}

// list reads a list cell: nil for "any", empty for "—".
func list(cell string) []string {
	cell = strings.TrimSpace(cell)
	switch cell {
	case "any":
		return nil
	case "—", "-", "":
		return []string{}
	}
	out := []string{}
	for item := range strings.SplitSeq(cell, ",") {
		if item = strings.Trim(strings.TrimSpace(item), "`"); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// List runs `go list -deps -json ./...` in dir: the module's packages
// with every package they depend on, tests excluded.
func List(dir string) ([]Package, error) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,DepOnly,Imports,Module,Error", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %v\n%s", dir, err, stderr.Bytes())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); err == io.EOF {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %v", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
}

// Check returns every way pkgs (from List) break rules: a package of the
// module missing from the package table, a row naming no package of the
// module, a dependency its tier forbids (named by its import path from the
// package, A → B → C), and an exception that no import needs any more.
// Each exception removes one import from the graph before the check.
func Check(rules Rules, pkgs []Package, exceptions []Edge) []error {
	var module string
	for _, p := range pkgs {
		if p.Module != nil && p.Module.Main {
			module = p.Module.Path
			break
		}
	}
	if module == "" {
		return []error{errors.New("no package of the main module in the go list output")}
	}
	rel := func(path string) (string, bool) {
		if path == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	name := func(path string) string {
		if r, ok := rel(path); ok {
			return r
		}
		return path
	}

	var errs []error
	byPath := map[string]Package{}
	var own []string // the module's packages matched by ./..., sorted
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
		if r, ok := rel(p.ImportPath); ok && !p.DepOnly {
			own = append(own, p.ImportPath)
			if _, listed := rules.Packages[r]; !listed {
				errs = append(errs, fmt.Errorf("%s is not in the package table", r))
			}
		}
	}
	slices.Sort(own)
	for _, r := range sortedKeys(rules.Packages) {
		full := module + "/" + r
		if r == "." {
			full = module
		}
		if !slices.Contains(own, full) {
			errs = append(errs, fmt.Errorf("the package table lists %s, which is not a package of %s", r, module))
		}
	}

	imports := func(path string) []string { return byPath[path].Imports }
	skip := map[Edge]bool{}
	for _, e := range exceptions {
		from := byPath[module+"/"+e.From]
		if !slices.Contains(from.Imports, module+"/"+e.To) {
			errs = append(errs, fmt.Errorf("the exception %s → %s is no longer needed: %s does not import %s; delete it", e.From, e.To, e.From, e.To))
		}
		skip[e] = true
	}

	for _, start := range own {
		r, _ := rel(start)
		tierName, listed := rules.Packages[r]
		tier, known := rules.Tiers[tierName]
		if !listed || !known {
			continue
		}
		// Breadth first, so each finding is named by a shortest path.
		parent := map[string]string{start: ""}
		queue := []string{start}
		chain := func(to string) string {
			var c []string
			for p := to; p != ""; p = parent[p] {
				c = append(c, name(p))
			}
			slices.Reverse(c)
			return strings.Join(c, " → ")
		}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			curRel, curOwn := rel(cur)
			for _, next := range imports(cur) {
				if next == "C" {
					continue // cgo's pseudo-package
				}
				nextRel, nextOwn := rel(next)
				if curOwn && nextOwn && skip[Edge{curRel, nextRel}] {
					continue
				}
				if curOwn && !nextOwn && !byPath[next].Standard && tier.ThirdParty != nil && !matchAny(next, tier.ThirdParty) && !matchAny(next, tier.Forbidden) {
					errs = append(errs, fmt.Errorf("%s → %s: %s is not among the third-party libraries the %s tier may import", chain(cur), next, next, tierName))
				}
				if _, seen := parent[next]; seen {
					continue
				}
				parent[next] = cur
				if nextOwn {
					if t := rules.Packages[nextRel]; !slices.Contains(tier.MayImport, t) {
						errs = append(errs, fmt.Errorf("%s: the %s tier may not depend on the %s tier", chain(next), tierName, t))
						continue
					}
				}
				if prefix, bad := matchWhich(next, tier.Forbidden); bad {
					errs = append(errs, fmt.Errorf("%s: %s is forbidden in the dependencies of the %s tier", chain(next), prefix, tierName))
					continue
				}
				queue = append(queue, next)
			}
		}
	}
	return errs
}

// matchWhich reports the first prefix that path is or is inside.
func matchWhich(path string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return p, true
		}
	}
	return "", false
}

func matchAny(path string, prefixes []string) bool {
	_, ok := matchWhich(path, prefixes)
	return ok
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
