package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// Format is how a surface answers: the JSON API or HTML pages.
type Format int

const (
	JSON Format = iota
	HTML
)

// FormatFor is how r is answered by a surface of format surface. The JSON
// API answers JSON whatever the request accepts (its contract, in
// docs/api.md and the served OpenAPI document, says so); an HTML surface
// answers JSON to a request that asks for JSON rather than HTML (a script
// on our pages), and HTML to everything else.
func FormatFor(r *http.Request, surface Format) Format {
	if surface == JSON {
		return JSON
	}
	if prefersJSON(r.Header.Get("Accept")) {
		return JSON
	}
	return HTML
}

// prefersJSON reports whether an Accept header names application/json
// with a higher quality than text/html.
func prefersJSON(accept string) bool {
	jsonQ, htmlQ := -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "application/json":
			jsonQ = max(jsonQ, q)
		case "text/html":
			htmlQ = max(htmlQ, q)
		}
	}
	return jsonQ > 0 && jsonQ > htmlQ
}

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

// Internal is what a client is told of an error that is not its own:
// driver and SQL text never reach it.
var Internal = &fault.Error{Kind: fault.Internal, Code: "internal", Message: "Something went wrong on our side; it has been logged.",
	Format: "Something went wrong on our side; it has been logged."}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// Fault is the user-safe form of err. Internal errors are logged with
// their text and become Internal; unavailable dependencies are logged as
// a warning.
func Fault(ctx context.Context, log *slog.Logger, path string, err error) *fault.Error {
	fe, ok := fault.As(err)
	if !ok || fe.Kind == fault.Internal {
		log.ErrorContext(ctx, "internal error", "path", path, "err", err)
		return Internal
	} else if fe.Kind == fault.Unavailable {
		log.WarnContext(ctx, "dependency unavailable", "path", path, "err", err)
	}
	return fe
}

// JSONError is the status and JSON envelope of err: what the API answers,
// and what a retry-safe write stores for its replays.
func JSONError(ctx context.Context, log *slog.Logger, path string, err error) (int, []byte) {
	fe := Fault(ctx, log, path, err)
	return status[fe.Kind], envelope(fe)
}

// envelope is fe as the API's error body.
func envelope(fe *fault.Error) []byte {
	body, _ := json.Marshal(errorBody{Error: errorDetail{Code: fe.Code, Message: fe.Message, Details: fe.Details}})
	return body
}

// WriteError answers r with err, in the format the surface and the
// request call for, and in the caller's language (see Caller).
func (e *Edge) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	f, fe := FormatFor(r, e.cfg.Format), Fault(r.Context(), e.cfg.Log, r.URL.Path, err)
	if f == HTML && e.cfg.ErrorPage != nil {
		setRetryAfter(w, fe)
		lang, loc := Caller(r)
		e.cfg.ErrorPage(w, r, status[fe.Kind], Localize(fe, lang, loc))
		return
	}
	WriteFault(w, r, f, fe)
}

// Status is the HTTP status of an error kind.
func Status(k fault.Kind) int { return status[k] }

// WriteFault answers with fe, already logged if it needed to be, its
// message in the caller's language and zone (Caller), which the
// Content-Language header names. A 429 or 503 says when to retry: the
// retry_after detail of a limiter that knows the wait, else a handler's
// own Retry-After header, else 1 second.
func WriteFault(w http.ResponseWriter, r *http.Request, f Format, fe *fault.Error) {
	code := status[fe.Kind]
	setRetryAfter(w, fe)
	if f == HTML {
		WriteHTMLError(w, code)
		return
	}
	lang, loc := Caller(r)
	w.Header().Set("Content-Language", string(lang))
	WriteRaw(w, code, envelope(Localize(fe, lang, loc)))
}

func setRetryAfter(w http.ResponseWriter, fe *fault.Error) {
	code := status[fe.Kind]
	if (code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		retry := 1
		if s, ok := fe.Details["retry_after"].(int); ok && s > 0 {
			retry = s
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
}

// pageText is what an error page says for a status, in Korean and
// English: nothing from the error itself, so no internal text can leak.
var pageText = map[int][2]string{
	http.StatusBadRequest:          {"요청을 처리할 수 없습니다.", "The request could not be processed."},
	http.StatusUnauthorized:        {"로그인이 필요합니다.", "Please log in."},
	http.StatusForbidden:           {"이 작업을 할 수 없습니다.", "You cannot do this."},
	http.StatusNotFound:            {"페이지를 찾을 수 없습니다.", "This page does not exist."},
	http.StatusMethodNotAllowed:    {"허용되지 않는 요청입니다.", "This request method is not allowed here."},
	http.StatusConflict:            {"요청이 현재 상태와 맞지 않습니다.", "The request conflicts with the current state."},
	http.StatusUnprocessableEntity: {"요청을 받아들일 수 없습니다.", "The request was refused."},
	http.StatusTooManyRequests:     {"요청이 너무 많습니다. 잠시 후 다시 시도하세요.", "Too many requests; please try again shortly."},
	http.StatusServiceUnavailable:  {"잠시 후 다시 시도하세요.", "Temporarily unavailable; please try again shortly."},
}

// WriteHTMLError writes the error page of a status.
func WriteHTMLError(w http.ResponseWriter, code int) {
	text, ok := pageText[code]
	if !ok {
		text = [2]string{"서버에 문제가 생겼습니다. 기록되었습니다.", "Something went wrong on our side; it has been logged."}
	}
	WriteHTML(w, code, fmt.Sprintf(`<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>%[1]d · Pointsbook</title></head>
<body><h1>%[1]d</h1><p lang="ko">%[2]s</p><p lang="en">%[3]s</p><p><a href="/">Pointsbook</a></p></body></html>
`, code, html.EscapeString(text[0]), html.EscapeString(text[1])))
}

// WriteHTML writes a page.
func WriteHTML(w http.ResponseWriter, code int, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(code)
	w.Write([]byte(page)) //nolint:errcheck // the client went away
}

// WriteJSON writes v as the JSON body of a code answer. It returns nil, so
// a handler may end with it: a client that went away cannot be answered.
func WriteJSON(w http.ResponseWriter, code int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"Could not encode the response."}}`)
	}
	WriteRaw(w, code, body)
	return nil
}

// WriteRaw writes body, a JSON document, and a newline.
func WriteRaw(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	w.Write(body)         //nolint:errcheck // the client went away
	w.Write([]byte{'\n'}) //nolint:errcheck
}
