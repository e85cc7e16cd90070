package logship

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
)

// Templates are the composable index templates, one per kind
// (templates/<kind>.json), installed as pointsbook-<kind>. The dashboards
// read the same files.
//
//go:embed templates/*.json
var Templates embed.FS

// PolicyID is the ISM policy that deletes old indices.
const PolicyID = "pointsbook-logs"

// Template returns the index template body of a kind.
func Template(k Kind) []byte {
	b, err := Templates.ReadFile("templates/" + k.String() + ".json")
	if err != nil {
		panic(err) // embedded: a missing file fails every test
	}
	return b
}

// Policy is the ISM policy body: indices of the three kinds are deleted
// once older than retention. ism_template attaches it to each new index.
func Policy(retention time.Duration) []byte {
	var patterns []string
	for _, k := range Kinds() {
		patterns = append(patterns, "pointsbook-"+k.String()+"-*")
	}
	type m = map[string]any
	body := m{"policy": m{
		"description":   "Pointsbook logs: delete indices older than " + ismAge(retention) + " (PB_OPENSEARCH_RETENTION)",
		"default_state": "hot",
		"states": []m{
			{"name": "hot", "actions": []m{}, "transitions": []m{{"state_name": "delete", "conditions": m{"min_index_age": ismAge(retention)}}}},
			{"name": "delete", "actions": []m{{"delete": m{}}}, "transitions": []m{}},
		},
		"ism_template": []m{{"index_patterns": patterns, "priority": 100}},
	}}
	b, _ := json.Marshal(body)
	return b
}

// ismAge writes a duration in OpenSearch's time units (30d, 36h, 90m).
func ismAge(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return fmt.Sprintf("%dm", max(d/time.Minute, 1))
	}
}

// errNoISM marks a cluster without the ISM plugin (Elasticsearch, or
// OpenSearch without it): retention is then the operator's.
var errNoISM = errors.New("the cluster has no ISM plugin (_plugins/_ism)")

// Install puts the index templates and the ISM policy. A cluster without
// ISM is reported and not an error.
func (s *Sink) Install(ctx context.Context) error {
	for _, k := range Kinds() {
		status, body, err := s.do(ctx, http.MethodPut, "/_index_template/pointsbook-"+k.String(), Template(k))
		if err != nil {
			return fmt.Errorf("index template %s: %w", k, err)
		}
		if status/100 != 2 {
			return fmt.Errorf("index template %s: %d %s", k, status, errorType(body))
		}
	}
	err := s.installPolicy(ctx)
	if errors.Is(err, errNoISM) {
		s.logger().Warn("log shipping: no ISM plugin; old log indices are not deleted by Pointsbook", "policy", PolicyID)
		return nil
	}
	return err
}

// installPolicy creates the policy, or updates it when its retention
// changed; indices it already manages are moved to the new version.
func (s *Sink) installPolicy(ctx context.Context) error {
	path := "/_plugins/_ism/policies/" + PolicyID
	want := Policy(s.cfg.Retention)
	status, body, err := s.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("ISM policy: %w", err)
	}
	switch {
	case status == http.StatusOK:
		var cur struct {
			SeqNo       *int64          `json:"_seq_no"`
			PrimaryTerm *int64          `json:"_primary_term"`
			Policy      json.RawMessage `json:"policy"`
		}
		if err := json.Unmarshal(body, &cur); err != nil || cur.SeqNo == nil || cur.PrimaryTerm == nil {
			return errors.New("ISM policy: unreadable answer to GET")
		}
		if policyAge(cur.Policy) == ismAge(s.cfg.Retention) {
			return nil
		}
		q := url.Values{"if_seq_no": {fmt.Sprint(*cur.SeqNo)}, "if_primary_term": {fmt.Sprint(*cur.PrimaryTerm)}}
		status, body, err = s.do(ctx, http.MethodPut, path+"?"+q.Encode(), want)
		if err != nil || status/100 != 2 {
			return fmt.Errorf("ISM policy update: %d %s %v", status, errorType(body), err)
		}
		// Managed indices keep the version they started with until told.
		change, _ := json.Marshal(map[string]string{"policy_id": PolicyID})
		status, body, err = s.do(ctx, http.MethodPost, "/_plugins/_ism/change_policy/pointsbook-*", change)
		if err != nil || status/100 != 2 {
			return fmt.Errorf("ISM change_policy: %d %s %v", status, errorType(body), err)
		}
		return nil
	case status == http.StatusNotFound && !noHandler(body):
		status, body, err = s.do(ctx, http.MethodPut, path, want)
		if err != nil || status/100 != 2 {
			return fmt.Errorf("ISM policy: %d %s %v", status, errorType(body), err)
		}
		return nil
	case status == http.StatusBadRequest || status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		return errNoISM
	default:
		return fmt.Errorf("ISM policy: %d %s", status, errorType(body))
	}
}

// noHandler says whether an error answer is a cluster's "no handler
// found for uri" (a path no plugin serves) rather than a missing policy.
func noHandler(body []byte) bool { return bytes.Contains(body, []byte("no handler found")) }

// policyAge is the min_index_age of a stored policy's delete transition.
func policyAge(raw json.RawMessage) string {
	var p struct {
		States []struct {
			Transitions []struct {
				StateName  string `json:"state_name"`
				Conditions struct {
					MinIndexAge string `json:"min_index_age"`
				} `json:"conditions"`
			} `json:"transitions"`
		} `json:"states"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	for _, st := range p.States {
		for _, t := range st.Transitions {
			if t.StateName == "delete" {
				return t.Conditions.MinIndexAge
			}
		}
	}
	return ""
}

// errorType is the type of an OpenSearch error answer, for logs (the
// reason may quote a document).
func errorType(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return ""
	}
	var obj struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(e.Error, &obj) == nil && obj.Type != "" {
		return safeText(obj.Type, 64)
	}
	var str string
	if json.Unmarshal(e.Error, &str) == nil {
		return safeText(str, 120)
	}
	return ""
}

// setupLoop installs until it succeeds, retrying with back-off; it never
// stops the binary.
func (s *Sink) setupLoop(ctx context.Context) {
	wait := s.cfg.SetupRetry
	for {
		err := s.Install(ctx)
		if err == nil {
			s.setSetup("done")
			s.logger().Info("log shipping: index templates and retention policy installed", "retention", ismAge(s.cfg.Retention))
			return
		}
		if ctx.Err() != nil {
			return
		}
		s.setSetup("failing")
		s.noteError(err)
		s.logger().Warn("log shipping: installing index templates failed; retrying", "err", safeText(err.Error(), 200), "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Minute)
	}
}

func (s *Sink) setSetup(state string) {
	s.mu.Lock()
	s.setup = state
	s.mu.Unlock()
}

// do sends one request through the client (its auth, retries and
// timeouts) and returns the status and up to 1 MiB of the answer.
func (s *Sink) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FlushTimeout)
	defer cancel()
	resp, err := opensearch.Do(ctx, s.client.Client, method, rawRequest{path: path, body: body}, (*opensearch.NoBody)(nil))
	if resp == nil {
		return 0, nil, err
	}
	var b []byte
	if resp.Body != nil {
		b, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	return resp.StatusCode, b, err
}

type rawRequest struct {
	path string
	body []byte
}

func (r rawRequest) GetRequest(method string) (*http.Request, error) {
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	path, query, _ := strings.Cut(r.path, "?")
	req, err := http.NewRequest(method, path, body)
	if err != nil {
		return nil, err
	}
	req.URL.RawQuery = query
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
