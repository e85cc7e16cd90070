package logship

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newInstaller(t *testing.T, f *fakeOpenSearch, retention time.Duration) *Sink {
	t.Helper()
	s, err := New(Config{URL: f.srv.URL, Retention: retention, Setup: true, RetryBackoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.client.Client.Close() })
	return s
}

func TestInstallPutsTemplatesAndPolicy(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	if err := newInstaller(t, f, 30*24*time.Hour).Install(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range Kinds() {
		got := f.templates["pointsbook-"+k.String()]
		if string(got) != string(Template(k)) {
			t.Errorf("template pointsbook-%s: got %.80q", k, got)
		}
	}
	var p struct {
		Policy struct {
			States []struct {
				Name        string           `json:"name"`
				Actions     []map[string]any `json:"actions"`
				Transitions []struct {
					StateName  string            `json:"state_name"`
					Conditions map[string]string `json:"conditions"`
				} `json:"transitions"`
			} `json:"states"`
			ISMTemplate []struct {
				IndexPatterns []string `json:"index_patterns"`
			} `json:"ism_template"`
		} `json:"policy"`
	}
	if err := json.Unmarshal(f.policy, &p); err != nil {
		t.Fatal(err)
	}
	st := p.Policy.States
	if len(st) != 2 || st[0].Transitions[0].StateName != "delete" || st[0].Transitions[0].Conditions["min_index_age"] != "30d" ||
		st[1].Name != "delete" || st[1].Actions[0]["delete"] == nil {
		t.Errorf("policy %s does not delete at 30d", f.policy)
	}
	want := []string{"pointsbook-access-*", "pointsbook-audit-*", "pointsbook-app-*"}
	if len(p.Policy.ISMTemplate) != 1 || !slices.Equal(p.Policy.ISMTemplate[0].IndexPatterns, want) {
		t.Errorf("ism_template %+v, want the patterns %v", p.Policy.ISMTemplate, want)
	}

	// Again with the same retention: nothing to change.
	f.requests = nil
	f.mu.Unlock()
	err := newInstaller(t, f, 30*24*time.Hour).Install(context.Background())
	f.mu.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(f.requests, func(r string) bool { return strings.HasPrefix(r, "PUT /_plugins/") }) {
		t.Errorf("an unchanged policy was written again: %v", f.requests)
	}

	// A new retention updates the policy under its sequence number and
	// moves the indices it manages to the new version.
	f.requests = nil
	f.mu.Unlock()
	err = newInstaller(t, f, 36*time.Hour).Install(context.Background())
	f.mu.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(f.policy), `"min_index_age":"36h"`) {
		t.Errorf("policy not updated: %s", f.policy)
	}
	wantReq := []string{
		"GET /_plugins/_ism/policies/pointsbook-logs",
		"PUT /_plugins/_ism/policies/pointsbook-logs?if_primary_term=1&if_seq_no=0",
		"POST /_plugins/_ism/change_policy/pointsbook-*",
	}
	if got := f.requests[len(f.requests)-3:]; !slices.Equal(got, wantReq) {
		t.Errorf("requests %q, want %q", got, wantReq)
	}
}

func TestInstallWithoutISM(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeOpenSearch) { f.noISM = true })
	if err := newInstaller(t, f, 24*time.Hour).Install(context.Background()); err != nil {
		t.Fatalf("a cluster without ISM: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.templates) != 3 {
		t.Errorf("templates %d, want 3", len(f.templates))
	}
}

