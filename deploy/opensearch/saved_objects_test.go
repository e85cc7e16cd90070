// Package opensearch_test checks the OpenSearch Dashboards saved objects
// under saved-objects/ against the index templates the binary installs
// (internal/logship/templates): every NDJSON line parses, every reference
// resolves, and every field a visualization aggregates on, filters on or
// queries exists in the template of its index pattern with a type the use
// needs. A visualization on a missing or wrongly typed field imports
// without complaint and only fails when someone opens the dashboard.
package opensearch_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// templateDir holds the composable index templates (one JSON body per
// index family) that the binary installs at start.
const templateDir = "../../internal/logship/templates"

// aggField is the field type each aggregation needs; "" means any
// aggregatable field (not text). An aggregation type missing here fails
// the check, so a new kind of visualization gets a rule before it ships.
var aggField = map[string]string{
	"terms": "keyword", "significant_terms": "keyword", "rare_terms": "keyword",
	"percentiles": "long", "percentile_ranks": "long", "avg": "long", "sum": "long",
	"min": "long", "max": "long", "median": "long", "std_dev": "long",
	"range": "long", "histogram": "long",
	"date_histogram": "date", "date_range": "date",
	"geohash_grid": "geo_point", "geotile_grid": "geo_point", "geo_centroid": "geo_point", "geo_bounds": "geo_point",
	"ip_range":    "ip",
	"cardinality": "", "value_count": "", "top_hits": "",
}

// fieldless aggregations take no field.
var fieldless = map[string]bool{"count": true, "filters": true}

type reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

type savedObject struct {
	Type             string            `json:"type"`
	ID               string            `json:"id"`
	Attributes       map[string]any    `json:"attributes"`
	References       []reference       `json:"references"`
	MigrationVersion map[string]string `json:"migrationVersion,omitempty"`
}

func (o savedObject) str(attr string) string {
	s, _ := o.Attributes[attr].(string)
	return s
}

// indexTemplate is what the check needs of a composable index template:
// the index patterns it applies to and its fields by dotted name.
type indexTemplate struct {
	Name     string
	Patterns []string
	Fields   map[string]string
}

