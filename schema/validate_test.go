package schema_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

var now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func validHousehold() schema.Household {
	return schema.Household{
		Area:      "DL-NW-W05",
		Address:   schema.Address{Line1: "H.No. 12, Gali No. 4", Locality: "Rohini Sector 7", City: "Delhi", Pincode: "110085"},
		VisitedAt: "2026-11-27T10:00:00+05:30",
		Outcome:   schema.OutcomeEnrolled,
		Consent:   schema.Consent{Given: true},
		Members: []schema.Resident{
			{Name: "Ram Kumar", Sex: "M", DOB: "1975-04-02", Relation: "head", Phone: "98110 12345", Aadhaar: "234123412346"},
			{Name: "Sunita Devi", Sex: "F", DOB: "1979", Relation: "spouse", SpouseName: "Ram Kumar"},
			{Name: "Amit Kumar", Sex: "M", Relation: "son", FatherName: "Ram Kumar", Age: ptr(19)},
		},
	}
}

func ptr(i int) *int { return &i }

func TestHouseholdValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(h *schema.Household)
		field  string
		rule   string
	}{
		{"valid", func(h *schema.Household) {}, "", ""},
		{"missing area", func(h *schema.Household) { h.Area = "" }, "area", "required"},
		{"short pincode", func(h *schema.Household) { h.Address.Pincode = "11008" }, "address.pincode", "pincode_format"},
		{"letters in pincode", func(h *schema.Household) { h.Address.Pincode = "11008A" }, "address.pincode", "pincode_format"},
		{"bad outcome", func(h *schema.Household) { h.Outcome = "away" }, "outcome", "one_of"},
		{"no consent", func(h *schema.Household) { h.Consent.Given = false }, "consent.given", "consent_required"},
		{"two heads", func(h *schema.Household) { h.Members[1].Relation = "head" }, "members", "one_head"},
		{"no head", func(h *schema.Household) { h.Members[0].Relation = "other" }, "members", "one_head"},
		{"enrolled without members", func(h *schema.Household) { h.Members = nil }, "members", "required"},
		{"locked with members", func(h *schema.Household) { h.Outcome = schema.OutcomeLocked }, "members", "enrolled_only"},
		{"missing name", func(h *schema.Household) { h.Members[2].Name = " " }, "members[2].name", "required"},
		{"bad sex", func(h *schema.Household) { h.Members[1].Sex = "X" }, "members[1].sex", "one_of"},
		{"future dob", func(h *schema.Household) { h.Members[2].Age = nil; h.Members[2].DOB = "2027-01-01" }, "members[2].dob", "not_future"},
		{"too old", func(h *schema.Household) { h.Members[0].DOB = "1890-01-01" }, "members[0].dob", "max_age"},
		{"not a date", func(h *schema.Household) { h.Members[0].DOB = "1975-02-30" }, "members[0].dob", "date_format"},
		{"missing dob", func(h *schema.Household) { h.Members[2].Age = nil }, "members[2].dob", "required"},
		{"landline phone", func(h *schema.Household) { h.Members[0].Phone = "011 2345 6789" }, "members[0].phone", "mobile_format"},
		{"phone starting 5", func(h *schema.Household) { h.Members[0].Phone = "5811012345" }, "members[0].phone", "mobile_format"},
		{"aadhaar 11 digits", func(h *schema.Household) { h.Members[0].Aadhaar = "23412341234" }, "members[0].aadhaar", "aadhaar_format"},
		{"aadhaar bad check digit", func(h *schema.Household) { h.Members[0].Aadhaar = "234123412345" }, "members[0].aadhaar", "aadhaar_checksum"},
		{"bad relation", func(h *schema.Household) { h.Members[1].Relation = "wife" }, "members[1].relation", "one_of"},
		{"bad document", func(h *schema.Household) {
			h.Members[0].Documents = []schema.Document{{Type: "passport", Number: "Z1234567"}}
		}, "members[0].documents[0].type", "one_of"},
		{"name too long", func(h *schema.Household) { h.Members[0].Name = strings.Repeat("a", 101) }, "members[0].name", "max_length"},
		{"NUL in a name", func(h *schema.Household) { h.Members[0].Name = "Asha\x00Devi" }, "members[0].name", "control_characters"},
		{"escape in an address", func(h *schema.Household) { h.Address.Line1 = "H.No. 4\x1b[2J" }, "address.line1", "control_characters"},
		{"gps out of range", func(h *schema.Household) { h.GPS = &schema.GPS{Lat: 95, Lon: 77} }, "gps.lat", "range"},
		{"bad visit time", func(h *schema.Household) { h.VisitedAt = "27/11/2026" }, "visited_at", "rfc3339"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := validHousehold()
			tt.change(&h)
			h.Normalize(now)
			err := h.Validate(now)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid household rejected: %v", err)
				}
				return
			}
			var ve schema.ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("want validation errors naming %s, got %v", tt.field, err)
			}
			for _, e := range ve {
				if e.Field == tt.field && e.Rule == tt.rule {
					if !strings.Contains(err.Error(), tt.field+": ") {
						t.Errorf("message %q does not name the field", err)
					}
					return
				}
			}
			t.Fatalf("want %s broken on %s, got %v", tt.rule, tt.field, err)
		})
	}
}

