package schema

import (
	"crypto/rand"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Household outcomes: what the survey worker found at the door.
const (
	OutcomeEnrolled = "enrolled"
	OutcomeLocked   = "locked"
	OutcomeRefused  = "refused"
	OutcomeRevisit  = "revisit"
)

// Date-of-birth precisions. A stated age becomes an estimated year.
const (
	PrecisionDay       = "day"
	PrecisionYear      = "year"
	PrecisionEstimated = "estimated"
)

// Household is one dwelling visited by a survey team, with the residents
// enrolled there.
type Household struct {
	ID        string     `json:"id,omitempty"`
	Area      string     `json:"area"`
	Address   Address    `json:"address"`
	GPS       *GPS       `json:"gps,omitempty"`
	VisitedAt string     `json:"visited_at,omitempty"` // RFC 3339 with offset
	Outcome   string     `json:"outcome"`
	Consent   Consent    `json:"consent"`
	Members   []Resident `json:"members,omitempty"`
}

// Address is where the household lives, as written on the door.
type Address struct {
	Line1    string `json:"line1"`
	Line2    string `json:"line2,omitempty"`
	Locality string `json:"locality"`
	City     string `json:"city"`
	Pincode  string `json:"pincode"`
}

// OneLine writes the address on one line, its parts that are there
// joined by commas, as lists and side-by-side views show it.
func (a Address) OneLine() string {
	return JoinNonEmpty(", ", a.Line1, a.Line2, a.Locality, a.City, a.Pincode)
}

// JoinNonEmpty joins the parts that are not empty with sep.
func JoinNonEmpty(sep string, parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), sep)
}

// GPS is the laptop's fix at the door; optional because indoor fixes fail.
type GPS struct {
	Lat       float64 `json:"lat"`
	Lon       float64 `json:"lon"`
	AccuracyM float64 `json:"accuracy_m,omitempty"`
}

// Consent records that the household agreed to enrolment, and when.
type Consent struct {
	Given bool   `json:"given"`
	At    string `json:"at,omitempty"`
}

// Resident is one enrolment of one person. The same human may be enrolled
// twice by different teams; the server's matcher joins them into a Person.
type Resident struct {
	ID           string     `json:"id,omitempty"`
	HouseholdID  string     `json:"household_id,omitempty"` // set on the wire, implied inside a Household
	Name         string     `json:"name"`
	Sex          string     `json:"sex"`
	DOB          string     `json:"dob,omitempty"` // YYYY-MM-DD, or YYYY when precision is year or estimated
	DOBPrecision string     `json:"dob_precision,omitempty"`
	Age          *int       `json:"age,omitempty"` // input only: a stated age, turned into an estimated dob
	Relation     string     `json:"relation"`
	FatherName   string     `json:"father_name,omitempty"`
	SpouseName   string     `json:"spouse_name,omitempty"`
	Phone        string     `json:"phone,omitempty"`
	Aadhaar      string     `json:"aadhaar,omitempty"` // input only: replaced by hash and last 4 before storage
	AadhaarHash  string     `json:"aadhaar_hash,omitempty"`
	AadhaarLast4 string     `json:"aadhaar_last4,omitempty"`
	Documents    []Document `json:"documents,omitempty"`
}

// Document is an identity document shown at the door.
type Document struct {
	Type   string `json:"type"`
	Number string `json:"number"`
}

// Relations to the head of the household accepted by validation.
var Relations = []string{"head", "spouse", "son", "daughter", "father", "mother",
	"brother", "sister", "grandson", "granddaughter", "grandfather", "grandmother",
	"son_in_law", "daughter_in_law", "nephew", "niece", "other"}

// DocumentTypes accepted by validation.
var DocumentTypes = []string{"voter_id", "ration_card", "pan", "other"}

// Outcomes accepted by validation.
var Outcomes = []string{OutcomeEnrolled, OutcomeLocked, OutcomeRefused, OutcomeRevisit}

