package match

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

var testVisit = time.Date(2026, 3, 2, 11, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))

// person builds a resident; dob is YYYY-MM-DD, YYYY, or "age:N" for a
// stated age.
func person(id, name, sex, dob string) schema.Resident {
	r := schema.Resident{ID: id, Name: name, Sex: sex, Relation: "other"}
	switch {
	case len(dob) > 4 && dob[:4] == "age:":
		var age int
		fmt.Sscan(dob[4:], &age)
		r.Age = &age
	case len(dob) == 4:
		r.DOB, r.DOBPrecision = dob, schema.PrecisionYear
	default:
		r.DOB = dob
	}
	return r
}

func with(r schema.Resident, f func(*schema.Resident)) schema.Resident { f(&r); return r }

func household(id, line1, locality, pincode string, members ...schema.Resident) schema.Household {
	h := schema.Household{ID: id, Area: "DL-N-W01", Outcome: schema.OutcomeEnrolled,
		Address:   schema.Address{Line1: line1, Locality: locality, City: "Delhi", Pincode: pincode},
		Consent:   schema.Consent{Given: true},
		VisitedAt: testVisit.Format(time.RFC3339)}
	for i := range members {
		members[i].Relation = "other"
		if i == 0 {
			members[i].Relation = "head"
		}
	}
	h.Members = members
	h.Normalize(testVisit)
	return h
}

// background registers a few hundred synthetic households, so that term
// frequencies and the registry size are not those of an empty registry.
func background(t testing.TB, mt *Matcher) {
	t.Helper()
	for _, l := range synthData(99, 2000, 0) {
		mt.AddHousehold(&l.Household)
	}
}

func decisionOf(ds []Decision, id string) Decision {
	for _, d := range ds {
		if d.Resident == id {
			return d
		}
	}
	panic("no decision for " + id)
}

