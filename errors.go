package agentscope

import (
	"errors"
	"fmt"
	"time"
)

// Application error codes. Each maps to an HTTP status and to an MCP
// isError result; anything without a code is an internal error whose detail
// is logged, not shown.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOLARGE     = "too_large"
	EUNAVAILABLE  = "unavailable"
	// ERATELIMITED is a caller past its request rate (HTTP 429, with
	// Retry-After from the error's RetryAfter).
	ERATELIMITED = "rate_limited"
	// EPLANLIMIT is an organisation past a limit of its billing plan
	// (events this period, seats, API keys, managed-run spend): HTTP 402.
	// The message names the limit, the usage and how to upgrade.
	EPLANLIMIT = "plan_limit"
)

// Error is an application error: a code callers can branch on, a message safe
// to show to a client, and optionally the field the message is about.
type Error struct {
	Code    string
	Field   string
	Message string
	// RetryAfter, when set on an EUNAVAILABLE or ERATELIMITED error, is
	// how soon the same request may succeed (a concurrency cap or a rate
	// limit, not an outage); HTTP sends it as Retry-After.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// RenameField returns err as an invalid-argument error about names[field]
// when err is one about a field names has, and reports whether it did: a
// call that took an argument under another name (a CLI flag, a tool's own
// argument) says which of its own was wrong.
func RenameField(err error, names map[string]string) (error, bool) {
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID {
		return err, false
	}
	name, ok := names[e.Field]
	if !ok {
		return err, false
	}
	return FieldErrorf(name, "%s", e.Message), true
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the message of an
// *Error, or a generic text for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}
