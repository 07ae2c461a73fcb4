package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// maxPrintJobBytes bounds a print job request: a centre and a number.
const maxPrintJobBytes = 4 << 10

// routeCards adds the card endpoints: the public signing keys, print jobs
// for printing centres, and a person's card as PDF.
func (s *Server) routeCards(e *echo.Echo, api *echo.Group) {
	// The public keys are public by design: any hospital, app or person
	// may fetch them to check a card offline, so no token is asked. They
	// hold no private key and nothing about any person.
	e.GET("/.well-known/health-card-keys", s.handleHealthCardKeys)

	printer := s.requireRole(schema.RoleAdmin, schema.RolePrinter)
	api.POST("/print-jobs", s.handleCreatePrintJob, printer)
	api.GET("/print-jobs/:id", s.handlePrintJob, printer)
	api.GET("/print-jobs/:id/sheet.pdf", s.handlePrintJobSheet, printer)
	api.POST("/print-jobs/:id/confirm", s.handleChangePrintJob, printer)
	api.POST("/print-jobs/:id/cancel", s.handleChangePrintJob, printer)
	api.POST("/print-jobs/:id/dispatch", s.handleChangePrintJob, printer)
	api.POST("/cards/:serial/deliver", s.handleDeliverCard, printer)
	// :id is the health ID here; the name matches the other /persons/:id
	// routes, as the router wants one parameter name per position.
	api.GET("/persons/:id/card.pdf", s.handlePersonCardPDF,
		s.requireRole(schema.RoleAdmin, schema.RolePrinter, schema.RoleSupervisor))
}

// handleHealthCardKeys serves the public key document. It reads the key
// ring from its directory at each request rather than the copy the store
// loaded at start, so a key retired with `syncserver keys retire` while
// the server runs stops verifying at once for everyone who fetches this.
func (s *Server) handleHealthCardKeys(c echo.Context) error {
	ring, err := cards.OpenKeyRing(s.store.CardKeys().Dir())
	if err != nil {
		return fmt.Errorf("health card keys: %w", err)
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, ring.PublicKeys())
}

// printJobRequest is the body of POST /api/v1/print-jobs.
type printJobRequest struct {
	Centre string `json:"centre"`
	Limit  int    `json:"limit"` // 0: the store's default
}

// handleCreatePrintJob takes queued cards of a centre into a new job. Its
// cards stay queued until the job is confirmed.
func (s *Server) handleCreatePrintJob(c echo.Context) error {
	var req printJobRequest
	if _, err := decodeBody(c, &req, maxPrintJobBytes, maxPrintJobBytes); err != nil {
		return err
	}
	if req.Limit < 0 {
		return &schema.Error{Code: schema.EINVALID, Field: "limit", Rule: "min", Message: "must not be negative"}
	}
	if p := principal(c); p.Centre != "" && req.Centre == "" {
		req.Centre = p.Centre
	}
	job, err := s.store.CreatePrintJob(auditedCtx(c), req.Centre, req.Limit, principal(c).Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, job)
}

func (s *Server) handlePrintJob(c echo.Context) error {
	id, err := store.ParseJobID(c.Param("id"))
	if err != nil {
		return err
	}
	job, err := s.store.PrintJob(auditedCtx(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}

// handlePrintJobSheet renders an open job's A4 duplex sheets. The whole
// PDF is made before the first byte is sent, so a failure is a problem
// body and never half a PDF.
func (s *Server) handlePrintJobSheet(c echo.Context) error {
	id, err := store.ParseJobID(c.Param("id"))
	if err != nil {
		return err
	}
	job, err := s.store.PrintJobToRender(auditedCtx(c), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := cards.RenderSheet(&buf, job.Cards); err != nil {
		return fmt.Errorf("print job %d: %w", id, err)
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="print-job-%d.pdf"`, id))
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}

// handleChangePrintJob confirms, cancels or dispatches a job, by the last
// part of the path, and answers the job as it now stands.
func (s *Server) handleChangePrintJob(c echo.Context) error {
	id, err := store.ParseJobID(c.Param("id"))
	if err != nil {
		return err
	}
	ctx, by := auditedCtx(c), principal(c).Name
	switch path := c.Path(); {
	case strings.HasSuffix(path, "/confirm"):
		_, err = s.store.ConfirmPrintJob(ctx, id, by)
	case strings.HasSuffix(path, "/cancel"):
		err = s.store.CancelPrintJob(ctx, id, by)
	default:
		err = s.store.DispatchPrintJob(ctx, id, by)
	}
	if err != nil {
		return err
	}
	job, err := s.store.PrintJob(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}

func (s *Server) handleDeliverCard(c echo.Context) error {
	serial := c.Param("serial")
	if err := s.store.DeliverCard(auditedCtx(c), serial, principal(c).Name); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"serial": serial, "status": store.CardDelivered})
}

// handlePersonCardPDF renders the person's valid card, front and back, as
// a CR80 PDF. It changes no card's status.
func (s *Server) handlePersonCardPDF(c echo.Context) error {
	card, err := s.store.ValidCard(auditedCtx(c), c.Param("id"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := cards.RenderCardPDF(&buf, card.Card); err != nil {
		return fmt.Errorf("card %s: %w", card.Serial, err)
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="card-%s.pdf"`, card.Serial))
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}
