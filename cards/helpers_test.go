package cards

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

const testIssuer = "DS"

// testKey returns a fixed signing key, so failures reproduce.
func testKey(tb testing.TB) *SigningKey {
	tb.Helper()
	return seededKey(tb, "doorstep test key")
}

func seededKey(tb testing.TB, seed string) *SigningKey {
	tb.Helper()
	s := sha256.Sum256([]byte(seed))
	k, err := NewSigningKey(ed25519.NewKeyFromSeed(s[:]))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// keySetOf publishes the given keys as active and builds the verifier's set
// from the JSON document, as a hospital would.
func keySetOf(tb testing.TB, keys ...*SigningKey) KeySet {
	tb.Helper()
	var d PublicKeyDocument
	for _, k := range keys {
		d.Keys = append(d.Keys, newPublicJWK(k.Public(), KeyInfo{ID: k.ID(), Status: KeyActive, Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}))
	}
	s, err := NewKeySet(d)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var sampleNames = []string{
	"Ram Kumar", "Sunita Devi", "Venkata Subramanya Lakshminarasimha Rao",
	"Mohammad Irfan Qureshi", "Zoë Fernandes-D'Souza", "Gurpreet Kaur",
	"Lalitha Ramaswamy", "Abdul Rahim Khan", "Priya Sharma", "Thomas Varghese",
	"Fatima Begum", "Arjun Singh Rathore",
}

// sampleCards returns n cards for distinct people, signed with k.
func sampleCards(tb testing.TB, k *SigningKey, n int) []Card {
	tb.Helper()
	issued := time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)
	out := make([]Card, n)
	for i := range out {
		// Health IDs from a fixed sequence: 13 digits from i, plus the check digit.
		id := healthIDFrom(tb, fmt.Sprintf("%013d", 4217350000000+int64(i)*7919))
		c := Card{
			Programme:    "Delhi Doorstep Health Programme",
			Helpline:     "1800-11-2026",
			HealthID:     id,
			Name:         sampleNames[i%len(sampleNames)],
			DOB:          fmt.Sprintf("19%02d-%02d-%02d", 40+i%60, 1+i%12, 1+i%28),
			DOBPrecision: "day",
			Sex:          []string{"M", "F", "O"}[i%3],
			IssueDate:    issued,
			Serial:       fmt.Sprintf("C%09d", 1000+i),
			Version:      1 + i%3,
		}
		if i%4 == 3 {
			c.DOB, c.DOBPrecision = fmt.Sprintf("19%02d", 50+i%40), "estimated"
		}
		qr, err := Sign(c.Claims(testIssuer), k)
		if err != nil {
			tb.Fatal(err)
		}
		c.QR = qr
		out[i] = c
	}
	return out
}

func healthIDFrom(tb testing.TB, digits13 string) HealthID {
	tb.Helper()
	c, ok := schema.VerhoeffDigit(digits13)
	if !ok {
		tb.Fatalf("bad digits %q", digits13)
	}
	id, err := ParseHealthID(digits13 + string(c))
	if err != nil {
		tb.Fatal(err)
	}
	return id
}
