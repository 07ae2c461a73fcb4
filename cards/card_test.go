package cards

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/doorstep-health/doorstep/schema"
)

// requireTool skips the test when a Debian tool the test drives is absent.
func requireTool(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed (Debian package %s; scripts/install-deps.sh installs it); the pure-Go tests still run", tool, pkg)
	}
}

// rasterize renders one page of a PDF at dpi as a grey PNG with pdftoppm
// and returns its path and image.
func rasterize(t *testing.T, pdfPath string, page, dpi int) (string, image.Image) {
	t.Helper()
	requireTool(t, "pdftoppm", "poppler-utils")
	prefix := strings.TrimSuffix(pdfPath, ".pdf") + fmt.Sprintf("-p%d", page)
	p := strconv.Itoa(page)
	out, err := exec.Command("pdftoppm", "-r", strconv.Itoa(dpi), "-png", "-gray", "-singlefile", "-f", p, "-l", p, pdfPath, prefix).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + ".png", img
}

// zbar returns every QR text zbarimg finds in the image file.
func zbar(t *testing.T, pngPath string) []string {
	t.Helper()
	requireTool(t, "zbarimg", "zbar-tools")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", pngPath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("zbarimg found no code (%v): %s", err, stderr.String())
	}
	// One code a line; a space is a Base45 character, so split on newlines only.
	return strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
}

