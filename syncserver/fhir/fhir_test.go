package fhir_test

import (
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/fhir"
	"github.com/doorstep-health/doorstep/syncserver/fhir/fhirtest"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

func newHealthID(t *testing.T) cards.HealthID {
	t.Helper()
	id, err := cards.NewHealthID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// person is an active person as the store reads it.
func person(t *testing.T) store.Person {
	t.Helper()
	return store.Person{
		HealthID: newHealthID(t).String(), Status: "active",
		Name: "Sunita  Devi", Sex: "F", DOB: "1985-08-15", DOBPrecision: schema.PrecisionDay,
		Phone:     "+919812345678",
		Address:   schema.Address{Line1: "H.No. 12, Gali 3", Locality: "Rohini", City: "Delhi", Pincode: "110085"},
		Area:      "DL-NW-W05",
		CreatedAt: time.Date(2026, 3, 2, 5, 30, 0, 0, time.UTC),
		UpdatedAt: time.Date(2026, 3, 2, 6, 0, 0, 0, time.FixedZone("IST", 5*3600+1800)),
	}
}

func TestPatientOf(t *testing.T) {
	p := person(t)
	pt := fhir.PatientOf(p)
	digits := strings.ReplaceAll(p.HealthID, "-", "")
	if pt.ResourceType != "Patient" || pt.ID != digits || !pt.Active || pt.Link != nil {
		t.Errorf("patient: %+v", pt)
	}
	if want := []fhir.Identifier{{Use: "official", Type: &fhir.CodeableConcept{Text: "Doorstep health ID"},
		System: fhir.HealthIDSystem, Value: digits}}; len(pt.Identifier) != 1 || pt.Identifier[0].System != want[0].System ||
		pt.Identifier[0].Value != want[0].Value || pt.Identifier[0].Use != "official" {
		t.Errorf("identifier %+v, want %+v", pt.Identifier, want)
	}
	if n := pt.Name; len(n) != 1 || n[0].Text != "Sunita Devi" || n[0].Family != "Devi" || !slices.Equal(n[0].Given, []string{"Sunita"}) {
		t.Errorf("name %+v", n)
	}
	if pt.Gender != "female" || pt.BirthDate != "1985-08-15" || pt.BirthDateExt.Extension[0].ValueCode != "day" {
		t.Errorf("gender %q birthDate %q %+v", pt.Gender, pt.BirthDate, pt.BirthDateExt)
	}
	if tel := pt.Telecom; len(tel) != 1 || tel[0] != (fhir.ContactPoint{System: "phone", Value: "+919812345678", Use: "mobile"}) {
		t.Errorf("telecom %+v", tel)
	}
	if a := pt.Address; len(a) != 1 || !slices.Equal(a[0].Line, []string{"H.No. 12, Gali 3", "Rohini"}) || a[0].City != "Delhi" ||
		a[0].PostalCode != "110085" || a[0].Country != "IN" || a[0].Text != "H.No. 12, Gali 3, Rohini, Delhi 110085" {
		t.Errorf("address %+v", a)
	}
	if pt.Meta == nil || pt.Meta.LastUpdated != "2026-03-02T00:30:00.000Z" {
		t.Errorf("meta %+v", pt.Meta)
	}

	for _, c := range []struct {
		name, sex, dob, precision string
		wantGiven                 []string
		wantFamily, wantGender    string
		wantBirth                 string
	}{
		{"Lalitha", "F", "1961", schema.PrecisionYear, nil, "", "female", "1961"},
		{"Mohammed Imran Qureshi", "M", "1990", schema.PrecisionEstimated, []string{"Mohammed", "Imran"}, "Qureshi", "male", "1990"},
		{"Rani", "O", "", "", nil, "", "other", ""},
		{"Ramesh Kumar", "", "2001-02-03", schema.PrecisionYear, []string{"Ramesh"}, "Kumar", "unknown", "2001"},
	} {
		p := person(t)
		p.Name, p.Sex, p.DOB, p.DOBPrecision = c.name, c.sex, c.dob, c.precision
		pt := fhir.PatientOf(p)
		n := pt.Name[0]
		if n.Text != c.name || n.Family != c.wantFamily || !slices.Equal(n.Given, c.wantGiven) {
			t.Errorf("%s: name %+v", c.name, n)
		}
		if pt.Gender != c.wantGender || pt.BirthDate != c.wantBirth {
			t.Errorf("%s: gender %q birthDate %q", c.name, pt.Gender, pt.BirthDate)
		}
		switch {
		case c.wantBirth == "" && pt.BirthDateExt != nil:
			t.Errorf("%s: precision without a birthDate: %+v", c.name, pt.BirthDateExt)
		case c.wantBirth != "" && (pt.BirthDateExt == nil || pt.BirthDateExt.Extension[0] != fhir.Extension{URL: fhir.BirthDatePrecisionURL, ValueCode: c.precision}):
			t.Errorf("%s: birthDate precision %+v, want %s", c.name, pt.BirthDateExt, c.precision)
		}
	}

	// A merged person points at its survivor; the survivor at what it replaced.
	survivor, merged := person(t), person(t)
	merged.Status, merged.MergedInto = "merged", survivor.HealthID
	survivor.Aliases = []string{merged.HealthID}
	m := fhir.PatientOf(merged)
	if m.Active || len(m.Link) != 1 || m.Link[0].Type != "replaced-by" ||
		m.Link[0].Other.Reference != "Patient/"+strings.ReplaceAll(survivor.HealthID, "-", "") {
		t.Errorf("merged: active %v, links %+v", m.Active, m.Link)
	}
	s := fhir.PatientOf(survivor)
	if !s.Active || len(s.Link) != 1 || s.Link[0].Type != "replaces" ||
		s.Link[0].Other.Reference != "Patient/"+strings.ReplaceAll(merged.HealthID, "-", "") {
		t.Errorf("survivor: active %v, links %+v", s.Active, s.Link)
	}

	dead := person(t)
	dead.Status = "deceased"
	if d := fhir.PatientOf(dead); d.DeceasedBoolean == nil || !*d.DeceasedBoolean || !d.Active {
		t.Errorf("deceased: %+v", d)
	}
	bare := store.Person{HealthID: newHealthID(t).String(), Status: "active"}
	if b := fhir.PatientOf(bare); b.Address != nil || b.Name != nil || b.Telecom != nil || b.BirthDate != "" || b.Meta != nil {
		t.Errorf("a person with nothing known: %+v", b)
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every kind of resource we produce is valid R4 by HL7's schema, and the
// schema does reject broken resources, so a pass means something.
func TestResourcesAreValidR4(t *testing.T) {
	v := fhirtest.Load(t, "testdata/fhir.schema.json.gz")

	survivor, merged := person(t), person(t)
	merged.Status, merged.MergedInto = "merged", survivor.HealthID
	survivor.Aliases = []string{merged.HealthID}
	estimated := person(t)
	estimated.Name, estimated.DOB, estimated.DOBPrecision, estimated.Sex = "Lalitha", "1961", schema.PrecisionEstimated, "O"
	dead := person(t)
	dead.Status = "deceased"
	bare := store.Person{HealthID: newHealthID(t).String(), Status: "active", Sex: "F"}

	now := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	base := "http://127.0.0.1:8080/fhir"
	search := base + "/Patient?identifier=" + fhir.HealthIDSystem + "|" + strings.ReplaceAll(merged.HealthID, "-", "")
	valid := map[string]any{
		"active Patient":         fhir.PatientOf(survivor),
		"merged Patient":         fhir.PatientOf(merged),
		"estimated-year Patient": fhir.PatientOf(estimated),
		"deceased Patient":       fhir.PatientOf(dead),
		"bare Patient":           fhir.PatientOf(bare),
		"Bundle with entries":    fhir.SearchSet(base, search, now, []fhir.Patient{fhir.PatientOf(merged), fhir.PatientOf(survivor)}),
		"empty Bundle":           fhir.SearchSet(base, search, now, nil),
		"OperationOutcome":       fhir.Outcome("not-found", "no person has health ID 12-3456-7890-1234"),
		"CapabilityStatement":    fhir.Capabilities(base),
	}
	for what, r := range valid {
		v.Check(t, what, marshal(t, r))
	}

	// The empty Bundle still says total 0: a searchset without it would be
	// valid R4 too, but clients count on it.
	if b := string(marshal(t, fhir.SearchSet(base, search, now, nil))); !strings.Contains(b, `"total":0`) || strings.Contains(b, `"entry"`) {
		t.Errorf("empty Bundle: %s", b)
	}

	good := string(marshal(t, fhir.PatientOf(survivor)))
	for what, doc := range map[string]string{
		"gender as we store it":         strings.Replace(good, `"gender":"female"`, `"gender":"F"`, 1),
		"birthDate written Indian":      strings.Replace(good, `"birthDate":"1985-08-15"`, `"birthDate":"15/08/1985"`, 1),
		"an element R4 has not":         strings.Replace(good, `"active":true`, `"active":true,"healthId":"x"`, 1),
		"active as a string":            strings.Replace(good, `"active":true`, `"active":"true"`, 1),
		"a link with an empty type":     string(marshal(t, fhir.Patient{ResourceType: "Patient", Link: []fhir.PatientLink{{Other: fhir.Reference{Reference: "Patient/1"}}}})),
		"an unknown resource type":      `{"resourceType":"Person2","id":"x"}`,
		"an OperationOutcome, no issue": `{"resourceType":"OperationOutcome"}`,
		"an issue of no IssueType":      string(marshal(t, fhir.Outcome("not_found", "x"))),
		"a Bundle of no BundleType":     strings.Replace(string(marshal(t, fhir.SearchSet(base, search, now, nil))), `"searchset"`, `"results"`, 1),
	} {
		if doc == good {
			t.Fatalf("%s: the test's replacement did not apply", what)
		}
		if err := v.Validate([]byte(doc)); err == nil {
			t.Errorf("%s passed validation: %s", what, doc)
		}
	}
}

func TestSearchHealthIDs(t *testing.T) {
	a, b := newHealthID(t), newHealthID(t)
	sys := fhir.HealthIDSystem + "|"
	for _, c := range []struct {
		param string
		want  []string
	}{
		{sys + a.Digits(), []string{a.Digits()}},
		{sys + a.String(), []string{a.Digits()}},
		{a.String(), []string{a.Digits()}}, // any system
		{"|" + a.Digits(), nil},            // explicitly no system
		{"https://abdm.gov.in/abha|" + a.Digits(), nil},
		{sys + "12345", nil},
		{sys, nil},
		{"", nil},
		{sys + a.Digits() + "," + sys + b.String() + "," + a.String(), []string{a.Digits(), b.Digits()}},
		{"urn:other|x," + sys + b.Digits(), []string{b.Digits()}},
	} {
		if got := fhir.SearchHealthIDs(c.param); !slices.Equal(got, c.want) {
			t.Errorf("SearchHealthIDs(%q) = %v, want %v", c.param, got, c.want)
		}
	}
}
