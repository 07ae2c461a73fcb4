package schema

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Field length limits. Generous for real names and addresses, tight enough
// that a corrupt or hostile record cannot bloat the registry.
const (
	MaxNameLen    = 100
	MaxAddressLen = 200
	MaxIDLen      = 64
	MaxDocuments  = 10
	MaxMembers    = 50
	MaxAge        = 120
)

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	areaPattern    = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,31}$`)
	pincodePattern = regexp.MustCompile(`^[1-9][0-9]{5}$`)
	docPattern     = regexp.MustCompile(`^[A-Z0-9/]{4,20}$`)
)

// rules collects broken rules under a field-path prefix.
type rules struct {
	prefix string
	errs   ValidationErrors
}

func (v *rules) add(field, rule, format string, args ...any) {
	path := field
	if v.prefix != "" {
		path = v.prefix + "." + field
	}
	v.errs = append(v.errs, fieldError(path, rule, format, args...))
}

func (v *rules) text(field, value string, required bool, max int) {
	switch {
	case value == "" && required:
		v.add(field, "required", "is required")
	case utf8.RuneCountInString(value) > max:
		v.add(field, "max_length", "must be at most %d characters", max)
	case !utf8.ValidString(value):
		v.add(field, "utf8", "must be valid text")
	case strings.ContainsFunc(value, IsControl):
		v.add(field, "control_characters", "must not contain control characters (tabs and line breaks are allowed)")
	}
}

// IsControl reports whether r is a control character that no field may
// hold: the C0 controls but tab and line breaks, and DEL. NUL matters
// most: PostgreSQL can store it neither in text nor in jsonb.
func IsControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
}

// ValidID reports whether id is a record or batch id: 1 to 64 letters,
// digits, - or _ (IDFormat says so to a person).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// IDFormat is the rule an id breaks, as a message.
const IDFormat = "must be 1 to 64 letters, digits, - or _"

func (v *rules) oneOf(field, value string, allowed []string) {
	switch {
	case value == "":
		v.add(field, "required", "is required (one of %s)", strings.Join(allowed, ", "))
	case !slices.Contains(allowed, value):
		v.add(field, "one_of", "must be one of %s, not %q", strings.Join(allowed, ", "), value)
	}
}

func (v *rules) timestamp(field, value string, required bool, now time.Time) {
	if value == "" {
		if required {
			v.add(field, "required", "is required")
		}
		return
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		v.add(field, "rfc3339", "must be a date and time with offset, like 2026-11-27T10:30:00+05:30")
		return
	}
	if t.After(now.Add(24 * time.Hour)) {
		v.add(field, "not_future", "must not be in the future")
	}
}

func (v *rules) result() error {
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

// Validate checks a whole household as the survey worker saves it, members
// included. now is the laptop's clock, for dates in the future.
func (h *Household) Validate(now time.Time) error {
	v := &rules{}
	h.validateFields(v, now)
	if len(h.Members) > MaxMembers {
		v.add("members", "max_items", "must have at most %d members", MaxMembers)
	}
	if h.Outcome == OutcomeEnrolled {
		heads := 0
		for _, m := range h.Members {
			if m.Relation == "head" {
				heads++
			}
		}
		switch {
		case len(h.Members) == 0:
			v.add("members", "required", "an enrolled household needs at least one member")
		case heads != 1:
			v.add("members", "one_head", "an enrolled household needs exactly one member with relation head, found %d", heads)
		}
	} else if h.Outcome != "" && len(h.Members) > 0 {
		v.add("members", "enrolled_only", "only an enrolled household has members; outcome is %s", h.Outcome)
	}
	for i := range h.Members {
		mv := &rules{prefix: fmt.Sprintf("members[%d]", i)}
		h.Members[i].validateFields(mv, now)
		v.errs = append(v.errs, mv.errs...)
	}
	return v.result()
}

// ValidateRecord checks a household as it travels on the wire: its own
// fields only, since its members travel as separate resident records.
func (h *Household) ValidateRecord(now time.Time) error {
	v := &rules{}
	h.validateFields(v, now)
	if len(h.Members) > 0 {
		v.add("members", "separate_records", "members travel as resident records, not inside the household")
	}
	return v.result()
}

func (h *Household) validateFields(v *rules, now time.Time) {
	if h.ID == "" {
		v.add("id", "required", "is required")
	} else if !idPattern.MatchString(h.ID) {
		v.add("id", "id_format", IDFormat)
	}
	if h.Area == "" {
		v.add("area", "required", "is required (survey area code, like DL-NW-W05)")
	} else if !areaPattern.MatchString(h.Area) {
		v.add("area", "area_format", "must be a survey area code of capital letters, digits and dashes, like DL-NW-W05")
	}
	v.text("address.line1", h.Address.Line1, true, MaxAddressLen)
	v.text("address.line2", h.Address.Line2, false, MaxAddressLen)
	v.text("address.locality", h.Address.Locality, true, MaxAddressLen)
	v.text("address.city", h.Address.City, true, MaxAddressLen)
	if h.Address.Pincode == "" {
		v.add("address.pincode", "required", "is required")
	} else if !pincodePattern.MatchString(h.Address.Pincode) {
		v.add("address.pincode", "pincode_format", "must be 6 digits not starting with 0, like 110085")
	}
	if g := h.GPS; g != nil {
		if math.IsNaN(g.Lat) || g.Lat < -90 || g.Lat > 90 {
			v.add("gps.lat", "range", "must be between -90 and 90")
		}
		if math.IsNaN(g.Lon) || g.Lon < -180 || g.Lon > 180 {
			v.add("gps.lon", "range", "must be between -180 and 180")
		}
		if math.IsNaN(g.AccuracyM) || g.AccuracyM < 0 {
			v.add("gps.accuracy_m", "range", "must not be negative")
		}
	}
	v.timestamp("visited_at", h.VisitedAt, true, now)
	v.oneOf("outcome", h.Outcome, Outcomes)
	if h.Outcome == OutcomeEnrolled && !h.Consent.Given {
		v.add("consent.given", "consent_required", "must be true to enrol a household")
	}
	v.timestamp("consent.at", h.Consent.At, h.Consent.Given, now)
}

// ValidateRecord checks a resident as it travels on the wire: its own
// fields, the household it belongs to, and no Aadhaar number in the clear.
func (r *Resident) ValidateRecord(now time.Time) error {
	v := &rules{}
	if r.HouseholdID == "" {
		v.add("household_id", "required", "is required")
	} else if !idPattern.MatchString(r.HouseholdID) {
		v.add("household_id", "id_format", IDFormat)
	}
	r.validateFields(v, now)
	if r.Aadhaar != "" {
		v.add("aadhaar", "never_in_clear", "must not be sent; send aadhaar_hash and aadhaar_last4")
	}
	return v.result()
}

func (r *Resident) validateFields(v *rules, now time.Time) {
	if r.ID == "" {
		v.add("id", "required", "is required")
	} else if !idPattern.MatchString(r.ID) {
		v.add("id", "id_format", IDFormat)
	}
	v.text("name", r.Name, true, MaxNameLen)
	v.oneOf("sex", r.Sex, []string{"M", "F", "O"})
	r.validateDOB(v, now)
	v.oneOf("relation", r.Relation, Relations)
	v.text("father_name", r.FatherName, false, MaxNameLen)
	v.text("spouse_name", r.SpouseName, false, MaxNameLen)
	if r.Phone != "" {
		if p, ok := NormalizePhone(r.Phone); !ok {
			v.add("phone", "mobile_format", "must be a 10-digit Indian mobile number starting with 6, 7, 8 or 9 (optionally with +91)")
		} else if p != r.Phone {
			v.add("phone", "mobile_format", "must be written +91 and 10 digits, like +919812345678")
		}
	}
	if r.Aadhaar != "" {
		switch {
		case len(r.Aadhaar) != 12 || strings.Trim(r.Aadhaar, "0123456789") != "":
			v.add("aadhaar", "aadhaar_format", "must be 12 digits")
		case !AadhaarValid(r.Aadhaar):
			v.add("aadhaar", "aadhaar_checksum", "is not a valid Aadhaar number (check digit does not match); check for a mistyped digit")
		}
	}
	if r.AadhaarHash != "" && (len(r.AadhaarHash) != 64 || strings.Trim(r.AadhaarHash, "0123456789abcdef") != "") {
		v.add("aadhaar_hash", "hash_format", "must be 64 lowercase hex digits")
	}
	if r.AadhaarLast4 != "" && (len(r.AadhaarLast4) != 4 || strings.Trim(r.AadhaarLast4, "0123456789") != "") {
		v.add("aadhaar_last4", "digits", "must be 4 digits")
	}
	if len(r.Documents) > MaxDocuments {
		v.add("documents", "max_items", "must have at most %d documents", MaxDocuments)
	}
	for i, d := range r.Documents {
		f := fmt.Sprintf("documents[%d]", i)
		v.oneOf(f+".type", d.Type, DocumentTypes)
		if d.Number == "" {
			v.add(f+".number", "required", "is required")
		} else if !docPattern.MatchString(d.Number) {
			v.add(f+".number", "document_format", "must be 4 to 20 letters, digits or /")
		}
	}
}

func (r *Resident) validateDOB(v *rules, now time.Time) {
	if r.DOB == "" {
		v.add("dob", "required", "is required (YYYY-MM-DD, or the year, or the stated age)")
		return
	}
	v.oneOf("dob_precision", r.DOBPrecision, []string{PrecisionDay, PrecisionYear, PrecisionEstimated})
	var born time.Time
	switch {
	case r.DOBPrecision == PrecisionDay:
		t, err := time.Parse("2006-01-02", r.DOB)
		if err != nil {
			v.add("dob", "date_format", "must be a real date written YYYY-MM-DD")
			return
		}
		born = t
	default:
		y := r.BirthYear()
		if len(r.DOB) != 4 || y == 0 {
			v.add("dob", "year_format", "must be a year written YYYY when dob_precision is %s", r.DOBPrecision)
			return
		}
		born = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if born.After(today) {
		v.add("dob", "not_future", "must not be in the future")
		return
	}
	if today.Year()-born.Year() > MaxAge {
		v.add("dob", "max_age", "gives an age over %d years", MaxAge)
	}
}
