package schema

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// NormalizePhone returns a mobile number as +91 and 10 digits. It accepts
// the ways numbers are written at the door: spaces, dashes, a leading 0,
// 91 or +91. ok is false when what remains is not an Indian mobile number.
func NormalizePhone(s string) (string, bool) {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == ' ' || c == '-' || c == '+' || c == '(' || c == ')' || c == '.':
		default:
			return s, false
		}
	}
	d := b.String()
	switch {
	case len(d) == 12 && strings.HasPrefix(d, "91"):
		d = d[2:]
	case len(d) == 11 && d[0] == '0':
		d = d[1:]
	case len(d) == 13 && strings.HasPrefix(d, "091"):
		d = d[3:]
	}
	if len(d) != 10 || d[0] < '6' || d[0] > '9' {
		return s, false
	}
	return "+91" + d, true
}

// AadhaarValid reports whether s is 12 digits, not starting with 0 or 1,
// with a valid Verhoeff check digit, as UIDAI issues them.
func AadhaarValid(s string) bool {
	if len(s) != 12 || s[0] == '0' || s[0] == '1' {
		return false
	}
	return VerhoeffValid(s)
}

// AadhaarHash is the keyed hash that stands in for an Aadhaar number
// everywhere after the laptop has checked it. Keyed (HMAC-SHA256 with the
// deployment's secret) because an unkeyed hash of a 12-digit number is
// reversed by brute force in minutes.
func AadhaarHash(key []byte, aadhaar string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(aadhaar))
	return hex.EncodeToString(m.Sum(nil))
}

// ProtectAadhaar replaces a validated Aadhaar number by its keyed hash and
// last four digits. Call it after Validate and before anything is stored.
func (r *Resident) ProtectAadhaar(key []byte) {
	if r.Aadhaar == "" {
		return
	}
	r.AadhaarHash = AadhaarHash(key, r.Aadhaar)
	r.AadhaarLast4 = r.Aadhaar[len(r.Aadhaar)-4:]
	r.Aadhaar = ""
}

// ProtectAadhaar applies Resident.ProtectAadhaar to every member.
func (h *Household) ProtectAadhaar(key []byte) {
	for i := range h.Members {
		h.Members[i].ProtectAadhaar(key)
	}
}
