package httpapi

import (
	"fmt"
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
// roles: no or a bad token is 401, a token of another role 403.
func (s *Server) requireRole(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := bearerToken(c.Request())
			if !ok {
				return schema.Errorf(schema.EUNAUTHORIZED, "an Authorization: Bearer token is required")
			}
			p, err := s.store.Authenticate(c.Request().Context(), token)
			if err != nil {
				return err
			}
			c.Set(principalKey, p)
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
