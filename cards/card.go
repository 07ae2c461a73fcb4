package cards

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/doorstep-health/doorstep/schema"
)

// CR80, the ID-1 card size of ISO/IEC 7810, in mm.
const (
	CardWidth  = 85.6
	CardHeight = 54.0
)

// Card is one printed card: what its two sides show and its signed QR.
type Card struct {
	Programme    string    // programme name, on both sides
	Helpline     string    // phone number on the back
	HealthID     HealthID  // printed large, XX-XXXX-XXXX-XXXX
	Name         string    // as enrolled, in Latin script
	DOB          string    // as the schema stores it: YYYY-MM-DD, or YYYY
	DOBPrecision string    // schema.PrecisionDay, PrecisionYear or PrecisionEstimated
	Sex          string    // M, F or O
	IssueDate    time.Time // printed as a date; the QR's iat
	Serial       string    // card serial, on the back and in the QR
	Version      int       // 1 for the first print, counting up on reprints
	QR           string    // the text from Sign(card.Claims(issuer), key)
}

// Claims returns the claims the card's QR should carry, so the QR and the
// printed text come from one record.
func (c Card) Claims(issuer string) Claims {
	return Claims{
		Issuer:      issuer,
		IssuedAt:    c.IssueDate.UTC().Truncate(time.Second),
		HealthID:    c.HealthID,
		Name:        c.Name,
		DOB:         ClaimDOB(c.DOB, c.DOBPrecision),
		Sex:         c.Sex,
		Serial:      c.Serial,
		CardVersion: c.Version,
	}
}

// Printer holds the print settings. The zero value prints at PrinterDPI
// with ModuleDots dots a QR module.
type Printer struct {
	DPI        int // printer resolution in dots per inch
	ModuleDots int // printer dots per QR module; lowered for a code too large for the card
}

// RenderCardPDF writes one card as a two-page PDF of CR80 size: front, then
// back. Nothing is written when the card cannot be printed.
func RenderCardPDF(w io.Writer, c Card) error { return Printer{}.RenderCardPDF(w, c) }

// RenderSheet writes cards as A4 print sheets for a duplex printer: pages
// of 10 fronts (2 columns × 5 rows, with crop marks), each followed by the
// page of their backs mirrored left to right, so that when the sheet is
// turned over its long edge each back lies behind its front. Nothing is
// written when any card cannot be printed; the error names it (cards[i]).
func RenderSheet(w io.Writer, cards []Card) error { return Printer{}.RenderSheet(w, cards) }

// Sheet geometry, in mm. The gutters leave room to cut each card out on
// its own four lines, so a cut that strays does not eat into a neighbour.
const (
	sheetW, sheetH = 210.0, 297.0
	sheetCols      = 2
	sheetRows      = 5
	CardsPerSheet  = sheetCols * sheetRows // cards on one A4 sheet
	gutterX        = 6.0
	gutterY        = 3.0
	sheetMarginX   = (sheetW - sheetCols*CardWidth - (sheetCols-1)*gutterX) / 2  // 16.4
	sheetMarginY   = (sheetH - sheetRows*CardHeight - (sheetRows-1)*gutterY) / 2 // 7.5
	cropOffset     = 1.0                                                         // gap between a card edge and its mark
	cropLen        = 4.0
)

// sheetSlot returns the top-left corner of the card in column col, row row.
func sheetSlot(col, row int) (x, y float64) {
	return sheetMarginX + float64(col)*(CardWidth+gutterX), sheetMarginY + float64(row)*(CardHeight+gutterY)
}

func (p Printer) settings() (dpi, dots int) {
	dpi, dots = p.DPI, p.ModuleDots
	if dpi <= 0 {
		dpi = PrinterDPI
	}
	if dots <= 0 {
		dots = max(1, int(0.508*float64(dpi)/25.4+0.5))
	}
	return dpi, dots
}

// RenderCardPDF is the package's RenderCardPDF with p's settings.
func (p Printer) RenderCardPDF(w io.Writer, c Card) error {
	pdf := newPDF("L", fpdf.SizeType{Wd: CardHeight, Ht: CardWidth})
	pc, err := p.prepare(pdf, c, "")
	if err != nil {
		return err
	}
	pdf.AddPage()
	pc.front(pdf, 0, 0)
	pdf.AddPage()
	pc.back(pdf, 0, 0)
	return output(pdf, w)
}

