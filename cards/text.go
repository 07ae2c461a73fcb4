package cards

import (
	"fmt"
	"strings"

	"github.com/doorstep-health/doorstep/schema"
)

// The card is set in the PDF core fonts (Helvetica), which carry the
// Windows-1252 character set and nothing else: Latin letters with the
// accents of Western European languages, and some punctuation. A character
// outside it would print as a wrong glyph, so every text is checked first
// and refused with an error naming the field and the character; there is
// no silent transliteration. Enrolment records names in Latin script
// (DESIGN.md §2), and the QR carries the name exactly as enrolled, whatever
// its script.

// cp1252High maps the runes of Windows-1252's 0x80–0x9F range to their
// bytes; 0xA0–0xFF are the same as Latin-1 and 0x20–0x7E as ASCII.
var cp1252High = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E,
	'‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97,
	'˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// cp1252Byte returns the Windows-1252 byte of a printable rune.
func cp1252Byte(r rune) (byte, bool) {
	switch {
	case r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0xFF && r != 0xAD:
		return byte(r), true
	}
	b, ok := cp1252High[r]
	return b, ok
}

// CheckPrintable returns an *schema.Error (code invalid, rule printable)
// naming field and the first character of s that the card's fonts cannot
// print, or nil. Call it when a name is enrolled or a card is queued, so
// the problem surfaces long before a print run.
func CheckPrintable(field, s string) error {
	for _, r := range s {
		if _, ok := cp1252Byte(r); ok {
			continue
		}
		hint := "use Latin letters, digits and common punctuation only"
		if strings.HasSuffix(field, "name") {
			hint = "enter the name in Latin script"
		}
		what := fmt.Sprintf("character %q (U+%04X)", string(r), r)
		if r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == 0xAD {
			what = fmt.Sprintf("control character U+%04X", r)
		}
		return &schema.Error{
			Code: schema.EINVALID, Field: field, Rule: "printable",
			Message: fmt.Sprintf("%s cannot be printed on the card; %s", what, hint),
		}
	}
	return nil
}

// toCP1252 converts s, already checked by CheckPrintable, to the bytes the
// core fonts expect.
func toCP1252(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if c, ok := cp1252Byte(r); ok {
			b = append(b, c)
		}
	}
	return string(b)
}
