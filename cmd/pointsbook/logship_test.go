package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// bulkServer is the part of the OpenSearch REST API the server uses, as
// documented: NDJSON _bulk (action line, then the document; an item per
// action in the answer), index templates, ISM policies.
type bulkServer struct {
	mu        sync.Mutex
	docs      map[string][]string // index → documents
	templates []string
	policy    bool
}

func newBulkServer(t *testing.T) (*bulkServer, string) {
	b := &bulkServer{docs: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(srv.Close)
	return b, srv.URL
}

func (b *bulkServer) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case r.URL.Path == "/_bulk" && r.Method == http.MethodPost:
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		var items []string
		for sc.Scan() {
			var action map[string]struct {
				Index string `json:"_index"`
			}
			if json.Unmarshal(sc.Bytes(), &action) != nil || !sc.Scan() || !json.Valid(sc.Bytes()) {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			index := action["create"].Index
			b.docs[index] = append(b.docs[index], sc.Text())
			items = append(items, fmt.Sprintf(`{"create":{"_index":%q,"status":201}}`, index))
		}
		fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
	case strings.HasPrefix(r.URL.Path, "/_index_template/") && r.Method == http.MethodPut:
		b.templates = append(b.templates, strings.TrimPrefix(r.URL.Path, "/_index_template/"))
		io.WriteString(w, `{"acknowledged":true}`)
	case strings.HasPrefix(r.URL.Path, "/_plugins/_ism/policies/") && r.Method == http.MethodGet && !b.policy:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"type":"status_exception","reason":"Policy not found"},"status":404}`)
	case strings.HasPrefix(r.URL.Path, "/_plugins/_ism/policies/") && r.Method == http.MethodPut:
		b.policy = true
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"_id":"pointsbook-logs","_seq_no":0,"_primary_term":1}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestLogShippedToOpenSearch: with PB_OPENSEARCH_URL the server installs
// the templates and the policy, ships its log (the shutdown's last lines
// included: the shipper stops last), and shows the shipping in /readyz
// details and /metrics.
func TestLogShippedToOpenSearch(t *testing.T) {
	t.Parallel()
	bulk, url := newBulkServer(t)
	base, stop := runServe(t, map[string]string{"PB_FEED": "none", "PB_OPENSEARCH_URL": url})
	waitStatus(t, base+"/readyz", http.StatusOK, readyLimit()+5*time.Second, 20*time.Millisecond)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ls, _ := readyz(t, base)["log_shipping"].(map[string]any)
		if ls["setup"] == "done" && ls["state"] == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz log_shipping = %v", ls)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`pointsbook_log_shipped_total{index="access"}`, `pointsbook_log_dropped_total{index="audit"}`, `pointsbook_log_failed_total{index="app"}`, "pointsbook_log_queued", "pointsbook_log_retries_total"} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	code, stdout, _ := stop()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	bulk.mu.Lock()
	defer bulk.mu.Unlock()
	if len(bulk.templates) != 3 || !bulk.policy {
		t.Errorf("templates %v, policy %v", bulk.templates, bulk.policy)
	}
	app := bulk.docs["pointsbook-app-"+time.Now().UTC().Format("2006.01.02")]
	joined := strings.Join(app, "\n")
	for _, msg := range []string{`"message":"listening"`, `"message":"shutting down"`, `"message":"worker stopping","worker":"http"`} {
		if !strings.Contains(joined, msg) {
			t.Errorf("no shipped document with %s", msg)
		}
	}
	// Every shipped document is one of the stdout lines.
	for _, d := range app {
		if !strings.Contains(stdout, d+"\n") {
			t.Errorf("shipped a document that is not a stdout line: %s", d)
		}
	}
}

// TestOpenSearchDownNeverStopsTheSite: a cluster that cannot be reached
// leaves the server ready; /readyz details say the shipping fails.
func TestOpenSearchDownNeverStopsTheSite(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	base, stop := runServe(t, map[string]string{"PB_FEED": "none", "PB_OPENSEARCH_URL": url})
	waitStatus(t, base+"/readyz", http.StatusOK, readyLimit()+5*time.Second, 20*time.Millisecond)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ls, _ := readyz(t, base)["log_shipping"].(map[string]any)
		if ls["state"] == "failing" && ls["setup"] == "failing" && ls["last_error"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz log_shipping = %v", ls)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustCall(t, "GET", base+"/api/v1/matches", "", nil, http.StatusOK)
	if code, _, _ := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestBadCAFileStopsAtStart: a CA file that cannot be read is a setting
// error, reported like the others.
func TestBadCAFileStopsAtStart(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	env := testEnv(t, map[string]string{"PB_OPENSEARCH_URL": "https://search.internal", "PB_OPENSEARCH_CA_FILE": "/no/such/ca.pem"})
	if code := Run(t.Context(), []string{"serve"}, lookupIn(env), strings.NewReader(""), &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "PB_OPENSEARCH_CA_FILE") {
		t.Errorf("stderr %q", stderr.String())
	}
}
