package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
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

// decode parses a JSON body strictly (input.DecodeJSON): text that is not
// UTF-8, a NUL, a repeated key, unknown fields, trailing data and wrong
// types are 400s that say which field is wrong.
//
// Codes: invalid_json, unknown_field, invalid_text, duplicate_key.
func decode(body []byte, v any) error {
	return input.DecodeJSON(body, v)
}

// readJSON reads a capped body and decodes it strictly.
func (a *API) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decode(body, v)
}
