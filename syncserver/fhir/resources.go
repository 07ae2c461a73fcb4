// Package fhir maps the registry to FHIR R4 (4.0.1) JSON resources for
// hospital systems (DESIGN.md §7): a person becomes a Patient, a search
// answers with a searchset Bundle, an error is an OperationOutcome, and the
// server describes itself with a CapabilityStatement. It holds only types
// and mappings; syncserver/http serves them.
//
// The resources carry only the elements we fill; testdata/fhir.schema.json.gz
// (HL7's R4 JSON schema) checks in the tests that each is valid R4.
package fhir

import (
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/cards"
)

const (
	// Version is the FHIR release the resources follow.
	Version = "4.0.1"

	// ContentType is the media type of every response under /fhir.
	ContentType = "application/fhir+json; charset=utf-8"

	// HealthIDSystem is the identifier system of our health IDs: the value
	// is the 14 digits without dashes (the printed form adds dashes as
	// XX-XXXX-XXXX-XXXX). Never change it: hospitals store it.
	HealthIDSystem = "https://doorstep-health.org/fhir/sid/health-id"

	// BirthDatePrecisionURL is our extension on Patient.birthDate saying
	// how the date was known: day (a document or certain answer), year (a
	// stated year) or estimated (worked out from a stated age, so only the
	// year, and that roughly).
	BirthDatePrecisionURL = "https://doorstep-health.org/fhir/StructureDefinition/birth-date-precision"
)

// Patient is a FHIR R4 Patient with the elements the registry fills.
type Patient struct {
	ResourceType    string         `json:"resourceType"` // always "Patient"
	ID              string         `json:"id,omitempty"`
	Meta            *Meta          `json:"meta,omitempty"`
	Identifier      []Identifier   `json:"identifier,omitempty"`
	Active          bool           `json:"active"`
	Name            []HumanName    `json:"name,omitempty"`
	Telecom         []ContactPoint `json:"telecom,omitempty"`
	Gender          string         `json:"gender,omitempty"`
	BirthDate       string         `json:"birthDate,omitempty"`
	BirthDateExt    *Element       `json:"_birthDate,omitempty"`
	DeceasedBoolean *bool          `json:"deceasedBoolean,omitempty"`
	Address         []Address      `json:"address,omitempty"`
	Link            []PatientLink  `json:"link,omitempty"`
}

// Meta is a resource's metadata.
type Meta struct {
	LastUpdated string `json:"lastUpdated,omitempty"` // an instant: RFC 3339 with seconds and zone
}

// Element carries the extensions of a primitive value (FHIR's _name).
type Element struct {
	Extension []Extension `json:"extension,omitempty"`
}

// Extension is a coded extension, the only kind we write.
type Extension struct {
	URL       string `json:"url"`
	ValueCode string `json:"valueCode,omitempty"`
}

// Identifier is a business identifier: our health ID.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// CodeableConcept is a concept; we name ours in text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// ContactPoint is a phone number.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Address is a postal address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Type       string   `json:"type,omitempty"`
	Text       string   `json:"text,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// PatientLink points at another Patient resource about the same person.
type PatientLink struct {
	Other Reference `json:"other"`
	Type  string    `json:"type"` // replaced-by, replaces, refer, seealso
}

// Reference is a relative reference such as Patient/12345678901234.
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

// Bundle is a searchset Bundle of Patients.
type Bundle struct {
	ResourceType string        `json:"resourceType"` // always "Bundle"
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        int           `json:"total"` // present even when 0: a searchset says how many matched
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is a link about the bundle, such as the search it answers.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one resource of a Bundle.
type BundleEntry struct {
	FullURL  string       `json:"fullUrl,omitempty"`
	Resource Patient      `json:"resource"`
	Search   *EntrySearch `json:"search,omitempty"`
}

// EntrySearch says why an entry is in a searchset.
type EntrySearch struct {
	Mode string `json:"mode,omitempty"` // match
}

// SearchSet is the searchset Bundle of patients found by the search self
// (an absolute URL); base is the server's FHIR base URL, ending in /fhir,
// from which the entries' full URLs are made.
func SearchSet(base, self string, now time.Time, patients []Patient) Bundle {
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: len(patients),
		Meta: &Meta{LastUpdated: Instant(now)},
		Link: []BundleLink{{Relation: "self", URL: self}}}
	for _, p := range patients {
		b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/Patient/" + p.ID, Resource: p,
			Search: &EntrySearch{Mode: "match"}})
	}
	return b
}

// OperationOutcome reports why a request failed.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"` // always "OperationOutcome"
	Issue        []Issue `json:"issue"`
}

// Issue is one problem of an OperationOutcome.
type Issue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"` // from FHIR's IssueType value set
	Diagnostics string `json:"diagnostics,omitempty"`
}

// Outcome is an OperationOutcome with one error of type code (FHIR's
// IssueType: not-found, login, forbidden, invalid, throttled, exception …)
// and our message as diagnostics.
func Outcome(code, message string) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome",
		Issue: []Issue{{Severity: "error", Code: code, Diagnostics: message}}}
}

// Instant formats t as a FHIR instant, in UTC.
func Instant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// MaxSearchIdentifiers bounds the alternatives of one identifier search:
// each is an audited read, and the rate limit counts the request once.
const MaxSearchIdentifiers = 100

// SearchHealthIDs reads the value of an identifier search parameter (FHIR's
// token search: SYSTEM|VALUE, or VALUE for any system, alternatives
// separated by commas) and returns the health IDs it can match, in order,
// once each. A value of another system, of no system (|VALUE), or that is
// not a well-formed health ID matches nothing, so it is left out.
func SearchHealthIDs(param string) []string {
	var ids []string
	seen := map[string]bool{}
	for _, token := range strings.Split(param, ",") {
		value := token
		if system, v, ok := strings.Cut(token, "|"); ok {
			if system != HealthIDSystem {
				continue
			}
			value = v
		}
		id, err := cards.ParseHealthID(value)
		if err != nil || seen[id.Digits()] {
			continue
		}
		seen[id.Digits()] = true
		ids = append(ids, id.Digits())
	}
	return ids
}
