package match

import (
	"math"
	"strconv"
	"strings"
)

// HouseholdEvidence is what the caller knows about the two residents'
// households: whether another member of the one matches another member of
// the other. The store works it out from its links; the Matcher from the
// scores of the whole arriving household.
type HouseholdEvidence int

const (
	// HouseholdUnknown: no other members, the same household, or not
	// looked at. Weighs nothing.
	HouseholdUnknown HouseholdEvidence = iota
	// HouseholdOtherMatch: another member of each household matches, so
	// the two households are likely one family enrolled twice.
	HouseholdOtherMatch
)

// Hard rules: a pair that breaks one is never linked automatically,
// whatever its weight; at most it becomes a review task.
const (
	BlockSameHousehold = "same_household" // twins are two people enrolled at one door
	BlockBirthYear     = "birth_year"     // father and son with one name
	BlockSex           = "sex"
)

// Evidence is one line of the review screen: how a field compared and what
// it weighs (log2 Bayes factor, after term-frequency adjustment). Weights
// add up: Comparison.Weight is Prior plus the sum of all Evidence weights.
type Evidence struct {
	Field  string  `json:"field"`
	Level  string  `json:"level"` // a level of the field, or "missing"
	Weight float64 `json:"weight"`
	A      string  `json:"a"` // the value on each side, as written
	B      string  `json:"b"`
}

// Comparison is the scored comparison of two residents.
type Comparison struct {
	A           string     `json:"a"` // resident ids
	B           string     `json:"b"`
	Evidence    []Evidence `json:"evidence"`
	Prior       float64    `json:"prior"`       // log2 prior odds
	Weight      float64    `json:"weight"`      // match weight: log2 posterior odds
	Probability float64    `json:"probability"` // match probability
	Blocks      []string   `json:"blocks,omitempty"`
}

// Outcome is what happens to a new resident.
type Outcome int

const (
	OutcomeNew    Outcome = iota // a new person
	OutcomeReview                // a new person for now, and a review task against the candidate
	OutcomeLink                  // linked to the candidate's person
)

// MarshalText writes an outcome as its name: new, review, link.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

func (o Outcome) String() string {
	switch o {
	case OutcomeLink:
		return "link"
	case OutcomeReview:
		return "review"
	}
	return "new"
}

// pairScore is a comparison without the display strings: what the matcher
// needs for every candidate.
type pairScore struct {
	levels       [numFields]int8
	weights      [numFields]float64
	familyExcess float64 // family evidence above the cap, taken off
	prior        float64
	total        float64
	blocks       uint8
}

const (
	blockSameHousehold = 1 << iota
	blockBirthYear
	blockSex
)

func (p *pairScore) probability() float64 { return Probability(p.total) }

// ownTotal is the weight without the agreement of the relatives' names:
// what a pair says of its two residents alone. A husband's name agreeing
// as his wife's spouse name is the husband's evidence, not the wife's, so
// it must not come back to him as household evidence.
func (p *pairScore) ownTotal() float64 {
	return p.total - max(0, p.weights[fFather]) - max(0, p.weights[fSpouse])
}

// Score compares resident a (typically the new one) with b. freq may be
// nil: then there is no term-frequency adjustment and the registry is
// taken to hold Model.MinRegistry persons.
func (m *Model) Score(a, b *Features, freq Frequencies, hh HouseholdEvidence) Comparison {
	return m.comparison(m.score(a, b, freq, hh), a, b)
}

// comparison is the Comparison of a scored pair, with its display strings.
func (m *Model) comparison(p pairScore, a, b *Features) Comparison {
	c := Comparison{A: a.ID, B: b.ID, Prior: p.prior, Weight: p.total, Probability: p.probability()}
	c.Evidence = make([]Evidence, 0, numFields+1)
	for f := 0; f < numFields; f++ {
		lv := int(p.levels[f])
		name := "missing"
		if lv >= 0 {
			name = fieldLevels[f][lv]
		}
		if f == fHousehold && lv < 0 {
			name = "none"
		}
		va, vb := display(f, a, b)
		if f == fHousehold && lv >= 0 {
			va, vb = "another member matches", "another member matches"
		}
		c.Evidence = append(c.Evidence, Evidence{Field: fieldNames[f], Level: name, Weight: p.weights[f], A: va, B: vb})
	}
	if p.familyExcess > 0 {
		c.Evidence = append(c.Evidence, Evidence{Field: "family", Level: "cap", Weight: -p.familyExcess,
			A: "father, phone and address", B: "count at most as much as being one family"})
	}
	if p.blocks&blockSameHousehold != 0 {
		c.Blocks = append(c.Blocks, BlockSameHousehold)
	}
	if p.blocks&blockBirthYear != 0 {
		c.Blocks = append(c.Blocks, BlockBirthYear)
	}
	if p.blocks&blockSex != 0 {
		c.Blocks = append(c.Blocks, BlockSex)
	}
	return c
}