// RenderSheet is the package's RenderSheet with p's settings.
func (p Printer) RenderSheet(w io.Writer, cards []Card) error {
	if len(cards) == 0 {
		return &schema.Error{Code: schema.EINVALID, Field: "cards", Rule: "required", Message: "no cards to print"}
	}
	pdf := newPDF("P", fpdf.SizeType{Wd: sheetW, Ht: sheetH})
	pcs := make([]*preparedCard, len(cards))
	for i, c := range cards {
		pc, err := p.prepare(pdf, c, fmt.Sprintf("cards[%d].", i))
		if err != nil {
			return err
		}
		pcs[i] = pc
	}
	for start := 0; start < len(pcs); start += CardsPerSheet {
		page := pcs[start:min(start+CardsPerSheet, len(pcs))]
		pdf.AddPage()
		cropMarks(pdf, len(page))
		for i, pc := range page {
			x, y := sheetSlot(i%sheetCols, i/sheetCols)
			pc.front(pdf, x, y)
		}
		pdf.AddPage()
		cropMarks(pdf, len(page))
		for i, pc := range page {
			// Turning the sheet over its long (vertical) edge swaps left
			// and right: the back of column c is printed in column 1-c.
			x, y := sheetSlot(sheetCols-1-i%sheetCols, i/sheetCols)
			pc.back(pdf, x, y)
		}
	}
	return output(pdf, w)
}

func newPDF(orientation string, size fpdf.SizeType) *fpdf.Fpdf {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: orientation, UnitStr: "mm", Size: size})
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCreator("doorstep cards", false)
	pdf.SetTitle("Health cards", false)
	return pdf
}

