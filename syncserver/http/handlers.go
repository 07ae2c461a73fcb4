package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
)

// maxRegistrationBytes bounds a registration body: a code and a hostname.
const maxRegistrationBytes = 64 << 10

func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleRegister exchanges a one-time code for a device token. No bearer
// token: the code is the credential.
func (s *Server) handleRegister(c echo.Context) error {
	var reg schema.Registration
	if _, err := decodeBody(c, &reg, maxRegistrationBytes, maxRegistrationBytes); err != nil {
		return err
	}
	out, err := s.store.RegisterDevice(c.Request().Context(), reg.Code, reg.Hostname)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// handlePushBatch applies a batch from the token's own device.
func (s *Server) handlePushBatch(c echo.Context) error {
	var b schema.Batch
	n, err := decodeBody(c, &b, schema.MaxGzipBytes, schema.MaxBatchBytes)
	if err != nil {
		return err
	}
	res, err := s.store.ApplyBatch(c.Request().Context(), principal(c).DeviceID, b, n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// handleChanges answers what the server learnt about the device's records
// after the cursor.
func (s *Server) handleChanges(c echo.Context) error {
	after, limit, err := cursorParams(c)
	if err != nil {
		return err
	}
	out, err := s.store.Changes(c.Request().Context(), principal(c).DeviceID, after, int(limit))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleStats(c echo.Context) error {
	st, err := s.store.Stats(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// queryInt reads an optional non-negative integer query parameter; absent
// is 0.
func queryInt(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &schema.Error{Code: schema.EINVALID, Field: name, Rule: "integer", Message: "must be a whole number, 0 or more"}
	}
	return n, nil
}

// cursorParams reads the after= cursor and limit= page size of a listing
// that a client follows page by page.
func cursorParams(c echo.Context) (after, limit int64, err error) {
	if after, err = queryInt(c, "after"); err != nil {
		return 0, 0, err
	}
	if limit, err = queryInt(c, "limit"); err != nil {
		return 0, 0, err
	}
	return after, limit, nil
}
