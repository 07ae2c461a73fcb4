package surveygen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// address is where a house is, as facts; write turns it into the words a
// survey worker puts on the form, which differ from team to team.
type address struct {
	loc      int
	house    string // 123, 123/2, 45A
	gali     int
	block    string // C, or C-4 in resettlement colonies
	pocket   int
	flat     bool
	lane     string
	landmark string
	lat, lon float64 // the house itself
}

func (g *Generator) newAddress(loc int) address {
	l := &g.tab.locs[loc]
	a := address{loc: loc}
	letter := func(n int) string { return string(rune('A' + g.rng.IntN(n))) }
	switch l.style {
	case styleColony:
		a.house = strconv.Itoa(g.between(1, 800))
		switch x := g.rng.Float64(); {
		case x < 0.15:
			a.house += "/" + strconv.Itoa(g.between(1, 9))
		case x < 0.2:
			a.house += letter(3)
		}
		a.gali = g.between(1, 30)
		if g.chance(0.5) {
			a.block = letter(12)
		}
		if g.chance(0.3) {
			a.landmark = oneOf(g, landmarks)
		}
	case stylePlanned:
		a.block = letter(8)
		a.house = strconv.Itoa(g.between(1, 300))
		a.pocket = g.between(1, 12)
		a.flat = g.chance(0.3)
	case styleResettlement:
		a.block = fmt.Sprintf("%s-%d", letter(8), g.between(1, 6))
		a.house = strconv.Itoa(g.between(1, 400))
	case styleOldCity:
		a.house = strconv.Itoa(g.between(100, 5999))
		if g.chance(0.2) {
			a.house += "/" + strconv.Itoa(g.between(1, 12))
		}
		a.lane = oneOf(g, oldLanes)
	}
	// Houses spread over a square around the locality's centre.
	a.lat = l.lat + (g.rng.Float64()*2-1)*l.radius
	a.lon = l.lon + (g.rng.Float64()*2-1)*l.radius
	return a
}

// write returns the two address lines in one of the ways they are written.
func (g *Generator) write(a address) (line1, line2 string) {
	l := &g.tab.locs[a.loc]
	switch l.style {
	case styleColony:
		line1 = fmt.Sprintf(oneOf(g, []string{
			"H.No. %[1]s, Gali No. %[2]d", "House No. %[1]s, Gali %[2]d", "%[1]s, Gali No-%[2]d",
			"H No %[1]s Gali No %[2]d", "Gali No. %[2]d, H.No. %[1]s", "H.No.%[1]s, Gali No.%[2]d",
		}), a.house, a.gali)
		var parts []string
		if a.block != "" {
			parts = append(parts, fmt.Sprintf(oneOf(g, []string{"Block %s", "%s Block", "%s-Block"}), a.block))
		}
		if a.landmark != "" && g.chance(0.8) {
			parts = append(parts, a.landmark)
		}
		if g.chance(0.85) {
			line2 = strings.Join(parts, ", ")
		}
	case stylePlanned:
		if a.flat {
			line1 = fmt.Sprintf(oneOf(g, []string{
				"Flat No. %[1]s, Pocket %[2]d", "DDA Flat %[1]s, Pkt-%[2]d", "%[1]s, Pocket-%[2]d",
				"Flat %[1]s Pocket %[2]d", "Flat No. %[1]s, Pocket-%[2]d, Block %[3]s",
			}), a.house, a.pocket, a.block)
		} else {
			line1 = fmt.Sprintf(oneOf(g, []string{
				"%[1]s-%[2]s", "H.No. %[1]s-%[2]s", "%[1]s/%[2]s", "House No. %[1]s-%[2]s",
				"%[1]s-%[2]s, Block %[1]s", "%[1]s %[2]s",
			}), a.block, a.house)
		}
		switch {
		case l.sector > 0:
			line2 = fmt.Sprintf(oneOf(g, []string{"Sector %d", "Sector-%d", "Sec %d", "Sec-%d"}), l.sector)
		case !a.flat && !strings.Contains(line1, "Block") && g.chance(0.6):
			line2 = fmt.Sprintf(oneOf(g, []string{"Block %s", "%s Block"}), a.block)
		}
	case styleResettlement:
		line1 = fmt.Sprintf(oneOf(g, []string{
			"%[1]s/%[2]s", "H.No. %[1]s/%[2]s", "House No. %[2]s, Block %[1]s", "%[1]s/%[2]s, JJ Colony",
			"%[1]s, H.No. %[2]s",
		}), a.block, a.house)
		if g.chance(0.3) {
			line2 = "Block " + a.block
		}
	case styleOldCity:
		line1 = fmt.Sprintf(oneOf(g, []string{"%s, %s", "H.No. %s, %s", "%s %s", "House No. %s, %s"}), a.house, a.lane)
	}
	return line1, line2
}

