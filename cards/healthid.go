package cards

import (
	"fmt"
	"io"
	"strings"

	"github.com/doorstep-health/doorstep/schema"
)

// HealthIDLen is the number of digits of a health ID, check digit included.
const HealthIDLen = 14

// HealthID is a person's health ID: 13 random digits, the first not 0, and a
// Verhoeff check digit, so that a mistyped digit or two swapped neighbours
// are caught at the hospital desk before a lookup. The zero value is "no
// health ID"; every other value has passed ParseHealthID or NewHealthID.
type HealthID struct {
	digits string
}

// NewHealthID draws a fresh health ID from r, which should be crypto/rand's
// Reader: IDs are random rather than sequential so that one ID says nothing
// about the next. Uniqueness is the store's job (a unique index and a retry),
// not this function's.
func NewHealthID(r io.Reader) (HealthID, error) {
	var d [HealthIDLen]byte
	var buf [32]byte
	n := 0
	for n < HealthIDLen-1 {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return HealthID{}, fmt.Errorf("health id: reading randomness: %w", err)
		}
		// Rejection sampling keeps every digit uniform: a byte below 252
		// (28×9) gives a uniform first digit 1–9, a byte below 250 (25×10)
		// a uniform digit 0–9; larger bytes are thrown away.
		for _, b := range buf {
			if n == HealthIDLen-1 {
				break
			}
			switch {
			case n == 0 && b < 252:
				d[n] = '1' + b%9
				n++
			case n > 0 && b < 250:
				d[n] = '0' + b%10
				n++
			}
		}
	}
	c, _ := schema.VerhoeffDigit(string(d[:HealthIDLen-1]))
	d[HealthIDLen-1] = c
	return HealthID{digits: string(d[:])}, nil
}

// ParseHealthID reads a health ID as people write it: 14 digits, with or
// without the dashes and spaces of the printed form. It returns an
// *schema.Error (code invalid, field health_id) naming the broken rule:
// length, digits, leading_zero or check_digit.
func ParseHealthID(s string) (HealthID, error) {
	var b strings.Builder
	b.Grow(HealthIDLen)
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '-' || c == ' ' || c == '\u00a0' || c == '\t':
		default:
			return HealthID{}, healthIDError("digits", "must be 14 digits, written like 12-3456-7890-1234; %q is not a digit", c)
		}
	}
	d := b.String()
	switch {
	case len(d) != HealthIDLen:
		return HealthID{}, healthIDError("length", "must be 14 digits, written like 12-3456-7890-1234; got %d digits", len(d))
	case d[0] == '0':
		return HealthID{}, healthIDError("leading_zero", "is not a health ID: health IDs never start with 0")
	case !schema.VerhoeffValid(d):
		return HealthID{}, healthIDError("check_digit", "is not a valid health ID (check digit does not match); check for a mistyped or swapped digit")
	}
	return HealthID{digits: d}, nil
}

func healthIDError(rule, format string, args ...any) *schema.Error {
	return &schema.Error{Code: schema.EINVALID, Field: "health_id", Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// Digits returns the 14 digits without separators, the form to store and
// to put in the QR.
func (id HealthID) Digits() string { return id.digits }

// IsZero reports whether id is the zero HealthID.
func (id HealthID) IsZero() bool { return id.digits == "" }

// String returns the printed form XX-XXXX-XXXX-XXXX, or "" for the zero ID.
func (id HealthID) String() string {
	d := id.digits
	if len(d) != HealthIDLen {
		return ""
	}
	return d[0:2] + "-" + d[2:6] + "-" + d[6:10] + "-" + d[10:14]
}

// MarshalText writes the printed form, so JSON shows what the card shows.
func (id HealthID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText accepts what ParseHealthID accepts; empty text is the zero ID.
func (id *HealthID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*id = HealthID{}
		return nil
	}
	v, err := ParseHealthID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
