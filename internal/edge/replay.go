package edge

import (
	"net/http"

	"github.com/pointsbook/pointsbook/internal/idempotency"
)

// Replayed finishes a retry-safe write's outcome: a replay of a request
// already answered is rendered by this surface from the stored first
// response, and an error is returned for the edge to render. It reports
// done when nothing is left for the caller to write:
//
//	bet, rp, err := store.PlaceBet(…)
//	if done, err := e.Replayed(w, r, rp, err); done {
//		return err
//	}
//	… answer with bet …
func (e *Edge) Replayed(w http.ResponseWriter, r *http.Request, rp *idempotency.Replay, err error) (bool, error) {
	switch {
	case rp != nil:
		return true, e.replay(w, r, rp)
	case err != nil:
		return true, err
	}
	return false, nil
}

// replay renders a stored first response: the surface's own hook, else
// the stored JSON as it is for a JSON answer (what an API retry got the
// first time), else an HTML page for its status.
func (e *Edge) replay(w http.ResponseWriter, r *http.Request, rp *idempotency.Replay) error {
	w.Header().Set("Idempotent-Replayed", "true")
	if e.cfg.Replay != nil {
		return e.cfg.Replay(w, r, rp)
	}
	if FormatFor(r, e.cfg.Format) == JSON {
		WriteRaw(w, rp.Status, rp.Body)
		return nil
	}
	if rp.Status >= 400 {
		WriteHTMLError(w, rp.Status)
		return nil
	}
	WriteHTML(w, rp.Status, donePage)
	return nil
}

// donePage answers a browser's retry of a form whose first post went
// through: the work is done once, and the page says so.
const donePage = `<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>Pointsbook</title></head>
<body><p lang="ko">이미 처리된 요청입니다.</p><p lang="en">This request was already done.</p><p><a href="/">Pointsbook</a></p></body></html>
`
