package match

import (
	"strconv"

	"github.com/adrg/strutil/metrics"
)

// The comparison functions return a level index into the field's levels
// (see fieldLevels), or missing when either side lacks the field: a missing
// field is missing evidence, never disagreement.
const missing = -1

// Name levels (also used for the father's or spouse's name).
const (
	nameExact    = iota // folded tokens equal as a multiset ("Suneeta Devi", "Devi Sunita")
	nameTokens          // same tokens allowing initials, joined tokens, a dropped marker ("R Kumar", "Ram Kumar"; "Ramkumar")
	namePhonetic        // same tokens by phonetic key ("Tiwari", "Tewari"; "Mandal", "Mondal")
	nameSubset          // every token of the shorter name is in the longer ("Sunita", "Sunita Devi"; "Neha Devi", "Neha Rana")
	nameJWHigh          // Jaro–Winkler similarity ≥ jwHigh on every token
	nameJWMid           // Jaro–Winkler similarity ≥ jwMid on average
	nameDisagree        // anything else
)

// Jaro–Winkler bands, as in Splink's FEBRL examples (0.9 and 0.8) with the
// upper band a little stricter, because Indian given names are short and
// "Sunil"/"Sunit" are different people at 0.92.
const (
	jwHigh = 0.92
	jwMid  = 0.80
)

// Date of birth levels.
const (
	dobExact       = iota // both day precision, same date
	dobTypo               // both day precision, one digit off, two swapped, or day and month swapped
	dobYear               // same year, at least one side year or estimated
	dobYear1              // years one apart, at least one side year or estimated
	dobDateDiffers        // both day precision, same year, dates apart
	dobNear5              // years 2 to 5 apart and either side estimated from a stated age
	dobDisagree           // anything else
)

const (
	sexAgree = iota
	sexDisagree
)

// Levels of phone, Aadhaar and documents.
const (
	idExact = iota
	idTypo  // documents only: one character off or two swapped
	idDisagree
)

// Phone levels.
const (
	phoneExact    = iota
	phoneTypo     // one digit off or two swapped
	phoneDisagree //
)

// Address levels.
const (
	addrExact    = iota // same household, same ration card, or same line in the same pincode or locality
	addrClose           // line similar, same pincode or locality
	addrArea            // same pincode or locality
	addrDisagree        // anything else
)

// Aadhaar levels.
const (
	aadhaarExact = iota
	aadhaarDisagree
)

// Household level: another member of each household matches.
const householdOther = 0

var jaroWinkler = metrics.NewJaroWinkler()

func jw(a, b string) float64 {
	if a == b {
		return 1
	}
	if a == "" || b == "" {
		return 0
	}
	return jaroWinkler.Compare(a, b)
}

// compareNames compares two folded names as sets of tokens: order may
// swap, an initial matches a full token with its first letter, markers
// (Devi, Kumar, Kaur…) may be swapped for a surname or left out.
func compareNames(a, b *nameFeat) int {
	if a.empty() || b.empty() {
		return missing
	}
	if a.key == b.key {
		return nameExact
	}
	if a.join == b.join {
		return nameTokens
	}
	best := matchLevel(a.tokens, b.tokens, a.firsts, b.firsts, a.marker, b.marker, nameTokens)
	if best > nameTokens {
		if a.phonJoin == b.phonJoin {
			return namePhonetic
		}
		best = min(best, matchLevel(a.phons, b.phons, a.firsts, b.firsts, a.marker, b.marker, namePhonetic))
	}
	if best > nameSubset && (a.marker != 0 || b.marker != 0) && !a.markerOnly && !b.markerOnly {
		// A marker swapped for a surname: the rest must match.
		if coreMatch(a.tokens, b.tokens, a.firsts, b.firsts, a.marker, b.marker) ||
			coreMatch(a.phons, b.phons, a.firsts, b.firsts, a.marker, b.marker) {
			best = nameSubset
		}
	}
	if best <= nameSubset {
		return best
	}
	s, l := a.tokens, b.tokens
	if len(s) > len(l) {
		s, l = l, s
	}
	// Every token must be close for the high band: one letter apart in a
	// short given name is another name as often as a slip (Rakesh, Rajesh),
	// and a shared surname must not carry a different given name.
	mean, low := alignSim(s, l, false, jwMid-0.1)
	if len(a.tokens) != len(b.tokens) {
		// Split or joined differently ("Ram Kumar", "Ramkumr").
		if j := jw(a.join, b.join); j > mean {
			mean, low = j, j
		}
	}
	switch {
	case low >= jwHigh && mean >= jwHigh:
		return nameJWHigh
	case mean >= jwMid && low >= jwMid-0.1:
		return nameJWMid
	}
	return nameDisagree
}

