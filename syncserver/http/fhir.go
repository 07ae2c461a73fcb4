package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/fhir"
)

// fhirPrefix is where the FHIR R4 interface lives; every response under it,
// errors included, is application/fhir+json.
const fhirPrefix = "/fhir"

// routeFHIR adds FHIR R4 for hospitals (DESIGN.md §7): Patient read and
// search by identifier, with a hospital token. The CapabilityStatement is
// open, as FHIR clients expect to read it before they authenticate, and it
// holds nothing about anyone.
func (s *Server) routeFHIR(e *echo.Echo) {
	g := e.Group(fhirPrefix)
	hospital := s.requireRole(schema.RoleHospital)
	g.GET("/metadata", s.handleFHIRMetadata)
	g.GET("/Patient/:id", s.handleFHIRRead, hospital)
	g.GET("/Patient", s.handleFHIRSearch, hospital)
}

func isFHIRPath(path string) bool {
	return path == fhirPrefix || strings.HasPrefix(path, fhirPrefix+"/")
}

// fhirBase is the absolute base URL of the FHIR interface as the client
// reached it, for the full URLs of search results.
func fhirBase(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host + fhirPrefix
}

func (s *Server) handleFHIRMetadata(c echo.Context) error {
	return writeFHIR(c, http.StatusOK, fhir.Capabilities(fhirBase(c)))
}

// handleFHIRRead answers a health ID, with or without dashes, with its
// Patient. A merged ID answers as itself, inactive and replaced-by its
// survivor, so a hospital holding the old ID learns the new one.
func (s *Server) handleFHIRRead(c echo.Context) error {
	p, err := s.store.ReadPerson(c.Request().Context(), reader(c), "fhir.read", c.Param("id"), false)
	if err != nil {
		return err
	}
	return writeFHIR(c, http.StatusOK, fhir.PatientOf(p))
}

// handleFHIRSearch answers identifier=SYSTEM|VALUE with a searchset Bundle.
// Anything that cannot be one of our persons (another system, no health
// ID, an ID never issued) is an empty Bundle, as FHIR search has it, not
// an error. Each person found is a read, audited as fhir.search.
func (s *Server) handleFHIRSearch(c echo.Context) error {
	params := c.QueryParams()["identifier"]
	if len(params) != 1 || params[0] == "" {
		return &schema.Error{Code: schema.EINVALID, Field: "identifier", Rule: "required",
			Message: "search Patients by identifier=" + fhir.HealthIDSystem + "|HEALTH-ID, given once (alternatives separated by commas)"}
	}
	if n := strings.Count(params[0], ",") + 1; n > fhir.MaxSearchIdentifiers {
		return &schema.Error{Code: schema.EINVALID, Field: "identifier", Rule: "max",
			Message: fmt.Sprintf("at most %d alternatives in one search, not %d", fhir.MaxSearchIdentifiers, n)}
	}
	var found []fhir.Patient
	for _, id := range fhir.SearchHealthIDs(params[0]) {
		p, err := s.store.ReadPerson(c.Request().Context(), reader(c), "fhir.search", id, false)
		if schema.ErrorCode(err) == schema.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		found = append(found, fhir.PatientOf(p))
	}
	base := fhirBase(c)
	self := base + "/Patient?" + url.Values{"identifier": params}.Encode()
	return writeFHIR(c, http.StatusOK, fhir.SearchSet(base, self, time.Now(), found))
}

func writeFHIR(c echo.Context, status int, resource any) error {
	b, err := json.Marshal(resource)
	if err != nil {
		return err
	}
	return c.Blob(status, fhir.ContentType, b)
}

// fhirOutcome is the OperationOutcome of a failed FHIR request: our
// message, and FHIR's issue type for the status statusOf chose.
func fhirOutcome(p schema.Problem) fhir.OperationOutcome {
	return fhir.Outcome(fhirIssueType(p.Status), p.Message)
}

func fhirIssueType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusUnauthorized:
		return "login" // a kind of security
	case http.StatusForbidden:
		return "forbidden" // a kind of security
	case http.StatusNotFound:
		return "not-found"
	case http.StatusMethodNotAllowed:
		return "not-supported"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too-long"
	case http.StatusTooManyRequests:
		return "throttled"
	case http.StatusServiceUnavailable:
		return "transient"
	}
	if status >= 500 {
		return "exception"
	}
	return "processing"
}
