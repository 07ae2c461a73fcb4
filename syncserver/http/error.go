package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/fhir"
)

// problemContentType is RFC 9457's media type for problem details.
const problemContentType = "application/problem+json"

// statusOf is the HTTP status of an error code (schema.StatusForCode).
func statusOf(code string) int { return schema.StatusForCode(code) }

// problemFor describes err for the client. Internal errors say only
// "internal error": their detail goes to the log, not over the wire.
func problemFor(err error) schema.Problem {
	var (
		he *echo.HTTPError
		ve schema.ValidationErrors
		se *schema.Error
		p  schema.Problem
	)
	switch {
	case errors.As(err, &he):
		p.Status, p.Code = he.Code, schema.CodeForStatus(he.Code)
		p.Message = fmt.Sprint(he.Message)
		if p.Status >= 500 {
			p.Message = "internal error"
		}
	case errors.As(err, &ve) && len(ve) > 0:
		first := ve.First()
		p.Code, p.Field, p.Rule, p.Message, p.Errors = schema.EINVALID, first.Field, first.Rule, ve.Error(), ve
		p.Status = statusOf(p.Code)
	case errors.As(err, &se):
		p.Code, p.Field, p.Rule, p.Message = se.Code, se.Field, se.Rule, se.Message
		p.Status = statusOf(p.Code)
	default:
		p.Code, p.Message = schema.EINTERNAL, schema.ErrorMessage(err)
		p.Status = statusOf(p.Code)
	}
	p.Title = http.StatusText(p.Status)
	return p
}

// handleError is echo's HTTPErrorHandler: every failed request, ours or
// echo's, ends here and answers a problem body.
func (s *Server) handleError(err error, c echo.Context) {
	p := problemFor(err)
	switch req := c.Request(); {
	case errors.Is(err, echo.ErrNotFound):
		p.Message = fmt.Sprintf("no such endpoint: %s %s", req.Method, req.URL.Path)
	case errors.Is(err, echo.ErrMethodNotAllowed):
		p.Message = fmt.Sprintf("%s is not allowed on %s", req.Method, req.URL.Path)
	}
	if p.Status >= 500 {
		s.logger.ErrorContext(c.Request().Context(), "request failed",
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if c.Response().Committed {
		return
	}
	h := c.Response().Header()
	var body any = p
	contentType := problemContentType
	if isFHIRPath(c.Request().URL.Path) {
		// FHIR clients read every error as an OperationOutcome.
		contentType, body = fhir.ContentType, fhirOutcome(p)
	}
	h.Set(echo.HeaderContentType, contentType)
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="syncserver"`)
	}
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	if err := json.NewEncoder(c.Response()).Encode(body); err != nil {
		s.logger.DebugContext(c.Request().Context(), "write problem", "err", err)
	}
}