// output renders the whole document in memory and only then writes it, so
// a failure leaves w untouched.
func output(pdf *fpdf.Fpdf, w io.Writer) error {
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// cropMarks draws, in the sheet's margins, short lines continuing every
// cutting line of a page holding n cards (the rows in use only).
func cropMarks(pdf *fpdf.Fpdf, n int) {
	rows := (n + sheetCols - 1) / sheetCols
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetLineWidth(0.15)
	_, yTop := sheetSlot(0, 0)
	_, yLast := sheetSlot(0, rows-1)
	yBottom := yLast + CardHeight
	for col := 0; col < sheetCols; col++ {
		x, _ := sheetSlot(col, 0)
		for _, cx := range []float64{x, x + CardWidth} {
			pdf.Line(cx, yTop-cropOffset, cx, yTop-cropOffset-cropLen)
			pdf.Line(cx, yBottom+cropOffset, cx, yBottom+cropOffset+cropLen)
		}
	}
	xLeft, _ := sheetSlot(0, 0)
	xRight, _ := sheetSlot(sheetCols-1, 0)
	xRight += CardWidth
	for row := 0; row < rows; row++ {
		_, y := sheetSlot(0, row)
		for _, cy := range []float64{y, y + CardHeight} {
			pdf.Line(xLeft-cropOffset, cy, xLeft-cropOffset-cropLen, cy)
			pdf.Line(xRight+cropOffset, cy, xRight+cropOffset+cropLen, cy)
		}
	}
}

// preparedCard is a card checked and turned into what the layout draws:
// texts in the fonts' encoding, fitted to their places, and the QR's
// modules. Everything that can fail happens here, before the first page.
type preparedCard struct {
	programme, helpline, serial  string
	healthID, dobLabel, dob, sex string
	issued, footer               string
	nameLines                    []string
	nameSize                     float64
	idSize                       float64
	qr                           *QR
	dots, dpi                    int
}

var sexNames = map[string]string{"M": "Male", "F": "Female", "O": "Other"}

// prepare checks c and lays it out; pdf is used only to measure text.
func (p Printer) prepare(pdf *fpdf.Fpdf, c Card, prefix string) (*preparedCard, error) {
	bad := func(field, rule, format string, args ...any) error {
		return &schema.Error{Code: schema.EINVALID, Field: prefix + field, Rule: rule, Message: fmt.Sprintf(format, args...)}
	}
	for _, f := range []struct{ name, value string }{
		{"programme", c.Programme}, {"name", c.Name}, {"helpline", c.Helpline}, {"serial", c.Serial},
	} {
		if strings.TrimSpace(f.value) == "" {
			return nil, bad(f.name, "required", "is required")
		}
		if err := CheckPrintable(prefix+f.name, f.value); err != nil {
			return nil, err
		}
	}
	if len(c.Serial) > maxSerialPrint {
		return nil, bad("serial", "max_length", "is too long to print on the card (at most %d characters)", maxSerialPrint)
	}
	pc := &preparedCard{
		programme: toCP1252(c.Programme),
		helpline:  toCP1252(c.Helpline),
		serial:    toCP1252(c.Serial),
	}
	if c.HealthID.IsZero() {
		return nil, bad("health_id", "required", "is required")
	}
	pc.healthID = c.HealthID.String()
	switch c.DOBPrecision {
	case schema.PrecisionDay:
		t, err := time.Parse(time.DateOnly, c.DOB)
		if err != nil {
			return nil, bad("dob", "date_format", "must be a date written YYYY-MM-DD, got %q", c.DOB)
		}
		pc.dobLabel, pc.dob = "DATE OF BIRTH", t.Format("02 Jan 2006")
	case schema.PrecisionYear, schema.PrecisionEstimated:
		if _, err := time.Parse("2006", c.DOB); err != nil {
			return nil, bad("dob", "year_format", "must be a year written YYYY, got %q", c.DOB)
		}
		pc.dobLabel, pc.dob = "YEAR OF BIRTH", c.DOB
		if c.DOBPrecision == schema.PrecisionEstimated {
			pc.dob += " (approx.)"
		}
	default:
		return nil, bad("dob_precision", "one_of", "must be day, year or estimated, got %q", c.DOBPrecision)
	}
	if pc.sex = sexNames[c.Sex]; pc.sex == "" {
		return nil, bad("sex", "one_of", "must be M, F or O, got %q", c.Sex)
	}
	if c.IssueDate.IsZero() {
		return nil, bad("issue_date", "required", "is required")
	}
	pc.issued = c.IssueDate.Format("02 Jan 2006")
	if c.Version < 1 {
		return nil, bad("version", "min", "must be 1 or more, got %d", c.Version)
	}
	pc.footer = fmt.Sprintf("Serial %s \xb7 version %d", pc.serial, c.Version) // \xb7 is "·" in the fonts' encoding
	if c.QR == "" {
		return nil, bad("qr", "required", "is required (the text from Sign)")
	}
	for i := 0; i < len(c.QR); i++ {
		if base45Value[c.QR[i]] < 0 {
			return nil, bad("qr", "base45", "is not a signed card payload: character %q is not Base45", c.QR[i])
		}
	}
	// The QR and the printed text must describe the same card: a QR
	// signed for another person, serial or version is a print-room mix-up
	// that no one would notice until a hospital scans it.
	qc, err := readUnverified(c.QR)
	if err != nil {
		return nil, bad("qr", "card_payload", "is not a signed card payload: %v", err)
	}
	if want := c.Claims(qc.Issuer); qc != want {
		return nil, bad("qr", "matches_card", "the QR says %s; sign it again from this card", claimsDiff(qc, want))
	}
	q, err := EncodeQR(c.QR)
	if err != nil {
		return nil, bad("qr", "too_long", "%v", err)
	}
	pc.qr = q
	pc.dpi, pc.dots = p.settings()
	// A code too large for the card at the chosen module size gets fewer
	// dots a module, never a fraction of one.
	for pc.dots > 1 && float64(q.Size+2*QuietZone)*moduleMM(pc.dots, pc.dpi) > maxQRBox {
		pc.dots--
	}
	if side := float64(q.Size) * moduleMM(pc.dots, pc.dpi); side < minQRSide || moduleMM(pc.dots, pc.dpi) < minModule ||
		float64(q.Size+2*QuietZone)*moduleMM(pc.dots, pc.dpi) > maxQRBox {
		return nil, bad("qr", "too_long", "a version %d QR code does not fit on the card at %d dpi with modules of whole dots; shorten the payload", q.Version, pc.dpi)
	}

	colW := pc.columnWidth()
	var ok bool
	pc.nameLines, pc.nameSize, ok = fitName(pdf, toCP1252(c.Name), colW)
	if !ok {
		return nil, bad("name", "printable", "is too long to print on the card; shorten it")
	}
	for pc.idSize = 16; pc.idSize > 10; pc.idSize -= 0.5 {
		pdf.SetFont("Helvetica", "B", pc.idSize)
		if pdf.GetStringWidth(pc.healthID) <= colW {
			break
		}
	}
	return pc, nil
}

// claimsDiff names the first field where the QR's claims (got) differ from
// the card's (want).
func claimsDiff(got, want Claims) string {
	for _, f := range []struct{ name, got, want string }{
		{"health ID", got.HealthID.String(), want.HealthID.String()},
		{"name", got.Name, want.Name},
		{"date of birth", got.DOB, want.DOB},
		{"sex", got.Sex, want.Sex},
		{"serial", got.Serial, want.Serial},
		{"version", fmt.Sprint(got.CardVersion), fmt.Sprint(want.CardVersion)},
		{"issue time", got.IssuedAt.Format(time.RFC3339), want.IssuedAt.Format(time.RFC3339)},
	} {
		if f.got != f.want {
			return fmt.Sprintf("%s %q where the card has %q", f.name, f.got, f.want)
		}
	}
	return "something else than the card"
}

// maxSerialPrint is the longest serial the back has room for.
const maxSerialPrint = 24

// qrBox returns the side of the QR with its quiet zone, in mm.
func (pc *preparedCard) qrBox() float64 {
	return float64(pc.qr.Size+2*QuietZone) * moduleMM(pc.dots, pc.dpi)
}

// columnWidth is the width of the front's text column: from the left
// margin to the QR's quiet zone, which keeps text and code apart.
func (pc *preparedCard) columnWidth() float64 {
	return CardWidth - marginR - pc.qrBox() - marginL
}

// Front layout, in mm from the card's top-left corner.
const (
	bandH     = 8.5  // coloured band with the programme name
	marginL   = 3.5  // text column's left edge
	marginR   = 1.2  // QR quiet zone's distance from the right edge
	maxQRBox  = 37.5 // QR with quiet zone, at most: leaves room for the health ID at 14 pt
	minQRSide = 20.0 // QR symbol, at least (DESIGN.md §6)
	minModule = 0.33 // QR module, at least: smaller ones defeat cheap scanners
	labelSize = 5.5  // pt
	ptMM      = 25.4 / 72
)

var bandColour = [3]int{0x0b, 0x4f, 0x6c}

// qrPlace returns the top-left corner of the QR's quiet zone on a card
// whose top-left corner is at (ox, oy): at the right edge, centred below
// the band. drawQR then moves it onto the dot grid.
func (pc *preparedCard) qrPlace(ox, oy float64) (x, y float64) {
	box := pc.qrBox()
	return ox + CardWidth - marginR - box, oy + bandH + (CardHeight-bandH-box)/2
}

func (pc *preparedCard) front(pdf *fpdf.Fpdf, ox, oy float64) {
	colW := pc.columnWidth()

	band(pdf, ox, oy, bandH, pc.programme, 8.5)

	x := ox + marginL
	label(pdf, x, oy+12, "NAME")
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Helvetica", "B", pc.nameSize)
	// The first line's capitals start 1 mm below the label (cap height is
	// 0.72 em); the lines follow at 1.15 em, ending above the next row at 25.5.
	y, step := oy+13+0.72*pc.nameSize*ptMM, 1.15*pc.nameSize*ptMM
	for i, l := range pc.nameLines {
		pdf.Text(x, y+float64(i)*step, l)
	}
	// A name on four lines pushes the next two rows down a little, into
	// the slack above the health ID.
	shift := max(0, y+float64(len(pc.nameLines)-1)*step+4-(oy+25.5))

	label(pdf, x, oy+shift+25.5, pc.dobLabel)
	label(pdf, x+colW*0.62, oy+shift+25.5, "SEX")
	value(pdf, x, oy+shift+29.3, pc.dob, 8.5)
	value(pdf, x+colW*0.62, oy+shift+29.3, pc.sex, 8.5)

	label(pdf, x, oy+shift+33.6, "ISSUED")
	value(pdf, x, oy+shift+37.2, pc.issued, 8)

	label(pdf, x, oy+42, "HEALTH ID")
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Helvetica", "B", pc.idSize)
	pdf.Text(x, oy+48.5, pc.healthID)

	qrX, qrY := pc.qrPlace(ox, oy)
	drawQR(pdf, pc.qr, qrX, qrY, pc.dots, pc.dpi)
}

// Instructions printed on the back of every card.
var instructions = []string{
	"Show this card at the registration desk of any participating hospital or clinic.",
	"Staff scan the QR code to find your health record. The code is signed, so it can be checked without the internet.",
	"Keep the card dry and do not fold it. If it is lost, damaged or wrong, call the helpline for a new card.",
	"Found this card? Please hand it in at the nearest government health centre.",
}

func (pc *preparedCard) back(pdf *fpdf.Fpdf, ox, oy float64) {
	band(pdf, ox, oy, 7, pc.programme, 7.5)
	x, w := ox+marginL, CardWidth-2*marginL

	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Helvetica", "B", 7.5)
	pdf.Text(x, oy+11.5, "How to use this card")
	pdf.SetFont("Helvetica", "", 6.3)
	y := oy + 15
	for _, in := range instructions {
		lines := wrap(pdf, in, w-3)
		for i, l := range lines {
			if i == 0 {
				pdf.Text(x, y, "\x95") // "•"
			}
			pdf.Text(x+3, y, l)
			y += 2.7
		}
		y += 0.6
	}

	label(pdf, x, oy+42, "HELPLINE")
	value(pdf, x, oy+46.5, pc.helpline, 11)

	pdf.SetTextColor(90, 90, 90)
	pdf.SetFont("Helvetica", "", 5.5)
	pdf.Text(x, oy+51.5, pc.footer)
	id := "Health ID " + pc.healthID
	pdf.Text(ox+CardWidth-marginL-pdf.GetStringWidth(id), oy+51.5, id)
}

// band fills the top of a card side with the programme colour and writes
// the programme name in it, smaller if it would not fit.
func band(pdf *fpdf.Fpdf, ox, oy, h float64, text string, size float64) {
	pdf.SetFillColor(bandColour[0], bandColour[1], bandColour[2])
	pdf.Rect(ox, oy, CardWidth, h, "F")
	pdf.SetTextColor(255, 255, 255)
	for ; size > 5; size -= 0.5 {
		pdf.SetFont("Helvetica", "B", size)
		if pdf.GetStringWidth(text) <= CardWidth-2*marginL {
			break
		}
	}
	pdf.Text(ox+marginL, oy+h/2+size*0.3528*0.35, text)
}

func label(pdf *fpdf.Fpdf, x, y float64, s string) {
	pdf.SetTextColor(96, 96, 96)
	pdf.SetFont("Helvetica", "", labelSize)
	pdf.Text(x, y, s)
}

func value(pdf *fpdf.Fpdf, x, y float64, s string, size float64) {
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Helvetica", "B", size)
	pdf.Text(x, y, s)
}

// fitName sets the name in bold as large as it fits the column: 10 pt on
// up to two lines, down to 8 pt, then 7.5 or 7 pt on up to three, 6.5 pt on
// up to four, which holds any name the schema allows (100 characters).
func fitName(pdf *fpdf.Fpdf, name string, w float64) (lines []string, size float64, ok bool) {
	for _, try := range []struct {
		size  float64
		lines int
	}{{10, 2}, {9, 2}, {8, 2}, {7.5, 3}, {7, 3}, {6.5, 4}} {
		pdf.SetFont("Helvetica", "B", try.size)
		if lines = wrap(pdf, name, w); len(lines) <= try.lines {
			return lines, try.size, true
		}
	}
	return nil, 0, false
}

// wrap breaks s into lines no wider than w in the current font, at spaces,
// or inside a word longer than a line.
func wrap(pdf *fpdf.Fpdf, s string, w float64) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if pdf.GetStringWidth(try) <= w {
			line = try
			continue
		}
		if line != "" {
			lines = append(lines, line)
		}
		for pdf.GetStringWidth(word) > w {
			n := len(word) - 1
			for n > 1 && pdf.GetStringWidth(word[:n]) > w {
				n--
			}
			lines = append(lines, word[:n])
			word = word[n:]
		}
		line = word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
