package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes are stable: scripts, laptops and the API's problem bodies
// branch on them, so never rename one.
const (
	EINVALID      = "invalid"        // a field breaks a validation rule
	ENOTFOUND     = "not_found"      // the thing asked for does not exist
	ECONFLICT     = "conflict"       // the request contradicts stored state
	EUNAUTHORIZED = "unauthorized"   // no credential, or a bad or revoked one
	EFORBIDDEN    = "forbidden"      // credential fine, but outside its role or scope
	ETOOLARGE     = "too_large"      // body, batch or field over a limit
	EMALFORMED    = "malformed"      // the body cannot be decoded at all
	EINTERNAL     = "internal"       // our fault, never the client's
	ESTALE        = "stale"          // an older version than the one stored
	ENOTREGISTERD = "not_registered" // the laptop has not run `surveyor init`
	ERATELIMITED  = "rate_limited"   // too many requests for one token or address; wait Retry-After
	EUNAVAILABLE  = "unavailable"    // the server cannot serve now (shutting down, store not ready); retry
)

// Error is the one error type callers branch on. Field is the JSON path of
// the offending field (members[2].dob) when there is one; Rule names the
// broken rule in a few words a survey worker can act on.
type Error struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain,
// EINTERNAL for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	var ve ValidationErrors
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ve):
		return EINVALID
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain and a
// generic text otherwise, so internal details never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	var ve ValidationErrors
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ve):
		return ve.Error()
	case errors.As(err, &e):
		return e.Error()
	}
	return "internal error"
}

// ValidationErrors lists every broken rule of one record, so a survey worker
// fixes them all at once instead of one per round trip.
type ValidationErrors []*Error

func (ve ValidationErrors) Error() string {
	parts := make([]string, len(ve))
	for i, e := range ve {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// First returns the first broken rule, or nil.
func (ve ValidationErrors) First() *Error {
	if len(ve) == 0 {
		return nil
	}
	return ve[0]
}

// fieldError is the constructor every rule uses, so field, rule and message
// always agree.
func fieldError(field, rule, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// CodeForStatus names an HTTP status with our error code, for an error
// body that has none (a proxy's page, a framework's own 404): both the
// server's error handler and the laptop's client read statuses this way.
func CodeForStatus(status int) string {
	switch {
	case status == 400, status == 415: // bad request, unsupported media type
		return EMALFORMED
	case status == 401:
		return EUNAUTHORIZED
	case status == 403:
		return EFORBIDDEN
	case status == 404:
		return ENOTFOUND
	case status == 409:
		return ECONFLICT
	case status == 413:
		return ETOOLARGE
	case status == 429:
		return ERATELIMITED
	case status == 503:
		return EUNAVAILABLE
	case status >= 500:
		return EINTERNAL
	}
	return EINVALID
}

// StatusForCode is the HTTP status an error code answers with: the one
// place the API, the console and the laptop's form map codes to statuses
// (CodeForStatus is the way back).
func StatusForCode(code string) int {
	switch code {
	case EINVALID:
		return 422
	case ENOTFOUND:
		return 404
	case ECONFLICT, ESTALE:
		return 409
	case EUNAUTHORIZED, ENOTREGISTERD:
		return 401
	case EFORBIDDEN:
		return 403
	case ETOOLARGE:
		return 413
	case EMALFORMED:
		return 400
	case ERATELIMITED:
		return 429
	case EUNAVAILABLE:
		return 503
	}
	return 500
}
