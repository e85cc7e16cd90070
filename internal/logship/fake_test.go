package logship

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeOpenSearch answers the parts of the OpenSearch REST API the sink
// uses, as documented: POST /_bulk takes NDJSON (an action line, then
// the document) and answers {"took","errors","items":[{"create":
// {"_index","status","error"}}]}, one item per action in order; PUT
// /_index_template/<name>; GET and PUT /_plugins/_ism/policies/<id>
// (a PUT over an existing policy needs its if_seq_no and
// if_primary_term) and POST /_plugins/_ism/change_policy/<index>.
type fakeOpenSearch struct {
	t   testing.TB
	srv *httptest.Server

	// bulk, when set, may answer a whole _bulk request itself (a 429,
	// a 5xx, a stall, a cut connection): it returns true when it did.
	bulk func(w http.ResponseWriter, r *http.Request, call int) bool
	// item, when set, gives each document's status (201 accepts it).
	item func(index string, doc []byte, n int) (status int, errType string)
	// before, when set, may answer any request itself.
	before func(w http.ResponseWriter, r *http.Request) bool
	// noISM answers the ISM paths as a cluster without the plugin does.
	noISM bool
	// keepDocs keeps the accepted documents (tests; the benchmark counts).
	keepDocs bool
	// validateEvery checks every nth document is JSON (1: all, the
	// default; the benchmark samples, since the server's CPU is this
	// machine's).
	validateEvery int

	closing chan struct{} // closed when the test ends: stalls end

	bulkCalls atomic.Int64
	accepted  atomic.Int64
	seen      atomic.Int64 // documents in well-formed requests, accepted or not

	mu        sync.Mutex
	docs      map[string][]json.RawMessage // by index
	templates map[string][]byte
	policy    []byte
	seqNo     int64
	requests  []string // "METHOD /path?query" other than _bulk
	auth      []string // Authorization headers seen
	bad       []string // protocol violations
}

// newFake starts a fake cluster, configured by opts before it serves.
func newFake(t testing.TB, opts ...func(*fakeOpenSearch)) *fakeOpenSearch {
	f := &fakeOpenSearch{t: t, docs: map[string][]json.RawMessage{}, templates: map[string][]byte{}, keepDocs: true}
	for _, o := range opts {
		o(f)
	}
	f.closing = make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.closing)
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, b := range f.bad {
			t.Errorf("protocol violation: %s", b)
		}
	})
	return f
}

