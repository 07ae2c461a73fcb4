//go:build tools

package tools

import (
	_ "github.com/adrg/strutil"
	_ "github.com/fxamacker/cbor/v2"
	_ "github.com/go-pdf/fpdf"
	_ "github.com/labstack/echo/v4"
	_ "github.com/makiuchi-d/gozxing"
	_ "github.com/oklog/ulid/v2"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/skip2/go-qrcode"
	_ "github.com/spf13/cobra"
	_ "github.com/veraison/go-cose"
	_ "modernc.org/sqlite"
)
