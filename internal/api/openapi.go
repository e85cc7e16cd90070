package api

import (
	_ "embed"
	"net/http"

	"github.com/pointsbook/pointsbook/internal/edge"
)

// openapiDoc is the OpenAPI 3.1 document of this API, maintained by hand
// beside the route table; TestOpenAPIMatchesRoutes fails when they drift.
//
//go:embed openapi.json
var openapiDoc []byte

func (a *API) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	edge.WriteRaw(w, http.StatusOK, openapiDoc)
	return nil
}
