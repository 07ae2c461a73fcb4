package match

import (
	"slices"
	"strings"
	"unicode"

	"github.com/doorstep-health/doorstep/schema"
)

// Features is one resident as matching sees it: everything normalised and
// folded once, so that comparing two residents is cheap. Build it with
// NewFeatures from the resident and its household.
type Features struct {
	ID          string // resident id
	HouseholdID string

	Name   string   // as written, for display
	Father string   // as written, for display
	Spouse string   // as written, for display
	name   nameFeat // folded tokens of Name
	father nameFeat
	spouse nameFeat

	Sex       byte   // 'M', 'F', 'O', or 0 when unknown
	BirthYear int    // 0 when unknown
	Precision byte   // 'd' day, 'y' year, 'e' estimated from a stated age; 0 when unknown
	DOB       string // YYYYMMDD when Precision is 'd'

	Phone        string // +91XXXXXXXXXX, or "" when absent
	AadhaarHash  string
	AadhaarLast4 string
	Documents    []string // personal documents as "type:NUMBER"
	RationCards  []string // ration card numbers: a household's, not a person's

	Line     []string // address line tokens (line1 then line2), normalised
	LineKey  string   // Line joined by spaces
	Locality string   // normalised
	Pincode  string

	terms        terms    // frequency terms, built once
	locality     []string // tokens of Locality
	localityJoin string   // tokens of Locality concatenated
}

// nameFeat is a name folded for comparison.
type nameFeat struct {
	tokens     []string // folded, written order; initials are one letter
	phons      []string // phonetic key of each token (an initial: its letter, a vowel as a)
	firsts     string   // the first letter of each folded token
	marker     uint64   // bit i set: tokens[i] is a marker (Devi, Kumar, Kaur…)
	key        string   // tokens sorted, joined by a space: exact agreement and term frequency
	join       string   // tokens concatenated in written order
	phonJoin   string   // phons concatenated in written order
	keys       []string // phonetic keys of the full tokens, written order, without repeats: blocking
	markerOnly bool     // every token is a marker
	initials   int      // how many tokens are initials
	tokTerms   []string // frequency terms of the full tokens
}

func newNameFeat(s string) nameFeat {
	toks := foldTokens(NameTokens(s))
	if len(toks) == 0 {
		return nameFeat{}
	}
	if len(toks) > 64 {
		toks = toks[:64]
	}
	sorted := slices.Clone(toks)
	slices.Sort(sorted)
	nf := nameFeat{
		tokens: toks,
		phons:  make([]string, len(toks)),
		key:    strings.Join(sorted, " "),
		join:   strings.Join(toks, ""),
	}
	nf.markerOnly = true
	for i, t := range toks {
		nf.phons[i] = phoneticToken(t)
		if markers[t] {
			nf.marker |= 1 << i
		} else {
			nf.markerOnly = false
		}
		if len(t) > 1 {
			if p := nf.phons[i]; !slices.Contains(nf.keys, p) {
				nf.keys = append(nf.keys, p)
			}
			nf.tokTerms = append(nf.tokTerms, termToken+t)
		} else {
			nf.initials++
		}
	}
	nf.phonJoin = strings.Join(nf.phons, "")
	firsts := make([]byte, len(toks))
	for i, t := range toks {
		firsts[i] = t[0]
	}
	nf.firsts = string(firsts)
	return nf
}

func (n *nameFeat) empty() bool { return len(n.tokens) == 0 }

// coreKeys are the phonetic keys of the full tokens that are not markers,
// written order, without repeats, at most maxNameKeyTokens.
func (n *nameFeat) coreKeys() []string {
	var out []string
	for i, t := range n.tokens {
		if len(t) > 1 && n.marker&(1<<i) == 0 && !slices.Contains(out, n.phons[i]) {
			out = append(out, n.phons[i])
			if len(out) == maxNameKeyTokens {
				break
			}
		}
	}
	return out
}

