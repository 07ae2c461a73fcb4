package match

import (
	"encoding/json"
	"fmt"
	"math"
)

// Fields compared, in the order of Model.Fields and of the evidence on the
// review screen.
const (
	FieldName      = "name"      // the resident's name
	FieldFather    = "father"    // father's name
	FieldSpouse    = "spouse"    // husband's or wife's name
	FieldDOB       = "dob"       // date or year of birth
	FieldSex       = "sex"       //
	FieldPhone     = "phone"     // term-frequency adjusted: a number shared by a household weighs less
	FieldAadhaar   = "aadhaar"   // keyed hash
	FieldDocument  = "document"  // voter ID, PAN, other personal document numbers
	FieldAddress   = "address"   // household address, ration card
	FieldHousehold = "household" // another member of each household matches
)

const (
	fName = iota
	fFather
	fSpouse
	fDOB
	fSex
	fPhone
	fAadhaar
	fDocument
	fAddress
	fHousehold
	numFields
)

var fieldNames = [numFields]string{FieldName, FieldFather, FieldSpouse, FieldDOB, FieldSex, FieldPhone,
	FieldAadhaar, FieldDocument, FieldAddress, FieldHousehold}

// fieldLevels names the comparison levels of each field, strongest first,
// in the order of the level constants in compare.go. "missing" is not a
// level: it has no m or u and weighs nothing.
var fieldLevels = [numFields][]string{
	fName:      {"exact", "tokens", "phonetic", "subset", "jw_high", "jw_mid", "disagree"},
	fFather:    {"exact", "tokens", "phonetic", "subset", "jw_high", "jw_mid", "disagree"},
	fSpouse:    {"exact", "tokens", "phonetic", "subset", "jw_high", "jw_mid", "disagree"},
	fDOB:       {"exact", "typo", "year", "year_1", "date_differs", "near_5", "disagree"},
	fSex:       {"agree", "disagree"},
	fPhone:     {"exact", "typo", "disagree"},
	fAadhaar:   {"exact", "disagree"},
	fDocument:  {"exact", "typo", "disagree"},
	fAddress:   {"exact", "close", "area", "disagree"},
	fHousehold: {"other_member_matches"},
}

// familyField marks the fields that say "same family" rather than "same
// person": the father's name, phone and address agree between brothers,
// and phone and address between a father and his son. See
// Model.FamilySize. A spouse's name is not one of them: brothers do not
// share a wife.
//
// Household evidence is not one of them: another member matching says the
// household is a family enrolled again, which makes it likely that this
// member, too, is someone already registered. (When it is strong enough
// to say so beyond doubt, it does count under the cap, with the cap raised
// to its own weight: see Model.scoreFamily.)
var familyField = [numFields]bool{fFather: true, fPhone: true, fAddress: true}

// Level is the m and u probability of one comparison level: m the
// probability of the level among pairs that are one person, u among pairs
// that are two. Its weight is log2(m/u).
type Level struct {
	Level  string  `json:"level"`
	M      float64 `json:"m"`
	U      float64 `json:"u"`
	Source string  `json:"source,omitempty"` // where the figures came from
}

// FieldModel is the levels of one field.
type FieldModel struct {
	Field  string  `json:"field"`
	Levels []Level `json:"levels"`
}

// Model is a Fellegi–Sunter model: m and u per comparison level, the prior,
// and the thresholds. It is stored as JSON (`syncserver match train` writes
// one); DefaultModel documents where each default came from.
type Model struct {
	Fields []FieldModel `json:"fields"`

	// DuplicateRate d is the share of new enrolments that are a person
	// already registered. With N persons registered, the prior probability
	// λ that a new resident is a given registered person is d/N. N is
	// at least MinRegistry, so that the first residents of an empty
	// registry are not linked on thin evidence.
	DuplicateRate float64 `json:"duplicate_rate"`
	MinRegistry   int     `json:"min_registry"`

	// FamilySize caps the family evidence. Father's name, phone and
	// address say "same family", and once that is said
	// they add nothing about which member: their weights together count
	// for at most log2(N/FamilySize), the odds that a random registered
	// person is of this family. Without the cap a brother re-enrolled with
	// his own name would be linked to his brother on the family's phone,
	// address and father's name.
	FamilySize float64 `json:"family_size"`

	// Upper and Lower are match probabilities: at or above Upper a pair is
	// linked automatically (unless a hard rule forbids it); from Lower up
	// to Upper it becomes a review task; below Lower the resident is a new
	// person.
	Upper float64 `json:"upper"`
	Lower float64 `json:"lower"`
}

