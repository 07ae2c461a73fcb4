package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// principalKey holds the request's store.Principal in the echo context.
const principalKey = "principal"

// principal returns who the request's token speaks for; requireRole has
// put it there on every route that needs it.
func principal(c echo.Context) store.Principal {
	p, _ := c.Get(principalKey).(store.Principal)
	return p
}

// requireRole admits requests whose bearer token is live and has one of
// roles: no or a bad token is 401, a token of another role 403. Each
// admitted request spends one request of its token's budget, before the role
// check so a token hammering an endpoint it may not use is slowed too;
// each refused one spends one of the client address's, so guessing
// tokens goes no faster than the limit while good tokens behind the same
// address are untouched.
func (s *Server) requireRole(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := bearerToken(c.Request())
			if !ok {
				if err := s.limitClient(c); err != nil {
					return err
				}
				return schema.Errorf(schema.EUNAUTHORIZED, "an Authorization: Bearer token is required")
			}
			p, err := s.store.Authenticate(c.Request().Context(), token)
			if err != nil {
				if schema.ErrorCode(err) == schema.EUNAUTHORIZED {
					if lerr := s.limitClient(c); lerr != nil {
						return lerr
					}
				}
				return err
			}
			c.Set(principalKey, p)
			if err := s.limitToken(c, p.TokenID); err != nil {
				return err
			}
			if !slices.Contains(roles, p.Role) {
				return schema.Errorf(schema.EFORBIDDEN, "a %s token cannot do this; it needs the role %s",
					p.Role, strings.Join(roles, " or "))
			}
			return next(c)
		}
	}
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// logRequests logs one line per request: method, path, status, duration
// and the token's name, never the token. It hands errors to the error
// handler itself so the status it logs is the one the client got.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		attrs := []any{
			"method", req.Method,
			"path", req.URL.Path,
			"status", res.Status,
			"duration", time.Since(start).Round(time.Microsecond),
			"bytes_in", req.ContentLength,
			"bytes_out", res.Size,
		}
		if p := principal(c); p.Name != "" {
			attrs = append(attrs, "token", p.Name)
		}
		s.logger.InfoContext(req.Context(), "request", attrs...)
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 with the stack in
// the log, instead of a dropped connection. http.ErrAbortHandler keeps
// its meaning.
func recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return next(c)
	}
}

// maxBodyBytes caps the body of any request: generous for every JSON
// endpoint but a batch, whose own cap bodyLimit knows. Handlers that
// decode with decodeBody keep their tighter limits.
const maxBodyBytes = 1 << 20

// bodyLimit is the cap on the body of a request to route.
func bodyLimit(route string) int64 {
	switch route {
	case "/api/v1/sync/batches":
		return schema.MaxGzipBytes
	}
	return maxBodyBytes
}

// limitBodies answers 413 for a body over its route's cap: at once when
// Content-Length says so, or when a handler reads past the cap of a body
// sent without one. The error is echo's 413, which echo's binder passes
// through and decodeBody wraps, so either way the client gets too_large.
func limitBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		limit := bodyLimit(c.Path())
		if req.ContentLength > limit {
			return bodyTooLarge(limit)
		}
		if req.Body != nil && req.Body != http.NoBody {
			// MaxBytesReader also closes the connection after the answer,
			// rather than reading the rest of a huge body to keep it.
			req.Body = &cappedBody{ReadCloser: http.MaxBytesReader(c.Response().Writer, req.Body, limit), limit: limit}
		}
		return next(c)
	}
}

func bodyTooLarge(limit int64) *echo.HTTPError {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", limit))
}

// cappedBody turns http.MaxBytesReader's error into echo's 413.
type cappedBody struct {
	io.ReadCloser
	limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = bodyTooLarge(b.limit)
	}
	return n, err
}