// coreKey is the name's key without its markers: "Md. Sajid", "Sajid" and
// "Mohammad Sajid" are one name as often as not, so they are counted as
// one for term frequency. A name of markers only keeps them.
func (n *nameFeat) coreKey() string {
	if n.marker == 0 || n.markerOnly {
		return n.key
	}
	toks := unmarked(n.tokens, n.marker)
	sorted := slices.Clone(toks)
	slices.Sort(sorted)
	return strings.Join(sorted, " ")
}

// joinedKey is the phonetic key of the name's first two tokens written as
// one, when both are full tokens ("Sunil Kumar" as "Sunilkumar", "Charan
// Jit" as "Charanjeet", "Om Prakash" as "Omprakash"): the phonetic key of
// the two folded tokens joined, a letter doubled across the join written
// once, as FoldToken writes it. "" when there is no such pair or the join's
// key is a token's own.
func (n *nameFeat) joinedKey() string {
	if len(n.tokens) < 2 || len(n.tokens[0]) < 2 || len(n.tokens[1]) < 2 {
		return ""
	}
	x, y := n.tokens[0], n.tokens[1]
	if x[len(x)-1] == y[0] {
		y = y[1:] // a letter doubled across the join is written once
	}
	k := phoneticToken(x + y)
	if slices.Contains(n.keys, k) {
		return ""
	}
	return k
}

// initialKeys are the first letters of the name's first two tokens that
// are initials or full tokens other than markers, in written order,
// without repeats: what a name and the same name written with initials
// have in common ("R. K. Sharma", "Rajesh Kumar Sharma": r). A vowel is a,
// as in the phonetic keys.
func (n *nameFeat) initialKeys() []string {
	var out []string
	for i, t := range n.tokens {
		if len(t) > 1 && n.marker&(1<<i) != 0 {
			continue
		}
		c := n.phons[i][:1]
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
		if len(out) == 2 {
			break
		}
	}
	return out
}

// givenPhon is the phonetic key of the name's first full token that is
// not a marker: its given name, as names are mostly written given name
// first. "" when there is none.
func (n *nameFeat) givenPhon() string {
	for i, t := range n.tokens {
		if len(t) > 1 && n.marker&(1<<i) == 0 {
			return n.phons[i]
		}
	}
	return ""
}

// givenKey is the phonetic key of the first full token of a relative's name
// that is neither a marker nor in own: the relative's given name.
func (n *nameFeat) givenKey(own *nameFeat) string {
	for i, t := range n.tokens {
		if len(t) > 1 && n.marker&(1<<i) == 0 && !slices.Contains(own.tokens, t) {
			return n.phons[i]
		}
	}
	return ""
}

// NameKey is the folded name (FoldName) behind exact agreement and the name
// term frequency.
func (f *Features) NameKey() string { return f.name.key }

