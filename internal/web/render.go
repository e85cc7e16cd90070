package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template/parse"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

//go:embed templates
var templateFS embed.FS

// views are the parsed pages: one template set per page and language, the
// layout and partials included, so a page's blocks never clash with
// another's.
type views map[i18n.Lang]map[string]*template.Template

// Page is what every template gets: the viewer, their language and zone,
// and the page's own data.
type Page struct {
	Lang i18n.Lang
	// Langs are the languages the switch offers.
	Langs []i18n.Lang
	// Zone is the viewer's: their profile's, else Korea's.
	Zone *time.Location
	Now  time.Time
	// User is the signed-in player; nil for a visitor.
	User *account.User
	// CSRF goes in every form (csrf_token) and, through the body's
	// data-csrf attribute, in every script's state-changing fetch.
	CSRF string
	// Here is this page's path and query: where the language switch and
	// the log-in page return to.
	Here string
	// View names the page, for the current navigation entry.
	View string
	// OIDCName labels the "sign in with …" button; empty: none.
	OIDCName string
	// Limits are the operator's bet limits, which the slip checks a stake
	// against before sending it (the server checks them again).
	Limits betting.Limits
	Data   any
}

func parseViews(fsys fs.FS, cat *i18n.Catalog, a *assets) (views, error) {
	if cat == nil {
		return nil, fmt.Errorf("web: no message catalogue")
	}
	pages, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := views{}
	for _, l := range i18n.Langs {
		cache := map[string]template.HTML{}
		base, err := template.New("layout.html").Funcs(funcs(cat.For(l), a)).
			Funcs(template.FuncMap{"cached": cachedFunc(cache)}).
			ParseFS(fsys, "templates/layout.html", "templates/partials/*.html")
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		out[l] = map[string]*template.Template{}
		for _, file := range pages {
			t, err := template.Must(base.Clone()).ParseFS(fsys, file)
			if err != nil {
				return nil, fmt.Errorf("web: %w", err)
			}
			name := strings.TrimSuffix(path.Base(file), ".html")
			for _, block := range []string{"title", "content"} {
				if t.Lookup(block) == nil {
					return nil, fmt.Errorf("web: page %s defines no %q block", name, block)
				}
			}
			if err := check(t, cat, a); err != nil {
				return nil, fmt.Errorf("web: page %s: %w", name, err)
			}
			out[l][name] = t
		}
		// The cached-* partials depend on nothing but the language: they
		// are rendered here, once, after the last Clone (a template set
		// cannot be cloned once executed).
		for _, t := range base.Templates() {
			if !strings.HasPrefix(t.Name(), cachedPrefix) {
				continue
			}
			var buf bytes.Buffer
			if err := base.ExecuteTemplate(&buf, t.Name(), nil); err != nil {
				return nil, fmt.Errorf("web: %s: %w", t.Name(), err)
			}
			cache[t.Name()] = template.HTML(buf.String()) //nolint:gosec // html/template's own output
		}
	}
	return out, nil
}

// cachedPrefix names the partials that are rendered once per language at
// start and inserted with {{cached "cached-…"}}: the blocks of texts the
// scripts read (hundreds of catalogue look-ups) that would otherwise be
// rendered again on every page. A cached partial starts in HTML text
// context (its own <script type="application/json"> element), so it is
// escaped the same wherever it is inserted.
const cachedPrefix = "cached-"

func cachedFunc(cache map[string]template.HTML) func(string) (template.HTML, error) {
	return func(name string) (template.HTML, error) {
		h, ok := cache[name]
		if !ok {
			return "", fmt.Errorf("web: no cached partial %q", name)
		}
		return h, nil
	}
}

// check walks every template of a set for constant catalogue keys ({{t
// "key"}}) and asset names ({{asset "app.css"}}) and refuses unknown ones.
func check(set *template.Template, cat *i18n.Catalog, a *assets) error {
	var problems []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				id, _ := n.Args[0].(*parse.IdentifierNode)
				str, _ := n.Args[1].(*parse.StringNode)
				switch {
				case id == nil || str == nil:
				case id.Ident == "t" && !cat.Has(str.Text):
					problems = append(problems, fmt.Sprintf("text %q is not in the catalogue", str.Text))
				case id.Ident == "asset" && !a.has(str.Text):
					problems = append(problems, fmt.Sprintf("asset %q does not exist", str.Text))
				case id.Ident == "cached" && (set.Lookup(str.Text) == nil || !strings.HasPrefix(str.Text, cachedPrefix)):
					problems = append(problems, fmt.Sprintf("cached partial %q is not defined (a cached-… template)", str.Text))
				}
			}
			for _, c := range n.Args {
				walk(c)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	for _, t := range set.Templates() {
		if t.Tree != nil {
			walk(t.Tree.Root)
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("%s", strings.Join(slices.Compact(problems), "; "))
	}
	return nil
}

// funcs are the templates' functions in one language. Texts come only
// from the catalogue (t); the rest format numbers, points and times as a
// Korean player expects them.
func funcs(p *i18n.Printer, a *assets) template.FuncMap {
	return template.FuncMap{
		"t":        p.T,
		"points":   p.Points,
		"num":      func(n int64) string { return p.Number(n) },
		"datetime": p.DateTime,
		"date":     p.Date,
		"clock":    p.Clock,
		"relative": p.Relative,
		"asset":    a.url,
		"sport":    func(slug string) string { return p.T("sport." + slug) },
		"state":    func(s sport.State) string { return p.T("state." + string(s)) },
		"odds":     func(o odds.Odds) string { return o.String() },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"int64":    func(n int) int64 { return int64(n) },
		"rowOf":    func(p *Page, m *betting.Match) matchRow { return matchRow{p, m} },
		"authForm": newAuthForm,
	}
}

// matchRow is a match with the page it is shown on, for the match-row
// partial, which needs the viewer's zone and clock.
type matchRow struct {
	Page  *Page
	Match *betting.Match
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes view with data inside the layout. The page is rendered
// into a buffer first, so a failing template answers the error page
// rather than half a page.
func (s *Web) render(w http.ResponseWriter, r *http.Request, status int, view string, data any) error {
	return s.write(w, status, s.page(w, r, view, data))
}

// write renders a page made by s.page.
func (s *Web) write(w http.ResponseWriter, status int, pg *Page) error {
	view := pg.View
	t := s.views[pg.Lang][view]
	if t == nil {
		return fmt.Errorf("web: no view %q", view)
	}
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer buffers.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout.html", pg); err != nil {
		return fmt.Errorf("web: render %s: %w", view, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", pg.Lang.Tag())
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
	return nil
}

// page is the viewer's part of every page.
func (s *Web) page(w http.ResponseWriter, r *http.Request, view string, data any) *Page {
	pg := &Page{Lang: s.lang(r), Langs: i18n.Langs, Zone: viewerZone(r), Now: s.now(), CSRF: s.edge.PageToken(w, r),
		Here: r.URL.RequestURI(), View: view, OIDCName: s.opt.OIDCName, Limits: s.opt.Limits, Data: data}
	if sess := edge.SessionFrom(r.Context()); sess != nil {
		pg.User = sess.User
	}
	return pg
}