func pdftext(t *testing.T, pdfPath string, args ...string) string {
	t.Helper()
	requireTool(t, "pdftotext", "poppler-utils")
	out, err := exec.Command("pdftotext", append(args, pdfPath, "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func writePDF(t *testing.T, name string, render func(*bytes.Buffer) error) string {
	t.Helper()
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("/Subtype /Image")) {
		t.Error("the PDF embeds a bitmap; the QR must be vector")
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pdfQR is a QR code found in a PDF's page content, as drawQR writes it.
type pdfQR struct {
	page   int     // 1-based
	x, y   float64 // top-left corner of the symbol, mm from the page's bottom-left
	module float64 // mm
	img    image.Image
}

var (
	streamRE  = regexp.MustCompile(`(?s)/Filter /FlateDecode /Length \d+>>\nstream\n(.*?)\nendstream`)
	qrBlockRE = regexp.MustCompile(`q 1 g [0-9.]+ [0-9.]+ [0-9.]+ [0-9.]+ re f\n0 g ([0-9.]+) 0 0 -[0-9.]+ ([0-9.]+) ([0-9.]+) cm\n((?:\d+ \d+ \d+ \d+ re\n)+)f Q`)
	rectRE    = regexp.MustCompile(`(\d+) (\d+) (\d+) (\d+) re`)
)

// qrsInPDF reads the PDF itself, in pure Go: it inflates each page's
// content stream, finds the QR codes drawn there and paints their
// rectangles into images that a QR decoder can read. So the tests check the
// codes as printed even where poppler and zbar are not installed.
func qrsInPDF(t *testing.T, pdfBytes []byte) []pdfQR {
	t.Helper()
	var out []pdfQR
	for page, m := range streamRE.FindAllSubmatch(pdfBytes, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			t.Fatalf("page %d content: %v", page+1, err)
		}
		content, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("page %d content: %v", page+1, err)
		}
		for _, b := range qrBlockRE.FindAllSubmatch(content, -1) {
			f := func(s []byte) float64 { v, _ := strconv.ParseFloat(string(s), 64); return v * 25.4 / 72 }
			var rects [][4]int
			size := 0
			for _, r := range rectRE.FindAllSubmatch(b[4], -1) {
				var v [4]int
				for i := range v {
					v[i], _ = strconv.Atoi(string(r[i+1]))
				}
				rects = append(rects, v)
				size = max(size, v[0]+v[2], v[1]+v[3])
			}
			const scale = 4
			n := (size + 2*QuietZone) * scale
			img := image.NewGray(image.Rect(0, 0, n, n))
			for i := range img.Pix {
				img.Pix[i] = 0xff
			}
			for _, r := range rects {
				for y := (r[1] + QuietZone) * scale; y < (r[1]+r[3]+QuietZone)*scale; y++ {
					for x := (r[0] + QuietZone) * scale; x < (r[0]+r[2]+QuietZone)*scale; x++ {
						img.Pix[y*img.Stride+x] = 0
					}
				}
			}
			out = append(out, pdfQR{page: page + 1, module: f(b[1]), x: f(b[2]), y: f(b[3]), img: img})
		}
	}
	return out
}

// TestCardPDF renders one card with a 40-character name and reads its QR
// back from the PDF: in pure Go from the page content, and as a printing
// centre's RIP would see it, rasterized by pdftoppm and read by zbar and
// gozxing. Every reading verifies and carries the card's fields.
func TestCardPDF(t *testing.T) {
	k := testKey(t)
	keys := keySetOf(t, k)
	card := sampleCards(t, k, 1)[0]
	card.Name = longName(40)
	qr, err := Sign(card.Claims(testIssuer), k)
	if err != nil {
		t.Fatal(err)
	}
	card.QR = qr
	var pdfBytes []byte
	path := writePDF(t, "card.pdf", func(b *bytes.Buffer) error {
		err := RenderCardPDF(b, card)
		pdfBytes = bytes.Clone(b.Bytes())
		return err
	})
	checkQR := func(t *testing.T, how, text string) {
		t.Helper()
		c, info, err := Verify(text, keys, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if c != card.Claims(testIssuer) || info.ID != k.ID() {
			t.Errorf("%s: QR claims %+v\nwant %+v", how, c, card.Claims(testIssuer))
		}
		if c.Name != card.Name || c.HealthID != card.HealthID || c.Serial != card.Serial || c.CardVersion != card.Version {
			t.Errorf("%s: QR fields differ from the card's", how)
		}
	}

	t.Run("pure Go", func(t *testing.T) {
		qrs := qrsInPDF(t, pdfBytes)
		if len(qrs) != 1 || qrs[0].page != 1 {
			t.Fatalf("found %d QR codes in the PDF, want 1 on the front", len(qrs))
		}
		if m := qrs[0].module; m < 0.42 || m > 0.51 {
			t.Errorf("module is %.3f mm", m)
		}
		text, err := DecodeImage(qrs[0].img)
		if err != nil {
			t.Fatal(err)
		}
		checkQR(t, "gozxing on the PDF's vectors", text)
	})

	t.Run("pdftotext", func(t *testing.T) {
		front := pdftext(t, path, "-f", "1", "-l", "1")
		back := pdftext(t, path, "-f", "2", "-l", "2")
		dob, _ := time.Parse(time.DateOnly, card.DOB)
		for _, want := range []string{card.Programme, card.HealthID.String(), dob.Format("02 Jan 2006"), "Male", "14 May 2026"} {
			if !strings.Contains(front, want) {
				t.Errorf("front lacks %q:\n%s", want, front)
			}
		}
		if got := strings.Join(strings.Fields(front), " "); !strings.Contains(got, card.Name) {
			t.Errorf("front lacks the name %q:\n%s", card.Name, front)
		}
		for _, want := range []string{card.Helpline, card.Serial, "version 1", "How to use this card"} {
			if !strings.Contains(back, want) {
				t.Errorf("back lacks %q:\n%s", want, back)
			}
		}
	})

	t.Run("pdftoppm and zbarimg", func(t *testing.T) {
		pngPath, img := rasterize(t, path, 1, 300)
		if b := img.Bounds(); b.Dx() != 1012 || b.Dy() != 638 {
			t.Errorf("page 1 is %v at 300 dpi, want CR80 (85.6 × 54 mm: 1012 × 638)", b.Size())
		}
		texts := zbar(t, pngPath)
		if len(texts) != 1 {
			t.Fatalf("zbarimg read %d codes, want 1", len(texts))
		}
		checkQR(t, "zbarimg", texts[0])
		text, err := DecodeImage(img)
		if err != nil {
			t.Fatalf("gozxing on the rendered page: %v", err)
		}
		checkQR(t, "gozxing on the rendered page", text)
		// Whole dots a module: at 300 dpi each module is a square block of
		// pixels of one colour, exactly where the layout put it.
		checkModules(t, img, card, 0, 0)
	})
}

// checkModules compares the raster of a card at (ox, oy) mm on its page,
// rendered at PrinterDPI, with the QR's module matrix, pixel by pixel.
func checkModules(t *testing.T, img image.Image, card Card, ox, oy float64) {
	t.Helper()
	pdf := fpdf.New("P", "mm", "A4", "")
	pc, err := Printer{}.prepare(pdf, card, "")
	if err != nil {
		t.Fatal(err)
	}
	if pc.dots < 4 || pc.dots > ModuleDots {
		t.Fatalf("module is %d dots", pc.dots)
	}
	if side := float64(pc.qr.Size) * moduleMM(pc.dots, pc.dpi); side < 20 {
		t.Errorf("QR is %.1f mm, want at least 20", side)
	}
	qx, qy := pc.qrPlace(ox, oy)
	d := pc.dots
	x0 := dotGrid(qx, PrinterDPI) + QuietZone*d
	y0 := dotGrid(qy, PrinterDPI) + QuietZone*d
	gray := func(x, y int) uint8 {
		r, _, _, _ := img.At(x, y).RGBA()
		return uint8(r >> 8)
	}
	bad := 0
	for my := -QuietZone; my < pc.qr.Size+QuietZone; my++ {
		for mx := -QuietZone; mx < pc.qr.Size+QuietZone; mx++ {
			dark := pc.qr.Dark(mx, my)
			for py := 0; py < d; py++ {
				for px := 0; px < d; px++ {
					if (px == 0 || px == d-1) && (py == 0 || py == d-1) {
						// Poppler's anti-aliasing greys a corner pixel where two
						// dark modules meet diagonally; a module out of place
						// would grey or miscolour whole edges, which are checked.
						continue
					}
					g := gray(x0+mx*d+px, y0+my*d+py)
					if (dark && g > 40) || (!dark && g < 215) {
						if bad < 5 {
							t.Logf("module (%d,%d) pixel (%d,%d): dark %v, grey %d", mx, my, px, py, dark, g)
						}
						bad++
					}
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d pixels of the QR (with quiet zone) are not the clean colour of their module", bad)
	}
}

// TestSheet prints 10 cards on A4 and checks the print shop's view: 10
// distinct valid codes on the front page, each in its slot, and each card's
// back behind its front when the sheet is turned over its long edge.
func TestSheet(t *testing.T) {
	k := testKey(t)
	keys := keySetOf(t, k)
	cards := sampleCards(t, k, CardsPerSheet)
	var pdfBytes []byte
	path := writePDF(t, "sheet.pdf", func(b *bytes.Buffer) error {
		err := RenderSheet(b, cards)
		pdfBytes = bytes.Clone(b.Bytes())
		return err
	})
	bySerial := map[string]Card{}
	for _, c := range cards {
		bySerial[c.Serial] = c
	}
	// checkCodes verifies the codes read off the front page: all distinct,
	// all valid, one per card.
	checkCodes := func(t *testing.T, how string, texts []string) {
		t.Helper()
		seen := map[string]bool{}
		for _, text := range texts {
			c, _, err := Verify(text, keys, time.Now())
			if err != nil {
				t.Errorf("%s: a code on the sheet: %v", how, err)
				continue
			}
			if want, ok := bySerial[c.Serial]; !ok || c != want.Claims(testIssuer) {
				t.Errorf("%s: code for serial %s: claims %+v", how, c.Serial, c)
			}
			seen[text] = true
		}
		if len(texts) != CardsPerSheet || len(seen) != CardsPerSheet {
			t.Errorf("%s read %d codes, %d distinct; want %d", how, len(texts), len(seen), CardsPerSheet)
		}
	}

	t.Run("pure Go", func(t *testing.T) {
		qrs := qrsInPDF(t, pdfBytes)
		var texts []string
		for i, q := range qrs {
			text, err := DecodeImage(q.img)
			if err != nil {
				t.Fatalf("code %d: %v", i, err)
			}
			texts = append(texts, text)
			// The i-th code drawn is card i's, in card i's slot.
			x, y := sheetSlot(i%sheetCols, i/sheetCols)
			if q.page != 1 || text != cards[i].QR || q.x < x || q.x > x+CardWidth || sheetH-q.y < y || sheetH-q.y > y+CardHeight {
				t.Errorf("code %d on page %d at (%.1f, %.1f) mm is not card %d's in its slot", i, q.page, q.x, sheetH-q.y, i)
			}
		}
		checkCodes(t, "gozxing on the PDF's vectors", texts)
	})

	t.Run("pdftoppm and zbarimg", func(t *testing.T) {
		pngPath, img := rasterize(t, path, 1, 300)
		if b := img.Bounds(); b.Dx() != 2481 || b.Dy() != 3508 {
			t.Errorf("page is %v at 300 dpi, want A4 (2481 × 3508)", b.Size())
		}
		checkCodes(t, "zbarimg", zbar(t, pngPath))
		// gozxing reads each slot's code, and it is the card meant for the slot.
		px := func(mm float64) int { return int(mm * 300 / 25.4) }
		for i, card := range cards {
			x, y := sheetSlot(i%sheetCols, i/sheetCols)
			slot := img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(image.Rect(px(x), px(y), px(x+CardWidth), px(y+CardHeight)))
			text, err := DecodeImage(slot)
			if err != nil || text != card.QR {
				t.Errorf("slot %d: gozxing read another code or none (%v)", i, err)
			}
			checkModules(t, img, card, x, y)
		}
	})

	t.Run("duplex", func(t *testing.T) {
		// The health ID on the front of card i lies in column i%2; on the
		// back page it lies in the other column, same row.
		frontWords := wordBoxes(t, path, 1)
		backWords := wordBoxes(t, path, 2)
		colOf := func(xMin float64) int {
			if xMin*25.4/72 < sheetW/2 {
				return 0
			}
			return 1
		}
		rowOf := func(yMin float64) int {
			_, y0 := sheetSlot(0, 0)
			return int((yMin*25.4/72 - y0) / (CardHeight + gutterY))
		}
		for i, card := range cards {
			f, okF := frontWords[card.HealthID.String()]
			b, okB := backWords[card.HealthID.String()]
			if !okF || !okB {
				t.Fatalf("card %d: health ID not found on front (%v) or back (%v)", i, okF, okB)
			}
			if colOf(f[0]) != i%sheetCols || rowOf(f[1]) != i/sheetCols {
				t.Errorf("card %d front at column %d row %d", i, colOf(f[0]), rowOf(f[1]))
			}
			if colOf(b[0]) != sheetCols-1-i%sheetCols || rowOf(b[1]) != i/sheetCols {
				t.Errorf("card %d back at column %d row %d; want column %d row %d", i, colOf(b[0]), rowOf(b[1]), sheetCols-1-i%sheetCols, i/sheetCols)
			}
		}
	})
}

var wordRE = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="[0-9.]+" yMax="[0-9.]+">([^<]*)</word>`)

// wordBoxes maps each word on a page to its top-left corner in points.
func wordBoxes(t *testing.T, path string, page int) map[string][2]float64 {
	t.Helper()
	p := strconv.Itoa(page)
	out := map[string][2]float64{}
	for _, m := range wordRE.FindAllStringSubmatch(pdftext(t, path, "-bbox", "-f", p, "-l", p), -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		out[m[3]] = [2]float64{x, y}
	}
	return out
}

func TestSheetPages(t *testing.T) {
	k := testKey(t)
	for _, n := range []int{1, 10, 11, 25} {
		var buf bytes.Buffer
		if err := RenderSheet(&buf, sampleCards(t, k, n)); err != nil {
			t.Fatal(err)
		}
		pages := bytes.Count(buf.Bytes(), []byte("/Type /Page\n"))
		if want := 2 * ((n + CardsPerSheet - 1) / CardsPerSheet); pages != want {
			t.Errorf("%d cards: %d pages, want %d", n, pages, want)
		}
	}
}

// TestUnprintable: a name the fonts cannot print is refused with an error
// naming the field and the character, and nothing is written.
func TestUnprintable(t *testing.T) {
	k := testKey(t)
	card := sampleCards(t, k, 1)[0]
	card.Name = "सुनीता देवी"
	var buf bytes.Buffer
	err := RenderCardPDF(&buf, card)
	var se *schema.Error
	if !errors.As(err, &se) || se.Field != "name" || se.Rule != "printable" {
		t.Fatalf("RenderCardPDF: %v", err)
	}
	if want := `name: character "स" (U+0938) cannot be printed on the card; enter the name in Latin script`; err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written for a card that cannot be printed", buf.Len())
	}

	cards := sampleCards(t, k, 5)
	cards[3].Name = "Łukasz Kowalski"
	err = RenderSheet(&buf, cards)
	if !errors.As(err, &se) || se.Field != "cards[3].name" || !strings.Contains(err.Error(), "U+0141") {
		t.Fatalf("RenderSheet: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written for a sheet that cannot be printed", buf.Len())
	}
}

func TestCardRejectsIncomplete(t *testing.T) {
	k := testKey(t)
	for field, mutate := range map[string]func(*Card){
		"programme":     func(c *Card) { c.Programme = "" },
		"helpline":      func(c *Card) { c.Helpline = " " },
		"health_id":     func(c *Card) { c.HealthID = HealthID{} },
		"dob":           func(c *Card) { c.DOB = "1975" },
		"dob_precision": func(c *Card) { c.DOBPrecision = "" },
		"sex":           func(c *Card) { c.Sex = "" },
		"issue_date":    func(c *Card) { c.IssueDate = time.Time{} },
		"version":       func(c *Card) { c.Version = 0 },
		"serial":        func(c *Card) { c.Serial = strings.Repeat("9", 40) },
		"qr":            func(c *Card) { c.QR = "https://example.org/" },
	} {
		c := sampleCards(t, k, 1)[0]
		mutate(&c)
		var buf bytes.Buffer
		err := RenderCardPDF(&buf, c)
		var se *schema.Error
		if !errors.As(err, &se) || se.Field != field || buf.Len() != 0 {
			t.Errorf("%s: %v (%d bytes written)", field, err, buf.Len())
		}
	}
}

// TestLongNames: every name the schema allows (up to 100 characters) fits
// the card, the QR growing and the text shrinking within their limits.
func TestLongNames(t *testing.T) {
	k := testKey(t)
	for _, n := range []int{1, 40, 60, 80, 100} {
		c := sampleCards(t, k, 1)[0]
		c.Name = longName(n)
		c.Serial = strings.Repeat("S", maxSerialPrint)
		qr, err := Sign(c.Claims(testIssuer), k)
		if err != nil {
			t.Fatal(err)
		}
		c.QR = qr
		pdf := fpdf.New("P", "mm", "A4", "")
		pc, err := Printer{}.prepare(pdf, c, "")
		if err != nil {
			t.Fatalf("name of %d characters: %v", n, err)
		}
		t.Logf("name %3d chars: %d line(s) at %.1f pt, health ID %.1f pt, QR version %d at %d dots (%.1f mm)",
			n, len(pc.nameLines), pc.nameSize, pc.idSize, pc.qr.Version, pc.dots, float64(pc.qr.Size)*moduleMM(pc.dots, pc.dpi))
		if pc.idSize < 14 {
			t.Errorf("name %d: health ID at %.1f pt", n, pc.idSize)
		}
		if err := RenderCardPDF(&bytes.Buffer{}, c); err != nil {
			t.Error(err)
		}
	}
}

// TestCardQRMustMatch: a card whose QR was signed for another card is not
// printed.
func TestCardQRMustMatch(t *testing.T) {
	cards := sampleCards(t, testKey(t), 2)
	for name, mutate := range map[string]func(*Card){
		"another person's QR": func(c *Card) { c.QR = cards[1].QR },
		"reprint, old QR":     func(c *Card) { c.Version++ },
		"name edited":         func(c *Card) { c.Name += "a" },
	} {
		c := cards[0]
		mutate(&c)
		var se *schema.Error
		err := RenderSheet(&bytes.Buffer{}, []Card{cards[1], c})
		if !errors.As(err, &se) || se.Field != "cards[1].qr" || se.Rule != "matches_card" {
			t.Errorf("%s: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