// TestSetupRetriesInTheBackground: a cluster that refuses the setup
// (here 403 twice) neither stops the sink nor its shipping; the setup
// succeeds later and /readyz details say how it stands.
func TestSetupRetriesInTheBackground(t *testing.T) {
	t.Parallel()
	var refusals atomic.Int32
	refusals.Store(2)
	f := newFake(t, func(f *fakeOpenSearch) {
		f.before = func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasPrefix(r.URL.Path, "/_index_template/") && refusals.Add(-1) >= 0 {
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`{"error":{"type":"security_exception","reason":"no permissions for [indices:admin/index_template/put]"},"status":403}`))
				return true
			}
			return false
		}
	})
	r := start(t, f, func(c *Config) { c.Setup = true; c.SetupRetry = time.Millisecond })
	r.log.Info("shipped while the setup is refused")
	deadline := time.Now().Add(10 * time.Second)
	for r.sink.Details()["setup"] != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("setup never done: %v", r.sink.Details())
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.stop(t, 5*time.Second)
	if f.accepted.Load() == 0 {
		t.Error("nothing shipped")
	}
	out := r.out.String()
	if !strings.Contains(out, "installing index templates failed; retrying") || !strings.Contains(out, "security_exception") {
		t.Errorf("the refusal was not logged:\n%s", tail(out))
	}
}

func TestISMAge(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * 24 * time.Hour: "30d", 36 * time.Hour: "36h", 90 * time.Minute: "90m", time.Second: "1m",
	} {
		if got := ismAge(d); got != want {
			t.Errorf("ismAge(%v) = %q, want %q", d, got, want)
		}
	}
}

// fields is the log document contract (the table the producers, these
// templates and the dashboards share): every field with its type.
var fields = map[string]string{
	"@timestamp": "date", "log.level": "keyword", "message": "text",
	"event.dataset": "keyword", "event.duration": "long", "event.action": "keyword", "event.outcome": "keyword", "event.reason": "keyword",
	"http.request.method": "keyword", "http.request.id": "keyword", "http.route": "keyword",
	"url.path": "keyword", "url.query": "keyword",
	"http.response.status_code": "long", "http.response.body.bytes": "long",
	"user.id": "keyword", "user.name": "keyword",
	"client.ip": "ip", "client.geo.country_iso_code": "keyword", "client.geo.country_name": "keyword",
	"client.geo.city_name": "keyword", "client.geo.location": "geo_point",
	"user_agent.original": "keyword", "trace.id": "keyword",
	"pointsbook.audit.target": "keyword", "pointsbook.sport": "keyword",
	"pointsbook.points.staked": "long", "pointsbook.points.paid": "long", "pointsbook.bet.id": "keyword",
}

// TestTemplatesMapEveryField: each template maps every field of the
// contract with its type (the same in all three, so one index pattern
// over pointsbook-* sees no conflict), and matches its own indices only.
func TestTemplatesMapEveryField(t *testing.T) {
	t.Parallel()
	for _, k := range Kinds() {
		var tmpl struct {
			IndexPatterns []string `json:"index_patterns"`
			Priority      int      `json:"priority"`
			Template      struct {
				Settings map[string]any `json:"settings"`
				Mappings struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"mappings"`
			} `json:"template"`
		}
		if err := json.Unmarshal(Template(k), &tmpl); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if want := []string{"pointsbook-" + k.String() + "-*"}; !slices.Equal(tmpl.IndexPatterns, want) || tmpl.Priority <= 0 {
			t.Errorf("%s: index_patterns %v priority %d, want %v", k, tmpl.IndexPatterns, tmpl.Priority, want)
		}
		got := map[string]string{}
		flatten("", tmpl.Template.Mappings.Properties, got)
		for f, typ := range fields {
			if got[f] != typ {
				t.Errorf("%s: %s mapped as %q, want %q", k, f, got[f], typ)
			}
		}
		if len(got) != len(fields) {
			t.Errorf("%s maps %d fields, the contract has %d", k, len(got), len(fields))
		}
	}
}

func flatten(prefix string, props map[string]json.RawMessage, out map[string]string) {
	for name, raw := range props {
		var p struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(raw, &p)
		if p.Properties != nil {
			flatten(prefix+name+".", p.Properties, out)
		} else {
			out[prefix+name] = p.Type
		}
	}
}
