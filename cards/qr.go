package cards

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"

	"github.com/go-pdf/fpdf"
	"github.com/makiuchi-d/gozxing"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// QuietZone is the white border around a QR code, in modules, that
// ISO/IEC 18004 asks for and scanners rely on to find the symbol.
const QuietZone = 4

// Printing defaults: a module is a whole number of printer dots so that
// every module prints the same size, with no dot split between black and
// white. 6 dots at 300 dpi is 0.508 mm, which a phone camera reads at
// arm's length.
const (
	PrinterDPI = 300
	ModuleDots = 6
)

// QR is a QR code's module matrix, quiet zone not included.
type QR struct {
	Version int // 1–40
	Size    int // modules per side: 17 + 4×Version
	dark    [][]bool
}

// EncodeQR makes the QR code of a card's text at error correction level Q
// (25% of the symbol may be lost; go-qrcode calls it High). The text of a
// card is Base45, whose 45 characters are exactly QR's alphanumeric set, so
// the encoder never needs byte mode: it writes alphanumeric segments, with
// numeric ones where a run of digits is shorter that way.
func EncodeQR(text string) (*QR, error) {
	if text == "" {
		return nil, errors.New("qr: no text")
	}
	// gozxing's encoder (a port of ZXing's) picks the same smallest
	// version and alphanumeric mode as skip2/go-qrcode, and is faster at
	// choosing the mask, which is most of the time a print run spends on a
	// card.
	code, err := encoder.Encoder_encodeWithoutHint(text, decoder.ErrorCorrectionLevel_Q)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	m := code.GetMatrix()
	n := m.GetWidth()
	dark := make([][]bool, n)
	for y := range n {
		dark[y] = make([]bool, n)
		for x := range n {
			dark[y][x] = m.Get(x, y) == 1
		}
	}
	return &QR{Version: code.GetVersion().GetVersionNumber(), Size: n, dark: dark}, nil
}

// Dark reports whether the module at column x, row y is dark; modules
// outside the symbol (the quiet zone) are light.
func (q *QR) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= q.Size || y >= q.Size {
		return false
	}
	return q.dark[y][x]
}

// Image draws the code with scale pixels a module and the quiet zone, black
// on white.
func (q *QR) Image(scale int) image.Image {
	if scale < 1 {
		scale = 1
	}
	n := (q.Size + 2*QuietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{color.White, color.Black})
	for y := 0; y < q.Size; y++ {
		for x := 0; x < q.Size; x++ {
			if !q.dark[y][x] {
				continue
			}
			x0, y0 := (x+QuietZone)*scale, (y+QuietZone)*scale
			for py := y0; py < y0+scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := x0; px < x0+scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	return img
}

// WritePNG writes Image(scale) as PNG.
func (q *QR) WritePNG(w io.Writer, scale int) error {
	return png.Encode(w, q.Image(scale))
}

// rects returns the dark modules merged into rectangles: runs along each
// row, and a run that repeats exactly in the rows below grows down instead
// of starting anew. A version 12 code is ~1,400 runs but ~1,000 rectangles.
func (q *QR) rects() [][4]int {
	out := make([][4]int, 0, q.Size*q.Size/4)
	// open[x] is 1 + the index in out of the rectangle whose run in the
	// previous row started at column x (runs of a row never share a start).
	open := make([]int, q.Size)
	next := make([]int, q.Size)
	for y := 0; y < q.Size; y++ {
		clear(next)
		row := q.dark[y]
		for x := 0; x < q.Size; {
			if !row[x] {
				x++
				continue
			}
			x0 := x
			for x < q.Size && row[x] {
				x++
			}
			if i := open[x0] - 1; i >= 0 && out[i][2] == x-x0 {
				out[i][3]++
				next[x0] = i + 1
			} else {
				out = append(out, [4]int{x0, y, x - x0, 1})
				next[x0] = len(out)
			}
		}
		open, next = next, open
	}
	return out
}

// moduleMM is the side of a module of dots printer dots at dpi, in mm.
func moduleMM(dots, dpi int) float64 { return float64(dots) * 25.4 / float64(dpi) }

// drawQR draws q on the current page of pdf as filled vector rectangles,
// one per merged run, with its quiet zone painted white. (x, y) is the
// top-left corner of the quiet zone in mm from the page's top-left corner;
// it is moved down and right onto the printer's dot grid, less than a dot,
// so that module edges fall on dot edges (dotGrid). The page's unit must be
// mm.
func drawQR(pdf *fpdf.Fpdf, q *QR, x, y float64, dots, dpi int) {
	_, pageH := pdf.GetPageSize()
	hPt := math.Round(pageH*72/25.4*100) / 100 // the MediaBox height fpdf writes
	dot := 72 / float64(dpi)
	m := float64(dots) * dot // module side in points
	x0, y0 := float64(dotGrid(x, dpi))*dot, float64(dotGrid(y, dpi))*dot
	box := float64(q.Size+2*QuietZone) * m

	b := make([]byte, 0, 64+len(q.dark)*len(q.dark)*3)
	b = append(b, "q 1 g "...)
	b = appendF(b, x0)
	b = appendF(b, hPt-y0-box)
	b = appendF(b, box)
	b = appendF(b, box)
	b = append(b, "re f\n"...)
	// From here on the unit is one module and y grows downward from the
	// symbol's top-left corner, so each rectangle is four small integers.
	b = append(b, "0 g "...)
	b = appendF(b, m)
	b = append(b, "0 0 "...)
	b = appendF(b, -m)
	b = appendF(b, x0+QuietZone*m)
	b = appendF(b, hPt-y0-QuietZone*m)
	b = append(b, "cm\n"...)
	for _, r := range q.rects() {
		b = strconv.AppendInt(b, int64(r[0]), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(r[1]), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(r[2]), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(r[3]), 10)
		b = append(b, " re\n"...)
	}
	b = append(b, "f Q"...)
	pdf.RawWriteStr(string(b))
}

// dotGrid returns the printer dot at or just after mm from the page edge.
func dotGrid(mm float64, dpi int) int {
	return int(math.Ceil(mm*float64(dpi)/25.4 - 1e-6))
}

func appendF(b []byte, v float64) []byte {
	b = strconv.AppendFloat(b, v, 'f', 4, 64)
	return append(b, ' ')
}

// DecodeImage finds and reads one QR code in img (a scan or photo of a
// card, or a rendered code) with the pure-Go gozxing decoder, and returns
// its text.
func DecodeImage(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("qr image: %w", err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("qr image: no readable QR code found: %w", err)
	}
	return res.GetText(), nil
}

// DecodeImageAll reads every QR code it finds in img, such as a scanned
// print sheet, in no particular order.
func DecodeImageAll(img image.Image) ([]string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return nil, fmt.Errorf("qr image: %w", err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := multiqr.NewQRCodeMultiReader().DecodeMultiple(bmp, hints)
	if err != nil {
		return nil, fmt.Errorf("qr image: no readable QR code found: %w", err)
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.GetText()
	}
	return out, nil
}
