package apisports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pointsbook/pointsbook/internal/feed"
)

// Error is a failed provider call. Every Error is degraded
// (errors.Is(err, feed.ErrDegraded)): it costs freshness, and the client
// keeps serving what it last fetched.
type Error struct {
	Sport string
	// Kind is the provider's error key (KindRequests, KindRateLimit,
	// KindToken, KindPlan, or another key it sent) or one of ours
	// (KindHTTP, KindTransport, KindMalformed, KindBudget).
	Kind    string
	Message string
	// Status is the HTTP status, when one was received.
	Status int
}

// Error kinds.
const (
	KindRequests  = "requests"  // the daily quota is spent
	KindRateLimit = "rateLimit" // the per-minute limit (or HTTP 429)
	KindToken     = "token"     // the key is missing or wrong
	KindPlan      = "plan"      // the plan does not cover that season or date
	KindProvider  = "provider"  // any other error the provider reported
	KindHTTP      = "http"      // a non-200 answer
	KindTransport = "transport" // no answer
	KindMalformed = "malformed" // an answer we cannot read
	KindBudget    = "budget"    // our own daily plan leaves no call for this
)

func (e *Error) Error() string {
	s := "apisports " + e.Sport + ": " + e.Kind
	if e.Status != 0 && e.Status != 200 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *Error) Unwrap() error { return feed.ErrDegraded }

// envelope is the wrapper every answer comes in.
type envelope struct {
	Errors   json.RawMessage `json:"errors"`
	Paging   json.RawMessage `json:"paging"`
	Response json.RawMessage `json:"response"`
}

type paging struct{ Current, Total int }

var errNotEnvelope = errors.New("not an API-Sports envelope")

// decodeEnvelope reads an answer's wrapper. An answer that is not a JSON
// object with a response or errors member is malformed.
func decodeEnvelope(body []byte) (*envelope, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errNotEnvelope
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	if env.Response == nil && env.Errors == nil {
		return nil, errNotEnvelope
	}
	return &env, nil
}

// providerError returns the error the envelope carries, or nil. Errors
// come as an object keyed by kind, but the field is an empty array when
// there are none, so both shapes are read.
func (env *envelope) providerError(sp string) *Error {
	raw := bytes.TrimSpace(env.Errors)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	msgs := map[string]string{}
	switch raw[0] {
	case '{':
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return &Error{Sport: sp, Kind: KindMalformed, Message: "unreadable errors object"}
		}
		for k, v := range m {
			msgs[clean(k)] = message(v)
		}
	case '[':
		var a []json.RawMessage
		if json.Unmarshal(raw, &a) != nil {
			return &Error{Sport: sp, Kind: KindMalformed, Message: "unreadable errors array"}
		}
		var parts []string
		for _, v := range a {
			parts = append(parts, message(v))
		}
		if len(a) > 0 {
			msgs[KindProvider] = strings.Join(parts, "; ")
		}
	case '"':
		if m := message(raw); m != "" {
			msgs[KindProvider] = m
		}
	default:
		if string(raw) != "false" && string(raw) != "0" {
			msgs[KindProvider] = message(raw)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	// The daily quota decides most (no call until the reset), then the
	// per-minute limit, then the key, then the plan.
	for _, k := range []string{KindRequests, KindRateLimit, KindToken, KindPlan} {
		if m, ok := msgs[k]; ok {
			return &Error{Sport: sp, Kind: k, Message: m}
		}
	}
	keys := make([]string, 0, len(msgs))
	for k := range msgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &Error{Sport: sp, Kind: KindProvider, Message: keys[0] + ": " + msgs[keys[0]]}
}

// message renders one error value, which is usually a string.
func message(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		s = string(v)
	}
	return clean(s)
}

// items returns the response as a list; a missing or null response is
// an empty list, anything but an array is malformed.
func (env *envelope) items() ([]json.RawMessage, error) {
	raw := bytes.TrimSpace(env.Response)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, errors.New("response is not a list")
	}
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// pages reads paging, which v1 answers may leave out.
func (env *envelope) pages() paging {
	var p struct{ Current, Total optInt }
	if json.Unmarshal(env.Paging, &p) != nil || !p.Total.Set {
		return paging{Current: 1, Total: 1}
	}
	pg := paging{Current: max(1, p.Current.V), Total: max(1, p.Total.V)}
	pg.Total = min(pg.Total, 1000)
	return pg
}