// The cases the issue says must hold, whatever the model's numbers.
func TestMustHold(t *testing.T) {
	sunitaBurari := household("HB1", "H.No. 12, Gali No. 3", "Burari", "110084",
		person("sb", "Sunita Devi", "F", "1980"))
	ramFather := with(person("rf", "Ram Kumar", "M", "1960-03-01"), func(r *schema.Resident) {
		r.FatherName, r.Phone = "Shyam Lal", "+919811111111"
	})
	tests := []struct {
		name   string
		before []schema.Household // registered first
		add    schema.Household   // then this household arrives
		who    string             // the resident under test
		want   []Outcome          // allowed outcomes
		notTo  string             // must not be linked to this resident (for OutcomeLink)
		to     string             // the candidate a link or review must be with
	}{
		{
			name: "twins in one household",
			add: household("HT", "H.No. 5, Gali 2", "Mangolpuri", "110083",
				with(person("tf", "Mahesh Yadav", "M", "1975-01-10"), func(r *schema.Resident) { r.Phone = "+919822222222" }),
				with(person("t1", "Luv Yadav", "M", "2012-08-15"), func(r *schema.Resident) { r.FatherName, r.Phone = "Mahesh Yadav", "+919822222222" }),
				with(person("t2", "Kush Yadav", "M", "2012-08-15"), func(r *schema.Resident) { r.FatherName, r.Phone = "Mahesh Yadav", "+919822222222" })),
			who: "t2", want: []Outcome{OutcomeNew},
		},
		{
			name: "twins with near names in one household",
			add: household("HT2", "H.No. 6, Gali 2", "Mangolpuri", "110083",
				with(person("u1", "Anjali Verma", "F", "2015-02-01"), func(r *schema.Resident) { r.FatherName = "Rohit Verma" }),
				with(person("u2", "Anjana Verma", "F", "2015-02-01"), func(r *schema.Resident) { r.FatherName = "Rohit Verma" })),
			who: "u2", want: []Outcome{OutcomeNew, OutcomeReview},
		},
		{
			name: "father and son of one name in one household",
			add: household("HF", "H.No. 44, Gali 9", "Seelampur", "110053", ramFather,
				with(person("rs", "Ram Kumar", "M", "1985-07-10"), func(r *schema.Resident) {
					r.FatherName, r.Phone = "Ram Kumar", "+919811111111"
				})),
			who: "rs", want: []Outcome{OutcomeNew, OutcomeReview},
		},
		{
			name:   "father and son of one name, son enrolled elsewhere with a stated age",
			before: []schema.Household{household("HF2", "H.No. 44, Gali 9", "Seelampur", "110053", ramFather)},
			add: household("HS2", "H.No. 7, Gali 1", "Seelampur", "110053",
				with(person("rs2", "Ram Kumar", "M", "age:40"), func(r *schema.Resident) { r.Phone = "+919811111111" })),
			who: "rs2", want: []Outcome{OutcomeNew, OutcomeReview}, notTo: "rf",
		},
		{
			name:   "common name, same birth year, different localities",
			before: []schema.Household{sunitaBurari},
			add: household("HO1", "H.No. 300, Gali 14", "Okhla", "110025",
				person("so", "Sunita Devi", "F", "1980")),
			who: "so", want: []Outcome{OutcomeNew, OutcomeReview}, notTo: "sb",
		},
		{
			name:   "common name, dates in one year, different localities",
			before: []schema.Household{household("HB2", "H.No. 12, Gali No. 3", "Burari", "110084", person("sb2", "Sunita Devi", "F", "1980-04-11"))},
			add:    household("HO2", "H.No. 300, Gali 14", "Okhla", "110025", person("so2", "Sunita Devi", "F", "1980-09-23")),
			who:    "so2", want: []Outcome{OutcomeNew, OutcomeReview}, notTo: "sb2",
		},
		{
			name: "re-enrolled by a second team: transliterated name, an age, no phone",
			before: []schema.Household{household("HC1", "H.No. 231, Gali No. 7", "Burari", "110084",
				with(person("sc", "Suresh Chaudhary", "M", "1975-04-12"), func(r *schema.Resident) {
					r.FatherName, r.Phone = "Harish Chaudhary", "+919833333333"
				}))},
			add: household("HC2", "House No 231 Gali 7", "Burari", "110084",
				with(person("sc2", "Shri Suresh Choudhry", "M", "age:50"), func(r *schema.Resident) {
					r.FatherName = "Harish Chowdhury"
				})),
			who: "sc2", want: []Outcome{OutcomeLink, OutcomeReview}, to: "sc",
		},
		{
			name: "re-enrolled after moving: transliterated name, an age, nothing else",
			before: []schema.Household{household("HL1", "H.No. 9, Gali 4", "Trilokpuri", "110091",
				with(person("lv", "Lakshmi Verma", "F", "1990-06-30"), func(r *schema.Resident) { r.SpouseName = "Dinesh Verma" }))},
			add: household("HL2", "D-14, Block D", "Sultanpuri", "110086",
				with(person("lv2", "Smt. Laxmi Varma", "F", "age:35"), func(r *schema.Resident) { r.SpouseName = "Dinesh Varma" })),
			who: "lv2", want: []Outcome{OutcomeLink, OutcomeReview}, to: "lv",
		},
		{
			name: "sex disagrees on everything else agreeing",
			before: []schema.Household{household("HX1", "H.No. 1, Gali 1", "Narela", "110040",
				with(person("x1", "Kiran Sharma", "F", "1992-02-02"), func(r *schema.Resident) { r.Phone, r.FatherName = "+919844444444", "Om Prakash Sharma" }))},
			add: household("HX2", "H.No. 1, Gali 1", "Narela", "110040",
				with(person("x2", "Kiran Sharma", "M", "1992-02-02"), func(r *schema.Resident) { r.Phone, r.FatherName = "+919844444444", "Om Prakash Sharma" })),
			who: "x2", want: []Outcome{OutcomeNew, OutcomeReview},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := NewMatcher(DefaultModel(), MatcherOptions{})
			background(t, mt)
			for i := range tt.before {
				mt.AddHousehold(&tt.before[i])
			}
			d := decisionOf(mt.AddHousehold(&tt.add), tt.who)
			if !slices.Contains(tt.want, d.Outcome) {
				t.Fatalf("outcome %s, want one of %v\n%s", d.Outcome, tt.want, showComparison(d.Best))
			}
			if tt.notTo != "" && d.Outcome == OutcomeLink && d.Best.B == tt.notTo {
				t.Fatalf("linked to %s", tt.notTo)
			}
			if tt.to != "" && (d.Best == nil || d.Best.B != tt.to) {
				t.Fatalf("best candidate is not %s\n%s", tt.to, showComparison(d.Best))
			}
		})
	}
}