// matchLevel pairs the tokens of the shorter of a and b with tokens of the
// longer (see matchTokens); af and bf are the first letters of their folded
// tokens. All paired with at least one full token: full (the level for a
// full match) when nothing is left over but initials, or markers beside two
// paired full tokens; nameSubset otherwise. nameDisagree when they do not
// pair.
func matchLevel(a, b []string, af, bf string, am, bm uint64, full int) int {
	s, l, sf, lf, lm := a, b, af, bf, bm
	if len(s) > len(l) {
		s, l, sf, lf, lm = b, a, bf, af, am
	}
	ok, fulls, left := matchTokens(s, l, sf, lf)
	switch {
	case !ok || fulls == 0:
		return nameDisagree
	case left == 0 || left&^lm == 0 && fulls >= 2:
		return full
	}
	return nameSubset
}

// coreMatch reports whether the tokens of a and b that are not markers
// pair as matchTokens pairs them.
func coreMatch(a, b []string, af, bf string, am, bm uint64) bool {
	ca, cb := unmarked(a, am), unmarked(b, bm)
	fa, fb := unmarkedFirsts(af, am), unmarkedFirsts(bf, bm)
	if len(ca) > len(cb) {
		ca, cb, fa, fb = cb, ca, fb, fa
	}
	ok, fulls, _ := matchTokens(ca, cb, fa, fb)
	return ok && fulls > 0
}

func unmarkedFirsts(f string, m uint64) string {
	if m == 0 {
		return f
	}
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		if m&(1<<i) == 0 {
			out = append(out, f[i])
		}
	}
	return string(out)
}

func unmarked(t []string, m uint64) []string {
	if m == 0 {
		return t
	}
	out := make([]string, 0, len(t))
	for i, x := range t {
		if m&(1<<i) == 0 {
			out = append(out, x)
		}
	}
	return out
}

// matchTokens pairs every token of s with a distinct token of l: equal
// tokens first, then initials with tokens of the same first letter, as
// written (sf and lf, a letter per token: a phonetic key reads every vowel
// as a, and "A." is not "Umesh"). It reports whether all of s was paired,
// how many pairs were two equal full tokens, and which tokens of l were
// left unpaired that are not initials (a bit per index).
func matchTokens(s, l []string, sf, lf string) (all bool, full int, left uint64) {
	if len(l) > 64 {
		return false, 0, 0
	}
	var used, done uint64
	for i, x := range s {
		for j, y := range l {
			if used&(1<<j) == 0 && x == y {
				used |= 1 << j
				done |= 1 << i
				if len(x) > 1 {
					full++
				}
				break
			}
		}
	}
	for i, x := range s {
		if done&(1<<i) != 0 {
			continue
		}
		found := false
		for j, y := range l {
			if used&(1<<j) == 0 && (len(x) == 1 || len(y) == 1) && sf[i] == lf[j] {
				used |= 1 << j
				found = true
				break
			}
		}
		if !found {
			return false, full, 0
		}
	}
	for j, y := range l {
		if used&(1<<j) == 0 && len(y) > 1 {
			left |= 1 << j
		}
	}
	return true, full, left
}

// alignSim compares the tokens of the shorter list s with those of l: for
// each token of s its best Jaro–Winkler similarity with a token of l; it
// returns the mean of those, less 0.05 for every token l has beyond s, and
// the lowest. An initial scores 1 against a token of its letter and 0
// otherwise. With digits true, tokens of digits score only when equal: house
// 12 is not house 13. Once a token's best falls below floor the result is
// decided (the caller needs the lowest at least at floor), and alignSim
// stops early, returning that token's best as the lowest.
func alignSim(s, l []string, digits bool, floor float64) (mean, low float64) {
	if len(s) == 0 {
		return 0, 0
	}
	total := 0.0
	low = 1
	for _, x := range s {
		best := 0.0
		for _, y := range l {
			var v float64
			switch {
			case x == y:
				v = 1
			case len(x) == 1 || len(y) == 1:
				if x[0] == y[0] {
					v = 1
				}
			case digits && (isDigit(x[0]) || isDigit(y[0])):
				v = 0
			case jwBound(x, y) <= max(best, floor):
				// Jaro–Winkler cannot beat what we have: skip the work.
				v = 0
			default:
				v = jw(x, y)
			}
			if v > best {
				best = v
				if v == 1 {
					break
				}
			}
		}
		total += best
		low = min(low, best)
		if best < floor {
			return 0, best
		}
	}
	return total/float64(len(s)) - 0.05*float64(len(l)-len(s)), low
}

