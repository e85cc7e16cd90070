package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The OpenAPI document is written by hand beside the route table. These
// tests hold the two together: every route is documented and nothing else
// is, every operation declares what its access rule implies, and every
// $ref points somewhere. Each check returns its problems as sentences, so
// that TestOpenAPIChecksCatchDrift can show each one failing when it should.

// openapiMethods are the keys of a path item that are operations.
var openapiMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func parseOpenAPI(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// openapiRoutes is the route table; Routes does not touch the store.
func openapiRoutes() []Route {
	return New(nil, Options{}, slog.New(slog.DiscardHandler)).Routes()
}

var restWildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\.\.\.\}`)

// openapiPath turns a ServeMux pattern into an OpenAPI path template:
// "{id}" stays, "{rest...}" becomes "{rest}" and "{$}" goes.
func openapiPath(pattern string) string {
	return restWildcard.ReplaceAllString(strings.ReplaceAll(pattern, "{$}", ""), "{$1}")
}

func openapiKey(method, path string) string { return strings.ToUpper(method) + " " + path }

// openapiOperations returns every operation of the document by
// "METHOD /path".
func openapiOperations(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range openapiMethods {
			if op, ok := item[m].(map[string]any); ok {
				out[openapiKey(m, path)] = op
			}
		}
	}
	return out
}

// checkOpenAPIVersion reports a document that is not OpenAPI 3.1.
func checkOpenAPIVersion(doc map[string]any) []string {
	var problems []string
	v, _ := doc["openapi"].(string)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		problems = append(problems, fmt.Sprintf("openapi is %q, want 3.1.x", v))
	}
	info, _ := doc["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		problems = append(problems, "info.title is missing")
	}
	if s, _ := info["version"].(string); s == "" {
		problems = append(problems, "info.version is missing")
	}
	if _, ok := doc["paths"].(map[string]any); !ok {
		problems = append(problems, "paths is missing")
	}
	return problems
}

// checkOpenAPIRoutes reports routes the document lacks and operations
// that are not routes.
func checkOpenAPIRoutes(doc map[string]any, routes []Route) []string {
	want := map[string]bool{}
	for _, rt := range routes {
		want[openapiKey(rt.Method, openapiPath(rt.Pattern))] = true
	}
	have := openapiOperations(doc)
	var problems []string
	for k := range want {
		if have[k] == nil {
			problems = append(problems, "missing from openapi.json: "+k)
		}
	}
	for k := range have {
		if !want[k] {
			problems = append(problems, "in openapi.json but not in Routes(): "+k)
		}
	}
	sort.Strings(problems)
	return problems
}

// openapiResolve follows a $ref inside the document ("#/a/b") to what it
// names. References to other documents are not used and do not resolve.
func openapiResolve(doc map[string]any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	var cur any = doc
	if rest == "" {
		return cur, true
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, false
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	for _, tok := range strings.Split(rest[1:], "/") {
		tok = unescape.Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// openapiDeref returns v, or what it names when it is a {"$ref": …}.
func openapiDeref(doc map[string]any, v any) map[string]any {
	m, _ := v.(map[string]any)
	for range 10 { // a reference to a reference, a bounded number of times
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		r, _ := openapiResolve(doc, ref)
		m, _ = r.(map[string]any)
	}
	return m
}

// checkOpenAPIRefs reports every $ref that does not resolve inside the
// document.
func checkOpenAPIRefs(doc map[string]any) []string {
	var problems []string
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"]; ok {
				s, isString := ref.(string)
				if _, found := openapiResolve(doc, s); !isString || !found {
					problems = append(problems, fmt.Sprintf("%s: $ref %v does not resolve", at, ref))
				}
			}
			for k, e := range x {
				walk(at+"/"+k, e)
			}
		case []any:
			for i, e := range x {
				walk(at+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", doc)
	sort.Strings(problems)
	return problems
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// checkOpenAPIOperations reports operations that do not declare what
// their route's access rule and method imply (see edge.Wrap).
func checkOpenAPIOperations(doc map[string]any, routes []Route) []string {
	schemes := map[string]bool{}
	if comp, ok := doc["components"].(map[string]any); ok {
		if ss, ok := comp["securitySchemes"].(map[string]any); ok {
			for name := range ss {
				schemes[name] = true
			}
		}
	}
	ops := openapiOperations(doc)
	paths, _ := doc["paths"].(map[string]any)
	opIDs := map[string]string{}
	var problems []string
	bad := func(k, format string, args ...any) { problems = append(problems, k+": "+fmt.Sprintf(format, args...)) }
	for _, rt := range routes {
		path := openapiPath(rt.Pattern)
		k := openapiKey(rt.Method, path)
		op := ops[k]
		if op == nil {
			continue // checkOpenAPIRoutes reports it
		}
		if s, _ := op["summary"].(string); s == "" {
			bad(k, "no summary")
		}
		if tags, _ := op["tags"].([]any); len(tags) == 0 {
			bad(k, "no tags")
		}
		if id, _ := op["operationId"].(string); id == "" {
			bad(k, "no operationId")
		} else if other, dup := opIDs[id]; dup {
			bad(k, "operationId %q is also used by %s", id, other)
		} else {
			opIDs[id] = k
		}
		responses, _ := op["responses"].(map[string]any)
		if len(responses) == 0 {
			bad(k, "no responses")
		}
		has := func(status string) bool { _, ok := responses[status]; return ok }

		// Security, as edge.Wrap enforces it: a session for Player and Admin
		// routes, and the CSRF header beside the cookie on unsafe methods.
		security, declared := op["security"].([]any)
		unsafe := rt.Method != http.MethodGet && rt.Method != http.MethodHead
		for _, req := range security {
			req, _ := req.(map[string]any)
			for name := range req {
				if !schemes[name] {
					bad(k, "security names %q, which components.securitySchemes does not define", name)
				}
			}
			if _, cookie := req["cookieAuth"]; cookie && unsafe {
				if _, csrf := req["csrfHeader"]; !csrf {
					bad(k, "cookieAuth on an unsafe method must be paired with csrfHeader (edge.Wrap checks X-CSRF-Token)")
				}
			}
		}
		if rt.Access == Partner {
			// Signed by the partner's server: the three signature headers
			// together, and never a session (edge.Wrap looks none up).
			signed := false
			for _, req := range security {
				req, _ := req.(map[string]any)
				for name := range req {
					if name == "bearerAuth" || name == "cookieAuth" {
						bad(k, "is signed by a partner but accepts a session (%s)", name)
					}
				}
				_, id := req["partnerId"]
				_, ts := req["partnerTimestamp"]
				_, sig := req["partnerSignature"]
				signed = signed || (id && ts && sig)
			}
			if !signed {
				bad(k, "is signed by a partner but does not require partnerId, partnerTimestamp and partnerSignature together")
			}
			if !has("401") {
				bad(k, "is signed by a partner but declares no 401 response")
			}
		}
		if rt.Access == Player || rt.Access == Admin {
			if !declared || len(security) == 0 {
				bad(k, "needs a session but declares no security")
			}
			for _, req := range security {
				if req, _ := req.(map[string]any); len(req) == 0 {
					bad(k, "needs a session but allows anonymous callers ({} in security)")
				}
			}
			if !has("401") {
				bad(k, "needs a session but declares no 401 response")
			}
			if unsafe && !has("403") {
				bad(k, "takes cookie sessions on an unsafe method but declares no 403 (csrf_failed)")
			}
		}
		if rt.Access == Admin && !has("403") {
			bad(k, "is for operators but declares no 403 response")
		}
		if _, hasBody := op["requestBody"]; hasBody && rt.Method == http.MethodPost && !has("400") {
			bad(k, "takes a body but declares no 400 response")
		}

		// Parameters of the path item and of the operation.
		var params []any
		if item, ok := paths[path].(map[string]any); ok {
			params, _ = item["parameters"].([]any)
		}
		opParams, _ := op["parameters"].([]any)
		params = append(slices.Clone(params), opParams...)
		declares := func(in, name string, required bool) bool {
			for _, p := range params {
				p := openapiDeref(doc, p)
				if p["in"] == in && p["name"] == name && (!required || p["required"] == true) {
					return true
				}
			}
			return false
		}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			if !declares("path", m[1], true) {
				bad(k, "path parameter {%s} is not declared (in: path, required: true)", m[1])
			}
		}
		if idempotent[k] && !declares("header", "Idempotency-Key", false) {
			bad(k, "does not declare the Idempotency-Key header")
		}
	}
	sort.Strings(problems)
	return problems
}

// idempotent are the operations that take an Idempotency-Key (docs/api.md).
var idempotent = map[string]bool{
	"POST /api/v1/bets": true, "POST /api/v1/me/topup": true, "POST /api/v1/me/checkin": true, "POST /api/v1/admin/grants": true,
}

func reportOpenAPIProblems(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	reportOpenAPIProblems(t, checkOpenAPIVersion(parseOpenAPI(t, openapiDoc)))
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	reportOpenAPIProblems(t, checkOpenAPIRoutes(parseOpenAPI(t, openapiDoc), openapiRoutes()))
}

func TestOpenAPIOperations(t *testing.T) {
	t.Parallel()
	reportOpenAPIProblems(t, checkOpenAPIOperations(parseOpenAPI(t, openapiDoc), openapiRoutes()))
}

func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	reportOpenAPIProblems(t, checkOpenAPIRefs(parseOpenAPI(t, openapiDoc)))
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(nil, Options{}, slog.New(slog.DiscardHandler)).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", resp.StatusCode, body)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
	}
	// edge.WriteRaw ends every JSON answer with a newline.
	if !bytes.Equal(body, openapiDoc) && !bytes.Equal(body, append(slices.Clip(openapiDoc), '\n')) {
		t.Errorf("served document (%d bytes) differs from the embedded openapi.json (%d bytes)", len(body), len(openapiDoc))
	}
}

// TestOpenAPIChecksCatchDrift breaks copies of the document in the ways
// drift happens and expects each check to say so, so that a check that
// silently stopped working would be noticed.
func TestOpenAPIChecksCatchDrift(t *testing.T) {
	t.Parallel()
	routes := openapiRoutes()
	byRoutes := func(check func(map[string]any, []Route) []string) func(map[string]any) []string {
		return func(d map[string]any) []string { return check(d, routes) }
	}
	pathItem := func(d map[string]any, path string) map[string]any {
		return d["paths"].(map[string]any)[path].(map[string]any)
	}
	op := func(d map[string]any, path, method string) map[string]any {
		return pathItem(d, path)[method].(map[string]any)
	}
	responses := func(d map[string]any, path, method string) map[string]any {
		return op(d, path, method)["responses"].(map[string]any)
	}
	cases := []struct {
		name   string
		check  func(map[string]any) []string
		mutate func(d map[string]any)
		want   string
	}{
		{"wrong version", checkOpenAPIVersion,
			func(d map[string]any) { d["openapi"] = "3.0.3" }, `openapi is "3.0.3"`},
		{"route missing", byRoutes(checkOpenAPIRoutes),
			func(d map[string]any) { delete(pathItem(d, "/api/v1/bets"), "post") }, "missing from openapi.json: POST /api/v1/bets"},
		{"extra operation", byRoutes(checkOpenAPIRoutes),
			func(d map[string]any) { pathItem(d, "/api/v1/bets/{id}")["delete"] = map[string]any{} }, "not in Routes(): DELETE /api/v1/bets/{id}"},
		{"extra path", byRoutes(checkOpenAPIRoutes),
			func(d map[string]any) {
				d["paths"].(map[string]any)["/api/v1/me/cashout"] = map[string]any{"post": map[string]any{}}
			}, "not in Routes(): POST /api/v1/me/cashout"},
		{"no security", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(op(d, "/api/v1/me", "get"), "security") }, "GET /api/v1/me: needs a session but declares no security"},
		{"anonymous allowed", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { op(d, "/api/v1/me", "get")["security"] = []any{map[string]any{}} }, "allows anonymous callers"},
		{"no 401", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(responses(d, "/api/v1/me/bets", "get"), "401") }, "GET /api/v1/me/bets: needs a session but declares no 401"},
		{"no 403 for operators", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(responses(d, "/api/v1/admin/matches/{id}/void", "post"), "403") },
			"POST /api/v1/admin/matches/{id}/void: is for operators but declares no 403"},
		{"no 400 for a body", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(responses(d, "/api/v1/auth/signup", "post"), "400") }, "POST /api/v1/auth/signup: takes a body but declares no 400"},
		{"no responses", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(op(d, "/api/v1/sports", "get"), "responses") }, "GET /api/v1/sports: no responses"},
		{"cookie without csrf", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) {
				op(d, "/api/v1/bets", "post")["security"] = []any{map[string]any{"cookieAuth": []any{}}}
			}, "must be paired with csrfHeader"},
		{"undefined scheme", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) {
				op(d, "/api/v1/me", "get")["security"] = []any{map[string]any{"basicAuth": []any{}}}
			}, `names "basicAuth"`},
		{"path parameter undeclared", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(op(d, "/api/v1/bets/{id}", "get"), "parameters") }, "path parameter {id} is not declared"},
		{"idempotency header undeclared", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(op(d, "/api/v1/bets", "post"), "parameters") }, "Idempotency-Key"},
		{"idempotency header undeclared on a top-up", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(op(d, "/api/v1/me/topup", "post"), "parameters") }, "POST /api/v1/me/topup: does not declare the Idempotency-Key"},
		{"partner route takes a session", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) {
				op(d, "/api/v1/partner/credits", "post")["security"] = []any{map[string]any{"bearerAuth": []any{}}}
			}, "is signed by a partner but accepts a session"},
		{"partner signature incomplete", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) {
				op(d, "/api/v1/partner/credits", "post")["security"] = []any{map[string]any{"partnerId": []any{}, "partnerSignature": []any{}}}
			}, "does not require partnerId, partnerTimestamp and partnerSignature together"},
		{"partner route without 401", byRoutes(checkOpenAPIOperations),
			func(d map[string]any) { delete(responses(d, "/api/v1/partner/credits", "post"), "401") }, "is signed by a partner but declares no 401"},
		{"dangling ref", checkOpenAPIRefs,
			func(d map[string]any) { delete(d["components"].(map[string]any)["schemas"].(map[string]any), "Leg") },
			"$ref #/components/schemas/Leg does not resolve"},
		{"external ref", checkOpenAPIRefs,
			func(d map[string]any) {
				responses(d, "/api/v1/me", "get")["200"] = map[string]any{"$ref": "other.json#/x"}
			},
			"other.json#/x does not resolve"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := parseOpenAPI(t, openapiDoc)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("cannot break the document this way (has its shape changed?): %v", r)
					}
				}()
				c.mutate(doc)
			}()
			problems := c.check(doc)
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Errorf("check did not report %q; it reported %q", c.want, problems)
		})
	}
}

func TestOpenAPIPathConversion(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string]string{
		"/api/v1/bets/{id}":        "/api/v1/bets/{id}",
		"/api/v1/files/{path...}":  "/api/v1/files/{path}",
		"/api/v1/{$}":              "/api/v1/",
		"/api/v1/matches/{id}/x/y": "/api/v1/matches/{id}/x/y",
	} {
		if got := openapiPath(pattern); got != want {
			t.Errorf("openapiPath(%q) = %q, want %q", pattern, got, want)
		}
	}
}