// NewFeatures normalises a resident of household h for matching. Call it
// after schema normalisation (Household.Normalize); it reads only h's id and
// address, so h's members may be absent.
func NewFeatures(r *schema.Resident, h *schema.Household) Features {
	f := Features{
		ID:           r.ID,
		HouseholdID:  r.HouseholdID,
		Name:         r.Name,
		Father:       r.FatherName,
		Spouse:       r.SpouseName,
		name:         newNameFeat(r.Name),
		father:       newNameFeat(r.FatherName),
		spouse:       newNameFeat(r.SpouseName),
		Phone:        r.Phone,
		AadhaarHash:  r.AadhaarHash,
		AadhaarLast4: r.AadhaarLast4,
	}
	switch s := strings.ToUpper(strings.TrimSpace(r.Sex)); s {
	case "M", "F", "O":
		f.Sex = s[0]
	}
	if y := r.BirthYear(); y > 0 {
		f.BirthYear = y
		switch r.DOBPrecision {
		case schema.PrecisionEstimated:
			f.Precision = 'e'
		case schema.PrecisionYear:
			f.Precision = 'y'
		default:
			if len(r.DOB) == 10 {
				f.Precision = 'd'
				f.DOB = r.DOB[0:4] + r.DOB[5:7] + r.DOB[8:10]
			} else {
				f.Precision = 'y'
			}
		}
	}
	if r.AadhaarHash == "" && r.Aadhaar != "" {
		// Only in tests and evaluation files: the server never sees the
		// number. An unkeyed stand-in keeps equality, which is all matching uses.
		f.AadhaarHash = "clear:" + r.Aadhaar
		f.AadhaarLast4 = r.Aadhaar[max(len(r.Aadhaar)-4, 0):]
	}
	for _, d := range r.Documents {
		num := strings.ToUpper(strings.Join(strings.Fields(d.Number), ""))
		if num == "" {
			continue
		}
		typ := strings.ToLower(strings.TrimSpace(d.Type))
		if typ == "ration_card" {
			f.RationCards = append(f.RationCards, num)
		} else {
			f.Documents = append(f.Documents, typ+":"+num)
		}
	}
	if h != nil {
		if f.HouseholdID == "" {
			f.HouseholdID = h.ID
		}
		f.Line = addressTokens(h.Address.Line1 + " " + h.Address.Line2)
		f.LineKey = strings.Join(f.Line, " ")
		f.locality = addressTokens(h.Address.Locality)
		f.Locality = strings.Join(f.locality, " ")
		f.localityJoin = strings.Join(f.locality, "")
		f.Pincode = strings.TrimSpace(h.Address.Pincode)
		if f.LineKey != "" {
			f.terms.address = termAddress + f.LineKey + "|" + f.Pincode
		}
		if f.Pincode != "" {
			f.terms.pincode = termPincode + f.Pincode
		}
	}
	if f.name.key != "" {
		f.terms.name = termName + f.name.coreKey()
	}
	if f.father.key != "" {
		f.terms.father = termRelative + relativeTerm(&f.father, &f.name)
	}
	if f.spouse.key != "" {
		f.terms.spouse = termRelative + relativeTerm(&f.spouse, &f.name)
	}
	if f.Precision == 'd' {
		f.terms.date = termDate + f.DOB
	}
	if f.Phone != "" {
		f.terms.phone = termPhone + f.Phone
	}
	return f
}

// relativeTerm is the part of a relative's name that says something about
// the resident: its tokens less the resident's own and less markers (a
// father and his son share the surname, so "Vinod Chaudhary" as the father
// of "Ram Chaudhary" is as telling as any Vinod; "Pooja Devi" as a wife is
// any Pooja). A relative with no other token (a son named after his
// father) keeps the whole name.
func relativeTerm(rel, own *nameFeat) string {
	var toks []string
	for i, t := range rel.tokens {
		if len(t) > 1 && rel.marker&(1<<i) == 0 && !slices.Contains(own.tokens, t) {
			toks = append(toks, t)
		}
	}
	if len(toks) == 0 {
		return rel.key
	}
	slices.Sort(toks)
	return strings.Join(toks, " ")
}

// terms are a resident's frequency terms (see FrequencyKeys).
type terms struct {
	name, father, spouse, date, phone, address, pincode string
}

// addressFiller are words that carry no location ("H. No. 12" is "12").
var addressFiller = map[string]bool{
	"h": true, "no": true, "house": true, "hno": true, "number": true, "num": true,
	"flat": true, "plot": true, "near": true, "opp": true, "opposite": true, "behind": true,
}

var addressAbbrev = map[string]string{
	"st": "street", "rd": "road", "mkt": "market", "ngr": "nagar", "extn": "extension",
	"ext": "extension", "gl": "gali", "blk": "block", "sec": "sector",
}

// addressTokens splits an address into lower-case tokens; letters and
// digits apart ("12a" is 12, a), filler words dropped, a few abbreviations
// spelled out.
func addressTokens(s string) []string {
	s = canonicalText(s)
	var toks []string
	var cur []rune
	kind := 0 // 1 letter, 2 digit
	flush := func() {
		if len(cur) == 0 {
			return
		}
		t := string(cur)
		cur = cur[:0]
		if full, ok := addressAbbrev[t]; ok {
			t = full
		}
		if !addressFiller[t] {
			toks = append(toks, t)
		}
	}
	for _, r := range s {
		k := 0
		switch {
		case unicode.IsDigit(r):
			k = 2
		case unicode.IsLetter(r):
			k = 1
		}
		if k != kind {
			flush()
			kind = k
		}
		if k != 0 {
			cur = append(cur, r)
		}
	}
	flush()
	return toks
}
