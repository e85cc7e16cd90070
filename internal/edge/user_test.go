package edge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pointsbook/pointsbook/internal/edge"
	reqinfo "github.com/pointsbook/pointsbook/internal/request"
)

// The edge names the signed-in user in the request's metadata, refused
// callers included, for the access line and audit events.
func TestEdgeNamesTheUserInTheRequestInfo(t *testing.T) {
	t.Parallel()
	s := newSessions(t)
	e := edge.New(edge.Config{Sessions: s.auth, Format: edge.JSON})
	ok := func(w http.ResponseWriter, r *http.Request) error { return nil }
	for _, c := range []struct {
		name   string
		access edge.Access
		token  string
		want   string
	}{
		{"anonymous", edge.Public, "", ""},
		{"bad token", edge.Public, "nope", ""},
		{"player", edge.Player, s.player, "kim"},
		{"player refused an operator's route", edge.Admin, s.player, "kim"},
		{"operator", edge.Admin, s.admin, "op"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			info := &reqinfo.Info{ID: "r1"}
			r := httptest.NewRequest("GET", "/x", nil).WithContext(reqinfo.With(context.Background(), info))
			if c.token != "" {
				r.Header.Set("Authorization", "Bearer "+c.token)
			}
			e.Wrap(c.access, ok).ServeHTTP(httptest.NewRecorder(), r)
			if info.Username != c.want || (c.want == "") != (info.UserID == "") {
				t.Fatalf("info names %q %q, want %q", info.UserID, info.Username, c.want)
			}
		})
	}
	// Outside the server's middleware there is no Info, and nothing fails.
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Bearer "+s.player)
	rec := httptest.NewRecorder()
	e.Wrap(edge.Player, ok).ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("without Info: %d", rec.Code)
	}
}