// Decide turns a comparison with the best candidate into an outcome.
func (m *Model) Decide(c *Comparison) Outcome {
	return m.decide(c.Probability, len(c.Blocks) > 0)
}

func (m *Model) decide(prob float64, blocked bool) Outcome {
	switch {
	case prob >= m.Upper && !blocked:
		return OutcomeLink
	case prob >= m.Lower:
		return OutcomeReview
	}
	return OutcomeNew
}

func (m *Model) score(a, b *Features, freq Frequencies, hh HouseholdEvidence) pairScore {
	family := -1.0
	if hh == HouseholdOtherMatch {
		family = 0
	}
	return m.scoreFamily(a, b, freq, family)
}

// scoreFamily scores a pair with household evidence when sameFamily ≥ 0:
// another member of a's household is, more likely than not, a registered
// member of b's, and sameFamily is the probability, from members matched
// beyond doubt, that the two households are one family enrolled twice.
// sameFamily < 0: no household evidence.
func (m *Model) scoreFamily(a, b *Features, freq Frequencies, sameFamily float64) pairScore {
	var p pairScore
	p.levels[fName] = int8(compareNames(&a.name, &b.name))
	p.levels[fFather] = int8(compareNames(&a.father, &b.father))
	p.levels[fSpouse] = int8(compareNames(&a.spouse, &b.spouse))
	p.levels[fDOB] = int8(compareDOB(a, b))
	p.levels[fSex] = int8(compareSex(a, b))
	p.levels[fPhone] = int8(comparePhone(a, b))
	p.levels[fAadhaar] = int8(compareAadhaar(a, b))
	p.levels[fDocument] = int8(compareDocuments(a, b))
	p.levels[fAddress] = int8(compareAddress(a, b))
	p.levels[fHousehold] = missing
	sameHousehold := a.HouseholdID != "" && a.HouseholdID == b.HouseholdID
	if sameFamily >= 0 && !sameHousehold {
		p.levels[fHousehold] = householdOther
	}
	n := m.registrySize(freq)
	for f := 0; f < numFields; f++ {
		p.weights[f] = m.weight(f, int(p.levels[f]))
	}
	if p.levels[fHousehold] == householdOther {
		// Within one family, names share a surname or a marker (Devi,
		// Kumar) and given names can be alike: only a name that agrees
		// whole, in full tokens, tells its member from the others.
		if !tellsMember(&a.name, &b.name, int(p.levels[fName])) {
			sameFamily = 0
		}
		p.weights[fHousehold] = m.householdWeight(sameFamily, n)
	}
	// Term frequencies. Family evidence counts for at most being one
	// family: log2(n/size), the size being the persons registered with the
	// agreeing phone or address, or Model.FamilySize when neither is known.
	family := 0.0
	if freq != nil {
		total := freq.Total()
		tf := func(f, level int, term string) int {
			c := freq.Count(term)
			p.weights[f] = m.tfWeight(f, level, c, total)
			return c
		}
		if p.levels[fName] == nameExact {
			tf(fName, nameExact, a.terms.name)
		}
		if p.levels[fFather] == nameExact {
			tf(fFather, nameExact, a.terms.father)
		}
		if p.levels[fSpouse] == nameExact {
			tf(fSpouse, nameExact, a.terms.spouse)
		}
		for _, f := range [...]struct {
			field int
			a, b  *nameFeat
		}{{fName, &a.name, &b.name}, {fFather, &a.father, &b.father}, {fSpouse, &a.spouse, &b.spouse}} {
			switch l := p.levels[f.field]; l {
			case nameTokens, namePhonetic, nameSubset:
				p.weights[f.field] = m.tokenWeight(f.field, int(l), f.a, f.b, freq, total)
			}
		}
		if p.levels[fDOB] == dobExact {
			tf(fDOB, dobExact, a.terms.date)
		}
		if p.levels[fPhone] == phoneExact {
			family = float64(max(tf(fPhone, phoneExact, a.terms.phone), 1))
		}
		switch {
		case p.levels[fAddress] == addrExact && a.terms.address != "" && a.terms.address == b.terms.address:
			family = max(family, float64(max(tf(fAddress, addrExact, a.terms.address), 1)))
		case p.levels[fAddress] == addrArea && a.Pincode != "" && a.Pincode == b.Pincode:
			tf(fAddress, addrArea, a.terms.pincode)
		}
	}
	if family == 0 {
		family = m.FamilySize
	}
	p.prior = m.PriorWeight(int(n))
	limit := math.Log2(n / family)
	if tellsMember(&a.name, &b.name, int(p.levels[fName])) && !sameHousehold {
		// The names pick out one member of the family: what is left to
		// know is whether the resident is a registered member at all,
		// which, with the family registered, is likely (see
		// familyRegistered), not the prior's DuplicateRate.
		size := max(family, m.FamilySize)
		limit = max(limit, math.Log2(familyRegistered/(size-familyRegistered))-p.prior)
		// A phone or house in common says "one family", and its u, measured
		// over registered pairs, counts the family's other members as
		// likely as any: but an arriving resident is another member of a
		// registered family only as a re-enrolment of that member
		// (DuplicateRate) or as a member new to the registry. Only the
		// levels that say "one house" (a phone, one slip at most; the same
		// address line): a close line may be the next house.
		best := -1
		if l := p.levels[fPhone]; l == phoneExact || l == phoneTypo {
			best = fPhone
		}
		if p.levels[fAddress] == addrExact && (best < 0 || p.weights[fAddress] > p.weights[best]) {
			best = fAddress
		}
		if best >= 0 {
			p.weights[best] += math.Log2(familyRegistered * size / (m.DuplicateRate * (size - familyRegistered)))
		}
	}
	sum := 0.0
	for f := 0; f < numFields; f++ {
		if familyField[f] {
			sum += p.weights[f]
		}
	}
	if p.levels[fHousehold] == householdOther && sameFamily > 0 {
		// Household evidence from members matched beyond doubt says "one
		// family" too, and more: that this member is likely back with it.
		// Phone, address and father's name add nothing to it.
		sum += p.weights[fHousehold]
		limit = max(limit, p.weights[fHousehold])
	}
	if sameHousehold {
		// Members of one household share phone, address and relatives by
		// being enrolled together: no evidence at all.
		limit = 0
	}
	if sum > limit {
		p.familyExcess = sum - limit
	}
	p.total = p.prior - p.familyExcess
	for f := 0; f < numFields; f++ {
		p.total += p.weights[f]
	}

	if sameHousehold {
		p.blocks |= blockSameHousehold
	}
	// An identity number that agrees (Aadhaar, voter ID, PAN: never shared
	// by father and son, husband and wife; a ration card is, so it does not
	// count) outweighs a birth date or a sex keyed wrong.
	identity := p.levels[fAadhaar] == aadhaarExact || p.levels[fDocument] == idExact
	if p.levels[fSex] == sexDisagree && !identity {
		p.blocks |= blockSex
	}
	if a.BirthYear > 0 && b.BirthYear > 0 {
		dy := a.BirthYear - b.BirthYear
		if dy < 0 {
			dy = -dy
		}
		tol := max(birthYearTolerance(effectivePrecision(a)), birthYearTolerance(effectivePrecision(b)))
		if dy > tol && !identity {
			p.blocks |= blockBirthYear
		}
	}
	return p
}