func showComparison(c *Comparison) string {
	if c == nil {
		return "no candidate"
	}
	s := fmt.Sprintf("%s vs %s: weight %.1f (prior %.1f), p=%.3f, blocks %v\n", c.A, c.B, c.Weight, c.Prior, c.Probability, c.Blocks)
	for _, e := range c.Evidence {
		s += fmt.Sprintf("  %-9s %-20s %6.1f  %q | %q\n", e.Field, e.Level, e.Weight, e.A, e.B)
	}
	return s
}

// features returns the Features of member i of h.
func features(h schema.Household, i int) Features { return NewFeatures(&h.Members[i], &h) }

func TestScoreHardRules(t *testing.T) {
	m := DefaultModel()
	h := household("H1", "H.No. 3, Gali 3", "Burari", "110084",
		person("a", "Ram Kumar", "M", "1960-03-01"),
		person("b", "Ram Kumar", "M", "1985-07-10"),
		person("c", "Ram Kumar", "F", "1960-03-01"))
	o := household("H2", "H.No. 3, Gali 3", "Burari", "110084",
		person("d", "Ram Kumar", "M", "1961"),
		person("e", "Ram Kumar", "M", "age:60"), // 1966: within five years of 1960
		with(person("f", "Ram Kumar", "M", "1990-03-01"), func(r *schema.Resident) {
			r.Documents = []schema.Document{{Type: "voter_id", Number: "DL0123456"}}
		}))
	doc := household("H3", "Flat 9", "Rohini Sector 7", "110085",
		with(person("g", "Ram Kumar", "M", "1960-03-01"), func(r *schema.Resident) {
			r.Documents = []schema.Document{{Type: "voter_id", Number: "DL0123456"}}
		}),
		with(person("i", "Kamlesh", "M", "1971-06-05"), func(r *schema.Resident) { r.Aadhaar = "234123412346" }))
	wife := household("H4", "Flat 9", "Rohini Sector 7", "110085",
		with(person("j", "Kamlesh", "F", "1971-06-05"), func(r *schema.Resident) { r.Aadhaar = "234123412346" }),
		person("k", "Kamlesh", "F", "1971-06-05"))
	tests := []struct {
		name string
		a, b Features
		want []string
	}{
		{"same household", features(h, 0), features(h, 1), []string{BlockSameHousehold, BlockBirthYear}},
		{"sex", features(h, 0), features(h, 2), []string{BlockSameHousehold, BlockSex}},
		{"day and year one apart", features(h, 0), features(o, 0), nil},
		{"day and stated age six apart", features(h, 0), features(o, 1), []string{BlockBirthYear}},
		{"an identity document outweighs the birth year", features(doc, 0), features(o, 2), nil},
		{"Aadhaar outweighs the sex", features(doc, 1), features(wife, 0), nil},
		{"the sex without Aadhaar", features(doc, 1), features(wife, 1), []string{BlockSex}},
	}
	for _, tt := range tests {
		c := m.Score(&tt.a, &tt.b, nil, HouseholdUnknown)
		if !slices.Equal(c.Blocks, tt.want) {
			t.Errorf("%s: blocks %v, want %v", tt.name, c.Blocks, tt.want)
		}
	}
}

// A missing field is missing evidence: it weighs nothing, and a pair scores
// the same whichever side lacks it.
func TestMissingIsNotDisagreement(t *testing.T) {
	m := DefaultModel()
	full := household("H1", "H.No. 8", "Burari", "110084",
		with(person("a", "Asha Rani", "F", "1970-05-05"), func(r *schema.Resident) { r.Phone, r.FatherName = "+919855555555", "Mohan Lal" }))
	bare := household("H2", "H.No. 8", "Burari", "110084",
		schema.Resident{ID: "b", Name: "Asha Rani", DOB: "1970-05-05"})
	a, b := features(full, 0), features(bare, 0)
	c := m.Score(&a, &b, nil, HouseholdUnknown)
	for _, e := range c.Evidence {
		switch e.Field {
		case FieldSex, FieldPhone, FieldFather, FieldSpouse, FieldAadhaar, FieldDocument:
			if e.Level != "missing" || e.Weight != 0 {
				t.Errorf("%s: level %s weight %.2f, want missing and 0", e.Field, e.Level, e.Weight)
			}
		}
	}
	if r := m.Score(&b, &a, nil, HouseholdUnknown); math.Abs(r.Weight-c.Weight) > 1e-9 {
		t.Errorf("weight %.3f one way, %.3f the other", c.Weight, r.Weight)
	}
}