// DefaultModel returns the model used before any training: m and u per
// level, each with its source in the level's Source, from three places:
// surveygen (the share of each level among the true pairs and among random
// pairs of 44,000 synthetic Delhi residents, 10% enrolled twice), FEBRL
// (datasets 1 and 2, as Splink's FEBRL examples use them; not tuned to),
// and reasoning about door-to-door enrolment where neither says enough
// (Aadhaar, sex errors, 1 January dates). `match train` replaces them with
// estimates from the deployment's own data.
//
// Weights are log2(m/u), in bits; a pair's match weight is the prior plus
// the sum. Some levels are adjusted by term frequency at scoring (below):
// for them the figure is the weight of a term as common as u says.
//
//	field     level                 m       u         weight
//	name      exact                 0.65    0.0005    10.3
//	          tokens                0.08    0.0005     7.3
//	          phonetic              0.07    0.00015    8.9
//	          subset                0.12    0.004      4.9
//	          jw_high               0.03    0.0017     4.1
//	          jw_mid                0.02    0.012      0.7
//	          disagree              0.03    0.9812    -5.0
//	father    exact                 0.75    0.0009     9.7
//	          tokens                0.05    0.001      5.6
//	          phonetic              0.04    0.0005     6.3
//	          subset                0.06    0.0055     3.4
//	          jw_high               0.03    0.001      4.9
//	          jw_mid                0.02    0.017      0.2
//	          disagree              0.05    0.9741    -4.3
//	spouse    exact                 0.75    0.0009     9.7
//	          tokens                0.05    0.001      5.6
//	          phonetic              0.04    0.0005     6.3
//	          subset                0.06    0.0055     3.4
//	          jw_high               0.03    0.001      4.9
//	          jw_mid                0.02    0.017      0.2
//	          disagree              0.05    0.9741    -4.3
//	dob       exact                 0.42    5e-05     13.0
//	          typo                  0.02    0.0009     4.5
//	          year                  0.33    0.0066     5.6
//	          year_1                0.12    0.0123     3.3
//	          date_differs          0.01    0.009      0.2
//	          near_5                0.07    0.0296     1.2
//	          disagree              0.03    0.9416    -5.0
//	sex       agree                 0.99    0.5        1.0
//	          disagree              0.01    0.5       -5.6
//	phone     exact                 0.75    0.0001    12.9
//	          typo                  0.03    1e-05     11.6
//	          disagree              0.22    0.9999    -2.2
//	aadhaar   exact                 0.99    1e-08     26.6
//	          disagree              0.01    1         -6.6
//	document  exact                 0.85    1e-06     19.7
//	          typo                  0.08    5e-05     10.6
//	          disagree              0.07    0.99995   -3.8
//	address   exact                 0.2     0.0002    10.0
//	          close                 0.17    0.0002     9.7
//	          area                  0.2     0.03       2.7
//	          disagree              0.43    0.9696    -1.2
//	household other_member_matches  0.3     0.005      5.9
//
// Term frequency (TF): name, father's and spouse's exact agreement by the
// folded name; date of birth, phone and address exact agreement by the
// value; the address "area" level by pincode; the name levels tokens,
// phonetic and subset by the frequencies of the tokens. See tfWeight and
// tokenWeight.
//
// Household: the level's weight is what "another member matches, more
// likely than not" is worth. When another member of the arriving household
// is a registered member of the candidate's household beyond doubt (at or
// above Upper, on its own evidence, relatives' names left out), and the
// names agree whole in full tokens, the weight is instead the Bayes factor
// of being one family enrolled again, log2(s/(FamilySize·λ) + 1 − s) with s
// the probability of one family and λ the prior (see householdWeight),
// counted under the family cap with phone, address and father's name.
//
// Prior: a new resident is a given registered person with probability
// DuplicateRate/N (N persons registered, at least MinRegistry): 0.1/N.
// Family cap: father's name, phone and address together weigh at most
// log2(N/family size). When the names pick out one member of the family
// (tellsMember), the cap is instead the weight that takes the pair to odds
// of familyRegistered/(size − familyRegistered), and an agreeing phone or
// address line counts log2(familyRegistered·size/(DuplicateRate·(size −
// familyRegistered))) more: an arriving resident is another member of a
// registered family only by re-enrolment or as a member new to the
// registry, not as often as the registry's pairs say (see scoreFamily).
// Thresholds: link at 0.99, review from 0.3.
func DefaultModel() *Model {
	const (
		sg       = "surveygen (seed 1, 44k residents, 10% re-enrolled): share among true pairs (m) and random pairs (u), rounded towards FEBRL and reasoning"
		febrl    = "FEBRL dataset1/2 (share of duplicate pairs at this level) and Splink's FEBRL examples"
		reasoned = "reasoned estimate for door-to-door enrolment in Delhi; replace by `match train`"
	)
	return &Model{
		Fields: []FieldModel{
			{FieldName, []Level{
				{"exact", 0.65, 0.0005, sg + "; term-frequency adjusted"},
				{"tokens", 0.08, 0.0005, sg},
				{"phonetic", 0.07, 0.00015, sg},
				{"subset", 0.12, 0.004, sg},
				{"jw_high", 0.03, 0.0017, sg + "; " + febrl},
				{"jw_mid", 0.02, 0.012, sg + "; " + febrl},
				{"disagree", 0.03, 0.9812, sg + "; " + febrl},
			}},
			{FieldFather, relativeLevels(sg, reasoned+": a father's name given as heard, with Late, a nickname")},
			{FieldSpouse, relativeLevels(sg, reasoned+": remarriage, a spouse's name given as heard")},
			{FieldDOB, []Level{
				{"exact", 0.42, 5e-5, reasoned + ": u from ~80 birth years × 365 days, inflated for 1 January defaults; term-frequency adjusted"},
				{"typo", 0.02, 0.0009, sg},
				{"year", 0.33, 0.0066, sg},
				{"year_1", 0.12, 0.0123, sg},
				{"date_differs", 0.01, 0.009, sg},
				{"near_5", 0.07, 0.0296, sg + "; stated ages heap on multiples of 5 (NFHS-5)"},
				{"disagree", 0.03, 0.9416, febrl + " (6% of dates replaced); surveygen 0.1%"},
			}},
			{FieldSex, []Level{
				{"agree", 0.99, 0.5, reasoned + ": sex entered wrong in about 1% of enrolments"},
				{"disagree", 0.01, 0.5, reasoned},
			}},
			{FieldPhone, []Level{
				{"exact", 0.75, 0.0001, sg + "; a household shares one number: term-frequency adjusted"},
				{"typo", 0.03, 1e-5, sg + "; u: ~90 one-slip neighbours of a number among the numbers in use in a city, clustered by operator series"},
				{"disagree", 0.22, 0.9999, sg + ": a new SIM, a relative's number"},
			}},
			{FieldAadhaar, []Level{
				{"exact", 0.99, 1e-8, "reasoned: Aadhaar is unique per person and Verhoeff-checked at entry; u is a keying slip that passes the check"},
				{"disagree", 0.01, 1, "reasoned: as above"},
			}},
			{FieldDocument, []Level{
				{"exact", 0.85, 1e-6, febrl + " (soc_sec_id 90% exact)"},
				{"typo", 0.08, 5e-5, febrl},
				{"disagree", 0.07, 0.99995, febrl},
			}},
			{FieldAddress, []Level{
				{"exact", 0.20, 0.0002, sg + "; term-frequency adjusted"},
				{"close", 0.17, 0.0002, sg},
				{"area", 0.20, 0.03, sg + "; term-frequency adjusted by pincode"},
				{"disagree", 0.43, 0.9696, sg + ": half of re-enrolments are of people who moved or stay elsewhere"},
			}},
			{FieldHousehold, []Level{
				{"other_member_matches", 0.30, 0.005, reasoned + ": whole families are re-enrolled together"},
			}},
		},
		DuplicateRate: 0.1,  // surveygen's default and the 10% duplicates
		MinRegistry:   1000, // a ward's first day of enrolment
		FamilySize:    5,    // Census 2011: 16.8 million people in 3.4 million households in NCT Delhi, 4.9 a household
		Upper:         0.99,
		Lower:         0.3,
	}
}

