package fhir

import (
	"strings"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// PatientOf maps a registry person to a Patient whose id is the health ID's
// digits. A merged person is inactive and links to its survivor
// (replaced-by); a survivor links to each person merged into it (replaces).
//
// Names are written as enrolled in text, which is what to show: Indian
// names have no reliable family-name position, so the split into given
// and family (the last word) is only made for names of two words or more,
// and a one-word name has text alone. A date of birth known to the day is
// YYYY-MM-DD; one known as a year, or estimated from a stated age, is the
// year alone (FHIR's partial date), and the birth-date-precision extension
// says which.
func PatientOf(p store.Person) Patient {
	pt := Patient{ResourceType: "Patient", ID: digits(p.HealthID), Active: p.Status != "merged"}
	if !p.UpdatedAt.IsZero() {
		pt.Meta = &Meta{LastUpdated: Instant(p.UpdatedAt)}
	}
	if pt.ID != "" {
		pt.Identifier = []Identifier{{Use: "official", Type: &CodeableConcept{Text: "Doorstep health ID"},
			System: HealthIDSystem, Value: pt.ID}}
	}
	if n := name(p.Name); n != nil {
		pt.Name = []HumanName{*n}
	}
	if p.Phone != "" {
		pt.Telecom = []ContactPoint{{System: "phone", Value: p.Phone, Use: "mobile"}}
	}
	pt.Gender = gender(p.Sex)
	if d := birthDate(p.DOB, p.DOBPrecision); d != "" {
		pt.BirthDate = d
		if p.DOBPrecision != "" {
			pt.BirthDateExt = &Element{Extension: []Extension{{URL: BirthDatePrecisionURL, ValueCode: p.DOBPrecision}}}
		}
	}
	if p.Status == "deceased" {
		dead := true
		pt.DeceasedBoolean = &dead
	}
	if a := address(p.Address); a != nil {
		pt.Address = []Address{*a}
	}
	if p.MergedInto != "" {
		pt.Link = append(pt.Link, PatientLink{Other: Reference{Reference: "Patient/" + digits(p.MergedInto)}, Type: "replaced-by"})
	}
	for _, alias := range p.Aliases {
		pt.Link = append(pt.Link, PatientLink{Other: Reference{Reference: "Patient/" + digits(alias)}, Type: "replaces"})
	}
	return pt
}

// digits is a health ID in the identifier's canonical form.
func digits(healthID string) string {
	if id, err := cards.ParseHealthID(healthID); err == nil {
		return id.Digits()
	}
	return strings.ReplaceAll(healthID, "-", "")
}

func name(full string) *HumanName {
	words := strings.Fields(full)
	if len(words) == 0 {
		return nil
	}
	n := &HumanName{Use: "official", Text: strings.Join(words, " ")}
	if len(words) > 1 {
		n.Given, n.Family = words[:len(words)-1], words[len(words)-1]
	}
	return n
}

func gender(sex string) string {
	switch sex {
	case "M":
		return "male"
	case "F":
		return "female"
	case "O":
		return "other"
	}
	return "unknown"
}

// birthDate is dob as a FHIR date: the whole date only when it is known
// to the day.
func birthDate(dob, precision string) string {
	switch {
	case precision == schema.PrecisionDay && len(dob) == len("2006-01-02"):
		return dob
	case len(dob) >= 4:
		return dob[:4]
	}
	return ""
}

func address(a schema.Address) *Address {
	var out Address
	for _, l := range []string{a.Line1, a.Line2, a.Locality} {
		if l = strings.TrimSpace(l); l != "" {
			out.Line = append(out.Line, l)
		}
	}
	out.City, out.PostalCode = strings.TrimSpace(a.City), strings.TrimSpace(a.Pincode)
	if len(out.Line) == 0 && out.City == "" && out.PostalCode == "" {
		return nil
	}
	parts := out.Line
	if out.City != "" {
		parts = append(parts[:len(parts):len(parts)], out.City)
	}
	out.Text = strings.TrimSpace(strings.Join(parts, ", ") + " " + out.PostalCode)
	out.Use, out.Type, out.Country = "home", "physical", "IN"
	return &out
}
