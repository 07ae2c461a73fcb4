package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// householdForm is the form's fields exactly as typed: what a page shows
// again after an error and what a draft keeps. Its input names are the
// schema's field paths (address.pincode, members[2].dob), so a broken
// rule finds its field by name.
type householdForm struct {
	ID       string       `json:"id,omitempty"`
	DraftID  string       `json:"draft_id,omitempty"`
	Area     string       `json:"area,omitempty"`
	Line1    string       `json:"line1,omitempty"`
	Line2    string       `json:"line2,omitempty"`
	Locality string       `json:"locality,omitempty"`
	City     string       `json:"city,omitempty"`
	Pincode  string       `json:"pincode,omitempty"`
	Lat      string       `json:"lat,omitempty"`
	Lon      string       `json:"lon,omitempty"`
	Accuracy string       `json:"accuracy_m,omitempty"`
	Outcome  string       `json:"outcome,omitempty"`
	Consent  bool         `json:"consent,omitempty"`
	Members  []memberForm `json:"members,omitempty"`
}

// memberForm is one member row. Aadhaar is the number as typed; it never
// goes into a draft (see draftJSON), only its last four digits do.
type memberForm struct {
	ID           string `json:"id,omitempty"`
	Relation     string `json:"relation,omitempty"`
	Name         string `json:"name,omitempty"`
	Sex          string `json:"sex,omitempty"`
	DOB          string `json:"dob,omitempty"`
	DOBPrecision string `json:"dob_precision,omitempty"`
	Age          string `json:"age,omitempty"`
	FatherName   string `json:"father_name,omitempty"`
	SpouseName   string `json:"spouse_name,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Aadhaar      string `json:"aadhaar,omitempty"`
	AadhaarLast4 string `json:"aadhaar_last4,omitempty"`
	// AadhaarChanged says a draft's AadhaarLast4 is of a number the worker
	// typed (and the draft dropped), not the one on file: it must be typed
	// again before the form can be saved.
	AadhaarChanged bool `json:"aadhaar_changed,omitempty"`
}

// blank says the worker typed nothing in the row (a relation alone is the
// form's default, not an answer).
func (m memberForm) blank() bool {
	return m.Name == "" && m.Sex == "" && m.DOB == "" && m.Age == "" && m.FatherName == "" &&
		m.SpouseName == "" && m.Phone == "" && m.Aadhaar == "" && m.ID == ""
}

var memberField = regexp.MustCompile(`^members\[(\d{1,3})\]\.([a-z_0-9]+)$`)

// parseForm reads the posted fields. rows maps each member of the result
// to the index its row had in the form, which the page's script needs to
// place errors when rows in between were left blank.
func parseForm(v url.Values) (f householdForm, rows []int) {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f = householdForm{
		ID: get("id"), DraftID: get("draft_id"), Area: get("area"),
		Line1: get("address.line1"), Line2: get("address.line2"), Locality: get("address.locality"),
		City: get("address.city"), Pincode: get("address.pincode"),
		Lat: get("gps.lat"), Lon: get("gps.lon"), Accuracy: get("gps.accuracy_m"),
		Outcome: get("outcome"), Consent: v.Get("consent.given") != "",
	}
	byRow := map[int]*memberForm{}
	for k, vals := range v {
		m := memberField.FindStringSubmatch(k)
		if m == nil || len(vals) == 0 {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if i >= schema.MaxMembers*2 {
			continue
		}
		r := byRow[i]
		if r == nil {
			r = &memberForm{}
			byRow[i] = r
		}
		val := strings.TrimSpace(vals[0])
		switch m[2] {
		case "id":
			r.ID = val
		case "relation":
			r.Relation = val
		case "name":
			r.Name = val
		case "sex":
			r.Sex = val
		case "dob":
			r.DOB = val
		case "dob_precision":
			r.DOBPrecision = val
		case "age":
			r.Age = val
		case "father_name":
			r.FatherName = val
		case "spouse_name":
			r.SpouseName = val
		case "phone":
			r.Phone = val
		case "aadhaar":
			r.Aadhaar = val
		case "aadhaar_last4":
			r.AadhaarLast4 = val
		case "aadhaar_changed":
			r.AadhaarChanged = val != ""
		}
	}
	idx := make([]int, 0, len(byRow))
	for i := range byRow {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		if byRow[i].blank() {
			continue
		}
		f.Members = append(f.Members, *byRow[i])
		rows = append(rows, i)
	}
	return f, rows
}

// household builds the schema household the form describes. stored is the
// household being edited (nil for a new one): what the form does not show
// (visit time, documents, the Aadhaar hash of a number not typed again)
// comes from it. Fields the schema cannot hold (an age that is not a
// number) come back as errors of their own.
func (f householdForm) household(stored *surveyor.HouseholdView) (*schema.Household, schema.ValidationErrors) {
	var errs schema.ValidationErrors
	h := &schema.Household{}
	old := map[string]schema.Resident{}
	if stored != nil {
		h = stored.Schema()
		for _, m := range h.Members {
			old[m.ID] = m
		}
	}
	h.ID = f.ID
	h.Area = f.Area
	h.Address = schema.Address{Line1: f.Line1, Line2: f.Line2, Locality: f.Locality, City: f.City, Pincode: f.Pincode}
	if f.Lat != "" || f.Lon != "" {
		lat, err1 := strconv.ParseFloat(f.Lat, 64)
		lon, err2 := strconv.ParseFloat(f.Lon, 64)
		acc, _ := strconv.ParseFloat(f.Accuracy, 64)
		if err1 == nil && err2 == nil {
			h.GPS = &schema.GPS{Lat: lat, Lon: lon, AccuracyM: acc}
		}
	}
	h.Outcome = f.Outcome
	if h.Consent.Given != f.Consent {
		h.Consent = schema.Consent{Given: f.Consent}
	}
	h.Members = make([]schema.Resident, len(f.Members))
	for i, m := range f.Members {
		r := schema.Resident{}
		o, stored := old[m.ID]
		stored = stored && m.ID != ""
		if stored {
			r = o
		} else if m.ID != "" {
			r.ID = m.ID
		}
		r.Relation, r.Name, r.Sex = m.Relation, m.Name, m.Sex
		r.FatherName, r.SpouseName, r.Phone = m.FatherName, m.SpouseName, m.Phone
		switch {
		case stored && m.Age == "" && m.DOB == o.DOB:
			// The date on file, untouched: it keeps its precision (an
			// estimated year stays estimated, and the member unchanged).
			r.DOB, r.DOBPrecision, r.Age = o.DOB, o.DOBPrecision, nil
		default:
			r.DOB, r.DOBPrecision, r.Age = m.DOB, "", nil
		}
		if m.DOB == "" && m.Age != "" {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(m.Age), "y"))
			if err != nil || n < 0 || n > schema.MaxAge {
				errs = append(errs, &schema.Error{Code: schema.EINVALID, Field: fmt.Sprintf("members[%d].age", i), Rule: "age_number",
					Message: fmt.Sprintf("must be the stated age in whole years, 0 to %d", schema.MaxAge)})
			} else {
				r.Age = &n
			}
		}
		if m.Aadhaar != "" {
			r.Aadhaar, r.AadhaarHash, r.AadhaarLast4 = m.Aadhaar, "", ""
		} else if m.AadhaarChanged && stored {
			// A draft dropped the corrected number: saving now would keep
			// the old one while the worker believes the new one is in.
			errs = append(errs, &schema.Error{Code: schema.EINVALID, Field: fmt.Sprintf("members[%d].aadhaar", i), Rule: "aadhaar_retype",
				Message: fmt.Sprintf("must be typed again: the corrected number (ending %s) was not kept in the draft", m.AadhaarLast4)})
		}
		h.Members[i] = r
	}
	return h, errs
}

// check runs schema's rules on a normalised copy of the household the
// form describes, as SaveHousehold will, and returns the broken rules
// with the copy (for the estimated dates it worked out).
func (f householdForm) check(stored *surveyor.HouseholdView, now time.Time) (*schema.Household, schema.ValidationErrors) {
	h, errs := f.household(stored)
	c := clone(h)
	if c.ID == "" {
		c.ID = "NEW" // the id is made at save; its rule is not the worker's
	}
	c.Normalize(now)
	var ve schema.ValidationErrors
	errors.As(c.Validate(now), &ve)
	for _, e := range ve {
		// An age the form already refused leaves its dob empty: one
		// message for one mistake.
		if strings.HasSuffix(e.Field, ".dob") && slices.ContainsFunc(errs, func(a *schema.Error) bool {
			return strings.TrimSuffix(a.Field, ".age") == strings.TrimSuffix(e.Field, ".dob")
		}) {
			continue
		}
		errs = append(errs, e)
	}
	return c, errs
}

func clone(h *schema.Household) *schema.Household {
	b, _ := json.Marshal(h) // a Household always encodes
	var c schema.Household
	json.Unmarshal(b, &c)
	return &c
}

// draftJSON is the form as a draft keeps it: each Aadhaar number replaced
// by its last four digits, so a draft (never validated, never protected
// by the keyed hash) holds no Aadhaar number.
func (f householdForm) draftJSON() string {
	d := f
	d.Members = slices.Clone(f.Members)
	for i := range d.Members {
		m := &d.Members[i]
		if m.Aadhaar != "" {
			digits := onlyDigits(m.Aadhaar)
			m.AadhaarLast4 = ""
			if len(digits) >= 4 {
				m.AadhaarLast4 = digits[len(digits)-4:]
			}
			m.Aadhaar = ""
			m.AadhaarChanged = true
		}
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// formFromView is the form of a stored household, for editing.
func formFromView(v *surveyor.HouseholdView) householdForm {
	f := householdForm{ID: v.ID, Area: v.Area, Line1: v.Address.Line1, Line2: v.Address.Line2,
		Locality: v.Address.Locality, City: v.Address.City, Pincode: v.Address.Pincode,
		Outcome: v.Outcome, Consent: v.Consent.Given}
	if g := v.GPS; g != nil {
		f.Lat, f.Lon = strconv.FormatFloat(g.Lat, 'f', -1, 64), strconv.FormatFloat(g.Lon, 'f', -1, 64)
		if g.AccuracyM > 0 {
			f.Accuracy = strconv.FormatFloat(g.AccuracyM, 'f', -1, 64)
		}
	}
	for _, m := range v.Members {
		f.Members = append(f.Members, memberForm{ID: m.ID, Relation: m.Relation, Name: m.Name, Sex: m.Sex,
			DOB: m.DOB, DOBPrecision: m.DOBPrecision, FatherName: m.FatherName, SpouseName: m.SpouseName, Phone: m.Phone, AadhaarLast4: m.AadhaarLast4})
	}
	return f
}

// fieldOf is the form field an error belongs to: dob_precision is shown
// at the date of birth, a member's own id at its name.
func fieldOf(path string) string {
	switch {
	case strings.HasSuffix(path, ".dob_precision"):
		return strings.TrimSuffix(path, "_precision")
	case strings.HasPrefix(path, "members[") && strings.HasSuffix(path, "].id"):
		return strings.TrimSuffix(path, "id") + "name"
	case strings.HasPrefix(path, "gps."):
		return "gps"
	case path == "consent.at":
		return "consent.given"
	}
	return path
}

// relabel rewrites members[i] in a path to members[rows[i]]: the row the
// worker sees.
func relabel(path string, rows []int) string {
	if !strings.HasPrefix(path, "members[") {
		return path
	}
	end := strings.Index(path, "]")
	i, err := strconv.Atoi(path[len("members["):end])
	if err != nil || i >= len(rows) {
		return path
	}
	return fmt.Sprintf("members[%d]%s", rows[i], path[end+1:])
}

// fieldLabel is the catalogue key of a path's field: members[2].dob →
// field.dob.
func fieldLabel(path string) string {
	if i := strings.Index(path, "]."); strings.HasPrefix(path, "members[") && i > 0 {
		path = path[i+2:]
	}
	return "field." + path
}

// dobNote says how the form read member i's date of birth: an age turns
// into an estimated year, and the form says so.
func dobNote(msgs map[string]string, c *schema.Household, i int) string {
	if i >= len(c.Members) {
		return ""
	}
	m := c.Members[i]
	switch {
	case m.DOB == "":
		return ""
	case m.DOBPrecision == schema.PrecisionEstimated:
		return fmt.Sprintf(msgs["dob.estimated"], m.DOB)
	case m.DOBPrecision == schema.PrecisionYear:
		return fmt.Sprintf(msgs["dob.year"], m.DOB)
	}
	return ""
}
