package api

import (
	"net/http"

	"github.com/pointsbook/pointsbook/internal/audit"
)

// handleAdminAudit lists the audit trail, newest first: filtered by
// actor, action (exact, or a prefix such as admin.*), target, outcome and
// a time range [from, to) in RFC 3339, a page of limit (1 to 200, default
// 50) at a time, next_cursor naming the next page. Reading the trail is
// itself recorded.
//
// Codes: invalid_filter, invalid_limit, invalid_cursor.
func (a *API) handleAdminAudit(w http.ResponseWriter, r *http.Request) (err error) {
	ev := a.event(r, audit.AdminAuditRead, "")
	defer a.failed(r, ev, &err)
	f, err := audit.ParseFilter(r.URL.Query().Get)
	if err != nil {
		return err
	}
	evs, next, err := a.store.AuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	a.record(r, ev)
	return writeList(w, evs, next)
}