func TestNormalize(t *testing.T) {
	h := validHousehold()
	h.Normalize(now)
	if h.ID == "" || h.Members[0].ID == "" || h.Members[0].HouseholdID != h.ID {
		t.Fatalf("ids not generated or linked: %+v", h)
	}
	if got := h.Members[0].Phone; got != "+919811012345" {
		t.Errorf("phone = %q, want +919811012345", got)
	}
	if m := h.Members[1]; m.DOB != "1979" || m.DOBPrecision != schema.PrecisionYear {
		t.Errorf("year-only dob = %q/%q", m.DOB, m.DOBPrecision)
	}
	if m := h.Members[2]; m.DOB != "2007" || m.DOBPrecision != schema.PrecisionEstimated || m.Age != nil {
		t.Errorf("stated age 19 in 2026 gave dob %q/%q", m.DOB, m.DOBPrecision)
	}
	if h.Consent.At != h.VisitedAt {
		t.Errorf("consent.at defaults to the visit, got %q", h.Consent.At)
	}
}

func TestProtectAadhaar(t *testing.T) {
	h := validHousehold()
	h.Normalize(now)
	if err := h.Validate(now); err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	h.ProtectAadhaar(key)
	m := h.Members[0]
	if m.Aadhaar != "" || m.AadhaarLast4 != "2346" || m.AadhaarHash != schema.AadhaarHash(key, "234123412346") {
		t.Fatalf("aadhaar not protected: %+v", m)
	}
	if schema.AadhaarHash([]byte("other key"), "234123412346") == m.AadhaarHash {
		t.Fatal("hash does not depend on the deployment key")
	}
	m.HouseholdID = h.ID
	if err := m.ValidateRecord(now); err != nil {
		t.Fatalf("protected resident fails record validation: %v", err)
	}
	m.Aadhaar = "234123412346"
	if err := m.ValidateRecord(now); err == nil || !strings.Contains(err.Error(), "aadhaar") {
		t.Fatalf("resident with Aadhaar in clear accepted on the wire: %v", err)
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"9811012345", "+919811012345", true},
		{"+91 98110 12345", "+919811012345", true},
		{"098110-12345", "+919811012345", true},
		{"919811012345", "+919811012345", true},
		{"6000000000", "+916000000000", true},
		{"5811012345", "", false},
		{"981101234", "", false},
		{"98110x2345", "", false},
	}
	for _, tt := range tests {
		got, ok := schema.NormalizePhone(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Verhoeff must catch every single-digit error and every adjacent
// transposition; the health ID and Aadhaar checks rely on it.
func TestVerhoeffCatchesSingleErrorsAndTranspositions(t *testing.T) {
	seeds := []string{"23412341234", "9999999999999", "1000000000000", "5738201946372", "0000000000001"}
	for _, body := range seeds {
		d, ok := schema.VerhoeffDigit(body)
		if !ok {
			t.Fatalf("digit of %s", body)
		}
		full := body + string(d)
		if !schema.VerhoeffValid(full) {
			t.Fatalf("%s not valid with its own check digit", full)
		}
		for i := range full {
			for c := byte('0'); c <= '9'; c++ {
				if c == full[i] {
					continue
				}
				mut := full[:i] + string(c) + full[i+1:]
				if schema.VerhoeffValid(mut) {
					t.Errorf("single-digit error %s -> %s not caught", full, mut)
				}
			}
			if i+1 < len(full) && full[i] != full[i+1] {
				mut := full[:i] + string(full[i+1]) + string(full[i]) + full[i+2:]
				if schema.VerhoeffValid(mut) {
					t.Errorf("transposition %s -> %s not caught", full, mut)
				}
			}
		}
	}
	if !schema.AadhaarValid("234123412346") || schema.AadhaarValid("134123412346") {
		t.Error("AadhaarValid disagrees with UIDAI rules")
	}
}

// Every error code answers with its status, and the status reads back as
// the code (or, for codes that share a status, as the general one).
func TestStatusForCode(t *testing.T) {
	for code, want := range map[string]struct {
		status int
		back   string
	}{
		schema.EINVALID:      {422, schema.EINVALID},
		schema.ENOTFOUND:     {404, schema.ENOTFOUND},
		schema.ECONFLICT:     {409, schema.ECONFLICT},
		schema.ESTALE:        {409, schema.ECONFLICT},
		schema.EUNAUTHORIZED: {401, schema.EUNAUTHORIZED},
		schema.ENOTREGISTERD: {401, schema.EUNAUTHORIZED},
		schema.EFORBIDDEN:    {403, schema.EFORBIDDEN},
		schema.ETOOLARGE:     {413, schema.ETOOLARGE},
		schema.EMALFORMED:    {400, schema.EMALFORMED},
		schema.ERATELIMITED:  {429, schema.ERATELIMITED},
		schema.EUNAVAILABLE:  {503, schema.EUNAVAILABLE},
		schema.EINTERNAL:     {500, schema.EINTERNAL},
	} {
		if got := schema.StatusForCode(code); got != want.status {
			t.Errorf("StatusForCode(%s) = %d, want %d", code, got, want.status)
		}
		if got := schema.CodeForStatus(want.status); got != want.back {
			t.Errorf("CodeForStatus(%d) = %s, want %s", want.status, got, want.back)
		}
	}
}