// NewID returns a new ULID: sortable by creation time and unique without
// coordination, so offline laptops never collide.
func NewID() string {
	return ulid.MustNew(ulid.Now(), rand.Reader).String()
}

// Normalize fills the defaults the import format allows to be absent and
// puts free text into canonical form. It never invents data that changes
// meaning: a stated age becomes an estimated year of birth relative to the
// visit, as the survey worker heard it.
func (h *Household) Normalize(now time.Time) {
	if h.ID == "" {
		h.ID = NewID()
	}
	h.Area = strings.ToUpper(strings.TrimSpace(h.Area))
	h.Address.Line1 = collapseSpace(h.Address.Line1)
	h.Address.Line2 = collapseSpace(h.Address.Line2)
	h.Address.Locality = collapseSpace(h.Address.Locality)
	h.Address.City = collapseSpace(h.Address.City)
	h.Address.Pincode = strings.TrimSpace(h.Address.Pincode)
	h.Outcome = strings.ToLower(strings.TrimSpace(h.Outcome))
	if h.VisitedAt == "" {
		h.VisitedAt = now.Format(time.RFC3339)
	}
	if h.Consent.Given && h.Consent.At == "" {
		h.Consent.At = h.VisitedAt
	}
	visit := now
	if t, err := time.Parse(time.RFC3339, h.VisitedAt); err == nil {
		visit = t
	}
	for i := range h.Members {
		m := &h.Members[i]
		if m.ID == "" {
			m.ID = NewID()
		}
		m.HouseholdID = h.ID
		m.Normalize(visit)
	}
}

// Normalize puts one resident's free text into canonical form. visit is
// when the age was stated, for turning an age into a year of birth.
func (r *Resident) Normalize(visit time.Time) {
	r.Name = collapseSpace(r.Name)
	r.FatherName = collapseSpace(r.FatherName)
	r.SpouseName = collapseSpace(r.SpouseName)
	r.Sex = strings.ToUpper(strings.TrimSpace(r.Sex))
	r.Relation = strings.ToLower(strings.TrimSpace(r.Relation))
	r.DOB = strings.TrimSpace(r.DOB)
	r.DOBPrecision = strings.ToLower(strings.TrimSpace(r.DOBPrecision))
	if r.DOB == "" && r.Age != nil && *r.Age >= 0 {
		r.DOB = itoa4(visit.Year() - *r.Age)
		r.DOBPrecision = PrecisionEstimated
	}
	r.Age = nil
	if r.DOBPrecision == "" {
		if len(r.DOB) == 4 {
			r.DOBPrecision = PrecisionYear
		} else {
			r.DOBPrecision = PrecisionDay
		}
	}
	if (r.DOBPrecision == PrecisionYear || r.DOBPrecision == PrecisionEstimated) && len(r.DOB) == 10 {
		r.DOB = r.DOB[:4]
	}
	if p, ok := NormalizePhone(r.Phone); ok {
		r.Phone = p
	}
	r.Aadhaar = strings.Join(strings.Fields(strings.ReplaceAll(r.Aadhaar, "-", " ")), "")
	for i := range r.Documents {
		r.Documents[i].Type = strings.ToLower(strings.TrimSpace(r.Documents[i].Type))
		r.Documents[i].Number = strings.ToUpper(strings.Join(strings.Fields(r.Documents[i].Number), ""))
	}
}

// BirthYear returns the year of birth, or 0 when the dob is unusable.
func (r *Resident) BirthYear() int {
	if len(r.DOB) < 4 {
		return 0
	}
	y := 0
	for _, c := range r.DOB[:4] {
		if c < '0' || c > '9' {
			return 0
		}
		y = y*10 + int(c-'0')
	}
	return y
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func itoa4(y int) string {
	if y < 0 {
		y = 0
	}
	b := []byte{'0', '0', '0', '0'}
	for i := 3; i >= 0; i-- {
		b[i] = byte('0' + y%10)
		y /= 10
	}
	return string(b)
}
