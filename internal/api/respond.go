package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// maxBody caps request bodies (1 MiB, as docs/api.md says).
const maxBody = 1 << 20

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

// decode parses a JSON body strictly: unknown fields, trailing data and
// wrong types are 400s that say which field is wrong.
//
// Codes: invalid_json, unknown_field.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fault.New(fault.Invalid, "invalid_json", "The request needs a JSON body.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var timeErr *time.ParseError
		switch {
		case errors.As(err, &timeErr):
			return fault.New(fault.Invalid, "invalid_json", "Times must be RFC 3339, like 2026-11-24T10:30:00Z.")
		case errors.As(err, &typeErr):
			return fault.New(fault.Invalid, "invalid_json", "Field %q has the wrong type.", typeErr.Field)
		case errors.As(err, &syntaxErr):
			return fault.New(fault.Invalid, "invalid_json", "The body is not valid JSON (at byte %d).", syntaxErr.Offset)
		case bytes.HasPrefix([]byte(err.Error()), []byte("json: unknown field")):
			return fault.New(fault.Invalid, "unknown_field", "The body has an unknown field: %s.", err.Error()[len("json: unknown field "):])
		default:
			if fe, ok := fault.As(err); ok {
				return fe
			}
			return fault.New(fault.Invalid, "invalid_json", "The body is not valid: %s.", safeJSONError(err))
		}
	}
	if dec.More() {
		return fault.New(fault.Invalid, "invalid_json", "The body has data after the JSON value.")
	}
	return nil
}

// safeJSONError keeps messages from our own UnmarshalJSON methods (odds,
// lines), which are written for users, and hides anything else.
func safeJSONError(err error) string {
	s := err.Error()
	if len(s) > 200 {
		return "invalid value"
	}
	return s
}

// readJSON reads a capped body and decodes it strictly.
func (a *API) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decode(body, v)
}