func (f *fakeOpenSearch) violation(format string, args ...any) {
	f.mu.Lock()
	f.bad = append(f.bad, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeOpenSearch) serve(w http.ResponseWriter, r *http.Request) {
	if f.before != nil && f.before(w, r) {
		return
	}
	f.mu.Lock()
	f.auth = append(f.auth[:min(len(f.auth), 100)], r.Header.Get("Authorization"))
	f.mu.Unlock()
	if r.URL.Path == "/_bulk" {
		f.serveBulk(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	switch {
	case strings.HasPrefix(r.URL.Path, "/_index_template/") && r.Method == http.MethodPut:
		if !json.Valid(body) || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"type":"parse_exception","reason":"bad body"},"status":400}`)
			return
		}
		f.templates[strings.TrimPrefix(r.URL.Path, "/_index_template/")] = body
		fmt.Fprint(w, `{"acknowledged":true}`)
	case strings.HasPrefix(r.URL.Path, "/_plugins/_ism/") && f.noISM:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"no handler found for uri [%s] and method [%s]"}`, r.URL.Path, r.Method)
	case r.URL.Path == "/_plugins/_ism/policies/"+PolicyID && r.Method == http.MethodGet:
		if f.policy == nil {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"root_cause":[{"type":"status_exception","reason":"Policy not found"}],"type":"status_exception","reason":"Policy not found"},"status":404}`)
			return
		}
		var p struct {
			Policy json.RawMessage `json:"policy"`
		}
		_ = json.Unmarshal(f.policy, &p)
		fmt.Fprintf(w, `{"_id":%q,"_version":%d,"_seq_no":%d,"_primary_term":1,"policy":%s}`, PolicyID, f.seqNo+1, f.seqNo, p.Policy)
	case r.URL.Path == "/_plugins/_ism/policies/"+PolicyID && r.Method == http.MethodPut:
		q := r.URL.Query()
		if f.policy != nil && (q.Get("if_seq_no") != strconv.FormatInt(f.seqNo, 10) || q.Get("if_primary_term") != "1") {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error":{"type":"version_conflict_engine_exception","reason":"conflict"},"status":409}`)
			return
		}
		if !json.Valid(body) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if f.policy != nil {
			f.seqNo++
		}
		f.policy = body
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"_id":%q,"_seq_no":%d,"_primary_term":1}`, PolicyID, f.seqNo)
	case strings.HasPrefix(r.URL.Path, "/_plugins/_ism/change_policy/") && r.Method == http.MethodPost:
		fmt.Fprint(w, `{"updated_indices":0,"failures":false,"failed_indices":[]}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"no handler found for uri [%s] and method [%s]"}`, r.URL.Path, r.Method)
	}
}

var createPrefix = []byte(`{"create":{"_index":"`)

func (f *fakeOpenSearch) serveBulk(w http.ResponseWriter, r *http.Request) {
	call := int(f.bulkCalls.Add(1))
	if r.Method != http.MethodPost {
		f.violation("_bulk with %s", r.Method)
	}
	if f.bulk != nil && f.bulk(w, r, call) {
		return
	}
	// A request the client gave up on mid-body (a cancelled flush) is
	// not indexed: read it whole first.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var out bytes.Buffer
	out.WriteString(`{"took":1,"errors":false,"items":[`)
	errorsAt := len(`{"took":1,"errors":`)
	anyErr := false
	type kept struct {
		index string
		doc   []byte
	}
	var keep []kept
	n := 0
	for sc.Scan() {
		action := sc.Bytes()
		if !bytes.HasPrefix(action, createPrefix) {
			f.violation("action line %.80q", action)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rest := action[len(createPrefix):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			f.violation("action line %.80q", action)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		index := string(rest[:end])
		if !sc.Scan() {
			f.violation("action without a document")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		doc := sc.Bytes()
		if (f.validateEvery <= 1 || n%f.validateEvery == 0) && !json.Valid(doc) {
			f.violation("document is not JSON (%d bytes): %q", len(doc), doc)
		}
		status, typ := http.StatusCreated, ""
		if f.item != nil {
			status, typ = f.item(index, doc, int(f.seen.Load())+n)
		}
		n++
		if n > 1 {
			out.WriteByte(',')
		}
		if status == http.StatusCreated {
			out.WriteString(`{"create":{"_index":"`)
			out.WriteString(index)
			out.WriteString(`","_id":"x","result":"created","status":201}}`)
			if f.keepDocs {
				keep = append(keep, kept{index, bytes.Clone(doc)})
			}
			f.accepted.Add(1)
		} else {
			anyErr = true
			fmt.Fprintf(&out, `{"create":{"_index":%q,"status":%d,"error":{"type":%q,"reason":"refused"}}}`, index, status, typ)
		}
	}
	f.seen.Add(int64(n))
	out.WriteString(`]}`)
	b := out.Bytes()
	if anyErr {
		b = append(append(append([]byte{}, b[:errorsAt]...), "true"...), b[errorsAt+len("false"):]...)
	}
	if len(keep) > 0 {
		f.mu.Lock()
		for _, k := range keep {
			f.docs[k.index] = append(f.docs[k.index], k.doc)
		}
		f.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (f *fakeOpenSearch) docsIn(index string) []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]json.RawMessage(nil), f.docs[index]...)
}

// stall answers nothing until the client gives up or the test ends (a
// handler that has not read the body is not told the client left).
func (f *fakeOpenSearch) stall(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.closing:
	}
}
