package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
)

// decodeBody reads the request body into v, gunzipping it when it says
// so, within limits: at most maxWire bytes as sent and maxDecoded once
// decompressed, so a gzip bomb costs us maxDecoded bytes and no more.
// It returns how many bytes came over the wire.
func decodeBody(c echo.Context, v any, maxWire, maxDecoded int64) (int, error) {
	req := c.Request()
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get(echo.HeaderContentEncoding))); enc {
	case "", "identity":
		maxWire = min(maxWire, maxDecoded)
	case "gzip", "x-gzip":
		gz = true
	default:
		return 0, schema.Errorf(schema.EMALFORMED, "Content-Encoding %q is not supported; send gzip or plain JSON", enc)
	}
	if req.ContentLength > maxWire {
		return 0, tooLarge(gz, maxWire)
	}
	// The whole wire body is read before decompressing, so a gzip error
	// is the client's malformed body and never a dropped connection.
	raw, err := io.ReadAll(io.LimitReader(req.Body, maxWire+1))
	if err != nil {
		return len(raw), fmt.Errorf("read body: %w", err)
	}
	if int64(len(raw)) > maxWire {
		return len(raw), tooLarge(gz, maxWire)
	}
	body := raw
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return len(raw), schema.Errorf(schema.EMALFORMED, "body says Content-Encoding gzip but is not gzip: %v", err)
		}
		body, err = io.ReadAll(io.LimitReader(zr, maxDecoded+1))
		if err != nil {
			return len(raw), schema.Errorf(schema.EMALFORMED, "body is not valid gzip: %v", err)
		}
		if int64(len(body)) > maxDecoded {
			return len(raw), schema.Errorf(schema.ETOOLARGE, "body is over %d bytes decompressed; send smaller batches", maxDecoded)
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return len(raw), &schema.Error{Code: schema.EMALFORMED, Field: te.Field,
				Message: fmt.Sprintf("body is not the expected JSON: %s has a %s where it needs %s", te.Field, te.Value, te.Type)}
		}
		return len(raw), schema.Errorf(schema.EMALFORMED, "body is not valid JSON: %v", err)
	}
	return len(raw), nil
}

func tooLarge(gz bool, max int64) error {
	what := "body"
	if gz {
		what = "compressed body"
	}
	return schema.Errorf(schema.ETOOLARGE, "%s is over %d bytes; send smaller batches", what, max)
}
