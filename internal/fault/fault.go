// Package fault defines the error type every domain returns: a machine
// code, a message safe to show a user, and a kind that the API maps to an
// HTTP status in exactly one place. Internal error text (SQL, driver) is
// never put into Message; it is wrapped and only logged.
package fault

import (
	"errors"
	"fmt"
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
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an *Error with a formatted message.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
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
var ErrUnavailable = &Error{Kind: Unavailable, Code: "database_unavailable", Message: "The service is temporarily unavailable; please retry shortly."}
