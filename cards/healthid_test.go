package cards

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/doorstep-health/doorstep/schema"
)

func TestNewHealthID(t *testing.T) {
	counts := [HealthIDLen][10]int{}
	seen := map[string]bool{}
	for range 2000 {
		id, err := NewHealthID(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		d := id.Digits()
		if len(d) != HealthIDLen || d[0] == '0' || !schema.VerhoeffValid(d) {
			t.Fatalf("NewHealthID gave %q", d)
		}
		if seen[d] {
			t.Fatalf("NewHealthID repeated %s within 2000 draws", d)
		}
		seen[d] = true
		for i := range d {
			counts[i][d[i]-'0']++
		}
		back, err := ParseHealthID(id.String())
		if err != nil || back != id {
			t.Fatalf("ParseHealthID(%q) = %v, %v", id.String(), back, err)
		}
	}
	// Every digit turns up in every random position (2000 draws make a
	// missing digit a 1-in-10^80 event), and 0 never leads.
	if counts[0][0] != 0 {
		t.Errorf("first digit was 0 %d times", counts[0][0])
	}
	for pos := 1; pos < HealthIDLen-1; pos++ {
		for dig, n := range counts[pos] {
			if n == 0 {
				t.Errorf("digit %d never appeared at position %d", dig, pos)
			}
		}
	}
}

func TestNewHealthIDReaderError(t *testing.T) {
	_, err := NewHealthID(iotest.ErrReader(errors.New("entropy gone")))
	if err == nil || !strings.Contains(err.Error(), "entropy gone") {
		t.Fatalf("err = %v", err)
	}
	// A reader of only rejected bytes (>= 252) must not yield a biased ID;
	// it runs dry and says so.
	_, err = NewHealthID(bytes.NewReader(bytes.Repeat([]byte{0xff}, 256)))
	if err == nil {
		t.Fatal("NewHealthID accepted a reader of 0xff bytes")
	}
}

func TestParseHealthID(t *testing.T) {
	valid := healthIDFrom(t, "4217350000000")
	digits := valid.Digits()
	for _, tc := range []struct {
		in   string
		rule string // "" when valid
	}{
		{digits, ""},
		{valid.String(), ""},
		{digits[:2] + " " + digits[2:6] + " " + digits[6:10] + " " + digits[10:], ""},
		{" " + valid.String() + " ", ""},
		{digits[:13], "length"},
		{digits + "0", "length"},
		{"", "length"},
		{digits[:5] + "x" + digits[6:], "digits"},
		{digits[:5] + "٣" + digits[6:], "digits"}, // an Arabic-Indic digit is not ours
		{"0" + digits[1:13] + string(mustVerhoeff(t, "0"+digits[1:13])), "leading_zero"},
		{digits[:13] + string('0'+(digits[13]-'0'+1)%10), "check_digit"},
	} {
		id, err := ParseHealthID(tc.in)
		if tc.rule == "" {
			if err != nil || id != valid {
				t.Errorf("ParseHealthID(%q) = %v, %v; want %v", tc.in, id, err, valid)
			}
			continue
		}
		var se *schema.Error
		if !errors.As(err, &se) || se.Code != schema.EINVALID || se.Field != "health_id" || se.Rule != tc.rule {
			t.Errorf("ParseHealthID(%q) error = %#v; want rule %s", tc.in, err, tc.rule)
		}
	}
}

func mustVerhoeff(t *testing.T, s string) byte {
	c, ok := schema.VerhoeffDigit(s)
	if !ok {
		t.Fatal(s)
	}
	return c
}

func TestHealthIDFormat(t *testing.T) {
	id := healthIDFrom(t, "4217350000000")
	if got, want := id.String(), "42-1735-0000-000"+string(id.Digits()[13]); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if (HealthID{}).String() != "" || !(HealthID{}).IsZero() {
		t.Error("zero HealthID should print as empty")
	}
	b, _ := json.Marshal(struct{ ID HealthID }{id})
	if want := `{"ID":"` + id.String() + `"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back struct{ ID HealthID }
	if err := json.Unmarshal([]byte(`{"ID":"`+id.Digits()+`"}`), &back); err != nil || back.ID != id {
		t.Errorf("unmarshal digits = %v, %v", back.ID, err)
	}
	if err := json.Unmarshal([]byte(`{"ID":"12-3456-7890-1234"}`), &back); schema.ErrorCode(err) != schema.EINVALID {
		t.Errorf("unmarshal of a bad ID: err = %v", err)
	}
}

// TestHealthIDCatchesTypos is the property the check digit is for: over
// 10,000 random IDs, every single-digit substitution and every transposition
// of two different neighbouring digits is refused.
func TestHealthIDCatchesTypos(t *testing.T) {
	r := mrand.New(mrand.NewPCG(169, 2026))
	src := randReader{r}
	var subs, swaps int
	for range 10000 {
		id, err := NewHealthID(src)
		if err != nil {
			t.Fatal(err)
		}
		d := []byte(id.Digits())
		for i := range d {
			orig := d[i]
			for c := byte('0'); c <= '9'; c++ {
				if c == orig {
					continue
				}
				d[i] = c
				// The check digit alone catches it, not only the leading-zero rule.
				if _, err := ParseHealthID(string(d)); err == nil || schema.VerhoeffValid(string(d)) {
					t.Fatalf("%s with digit %d changed to %c passed as %s", id.Digits(), i, c, d)
				}
				subs++
			}
			d[i] = orig
		}
		for i := 0; i+1 < len(d); i++ {
			if d[i] == d[i+1] {
				continue
			}
			d[i], d[i+1] = d[i+1], d[i]
			if _, err := ParseHealthID(string(d)); err == nil || schema.VerhoeffValid(string(d)) {
				t.Fatalf("%s with digits %d,%d swapped passed as %s", id.Digits(), i, i+1, d)
			}
			d[i], d[i+1] = d[i+1], d[i]
			swaps++
		}
	}
	t.Logf("%d substitutions and %d transpositions all refused", subs, swaps)
}

// randReader adapts a seeded math/rand source to io.Reader, so the property
// test is reproducible.
type randReader struct{ r *mrand.Rand }

func (rr randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rr.r.Uint32())
	}
	return len(p), nil
}