// jwBound is an upper bound of the Jaro–Winkler similarity of two ASCII
// strings, from the letters they have in common wherever they stand: a
// cheap test that spares most comparisons of unrelated names.
func jwBound(a, b string) float64 {
	if !isASCII(a) || !isASCII(b) {
		return 1
	}
	var ca [128]uint8
	for i := 0; i < len(a); i++ {
		ca[a[i]]++
	}
	common := 0
	for i := 0; i < len(b); i++ {
		if ca[b[i]] > 0 {
			ca[b[i]]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	m := float64(common)
	jaro := (m/float64(len(a)) + m/float64(len(b)) + 1) / 3
	prefix := 0
	for prefix < 4 && prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + 0.1*float64(prefix)*(1-jaro)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func compareDOB(a, b *Features) int {
	if a.BirthYear == 0 || b.BirthYear == 0 {
		return missing
	}
	if a.Precision == 'd' && b.Precision == 'd' && a.DOB == b.DOB {
		return dobExact
	}
	dy := a.BirthYear - b.BirthYear
	if dy < 0 {
		dy = -dy
	}
	pa, pb := effectivePrecision(a), effectivePrecision(b)
	if pa == 'd' && pb == 'd' {
		switch {
		case dateTypo(a.DOB, b.DOB):
			return dobTypo
		case dy == 0:
			return dobDateDiffers
		}
		return dobDisagree
	}
	switch {
	case dy == 0:
		return dobYear
	case dy == 1:
		return dobYear1
	case dy <= 5 && (pa == 'e' || pb == 'e'):
		return dobNear5
	}
	return dobDisagree
}

// effectivePrecision is the precision of a date of birth as matching reads
// it: 1 January is what Aadhaar and many registers print for "year only",
// so a date on 1 January is a year.
func effectivePrecision(f *Features) byte {
	if f.Precision == 'd' && f.DOB[4:] == "0101" {
		return 'y'
	}
	return f.Precision
}

// dateTypo reports two YYYYMMDD dates one keying slip apart: one digit
// different, two adjacent digits swapped, day and month swapped, or the
// same day and month in years one apart (a year worked out from an age
// at the last or the next birthday: 2010-03-14, 2009-03-14).
func dateTypo(a, b string) bool {
	if len(a) != 8 || len(b) != 8 {
		return false
	}
	if a[:4] == b[:4] && a[4:6] == b[6:8] && a[6:8] == b[4:6] {
		return true
	}
	if a[4:] == b[4:] {
		ya, ea := strconv.Atoi(a[:4])
		yb, eb := strconv.Atoi(b[:4])
		if ea == nil && eb == nil && (ya-yb == 1 || yb-ya == 1) {
			return true
		}
	}
	return oneEdit(a, b)
}

// oneEdit reports strings of equal length that differ in one position or
// in two adjacent positions swapped, or strings one insertion apart.
func oneEdit(a, b string) bool {
	if len(a) == len(b) {
		first := -1
		diffs := 0
		for i := 0; i < len(a); i++ {
			if a[i] != b[i] {
				if diffs == 0 {
					first = i
				}
				diffs++
				if diffs > 2 {
					return false
				}
			}
		}
		switch diffs {
		case 1:
			return true
		case 2:
			i := first
			return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i]
		}
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) != 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return a[i:] == b[i+1:]
}

// birthYearTolerance is how far apart two birth years may be and still be
// one person's, given how each was recorded: a date from a document may
// carry a keying slip of a year (never the twenty years between a father
// and his son), a year said at the door may be two out, an age stated at
// the door (rounded to fives, heard across a room) up to five.
func birthYearTolerance(p byte) int {
	switch p {
	case 'd':
		return 1
	case 'y':
		return 2
	case 'e':
		return 5
	}
	return 0
}

func compareSex(a, b *Features) int {
	if a.Sex == 0 || b.Sex == 0 {
		return missing
	}
	if a.Sex == b.Sex {
		return sexAgree
	}
	return sexDisagree
}

func comparePhone(a, b *Features) int {
	switch {
	case a.Phone == "" || b.Phone == "":
		return missing
	case a.Phone == b.Phone:
		return phoneExact
	case oneEdit(a.Phone, b.Phone):
		return phoneTypo
	}
	return phoneDisagree
}

func compareAadhaar(a, b *Features) int {
	if a.AadhaarHash == "" || b.AadhaarHash == "" {
		return missing
	}
	if a.AadhaarHash == b.AadhaarHash {
		return aadhaarExact
	}
	return aadhaarDisagree
}

// compareDocuments compares personal documents: the same number (of any
// type, since types are mislabelled at the door) is exact; the same type one
// keying slip apart is a typo; the same type with other numbers disagrees.
// Residents with no document type in common are missing.
func compareDocuments(a, b *Features) int {
	if len(a.Documents) == 0 || len(b.Documents) == 0 {
		return missing
	}
	level := missing
	for _, x := range a.Documents {
		xt, xn := splitDoc(x)
		for _, y := range b.Documents {
			yt, yn := splitDoc(y)
			switch {
			case xn == yn:
				return idExact
			case xt != yt:
			case oneEdit(xn, yn):
				level = idTypo
			case level == missing:
				level = idDisagree
			}
		}
	}
	return level
}

func splitDoc(d string) (typ, num string) {
	for i := 0; i < len(d); i++ {
		if d[i] == ':' {
			return d[:i], d[i+1:]
		}
	}
	return "", d
}

// compareAddress compares where the two households are.
func compareAddress(a, b *Features) int {
	if a.HouseholdID != "" && a.HouseholdID == b.HouseholdID {
		return addrExact
	}
	for _, x := range a.RationCards {
		for _, y := range b.RationCards {
			if x == y {
				return addrExact
			}
		}
	}
	aHas := len(a.Line) > 0 || a.Locality != "" || a.Pincode != ""
	bHas := len(b.Line) > 0 || b.Locality != "" || b.Pincode != ""
	if !aHas || !bHas {
		return missing
	}
	samePin := a.Pincode != "" && a.Pincode == b.Pincode
	// Two pincodes that differ beyond a keying slip are two places,
	// whatever the locality says; otherwise the localities decide.
	farPins := a.Pincode != "" && b.Pincode != "" && !oneEdit(a.Pincode, b.Pincode)
	if !samePin && (farPins || !similarLocality(a, b)) {
		if a.LineKey != "" && a.LineKey == b.LineKey {
			return addrArea
		}
		return addrDisagree
	}
	if a.LineKey != "" && a.LineKey == b.LineKey {
		return addrExact
	}
	if lineClose(a.Line, b.Line) {
		return addrClose
	}
	return addrArea
}

// lineClose compares two address lines: every number of the shorter must be
// in the longer (house 12 is not house 13; a landmark or block added is
// nothing), and its words must be close on average. A line without numbers
// must match word for word, give or take one.
func lineClose(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	s, l := a, b
	if len(s) > len(l) {
		s, l = l, s
	}
	var used uint64
	nums, words := 0, 0
	sum := 0.0
	for _, x := range s {
		if isDigit(x[0]) {
			nums++
			found := false
			for j, y := range l {
				if j < 64 && used&(1<<j) == 0 && x == y {
					used |= 1 << j
					found = true
					break
				}
			}
			if !found {
				return false
			}
			continue
		}
		words++
		best := 0.0
		for _, y := range l {
			if !isDigit(y[0]) {
				best = max(best, jw(x, y))
			}
		}
		sum += best
	}
	if nums == 0 {
		return words > 0 && sum/float64(words) >= 0.9 && len(l)-len(s) <= 1
	}
	return words == 0 || sum/float64(words) >= 0.8
}

// similarLocality compares locality names written different ways:
// "Rohini Sector 7", "Sector 7 Rohini"; "Mangol Puri", "Mangolpuri".
func similarLocality(fa, fb *Features) bool {
	a, b := fa.locality, fb.locality
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	if fa.localityJoin == fb.localityJoin {
		return true
	}
	s, l := a, b
	if len(s) > len(l) {
		s, l = l, s
	}
	mean, _ := alignSim(s, l, true, 0)
	return mean >= jwHigh
}