// ParseModel reads a model written as JSON and checks it.
func ParseModel(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("match model: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that the model has every field and level in order, that
// probabilities are in (0, 1], and that the thresholds are ordered.
func (m *Model) Validate() error {
	if len(m.Fields) != numFields {
		return fmt.Errorf("match model: %d fields, want %d", len(m.Fields), numFields)
	}
	for f, fm := range m.Fields {
		if fm.Field != fieldNames[f] {
			return fmt.Errorf("match model: field %d is %q, want %q", f, fm.Field, fieldNames[f])
		}
		if len(fm.Levels) != len(fieldLevels[f]) {
			return fmt.Errorf("match model: %s has %d levels, want %d", fm.Field, len(fm.Levels), len(fieldLevels[f]))
		}
		for l, lv := range fm.Levels {
			if lv.Level != fieldLevels[f][l] {
				return fmt.Errorf("match model: %s level %d is %q, want %q", fm.Field, l, lv.Level, fieldLevels[f][l])
			}
			if !(lv.M > 0 && lv.M <= 1 && lv.U > 0 && lv.U <= 1) {
				return fmt.Errorf("match model: %s.%s: m and u must be in (0, 1]", fm.Field, lv.Level)
			}
		}
	}
	switch {
	case !(m.DuplicateRate > 0 && m.DuplicateRate < 1):
		return fmt.Errorf("match model: duplicate_rate must be in (0, 1)")
	case m.MinRegistry < 1:
		return fmt.Errorf("match model: min_registry must be at least 1")
	case !(m.FamilySize >= 1):
		return fmt.Errorf("match model: family_size must be at least 1")
	case !(m.Lower > 0 && m.Lower <= m.Upper && m.Upper < 1):
		return fmt.Errorf("match model: need 0 < lower ≤ upper < 1")
	}
	return nil
}

// Clone returns a deep copy.
func (m *Model) Clone() *Model {
	c := *m
	c.Fields = make([]FieldModel, len(m.Fields))
	for i, f := range m.Fields {
		c.Fields[i] = FieldModel{Field: f.Field, Levels: append([]Level(nil), f.Levels...)}
	}
	return &c
}

// weight is log2(m/u) of a level; 0 for missing.
func (m *Model) weight(f, level int) float64 {
	if level < 0 {
		return 0
	}
	l := &m.Fields[f].Levels[level]
	return math.Log2(l.M / l.U)
}

// registrySize is N for the prior and term frequencies.
func (m *Model) registrySize(freq Frequencies) float64 {
	n := 0
	if freq != nil {
		n = freq.Total()
	}
	return float64(max(n, m.MinRegistry, 1))
}

// PriorWeight is log2 of the prior odds that a new resident is one given
// registered person, with n persons registered.
func (m *Model) PriorWeight(n int) float64 {
	nf := float64(max(n, m.MinRegistry, 1))
	lambda := m.DuplicateRate / nf
	return math.Log2(lambda / (1 - lambda))
}

// Probability turns a match weight (log2 odds) into a probability.
func Probability(weight float64) float64 { return 1 / (1 + math.Exp2(-weight)) }

// relativeLevels are the levels of a father's or a spouse's name: the same
// evidence either way, measured on surveygen (source sg), except for why
// the names disagree when the person is the same.
func relativeLevels(sg, disagreeSource string) []Level {
	return []Level{
		{"exact", 0.75, 0.0009, sg + "; term-frequency adjusted"},
		{"tokens", 0.05, 0.001, sg},
		{"phonetic", 0.04, 0.0005, sg},
		{"subset", 0.06, 0.0055, sg},
		{"jw_high", 0.03, 0.001, sg},
		{"jw_mid", 0.02, 0.017, sg},
		{"disagree", 0.05, 0.9741, disagreeSource},
	}
}
