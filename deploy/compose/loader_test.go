package compose

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pointsbook/pointsbook/internal/pgtest"
)

// fakeDashboards implements the part of OpenSearch Dashboards' saved
// objects import API the loader uses: POST /api/saved_objects/_import with
// the osd-xsrf header and a multipart "file" of NDJSON. Like the real one
// it answers 200 with "success":false and per-object errors when objects
// fail, and 4xx for a request it cannot take.
type fakeDashboards struct {
	mu       sync.Mutex
	imported map[string]int // file name → objects received
	failID   string         // an object id answered with an error
	status   int            // non-zero: answer every request with it
}

func (f *fakeDashboards) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.status != 0 {
		http.Error(w, "unavailable", f.status)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/saved_objects/_import" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("osd-xsrf") == "" {
		http.Error(w, `{"statusCode":400,"error":"Bad Request","message":"Request must contain a osd-xsrf header."}`, http.StatusBadRequest)
		return
	}
	if r.URL.Query().Get("overwrite") != "true" {
		http.Error(w, "the loader must overwrite", http.StatusBadRequest)
		return
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer file.Close()
	type result struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	var ok []result
	var errs []map[string]any
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var o result
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if o.ID == f.failID {
			errs = append(errs, map[string]any{"type": o.Type, "id": o.ID, "error": map[string]any{"type": "missing_references"}})
			continue
		}
		ok = append(ok, o)
	}
	f.mu.Lock()
	f.imported[hdr.Filename] += len(ok)
	f.mu.Unlock()
	answer := map[string]any{"success": len(errs) == 0, "successCount": len(ok), "successResults": ok}
	if len(errs) > 0 {
		answer["errors"] = errs
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

func runLoader(t *testing.T, dir string, f *fakeDashboards) (string, error) {
	t.Helper()
	srv := httptest.NewServer(f)
	defer srv.Close()
	cmd := exec.Command("sh", "opensearch/load-saved-objects.sh")
	cmd.Env = append(os.Environ(), "SAVED_OBJECTS_DIR="+dir, "DASHBOARDS_URL="+srv.URL)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestLoadSavedObjects(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		pgtest.Unavailable(t, "readme-tools", "curl is not installed")
	}
	files, _ := filepath.Glob("../opensearch/saved-objects/*.ndjson")
	if len(files) == 0 {
		t.Fatal("no saved objects in deploy/opensearch/saved-objects")
	}
	lines := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines[filepath.Base(f)] = strings.Count(string(data), "\n")
	}

	t.Run("imports every file", func(t *testing.T) {
		f := &fakeDashboards{imported: map[string]int{}}
		out, err := runLoader(t, "../opensearch", f)
		if err != nil {
			t.Fatalf("loader: %v\n%s", err, out)
		}
		if fmt.Sprint(f.imported) != fmt.Sprint(lines) {
			t.Errorf("imported %v objects per file, want %v\n%s", f.imported, lines, out)
		}
	})
	t.Run("an object refused", func(t *testing.T) {
		f := &fakeDashboards{imported: map[string]int{}, failID: "pointsbook-traffic"}
		if out, err := runLoader(t, "../opensearch", f); err == nil || !strings.Contains(out, "failed") {
			t.Errorf("loader exit %v with a refused object, want a failure\n%s", err, out)
		}
	})
	t.Run("dashboards answering 503", func(t *testing.T) {
		f := &fakeDashboards{imported: map[string]int{}, status: http.StatusServiceUnavailable}
		if out, err := runLoader(t, "../opensearch", f); err == nil {
			t.Errorf("loader succeeded against a failing server\n%s", out)
		}
	})
	t.Run("nothing to load", func(t *testing.T) {
		f := &fakeDashboards{imported: map[string]int{}}
		if out, err := runLoader(t, t.TempDir(), f); err == nil {
			t.Errorf("loader succeeded with no saved objects\n%s", out)
		}
	})
}
