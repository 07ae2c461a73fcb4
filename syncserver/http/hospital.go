package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// maxVerifyBytes bounds a verify request: one QR text of a few hundred
// characters, with room to spare.
const maxVerifyBytes = 8 << 10

// maxFeedWait bounds a long poll, below the server's write timeout.
const maxFeedWait = 60 * time.Second

// routeHospital adds what hospitals use (DESIGN.md §7): online card
// verification, person lookup and the change feed.
func (s *Server) routeHospital(api *echo.Group) {
	hospital := s.requireRole(schema.RoleHospital)
	api.POST("/cards/verify", s.handleVerifyCard, hospital)
	api.GET("/feed", s.handleFeed, hospital)
	// A supervisor looks people up too (review, complaints); both reads
	// are audited alike.
	api.GET("/persons/:id", s.handlePerson, s.requireRole(schema.RoleAdmin, schema.RoleSupervisor, schema.RoleHospital))
	api.GET("/persons/:id/audit", s.handleAuditLog, s.requireRole(schema.RoleAdmin, schema.RoleSupervisor))
}

// reader is who a request reads on behalf of, for the audit log.
func reader(c echo.Context) store.Reader {
	return store.Reader{Principal: principal(c), Client: c.RealIP()}
}

// auditedCtx is the request's context marked with its reader, so store
// reads that return a person's data audit themselves.
func auditedCtx(c echo.Context) context.Context {
	return store.WithReader(c.Request().Context(), reader(c))
}

// verifyRequest is the body of POST /api/v1/cards/verify.
type verifyRequest struct {
	QR string `json:"qr"`
}

func (s *Server) handleVerifyCard(c echo.Context) error {
	var req verifyRequest
	if _, err := decodeBody(c, &req, maxVerifyBytes, maxVerifyBytes); err != nil {
		return err
	}
	if strings.TrimSpace(req.QR) == "" {
		return &schema.Error{Code: schema.EINVALID, Field: "qr", Rule: "required", Message: "the scanned QR text is required"}
	}
	v, err := s.store.VerifyCard(c.Request().Context(), reader(c), req.QR)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// handlePerson answers a health ID with its person; a merged ID answers
// with the survivor, whose aliases list the merged ID.
func (s *Server) handlePerson(c echo.Context) error {
	p, err := s.store.ReadPerson(c.Request().Context(), reader(c), "person.read", c.Param("id"), true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) handleAuditLog(c echo.Context) error {
	log, err := s.store.AuditLog(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"records": log})
}

// handleFeed serves events after the cursor; wait=30s long-polls for the
// next one when there is none yet.
func (s *Server) handleFeed(c echo.Context) error {
	after, limit, err := cursorParams(c)
	if err != nil {
		return err
	}
	if limit > store.MaxFeedPage {
		return &schema.Error{Code: schema.EINVALID, Field: "limit", Rule: "max",
			Message: "must be at most 1000"}
	}
	var wait time.Duration
	if v := c.QueryParam("wait"); v != "" {
		if wait, err = parseWait(v); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	page, err := s.store.Feed(ctx, reader(c), after, int(limit), wait)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// parseWait reads a long-poll duration: 30s, 1m, or bare seconds.
func parseWait(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		d, err = time.ParseDuration(v + "s")
	}
	if err != nil || d < 0 || d > maxFeedWait {
		return 0, &schema.Error{Code: schema.EINVALID, Field: "wait", Rule: "duration",
			Message: "must be a duration from 0s to 60s, like 30s"}
	}
	return d, nil
}