// familyRegistered is the probability that a person whose family is
// already registered is registered too: families are enrolled whole, and
// the members a second visit meets for the first time are the few born,
// married in or come to stay since (reasoned: one in ten). It bounds the
// family evidence when the names pick out one member (see tellsMember):
// agreeing phone, address and father's name then take the pair to odds of
// familyRegistered/(F − familyRegistered) for a family of F, instead of
// DuplicateRate/F, which would treat a family's own member as no more
// likely to be registered than a stranger.
const familyRegistered = 0.9

// tellsMember reports whether two names, compared at level, tell one
// member of a family from the others: within a family names share a
// surname or a marker (Devi, Kumar) and given names can be alike, so only
// names that agree whole in full tokens (exact, tokens, phonetic), or one
// within the other with the same given name ("Rinki", "Rinki Singh"; not
// "Sharma", "Ram Sharma"), pick out one member. Initials never do.
func tellsMember(a, b *nameFeat, level int) bool {
	if a.initials > 0 || b.initials > 0 || a.markerOnly || b.markerOnly {
		return false
	}
	switch {
	case level < 0 || level > nameSubset:
		return false
	case level < nameSubset:
		return true
	}
	ga, gb := a.givenPhon(), b.givenPhon()
	return ga != "" && ga == gb
}

