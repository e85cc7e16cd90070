// Package fault defines the error type every domain returns: a machine
// code, a message safe to show a user, and a kind that the API maps to an
// HTTP status in exactly one place. Internal error text (SQL, driver) is
// never put into Message; it is wrapped and only logged.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	Internal         Kind = iota // a bug or an unexpected failure: logged, shown generically
	Invalid                      // malformed or out-of-range input
	Unauthenticated              // no or expired session
	Forbidden                    // authenticated but not allowed
	NotFound                     // absent, or not the caller's
	Conflict                     // state conflict: duplicate, odds changed, key reused
	Refused                      // well-formed but refused by a rule (insufficient points, limits)
	RateLimited                  // too many requests
	Unavailable                  // a dependency is down
	MethodNotAllowed             // the path exists with other methods
)

// Error is a domain error with a stable code and a user-safe message.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Details carries structured, user-safe data (e.g. the new odds on
	// odds_changed) that the API adds to the error envelope.
	Details map[string]any
	// Format and Args are Message before it was formatted: the edge looks
	// Format up in the message catalogue (under fault.<Code>) and prints
	// Args in the caller's language and zone, so a time is passed as a
	// time.Time, never as text. Message is the English fallback.
	Format string
	Args   []any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an *Error with a formatted message. A time.Time argument
// is written in Message as an RFC 3339 UTC instant; the edge prints it in
// the caller's zone instead.
func New(kind Kind, code, format string, args ...any) *Error {
	plain := args
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			if &plain[0] == &args[0] {
				plain = append([]any(nil), args...)
			}
			plain[i] = t.UTC().Format(time.RFC3339)
		}
	}
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, plain...), Format: format, Args: args}
}

// With returns a copy of e carrying detail key=value.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Code returns the code of the *Error in err's chain, "internal" for any
// other non-nil error and "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return "internal"
}

// ErrUnavailable is returned (wrapped) when the database cannot be reached.
var ErrUnavailable = New(Unavailable, "database_unavailable", "The service is temporarily unavailable; please retry shortly.")
