package match

import (
	"testing"

	"github.com/doorstep-health/doorstep/schema"
)

// A family enrolled again after a move, with a new phone: the head is
// matched beyond doubt (name, father, exact date), and that makes his wife,
// whose name agrees but whose age was stated, a returning member too. On
// her own she would only be a review task.
func TestHouseholdEvidenceFromFamily(t *testing.T) {
	first := household("HR1", "H.No. 18, Gali No. 2", "Trilokpuri", "110091",
		with(person("h1", "Devendra Pratap Rawat", "M", "1968-09-14"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Kunwar Singh Rawat", "+919855555555"
		}),
		with(person("w1", "Kamla Rawat", "F", "1972-03-02"), func(r *schema.Resident) { r.SpouseName = "Devendra Pratap Rawat" }))
	again := household("HR2", "D-44, Block D", "Sultanpuri", "110086",
		with(person("h2", "Devendra Pratap Rawat", "M", "1968-09-14"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Kunwar Singh Rawat", "+919866666666"
		}),
		person("w2", "Kamla Rawat", "F", "age:52"))

	alone := NewMatcher(DefaultModel(), MatcherOptions{})
	background(t, alone)
	alone.AddHousehold(&first)
	w2 := again.Members[1]
	solo := household("HR3", "D-44, Block D", "Sultanpuri", "110086", w2)
	if d := decisionOf(alone.AddHousehold(&solo), "w2"); d.Outcome == OutcomeLink {
		t.Fatalf("alone: linked on her own evidence; the test needs a weaker case\n%s", showComparison(d.Best))
	}

	mt := NewMatcher(DefaultModel(), MatcherOptions{})
	background(t, mt)
	mt.AddHousehold(&first)
	ds := mt.AddHousehold(&again)
	if d := decisionOf(ds, "h2"); d.Outcome != OutcomeLink || d.Best.B != "h1" {
		t.Fatalf("head: %s\n%s", d.Outcome, showComparison(d.Best))
	}
	d := decisionOf(ds, "w2")
	if d.Outcome != OutcomeLink || d.Best.B != "w1" {
		t.Fatalf("wife: %s, want a link to w1\n%s", d.Outcome, showComparison(d.Best))
	}
	// More than the fixed weight of "another member matches", which left
	// her a review task.
	m := DefaultModel()
	for _, e := range d.Best.Evidence {
		if e.Field == FieldHousehold && e.Weight <= m.weight(fHousehold, householdOther) {
			t.Errorf("household evidence %.1f, no more than the fixed %.1f", e.Weight, m.weight(fHousehold, householdOther))
		}
	}
	if Probability(d.Best.Weight-d.Best.Evidence[fHousehold].Weight+m.weight(fHousehold, householdOther)) >= m.Upper {
		t.Errorf("the fixed weight alone would have linked her: the test needs a weaker case\n%s", showComparison(d.Best))
	}
}

// Household evidence picks out a member only by a name that agrees whole:
// another woman of a re-enrolled family, of another given name and the same
// marker, is not linked on it.
func TestHouseholdEvidenceNeedsTheName(t *testing.T) {
	first := household("HS1", "H.No. 18, Gali No. 2", "Trilokpuri", "110091",
		with(person("h1", "Devendra Pratap Rawat", "M", "1968-09-14"), func(r *schema.Resident) {
			r.FatherName = "Kunwar Singh Rawat"
		}),
		with(person("w1", "Anjali Devi", "F", "1993-06-30"), func(r *schema.Resident) { r.SpouseName = "Abhishek Rawat" }))
	again := household("HS2", "D-44, Block D", "Sultanpuri", "110086",
		with(person("h2", "Devendra Pratap Rawat", "M", "1968-09-14"), func(r *schema.Resident) {
			r.FatherName = "Kunwar Singh Rawat"
		}),
		with(person("w2", "Vidya Devi", "F", "1993-12-22"), func(r *schema.Resident) { r.SpouseName = "Abhishek Rawat" }))
	mt := NewMatcher(DefaultModel(), MatcherOptions{})
	background(t, mt)
	mt.AddHousehold(&first)
	d := decisionOf(mt.AddHousehold(&again), "w2")
	if d.Outcome == OutcomeLink {
		t.Fatalf("linked\n%s", showComparison(d.Best))
	}
}

// A resident whose birth year is unknown still finds a registered one of
// the same name, and the other way round.
func TestBlockingUnknownBirthYear(t *testing.T) {
	h := household("HU", "H.No. 1", "Burari", "110084", person("k", "Zarina Parveen", "F", "1984-01-05"))
	known := features(h, 0)
	unknown := known
	unknown.BirthYear, unknown.Precision, unknown.DOB = 0, 0, ""
	share := func(stored, lookup *Features) bool {
		st := make(map[string]bool)
		for _, k := range BlockingKeys(stored) {
			st[k] = true
		}
		for _, k := range LookupKeys(lookup) {
			if st[k] && (keyKind(k) == KeyName || keyKind(k) == KeyNameOnly) {
				return true
			}
		}
		return false
	}
	if !share(&known, &unknown) {
		t.Error("unknown year looking up a known one: no name key in common")
	}
	if !share(&unknown, &known) {
		t.Error("known year looking up an unknown one: no name key in common")
	}
}

// A member of a registered family enrolled again on her own at the family's
// house, with its phone and her father's name, and a stated age: once the
// family is known, her name picks her out of it, and she is linked. A name
// that does not pick out one member (the initial of twins, another given
// name) is not linked on the family's evidence.
func TestFamilyMemberReturning(t *testing.T) {
	const phone = "+919845856631"
	first := household("HF1", "C-81, C Block", "Pitampura", "110034",
		with(person("f1", "Suresh Kumar Singh", "M", "1975-02-11"), func(r *schema.Resident) { r.Phone = phone }),
		with(person("f2", "Rinki Singh", "F", "2004-04-07"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Suresh Kumar Singh", phone
		}),
		with(person("f3", "Rahul Singh", "M", "2006-09-30"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Suresh Kumar Singh", phone
		}),
		with(person("f4", "Rohit Singh", "M", "2006-09-30"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Suresh Kumar Singh", phone
		}))
	tests := []struct {
		name   string
		member schema.Resident
		link   string // the resident it must be linked to, or "" for no link
	}{
		{"the same given name", with(person("n1", "Rinky Singh", "F", "age:20"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Suresh Kumar Singh", phone
		}), "f2"},
		{"the given name, no surname", with(person("n2", "Rinki", "F", "2004"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Suresh Kumar Singh", phone
		}), "f2"},
		{"the initial of twins", with(person("n3", "R. Singh", "M", "age:20"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Suresh Kumar Singh", phone
		}), ""},
		{"a cousin", with(person("n4", "Rakesh Singh", "M", "2006"), func(r *schema.Resident) {
			r.FatherName, r.Phone = "Suresh Kumar Singh", phone
		}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := NewMatcher(DefaultModel(), MatcherOptions{})
			background(t, mt)
			mt.AddHousehold(&first)
			again := household("HF2", "C-81, C Block", "Pitampura", "110034", tt.member)
			d := decisionOf(mt.AddHousehold(&again), tt.member.ID)
			switch {
			case tt.link != "" && (d.Outcome != OutcomeLink || d.Best.B != tt.link):
				t.Fatalf("%s, want a link to %s\n%s", d.Outcome, tt.link, showComparison(d.Best))
			case tt.link == "" && d.Outcome == OutcomeLink:
				t.Fatalf("linked\n%s", showComparison(d.Best))
			}
		})
	}
}
