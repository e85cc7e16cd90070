package web

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// A template that cannot work stops the site at start: the binary fails
// to start instead of failing a visitor's request later.
func TestBrokenTemplatesFailAtStart(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	layout := `<html>{{template "title" .}}{{template "content" .}}{{template "slip" .}}</html>`
	slip := `{{define "slip"}}{{t "slip.title"}}{{end}}`
	for _, tt := range []struct {
		name, page, want string
	}{
		{"fine", `{{define "title"}}{{t "main.title"}}{{end}}{{define "content"}}<img src="{{asset "icon.svg"}}" alt="">{{end}}`, ""},
		{"syntax error", `{{define "title"}}{{t "main.title"}{{end}}`, "unexpected"},
		{"unknown text", `{{define "title"}}{{t "main.no_such_key"}}{{end}}{{define "content"}}{{end}}`, `text "main.no_such_key" is not in the catalogue`},
		{"unknown text in a branch", `{{define "title"}}x{{end}}{{define "content"}}{{if .User}}{{range .Langs}}{{t "nope.nope"}}{{end}}{{end}}{{end}}`, `"nope.nope"`},
		{"unknown asset", `{{define "title"}}x{{end}}{{define "content"}}<script src="{{asset "gone.js"}}"></script>{{end}}`, `asset "gone.js" does not exist`},
		{"no content block", `{{define "title"}}x{{end}}`, `defines no "content" block`},
		{"unknown cached partial", `{{define "title"}}x{{end}}{{define "content"}}{{cached "cached-nothing"}}{{end}}`, `cached partial "cached-nothing" is not defined`},
		{"cached partial without the prefix", `{{define "title"}}x{{end}}{{define "content"}}{{cached "title"}}{{end}}`, `cached partial "title" is not defined`},
		{"unknown function", `{{define "title"}}{{shout "x"}}{{end}}{{define "content"}}{{end}}`, `function "shout" not defined`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{
				"templates/layout.html":        {Data: []byte(layout)},
				"templates/partials/slip.html": {Data: []byte(slip)},
				"templates/pages/example.html": {Data: []byte(tt.page)},
			}
			_, err := parseViews(fsys, cat, a)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("a fine page refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseViews = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// The shipped templates parse and pass the check, and every dynamic key
// they build (sports, states, selections, languages, statuses) exists.
func TestShippedTemplatesAndDynamicKeys(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseViews(templateFS, cat, a); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, sp := range sport.Sports {
		keys = append(keys, "sport."+sp.Slug)
	}
	for _, st := range sport.States {
		keys = append(keys, "state."+string(st))
	}
	for kind, names := range betting.SelectionNames {
		for _, n := range names {
			keys = append(keys, "sel."+string(kind)+"."+n)
		}
	}
	for _, l := range i18n.Langs {
		keys = append(keys, "lang.name."+string(l))
	}
	for _, c := range []string{"400", "401", "403", "404", "405", "409", "413", "422", "429", "500", "503"} {
		keys = append(keys, "error."+c)
	}
	for _, k := range keys {
		if !cat.Has(k) {
			t.Errorf("catalogue lacks %q", k)
		}
	}
}