// householdWeight is the weight of household evidence: the Bayes factor
// of "the two households are one family enrolled twice" holding with
// probability sameFamily. Given one family, the new resident is a given
// registered member of it with probability 1/FamilySize, against the prior
// λ = DuplicateRate/n that it is a given registered person otherwise:
//
//	log2(sameFamily/(FamilySize·λ) + 1 − sameFamily)
//
// It counts with the family fields under the family cap (see score), so
// that a family's phone and address do not say "one family" a second time.
func (m *Model) householdWeight(sameFamily, n float64) float64 {
	sameFamily = min(max(sameFamily, 0), 1)
	lambda := m.DuplicateRate / n
	return max(m.weight(fHousehold, householdOther), math.Log2(sameFamily/(m.FamilySize*lambda)+1-sameFamily))
}

// tfWeight is the weight of an agreement on a term that count of the
// total registered persons hold (one of them the candidate): log2(m/u)
// with u the term's frequency, as in Splink's term-frequency adjustment.
// The frequency is estimated from the other holders with the level's u as
// a prior worth Model.MinRegistry persons, so that a small registry does
// not make every name look rare or every date look common. Never below
// zero: an agreement is never evidence against.
func (m *Model) tfWeight(f, level, count, total int) float64 {
	lv := &m.Fields[f].Levels[level]
	a := float64(m.MinRegistry)
	u := (float64(max(count-1, 0)) + a*lv.U) / (float64(total) + a)
	return max(0, math.Log2(lv.M/u))
}

// tokenWeight is the weight of a partial agreement of two names (tokens,
// phonetic, subset) adjusted for how common the shared tokens are: u is
// the chance that a random person's name holds every token of the shorter
// name, the product of the tokens' frequencies (an initial counts 1/20), but
// never below an eighth of the level's u. "Ram" within "Ram Kumar" counts
// for less than "Zarina" within "Zarina Parveen".
func (m *Model) tokenWeight(f, level int, a, b *nameFeat, freq Frequencies, total int) float64 {
	s := a
	if len(b.tokens) < len(a.tokens) {
		s = b
	}
	lv := &m.Fields[f].Levels[level]
	const prior = 0.01 // a token's frequency before any is counted
	pseudo := float64(m.MinRegistry)
	u := math.Pow(0.05, float64(s.initials))
	for _, t := range s.tokTerms {
		u *= (float64(max(freq.Count(t)-1, 0)) + pseudo*prior) / (float64(total) + pseudo)
	}
	u = max(u, lv.U/8)
	return max(0, math.Log2(lv.M/u))
}

// display is what the review screen shows for a field on each side.
func display(f int, a, b *Features) (string, string) {
	switch f {
	case fName:
		return a.Name, b.Name
	case fFather:
		return a.Father, b.Father
	case fSpouse:
		return a.Spouse, b.Spouse
	case fDOB:
		return showDOB(a), showDOB(b)
	case fSex:
		return showSex(a.Sex), showSex(b.Sex)
	case fPhone:
		return a.Phone, b.Phone
	case fAadhaar:
		return showAadhaar(a), showAadhaar(b)
	case fDocument:
		return strings.Join(a.Documents, ", "), strings.Join(b.Documents, ", ")
	case fAddress:
		return showAddress(a), showAddress(b)
	}
	return "", ""
}

func showDOB(f *Features) string {
	switch f.Precision {
	case 'd':
		return f.DOB[:4] + "-" + f.DOB[4:6] + "-" + f.DOB[6:]
	case 'y':
		return strconv.Itoa(f.BirthYear) + " (year)"
	case 'e':
		return strconv.Itoa(f.BirthYear) + " (from stated age)"
	}
	return ""
}

func showSex(s byte) string {
	if s == 0 {
		return ""
	}
	return string(rune(s))
}

func showAadhaar(f *Features) string {
	switch {
	case f.AadhaarLast4 != "":
		return "XXXX XXXX " + f.AadhaarLast4
	case f.AadhaarHash != "":
		return "(hash)"
	}
	return ""
}

func showAddress(f *Features) string {
	parts := make([]string, 0, 3)
	for _, s := range []string{f.LineKey, f.Locality, f.Pincode} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(f.RationCards) > 0 {
		parts = append(parts, "ration card "+strings.Join(f.RationCards, ", "))
	}
	return strings.Join(parts, ", ")
}
