package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

var (
	errNotFound    = fault.New(fault.NotFound, "not_found", "This page does not exist.")
	errCrossOrigin = fault.New(fault.Forbidden, "cross_origin", "Requests from other sites are refused.")
)

func (s *Web) handleNotFound(w http.ResponseWriter, r *http.Request) error { return errNotFound }

// errorData is what the error page shows: the status, its text, and the
// refusal's own message when the catalogue has it in the viewer's words.
type errorData struct {
	Status  int
	Code    string
	Message string
}

// errorPage renders an error in the site's look and the viewer's
// language. A signed-out visitor opening a player's page is sent to log in
// and brought back. Internal text never reaches it: only the status and
// the code's catalogue text are shown.
func (s *Web) errorPage(w http.ResponseWriter, r *http.Request, code int, fe *fault.Error) {
	if code == http.StatusUnauthorized && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	d := errorData{Status: code, Code: fe.Code}
	if key := "fault." + fe.Code; s.opt.Catalog.Has(key) {
		d.Message = s.opt.Catalog.For(s.lang(r)).T(key)
	}
	if err := s.render(w, r, code, "error", d); err != nil {
		s.log.ErrorContext(r.Context(), "error page", "err", err)
		edge.WriteHTMLError(w, code)
	}
}

// handleLegacy sends the seed's addresses to ours: /main → /, /bet?id=…
// → that match's page, /mypage → /me.
func (s *Web) handleLegacy(w http.ResponseWriter, r *http.Request) error {
	to := "/"
	switch r.URL.Path {
	case "/bet":
		if id := r.URL.Query().Get("id"); id != "" {
			if !validID(id) {
				return errNotFound
			}
			to = "/matches/" + url.PathEscape(id)
		}
	case "/mypage":
		to = "/me"
	}
	http.Redirect(w, r, to, http.StatusMovedPermanently)
	return nil
}

// validID accepts what an id can be (m_123): anything else is a 404 before
// a store is asked.
func validID(id string) bool {
	if len(id) > 40 || input.QueryString(id) != nil {
		return false
	}
	num, ok := strings.CutPrefix(id, "m_")
	if !ok || num == "" {
		return false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
