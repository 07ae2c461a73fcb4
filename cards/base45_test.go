package cards

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The examples of RFC 9285 §4.3 and §4.4.
func TestBase45RFCExamples(t *testing.T) {
	for _, tc := range []struct{ raw, enc string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
		{"\x00", "00"},
		{"\xff\xff", "FGW"},
	} {
		if got := base45Encode([]byte(tc.raw)); got != tc.enc {
			t.Errorf("encode(%q) = %q, want %q", tc.raw, got, tc.enc)
		}
		got, err := base45Decode(tc.enc)
		if err != nil || string(got) != tc.raw {
			t.Errorf("decode(%q) = %q, %v; want %q", tc.enc, got, err, tc.raw)
		}
	}
}

func TestBase45RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 9285))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		s := base45Encode(b)
		if len(s) != n/2*3+n%2*2 {
			t.Fatalf("len(encode(%d bytes)) = %d", n, len(s))
		}
		back, err := base45Decode(s)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %x failed: %x, %v", b, back, err)
		}
	}
}

func TestBase45Rejects(t *testing.T) {
	for _, s := range []string{
		"GGW",  // 65536: one more than two bytes hold (RFC 9285 §6)
		"ZZZ",  // far too large
		"Z:",   // final pair 35+44×45 > 255
		"A",    // one character over
		"BB8A", // one character over after a group
		"bb8",  // lower case is not in the alphabet
		"BB#",  // neither is #
		"BB8\n",
	} {
		if b, err := base45Decode(s); err == nil {
			t.Errorf("decode(%q) = %x, want an error", s, b)
		}
	}
}
