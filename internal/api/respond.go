package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

// maxBody caps request bodies (API.md: 1 MiB).
const maxBody = 1 << 20

// status maps an error kind to its HTTP status: the one place it is done.
var status = map[fault.Kind]int{
	fault.Internal:         http.StatusInternalServerError,
	fault.Invalid:          http.StatusBadRequest,
	fault.Unauthenticated:  http.StatusUnauthorized,
	fault.Forbidden:        http.StatusForbidden,
	fault.NotFound:         http.StatusNotFound,
	fault.Conflict:         http.StatusConflict,
	fault.Refused:          http.StatusUnprocessableEntity,
	fault.RateLimited:      http.StatusTooManyRequests,
	fault.MethodNotAllowed: http.StatusMethodNotAllowed,
	fault.Unavailable:      http.StatusServiceUnavailable,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// renderError returns the status and envelope for err. Internal errors are
// logged with their text and answered with a generic message: driver and
// SQL text never reach a client.
func renderError(ctx context.Context, log *slog.Logger, path string, err error) (int, []byte) {
	fe, ok := fault.As(err)
	if !ok || fe.Kind == fault.Internal {
		log.ErrorContext(ctx, "internal error", "path", path, "err", err)
		fe = &fault.Error{Kind: fault.Internal, Code: "internal", Message: "Something went wrong on our side; it has been logged."}
	} else if fe.Kind == fault.Unavailable {
		log.WarnContext(ctx, "dependency unavailable", "path", path, "err", err)
	}
	body, _ := json.Marshal(errorBody{Error: errorDetail{Code: fe.Code, Message: fe.Message, Details: fe.Details}})
	return status[fe.Kind], body
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, body := renderError(r.Context(), a.log, r.URL.Path, err)
	if (code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		retry := 1
		// A limiter knows the real wait (limitAttempt's retry_after); a
		// handler that knows it may also have set Retry-After itself.
		if fe, ok := fault.As(err); ok {
			if s, ok := fe.Details["retry_after"].(int); ok && s > 0 {
				retry = s
			}
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	writeRaw(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"Could not encode the response."}}`)
	}
	writeRaw(w, code, body)
}

func writeRaw(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	w.Write(body)         //nolint:errcheck // the client went away
	w.Write([]byte{'\n'}) //nolint:errcheck
}

// readBody reads a capped body. Codes: body_too_large.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fault.New(fault.Invalid, "body_too_large", "The request body is larger than 1 MiB.")
	}
	if err != nil {
		return nil, fault.New(fault.Invalid, "invalid_body", "The request body could not be read.")
	}
	return b, nil
}

// decode parses a JSON body strictly (input.DecodeJSON): text that is not
// UTF-8, a NUL, a repeated key, unknown fields, trailing data and wrong
// types are 400s that say which field is wrong.
//
// Codes: invalid_json, unknown_field, invalid_text, duplicate_key.
func decode(body []byte, v any) error {
	return input.DecodeJSON(body, v)
}