// parseTemplate reads a composable index template body
// ({"index_patterns": [...], "template": {"mappings": {"properties": ...}}}).
func parseTemplate(name string, data []byte) (indexTemplate, error) {
	var body struct {
		IndexPatterns []string `json:"index_patterns"`
		Template      struct {
			Mappings struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return indexTemplate{}, err
	}
	if len(body.IndexPatterns) == 0 || len(body.Template.Mappings.Properties) == 0 {
		return indexTemplate{}, fmt.Errorf("not a composable index template with index_patterns and template.mappings.properties")
	}
	t := indexTemplate{Name: name, Patterns: body.IndexPatterns, Fields: map[string]string{}}
	return t, flatten(body.Template.Mappings.Properties, "", t.Fields)
}

// flatten records every leaf of a mapping's properties under its dotted
// path, and multi-fields ("fields") as path.subfield.
func flatten(props map[string]json.RawMessage, prefix string, out map[string]string) error {
	for name, raw := range props {
		var p struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
			Fields     map[string]struct {
				Type string `json:"type"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("%s%s: %w", prefix, name, err)
		}
		path := prefix + name
		if p.Properties != nil {
			if err := flatten(p.Properties, path+".", out); err != nil {
				return err
			}
			continue
		}
		if p.Type == "" {
			return fmt.Errorf("%s: a leaf without a type", path)
		}
		out[path] = p.Type
		for sub, f := range p.Fields {
			out[path+"."+sub] = f.Type
		}
	}
	return nil
}

func loadTemplates(t *testing.T) []indexTemplate {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(templateDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		abs, _ := filepath.Abs(templateDir)
		t.Fatalf("no index templates in %s: the dashboards are checked against the templates the binary installs, "+
			"internal/logship/templates/{access,audit,app}.json", abs)
	}
	var out []indexTemplate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := parseTemplate(filepath.Base(f), data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, tmpl)
	}
	return out
}

// readNDJSON decodes one saved object per line, refusing unknown keys.
func readNDJSON(name string, r io.Reader) ([]savedObject, []string) {
	var objs []savedObject
	var bad []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 4<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			bad = append(bad, fmt.Sprintf("%s:%d: empty line", name, n))
			continue
		}
		var o savedObject
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			bad = append(bad, fmt.Sprintf("%s:%d: %v", name, n, err))
			continue
		}
		if o.Type == "" || o.ID == "" || o.Attributes == nil {
			bad = append(bad, fmt.Sprintf("%s:%d: type, id or attributes missing", name, n))
			continue
		}
		objs = append(objs, o)
	}
	if err := sc.Err(); err != nil {
		bad = append(bad, fmt.Sprintf("%s: %v", name, err))
	}
	return objs, bad
}

type agg struct {
	ID      string         `json:"id"`
	Enabled *bool          `json:"enabled"`
	Type    string         `json:"type"`
	Schema  string         `json:"schema"`
	Params  map[string]any `json:"params"`
}

type visState struct {
	Title  string         `json:"title"`
	Type   string         `json:"type"`
	Params map[string]any `json:"params"`
	Aggs   []agg          `json:"aggs"`
}

type searchSource struct {
	Query struct {
		Query    any    `json:"query"`
		Language string `json:"language"`
	} `json:"query"`
	Filter       []map[string]any `json:"filter"`
	IndexRefName string           `json:"indexRefName"`
}

// use is one place a saved object names a field.
type use struct {
	field, need, where string
}

// check returns every problem of objs against the templates, sorted.
func check(objs []savedObject, templates []indexTemplate) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	ids := map[string]bool{}
	for _, o := range objs {
		key := o.Type + "/" + o.ID
		if ids[key] {
			bad("%s is defined twice", key)
		}
		ids[key] = true
	}
	for _, o := range objs {
		for _, r := range o.References {
			if !ids[r.Type+"/"+r.ID] {
				bad("%s %s references %s %s, which is not in the saved objects", o.Type, o.ID, r.Type, r.ID)
			}
		}
		for k, v := range o.Attributes {
			if s, ok := v.(string); ok && (strings.HasSuffix(k, "JSON") || k == "visState" || k == "fields" || k == "fieldFormatMap") && !json.Valid([]byte(s)) {
				bad("%s %s: attribute %s is not valid JSON", o.Type, o.ID, k)
			}
		}
		if m, ok := o.Attributes["kibanaSavedObjectMeta"].(map[string]any); ok {
			if s, ok := m["searchSourceJSON"].(string); ok && !json.Valid([]byte(s)) {
				bad("%s %s: searchSourceJSON is not valid JSON", o.Type, o.ID)
			}
		}
	}

	// Index patterns and the template each one reads.
	fieldsOf := map[string]map[string]string{}
	for _, o := range objs {
		if o.Type != "index-pattern" {
			continue
		}
		title := o.str("title")
		var tmpl *indexTemplate
		for i := range templates {
			if slices.Contains(templates[i].Patterns, title) {
				tmpl = &templates[i]
			}
		}
		if tmpl == nil {
			bad("index-pattern %s: no index template applies to %q", o.ID, title)
			continue
		}
		fieldsOf[o.ID] = tmpl.Fields
		if tf := o.str("timeFieldName"); tmpl.Fields[tf] != "date" {
			bad("index-pattern %s: time field %q is %q in %s, want date", o.ID, tf, tmpl.Fields[tf], tmpl.Name)
		}
		var specs []struct {
			Name    string   `json:"name"`
			EsTypes []string `json:"esTypes"`
		}
		if s := o.str("fields"); s != "" {
			if err := json.Unmarshal([]byte(s), &specs); err != nil {
				bad("index-pattern %s: fields: %v", o.ID, err)
			}
		}
		for _, f := range specs {
			if got := tmpl.Fields[f.Name]; got == "" || !slices.Equal(f.EsTypes, []string{got}) {
				bad("index-pattern %s: field %s has esTypes %v, but %s maps it as %q", o.ID, f.Name, f.EsTypes, tmpl.Name, got)
			}
		}
	}

	onDashboard := map[string]bool{}
	for _, o := range objs {
		switch o.Type {
		case "visualization":
			var uses []use
			var vs visState
			if err := json.Unmarshal([]byte(o.str("visState")), &vs); err != nil {
				bad("visualization %s: visState: %v", o.ID, err)
				continue
			}
			for _, a := range vs.Aggs {
				if a.Enabled != nil && !*a.Enabled {
					continue
				}
				field, _ := a.Params["field"].(string)
				need, known := aggField[a.Type]
				switch {
				case fieldless[a.Type] && field != "":
					bad("visualization %s: %s aggregation %s has a field (%s)", o.ID, a.Type, a.ID, field)
				case fieldless[a.Type]:
				case !known:
					bad("visualization %s: aggregation type %q has no field rule in this test", o.ID, a.Type)
				case field == "":
					bad("visualization %s: %s aggregation %s has no field", o.ID, a.Type, a.ID)
				default:
					uses = append(uses, use{field, need, a.Type + " aggregation " + a.ID})
				}
				if a.Type == "filters" {
					fs, _ := a.Params["filters"].([]any)
					for _, f := range fs {
						q, _ := f.(map[string]any)["input"].(map[string]any)
						qs, _ := q["query"].(string)
						for _, kf := range kqlFields(qs) {
							uses = append(uses, use{kf.Name, kf.need(), "filters aggregation " + a.ID})
						}
					}
				}
			}
			paramFields(vs.Params, func(f string) { uses = append(uses, use{f, "", "vis params"}) })

			meta, _ := o.Attributes["kibanaSavedObjectMeta"].(map[string]any)
			var ss searchSource
			if s, _ := meta["searchSourceJSON"].(string); s != "" {
				if err := json.Unmarshal([]byte(s), &ss); err != nil {
					bad("visualization %s: searchSourceJSON: %v", o.ID, err)
					continue
				}
			}
			qs, _ := ss.Query.Query.(string)
			switch {
			case strings.TrimSpace(qs) == "":
			case ss.Query.Language == "kuery":
				for _, kf := range kqlFields(qs) {
					uses = append(uses, use{kf.Name, kf.need(), "query"})
				}
			default:
				bad("visualization %s: query language %q cannot be checked; use kuery", o.ID, ss.Query.Language)
			}
			for _, f := range ss.Filter {
				for _, name := range filterFields(f) {
					uses = append(uses, use{name, "", "filter"})
				}
			}

			var pattern string
			for _, r := range o.References {
				if r.Type == "index-pattern" && r.Name == ss.IndexRefName {
					pattern = r.ID
				}
			}
			fields := fieldsOf[pattern]
			if fields == nil {
				bad("visualization %s: no index pattern (searchSourceJSON indexRefName %q)", o.ID, ss.IndexRefName)
				continue
			}
			for _, u := range uses {
				got := fields[u.field]
				switch {
				case got == "" && strings.Contains(u.field, "*"):
					// A wildcard in a query matches whatever exists.
				case got == "":
					bad("visualization %s: %s uses %s, which index pattern %s does not map", o.ID, u.where, u.field, pattern)
				case u.need == "" && u.where != "query" && got == "text":
					bad("visualization %s: %s uses text field %s, which cannot be aggregated", o.ID, u.where, u.field)
				case u.need == "range" && got != "long" && got != "date":
					bad("visualization %s: %s compares %s, which is %s (want long or date)", o.ID, u.where, u.field, got)
				case u.need != "" && u.need != "range" && got != u.need:
					bad("visualization %s: %s on %s needs a %s field, but it is %s", o.ID, u.where, u.field, u.need, got)
				}
			}
		case "dashboard":
			var panels []struct {
				PanelRefName string `json:"panelRefName"`
			}
			if err := json.Unmarshal([]byte(o.str("panelsJSON")), &panels); err != nil {
				bad("dashboard %s: panelsJSON: %v", o.ID, err)
				continue
			}
			for _, p := range panels {
				i := slices.IndexFunc(o.References, func(r reference) bool { return r.Name == p.PanelRefName })
				if i < 0 {
					bad("dashboard %s: panel %q has no reference", o.ID, p.PanelRefName)
					continue
				}
				onDashboard[o.References[i].Type+"/"+o.References[i].ID] = true
			}
		}
	}
	for _, o := range objs {
		if o.Type == "visualization" && !onDashboard["visualization/"+o.ID] {
			bad("visualization %s is on no dashboard", o.ID)
		}
	}
	sort.Strings(out)
	return out
}

// paramFields calls fn with every field named in a visualization's own
// params (input controls and the like name them as field or fieldName).
func paramFields(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "field" || k == "fieldName") && s != "" {
				fn(s)
				continue
			}
			paramFields(x, fn)
		}
	case []any:
		for _, x := range v {
			paramFields(x, fn)
		}
	}
}

// filterFields names the fields of one searchSource filter (meta.key and
// the query it holds: match_phrase, match, term(s), range, exists).
func filterFields(f map[string]any) []string {
	var out []string
	if meta, ok := f["meta"].(map[string]any); ok {
		if k, _ := meta["key"].(string); k != "" {
			out = append(out, k)
		}
	}
	q, ok := f["query"].(map[string]any)
	if !ok {
		q = f
	}
	for _, kind := range []string{"match_phrase", "match", "term", "terms", "range"} {
		if m, ok := q[kind].(map[string]any); ok {
			for k := range m {
				out = append(out, k)
			}
		}
	}
	if e, ok := q["exists"].(map[string]any); ok {
		if k, _ := e["field"].(string); k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// kqlField is a field named in a KQL query with the operator after it.
type kqlField struct {
	Name, Op string
}

func (f kqlField) need() string {
	if f.Op == ":" {
		return ""
	}
	return "range"
}

// kqlFields finds the fields of a Kibana Query Language expression: a name
// followed by ':' or a range operator (<, <=, >, >=), outside quoted
// values. Values, keywords (and, or, not) and parentheses are skipped.
func kqlFields(q string) []kqlField {
	var out []kqlField
	isName := func(c byte) bool {
		return c == '@' || c == '_' || c == '.' || c == '*' || c == '-' ||
			c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '"':
			// A quoted value, with backslash escapes.
			for i++; i < len(q) && q[i] != '"'; i++ {
				if q[i] == '\\' {
					i++
				}
			}
			i++
		case c == '\\':
			i += 2
		case isName(c):
			start := i
			for i < len(q) && isName(q[i]) {
				i++
			}
			name := q[start:i]
			j := i
			for j < len(q) && (q[j] == ' ' || q[j] == '\t' || q[j] == '\n') {
				j++
			}
			if j < len(q) {
				switch {
				case q[j] == ':':
					out = append(out, kqlField{name, ":"})
					i = j + 1
				case q[j] == '<' || q[j] == '>':
					op := q[j : j+1]
					if j+1 < len(q) && q[j+1] == '=' {
						op = q[j : j+2]
					}
					out = append(out, kqlField{name, op})
					i = j + len(op)
				}
			}
		default:
			i++
		}
	}
	return out
}

func loadSavedObjects(t *testing.T) []savedObject {
	t.Helper()
	files, _ := filepath.Glob("saved-objects/*.ndjson")
	if len(files) == 0 {
		t.Fatal("no saved objects in deploy/opensearch/saved-objects")
	}
	var objs []savedObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		o, bad := readNDJSON(f, bytes.NewReader(data))
		for _, b := range bad {
			t.Error(b)
		}
		objs = append(objs, o...)
	}
	return objs
}

func TestSavedObjectsMatchIndexTemplates(t *testing.T) {
	templates := loadTemplates(t)
	objs := loadSavedObjects(t)
	for _, p := range check(objs, templates) {
		t.Error(p)
	}
}

// TestDashboardsShowWhatTheIssueAsks: the panels issue 18 names exist, on
// the right index and fields (the type rules are TestSavedObjectsMatch…'s).
func TestDashboardsShowWhatTheIssueAsks(t *testing.T) {
	objs := loadSavedObjects(t)
	titles := map[string]string{}
	for _, o := range objs {
		if o.Type == "index-pattern" {
			titles[o.ID] = o.str("title")
		}
	}
	type found struct{ pattern, aggType, field, query string }
	var have []found
	patterns := map[string]bool{}
	dashboards := 0
	for _, o := range objs {
		switch o.Type {
		case "index-pattern":
			if o.str("timeFieldName") == "@timestamp" {
				patterns[o.str("title")] = true
			}
		case "dashboard":
			dashboards++
		case "visualization":
			var vs visState
			var ss searchSource
			_ = json.Unmarshal([]byte(o.str("visState")), &vs)
			meta, _ := o.Attributes["kibanaSavedObjectMeta"].(map[string]any)
			s, _ := meta["searchSourceJSON"].(string)
			_ = json.Unmarshal([]byte(s), &ss)
			q, _ := ss.Query.Query.(string)
			var pattern string
			for _, r := range o.References {
				if r.Type == "index-pattern" {
					pattern = titles[r.ID]
				}
			}
			for _, a := range vs.Aggs {
				f, _ := a.Params["field"].(string)
				have = append(have, found{pattern, a.Type, f, q})
			}
		}
	}
	for _, p := range []string{"pointsbook-access-*", "pointsbook-audit-*", "pointsbook-app-*"} {
		if !patterns[p] {
			t.Errorf("no index pattern %s on @timestamp", p)
		}
	}
	if dashboards == 0 {
		t.Error("no dashboard")
	}
	for _, want := range []struct {
		what, pattern, aggType, field string
		query                         []string
	}{
		{"map of requests by location", "pointsbook-access-*", "geohash_grid", "client.geo.location", nil},
		{"failed sign-ins by country", "pointsbook-audit-*", "terms", "client.geo.country_iso_code", []string{"event.action", "login", "event.outcome", "failure"}},
		{"top routes", "pointsbook-access-*", "terms", "http.route", nil},
		{"error rates", "pointsbook-access-*", "range", "http.response.status_code", nil},
		{"latency percentiles", "pointsbook-access-*", "percentiles", "event.duration", nil},
		{"bets per sport", "pointsbook-app-*", "terms", "pointsbook.sport", []string{"bet.placed"}},
		{"points staked per sport", "pointsbook-app-*", "sum", "pointsbook.points.staked", []string{"bet.placed"}},
		{"points paid per sport", "pointsbook-app-*", "sum", "pointsbook.points.paid", []string{"bet.settled"}},
		{"audit events by action", "pointsbook-audit-*", "terms", "event.action", nil},
	} {
		ok := slices.ContainsFunc(have, func(f found) bool {
			if f.pattern != want.pattern || f.aggType != want.aggType || f.field != want.field {
				return false
			}
			for _, w := range want.query {
				if !strings.Contains(f.query, w) {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Errorf("no visualization for %s: %s on %s in %s with a query naming %v", want.what, want.aggType, want.field, want.pattern, want.query)
		}
	}
}

// TestCheckerCatchesMistakes proves each rule can fail, on a small set of
// objects with one mistake each against a small template.
func TestCheckerCatchesMistakes(t *testing.T) {
	tmpl, err := parseTemplate("t.json", []byte(`{"index_patterns":["logs-*"],"template":{"mappings":{"properties":{
		"@timestamp":{"type":"date"},"message":{"type":"text","fields":{"raw":{"type":"keyword"}}},
		"http":{"properties":{"route":{"type":"keyword"},"status":{"type":"long"}}},
		"geo":{"properties":{"location":{"type":"geo_point"}}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	mustJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	vis := func(id string, aggs []map[string]any, query, lang string, filter []map[string]any) savedObject {
		if filter == nil {
			filter = []map[string]any{}
		}
		return savedObject{Type: "visualization", ID: id,
			Attributes: map[string]any{"title": id,
				"visState": mustJSON(map[string]any{"title": id, "type": "table", "params": map[string]any{}, "aggs": aggs}),
				"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": mustJSON(map[string]any{
					"query": map[string]any{"query": query, "language": lang}, "filter": filter,
					"indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"})}},
			References: []reference{{"kibanaSavedObjectMeta.searchSourceJSON.index", "index-pattern", "logs"}}}
	}
	a := func(typ, field string) map[string]any {
		return map[string]any{"id": "2", "enabled": true, "type": typ, "schema": "bucket", "params": map[string]any{"field": field}}
	}
	count := map[string]any{"id": "1", "enabled": true, "type": "count", "schema": "metric", "params": map[string]any{}}
	objs := []savedObject{
		{Type: "index-pattern", ID: "logs", Attributes: map[string]any{"title": "logs-*", "timeFieldName": "@timestamp",
			"fields": `[{"name":"http.status","esTypes":["keyword"]},{"name":"http.route","esTypes":["keyword"]}]`}},
		{Type: "index-pattern", ID: "other", Attributes: map[string]any{"title": "other-*", "timeFieldName": "time"}},
		vis("good", []map[string]any{count, a("terms", "message.raw"), a("range", "http.status")}, `http.status >= 500 and http.route: "x"`, "kuery", nil),
		vis("missing-field", []map[string]any{count, a("terms", "http.path")}, "", "kuery", nil),
		vis("terms-on-long", []map[string]any{count, a("terms", "http.status")}, "", "kuery", nil),
		vis("percentiles-on-keyword", []map[string]any{count, a("percentiles", "http.route")}, "", "kuery", nil),
		vis("geo-on-keyword", []map[string]any{count, a("geohash_grid", "http.route")}, "", "kuery", nil),
		vis("histogram-on-keyword", []map[string]any{count, a("date_histogram", "http.route")}, "", "kuery", nil),
		vis("terms-on-text", []map[string]any{count, a("terms", "message")}, "", "kuery", nil),
		vis("unknown-agg", []map[string]any{count, a("moving_fn", "http.status")}, "", "kuery", nil),
		vis("query-field", []map[string]any{count}, `event.action: "login" and http.route >= 3`, "kuery", nil),
		vis("lucene", []map[string]any{count}, "http.route:x", "lucene", nil),
		vis("filter-field", []map[string]any{count}, "", "kuery", []map[string]any{{"meta": map[string]any{"key": "user.id"}, "query": map[string]any{"match_phrase": map[string]any{"user.id": "1"}}}}),
		{Type: "visualization", ID: "no-pattern", Attributes: map[string]any{"visState": mustJSON(map[string]any{"aggs": []any{}})}},
		{Type: "dashboard", ID: "d", Attributes: map[string]any{"panelsJSON": `[{"panelRefName":"panel_0"},{"panelRefName":"panel_9"}]`},
			References: []reference{{"panel_0", "visualization", "good"}, {"panel_1", "visualization", "gone"}}},
	}
	got := check(objs, []indexTemplate{tmpl})
	want := []string{
		"dashboard d references visualization gone, which is not in the saved objects",
		"dashboard d: panel \"panel_9\" has no reference",
		"index-pattern logs: field http.status has esTypes [keyword], but t.json maps it as \"long\"",
		"index-pattern other: no index template applies to \"other-*\"",
		"visualization filter-field is on no dashboard",
		"visualization filter-field: filter uses user.id, which index pattern logs does not map",
		"visualization geo-on-keyword is on no dashboard",
		"visualization geo-on-keyword: geohash_grid aggregation 2 on http.route needs a geo_point field, but it is keyword",
		"visualization histogram-on-keyword is on no dashboard",
		"visualization histogram-on-keyword: date_histogram aggregation 2 on http.route needs a date field, but it is keyword",
		"visualization lucene is on no dashboard",
		"visualization lucene: query language \"lucene\" cannot be checked; use kuery",
		"visualization missing-field is on no dashboard",
		"visualization missing-field: terms aggregation 2 uses http.path, which index pattern logs does not map",
		"visualization no-pattern is on no dashboard",
		"visualization no-pattern: no index pattern (searchSourceJSON indexRefName \"\")",
		"visualization percentiles-on-keyword is on no dashboard",
		"visualization percentiles-on-keyword: percentiles aggregation 2 on http.route needs a long field, but it is keyword",
		"visualization query-field is on no dashboard",
		"visualization query-field: query compares http.route, which is keyword (want long or date)",
		"visualization query-field: query uses event.action, which index pattern logs does not map",
		"visualization terms-on-long is on no dashboard",
		"visualization terms-on-long: terms aggregation 2 on http.status needs a keyword field, but it is long",
		"visualization terms-on-text is on no dashboard",
		"visualization terms-on-text: terms aggregation 2 on message needs a keyword field, but it is text",
		"visualization unknown-agg is on no dashboard",
		"visualization unknown-agg: aggregation type \"moving_fn\" has no field rule in this test",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range got {
		if strings.HasPrefix(p, "visualization good") {
			t.Errorf("the correct visualization has a problem: %s", p)
		}
	}
}

func TestReadNDJSONRejectsBadLines(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"not JSON", "{\"type\":", "x:1: unexpected EOF"},
		{"unknown key", `{"type":"dashboard","id":"d","attributes":{},"refs":[]}`, `x:1: json: unknown field "refs"`},
		{"no id", `{"type":"dashboard","attributes":{}}`, "x:1: type, id or attributes missing"},
		{"empty line", "\n", "x:1: empty line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, bad := readNDJSON("x", strings.NewReader(tt.in))
			if len(bad) != 1 || bad[0] != tt.want {
				t.Errorf("problems %q, want [%q]", bad, tt.want)
			}
		})
	}
}

func TestTemplatesRequired(t *testing.T) {
	for _, tt := range []struct{ name, body string }{
		{"legacy body", `{"index_patterns":["a-*"],"mappings":{"properties":{"a":{"type":"keyword"}}}}`},
		{"no patterns", `{"template":{"mappings":{"properties":{"a":{"type":"keyword"}}}}}`},
		{"untyped leaf", `{"index_patterns":["a-*"],"template":{"mappings":{"properties":{"a":{}}}}}`},
		{"not JSON", `{`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseTemplate("t", []byte(tt.body)); err == nil {
				t.Error("parsed without error")
			}
		})
	}
}

func TestKQLFields(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want []kqlField
	}{
		{``, nil},
		{`event.action: login and event.outcome: failure`, []kqlField{{"event.action", ":"}, {"event.outcome", ":"}}},
		{`event.action:("bet.placed" or "bet.settled")`, []kqlField{{"event.action", ":"}}},
		{`http.response.status_code >= 500 and not url.path : "/a:b"`, []kqlField{{"http.response.status_code", ">="}, {"url.path", ":"}}},
		{`@timestamp < "now-1d" or x>1`, []kqlField{{"@timestamp", "<"}, {"x", ">"}}},
		{`message: "say \"a: b\"" and client.geo.*: *`, []kqlField{{"message", ":"}, {"client.geo.*", ":"}}},
		{`just words`, nil},
		{`a\:b: 1`, []kqlField{{"b", ":"}}},
	} {
		if got := kqlFields(tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("kqlFields(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func FuzzKQLFields(f *testing.F) {
	for _, s := range []string{`a: b`, `a >= 1 and (b: "x" or not c <= 2)`, `"unterminated`, `\`, `a\`, `x >`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, kf := range kqlFields(q) {
			if kf.Name == "" || !strings.Contains(q, kf.Name) {
				t.Errorf("field %q not in %q", kf.Name, q)
			}
			if !slices.Contains([]string{":", "<", "<=", ">", ">="}, kf.Op) {
				t.Errorf("operator %q", kf.Op)
			}
		}
	})
}