// household assembles a household record at an address.
func (g *Generator) household(a address, area string, visit time.Time, outcome string, localityVariant, cityVariant float64) Household {
	l := &g.tab.locs[a.loc]
	var h Household
	h.Area = area
	h.Address.Line1, h.Address.Line2 = g.write(a)
	h.Address.Locality = l.name
	if g.chance(localityVariant) {
		h.Address.Locality = oneOf(g, l.variants)
	}
	h.Address.City = l.city
	if g.chance(cityVariant) {
		h.Address.City = "New Delhi"
		if l.city == "New Delhi" {
			h.Address.City = "Delhi"
		}
	}
	h.Address.Pincode = l.pincode
	if g.chance(0.8) { // indoor fixes fail
		acc := math.Min(3+g.rng.ExpFloat64()*12, 150)
		// One degree of latitude is about 111 km.
		d := acc / 111_000
		h.GPS = &schema.GPS{
			Lat:       round(a.lat+g.rng.NormFloat64()*d/2, 6),
			Lon:       round(a.lon+g.rng.NormFloat64()*d/2, 6),
			AccuracyM: round(acc, 1),
		}
	}
	h.VisitedAt = visit.Format(time.RFC3339)
	h.Outcome = outcome
	if outcome == schema.OutcomeEnrolled {
		h.Consent = schema.Consent{Given: true, At: visit.Add(time.Duration(g.between(2, 12)) * time.Minute).Format(time.RFC3339)}
	}
	return h
}

func round(x float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(x*p) / p
}

// area returns a survey area code of a locality: DL, the district, a ward.
func (g *Generator) area(loc int) string {
	return fmt.Sprintf("DL-%s-W%02d", g.tab.locs[loc].district, oneOf(g, g.tab.wards[loc]))
}

// otherArea returns a ward of the locality other than area when there is one.
func (g *Generator) otherArea(loc int, area string) string {
	for range 4 {
		if a := g.area(loc); a != area {
			return a
		}
	}
	return area
}

// locality draws a locality by weight.
func (g *Generator) locality() int { return pickIndex(g.rng, g.tab.locCum) }

// visit returns a moment of a working day, in working hours, avoiding the
// day avoid (-1 for none) when it can.
func (g *Generator) visit(avoid int) (time.Time, int) {
	d := oneOf(g, g.workDays)
	if d == avoid && len(g.workDays) > 1 {
		d = oneOf(g, g.workDays)
		if d == avoid {
			d = g.workDays[(indexOf(g.workDays, d)+1)%len(g.workDays)]
		}
	}
	return g.start.AddDate(0, 0, d).Add(time.Duration(g.rng.IntN(510)) * time.Minute), d
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

// mobile returns a 10-digit Indian mobile number.
func (g *Generator) mobile() string {
	b := make([]byte, 10)
	b[0] = "9999998888877777666"[g.rng.IntN(19)]
	for i := 1; i < 10; i++ {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

// writePhone writes a 10-digit number in one of the ways it is written at
// the door; schema.NormalizePhone accepts them all.
func (g *Generator) writePhone(d string) string {
	x := g.rng.IntN(100)
	switch {
	case x < 40:
		return d
	case x < 55:
		return "+91" + d
	case x < 70:
		return "+91 " + d[:5] + " " + d[5:]
	case x < 80:
		return d[:5] + " " + d[5:]
	case x < 88:
		return "0" + d
	case x < 93:
		return "+91-" + d
	case x < 97:
		return d[:5] + "-" + d[5:]
	}
	return "91 " + d
}

// phoneTypo changes one digit or swaps two, never the first, so the number
// still looks like a mobile number.
func (g *Generator) phoneTypo(d string) string {
	b := []byte(d)
	i := g.between(1, 8)
	if g.chance(0.4) && b[i] != b[i+1] {
		b[i], b[i+1] = b[i+1], b[i]
	} else {
		b[i] = byte('0' + (int(b[i]-'0')+g.between(1, 9))%10)
	}
	return string(b)
}

// aadhaarNumber returns 12 digits, not starting with 0 or 1, ending in the
// Verhoeff check digit.
func (g *Generator) aadhaarNumber() string {
	b := make([]byte, 11, 12)
	b[0] = byte('2' + g.rng.IntN(8))
	for i := 1; i < 11; i++ {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	c, _ := schema.VerhoeffDigit(string(b))
	return string(append(b, c))
}

// writeAadhaar writes an Aadhaar number as printed on the card or typed.
func (g *Generator) writeAadhaar(a string) string {
	switch x := g.rng.IntN(20); {
	case x < 11:
		return a
	case x < 19:
		return a[:4] + " " + a[4:8] + " " + a[8:]
	}
	return a[:4] + "-" + a[4:8] + "-" + a[8:]
}

func (g *Generator) letters(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + g.rng.IntN(26))
	}
	return string(b)
}

func (g *Generator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

// voterID returns an EPIC number: three letters and seven digits, or the
// old Delhi form DL/01/003/123456.
func (g *Generator) voterID() string {
	if g.chance(0.15) {
		return fmt.Sprintf("DL/%02d/%03d/%s", g.between(1, 70), g.between(1, 300), g.digits(6))
	}
	return g.letters(3) + g.digits(7)
}

// panNumber returns a PAN of an individual: AAAPA1234A, the fourth letter P.
func (g *Generator) panNumber() string {
	return g.letters(3) + "P" + g.letters(1) + g.digits(4) + g.letters(1)
}

// rationCard returns a Delhi NFSA ration card number.
func (g *Generator) rationCard() string {
	return strconv.Itoa(g.between(1, 9)) + g.digits(11)
}

// lookalikes are the letters and digits mistaken for each other when a
// document number is copied by hand.
var lookalikes = map[byte]byte{'O': '0', '0': 'O', 'I': '1', '1': 'I', 'S': '5', '5': 'S', 'B': '8', '8': 'B'}

// docTypo mistypes a letter as a look-alike digit or the other way round.
func (g *Generator) docTypo(s string) string {
	b := []byte(s)
	start := g.rng.IntN(len(b))
	for k := range b {
		i := (start + k) % len(b)
		if r, ok := lookalikes[b[i]]; ok {
			b[i] = r
			return string(b)
		}
	}
	return s
}
