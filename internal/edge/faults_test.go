package edge

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pointsbook/pointsbook/internal/i18n"
)

// faultSite is one place the code makes a fault: its code, and its
// format when the format is written out.
type faultSite struct {
	pos    string
	code   string
	format string // "" when built at run time
}

// dynamicCodes are codes chosen at run time from a table, by file: the
// walk cannot read them from the call.
var dynamicCodes = map[string][]string{
	"internal/sqlstore/users.go": {"username_taken", "nickname_taken", "email_taken"},
}

// faultSites walks the module's Go source (tests aside) for fault.New
// calls and fault.Error literals. A code must be a string literal or a
// string constant; any other code fails the test unless its file lists
// its codes in dynamicCodes.
func faultSites(t *testing.T) []faultSite {
	t.Helper()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	type file struct {
		rel string
		f   *ast.File
	}
	var files []file
	consts := map[string]string{} // "pkg.Name" and "Name@dir" → value
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "deploy" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		files = append(files, file{rel, f})
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[f.Name.Name+"."+name.Name] = s
							consts[name.Name+"@"+filepath.Dir(rel)] = s
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sites []faultSite
	for _, fl := range files {
		inFault := fl.f.Name.Name == "fault"
		resolve := func(e ast.Expr) (string, bool) {
			if s, ok := stringLit(e); ok {
				return s, true
			}
			switch x := e.(type) {
			case *ast.Ident:
				s, ok := consts[x.Name+"@"+filepath.Dir(fl.rel)]
				return s, ok
			case *ast.SelectorExpr:
				if pkg, ok := x.X.(*ast.Ident); ok {
					s, ok := consts[pkg.Name+"."+x.Sel.Name]
					return s, ok
				}
			}
			return "", false
		}
		add := func(n ast.Node, codeExpr, formatExpr ast.Expr) {
			pos := fset.Position(n.Pos()).String()
			code, ok := resolve(codeExpr)
			if !ok {
				if _, listed := dynamicCodes[fl.rel]; !listed {
					t.Errorf("%s: the fault code is neither a literal nor a constant; list the file's codes in dynamicCodes", pos)
				}
				return
			}
			format := ""
			if formatExpr != nil {
				format, _ = stringLit(formatExpr)
			}
			sites = append(sites, faultSite{pos, code, format})
		}
		ast.Inspect(fl.f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if isFaultRef(x.Fun, "New", inFault) && len(x.Args) >= 3 {
					add(x, x.Args[1], x.Args[2])
				}
			case *ast.CompositeLit:
				// Package fault's own literal is New's body.
				if !inFault && isFaultRef(x.Type, "Error", false) {
					var code, format ast.Expr
					for _, el := range x.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						switch k := kv.Key.(*ast.Ident); {
						case k == nil:
						case k.Name == "Code":
							code = kv.Value
						case k.Name == "Format":
							format = kv.Value
						}
					}
					if code != nil {
						add(x, code, format)
					}
				}
			}
			return true
		})
	}
	for file, codes := range dynamicCodes {
		for _, c := range codes {
			sites = append(sites, faultSite{file, c, ""})
		}
	}
	return sites
}

func isFaultRef(e ast.Expr, name string, inFault bool) bool {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		pkg, ok := x.X.(*ast.Ident)
		return ok && pkg.Name == "fault" && x.Sel.Name == name
	case *ast.Ident:
		return inFault && x.Name == name
	}
	return false
}

// stringLit is the value of a string literal or a sum of them.
func stringLit(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		a, ok1 := stringLit(x.X)
		b, ok2 := stringLit(x.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return stringLit(x.X)
	}
	return "", false
}

// Every fault code in the source has its general text fault.<code> in
// both languages (the catalogue's own check refuses a key in one
// language only), taking no arguments, so the HTML error page can show
// it; every variant fault.<code>.<name> is the English format of a fault
// the source makes, so none goes stale.
func TestEveryFaultCodeIsInTheCatalogue(t *testing.T) {
	t.Parallel()
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	sites := faultSites(t)
	if len(sites) < 150 {
		t.Fatalf("the walk found %d fault sites; it is not reading the source", len(sites))
	}
	formats := map[string]map[string]bool{}
	missing := map[string]string{}
	for _, s := range sites {
		key := "fault." + s.code
		if !c.Has(key) {
			missing[key] = s.pos
		} else if n := c.Args(key); n != 0 {
			t.Errorf("%s takes %d arguments; a code's general text takes none", key, n)
		}
		if formats[s.code] == nil {
			formats[s.code] = map[string]bool{}
		}
		formats[s.code][s.format] = true
	}
	keys := make([]string, 0, len(missing))
	for k := range missing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("%s: code has no catalogue text %s (add it to catalog/{ko,en}/faults*.json)", missing[k], k)
	}
	for _, key := range c.Keys() {
		code, ok := FaultCode(key)
		if !ok || key == "fault."+code {
			continue
		}
		en, _ := c.Source(i18n.English, key)
		if !formats[code][en] {
			t.Errorf("%s is not the English format of any %s fault in the source: %q", key, code, en)
		}
	}
}
