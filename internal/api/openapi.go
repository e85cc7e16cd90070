package api

import (
	_ "embed"
	"net/http"

	"github.com/pointsbook/pointsbook/internal/account"
)

// openapiDoc is the OpenAPI 3.1 document of this API, maintained by hand
// beside the route table; TestOpenAPIMatchesRoutes fails when they drift.
//
//go:embed openapi.json
var openapiDoc []byte

func (a *API) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ *account.Session) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeRaw(w, http.StatusOK, openapiDoc)
}