func TestEvidenceAddsUp(t *testing.T) {
	m := DefaultModel()
	mt := NewMatcher(m, MatcherOptions{})
	background(t, mt)
	h1 := household("H1", "H.No. 231, Gali No. 7", "Burari", "110084",
		with(person("a", "Suresh Chaudhary", "M", "1975-04-12"), func(r *schema.Resident) { r.FatherName, r.Phone = "Harish Chaudhary", "+919833333333" }))
	h2 := household("H2", "House No 231 Gali 7", "Burari", "110084",
		with(person("b", "Suresh Choudhry", "M", "age:50"), func(r *schema.Resident) { r.FatherName, r.Phone = "Harish Chowdhury", "+919833333333" }))
	a, b := features(h2, 0), features(h1, 0)
	for _, hh := range []HouseholdEvidence{HouseholdUnknown, HouseholdOtherMatch} {
		c := m.Score(&a, &b, mt.Frequencies(), hh)
		sum := c.Prior
		for _, e := range c.Evidence {
			sum += e.Weight
		}
		if math.Abs(sum-c.Weight) > 1e-9 {
			t.Errorf("prior + evidence = %.4f, weight %.4f", sum, c.Weight)
		}
		if p := Probability(c.Weight); math.Abs(p-c.Probability) > 1e-12 {
			t.Errorf("probability %.6f, want %.6f", c.Probability, p)
		}
	}
	without := m.Score(&a, &b, mt.Frequencies(), HouseholdUnknown)
	with := m.Score(&a, &b, mt.Frequencies(), HouseholdOtherMatch)
	if !(with.Weight > without.Weight) {
		t.Errorf("household evidence: weight %.2f with, %.2f without", with.Weight, without.Weight)
	}
}

// "Ram Kumar" agreeing counts for less than a rare name agreeing.
func TestTermFrequency(t *testing.T) {
	m := DefaultModel()
	freq := NewFrequencyTable()
	for i := range 5000 {
		name := fmt.Sprintf("Person%d Name%d", i, i)
		if i%50 == 0 {
			name = "Ram Kumar"
		}
		h := household(fmt.Sprintf("B%d", i), "x", "Burari", "110084", person(fmt.Sprint(i), name, "M", "1970"))
		f := features(h, 0)
		freq.AddPerson(FrequencyKeys(&f))
	}
	score := func(name string) float64 {
		h1 := household("H1", "1", "Burari", "110084", person("a", name, "M", "1970"))
		h2 := household("H2", "2", "Okhla", "110025", person("b", name, "M", "1970"))
		a, b := features(h1, 0), features(h2, 0)
		for _, e := range m.Score(&a, &b, freq, HouseholdUnknown).Evidence {
			if e.Field == FieldName {
				return e.Weight
			}
		}
		return 0
	}
	common, rare := score("Ram Kumar"), score("Zorawar Bhullar")
	if !(common+3 < rare) {
		t.Errorf("name weight: Ram Kumar %.1f, Zorawar Bhullar %.1f; want the common name well below", common, rare)
	}
}

func TestMatcherDeterministic(t *testing.T) {
	data := synthData(7, 3000, 0.1)
	run := func() []string {
		mt := NewMatcher(DefaultModel(), MatcherOptions{})
		var out []string
		for i := range data {
			h := data[i].Household
			for _, d := range mt.AddHousehold(&h) {
				out = append(out, d.Resident+">"+d.Person+":"+d.Outcome.String())
			}
		}
		return out
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Fatal("two runs over the same data decided differently")
	}
}

func TestModelJSON(t *testing.T) {
	m := DefaultModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseModel(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, back) {
		t.Fatal("model changed through JSON")
	}
	broken := m.Clone()
	broken.Fields[0].Levels[0].U = 0
	if broken.Validate() == nil {
		t.Error("a u of 0 validated")
	}
	broken = m.Clone()
	broken.Fields = broken.Fields[1:]
	if broken.Validate() == nil {
		t.Error("a missing field validated")
	}
	if _, err := ParseModel([]byte(`{"fields": 3}`)); err == nil {
		t.Error("malformed JSON parsed")
	}
}
