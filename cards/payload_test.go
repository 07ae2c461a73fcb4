package cards

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/doorstep-health/doorstep/schema"
)

func sampleClaims(t testing.TB) Claims {
	return Claims{
		Issuer:      testIssuer,
		IssuedAt:    time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC),
		HealthID:    healthIDFrom(t, "4217350000000"),
		Name:        "Sunita Devi",
		DOB:         "19790402",
		Sex:         "F",
		Serial:      "C000001001",
		CardVersion: 2,
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := testKey(t)
	keys := keySetOf(t, k)
	for _, c := range []Claims{
		sampleClaims(t),
		func() Claims { c := sampleClaims(t); c.DOB, c.Sex, c.Issuer = "1950", "O", ""; return c }(),
		func() Claims { c := sampleClaims(t); c.Name = "सुनीता देवी"; return c }(), // the QR carries any script
		func() Claims { c := sampleClaims(t); c.Name = longName(100); c.Sex = "M"; return c }(),
	} {
		text, err := Sign(c, k)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(text); i++ {
			if base45Value[text[i]] < 0 {
				t.Fatalf("QR text has %q, outside QR's alphanumeric set", text[i])
			}
		}
		got, info, err := Verify(text, keys, time.Now())
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got != c {
			t.Errorf("claims changed on the way:\n got %+v\nwant %+v", got, c)
		}
		if info.ID != k.ID() || info.Status != KeyActive {
			t.Errorf("key info %+v", info)
		}
		// Scanners end their output with a newline.
		if _, _, err := Verify(text+"\n", keys, time.Now()); err != nil {
			t.Errorf("with a trailing newline: %v", err)
		}
	}
}

// TestWireFormat pins the layout of DESIGN.md §8 so that outside verifiers
// (MOSIP Claim 169 readers) keep reading our cards.
func TestWireFormat(t *testing.T) {
	k := testKey(t)
	c := sampleClaims(t)
	text, err := Sign(c, k)
	if err != nil {
		t.Fatal(err)
	}
	signed := coseOf(t, text)
	var tag cbor.Tag
	if err := cbor.Unmarshal(signed, &tag); err != nil || tag.Number != 18 {
		t.Fatalf("not a tagged COSE_Sign1: tag %d, %v", tag.Number, err)
	}
	var parts []cbor.RawMessage
	if err := cbor.Unmarshal(signed[1:], &parts); err != nil || len(parts) != 4 {
		t.Fatalf("COSE_Sign1 is not a 4-array: %v", err)
	}
	var protectedBytes []byte
	cbor.Unmarshal(parts[0], &protectedBytes)
	var protected map[int64]any
	if err := cbor.Unmarshal(protectedBytes, &protected); err != nil {
		t.Fatal(err)
	}
	if protected[1] != int64(-8) || !bytes.Equal(protected[4].([]byte), rawKeyID(k.Public())) || len(protected) != 2 {
		t.Errorf("protected header %v, want {1: -8 (EdDSA), 4: kid}", protected)
	}
	var unprotected map[any]any
	if cbor.Unmarshal(parts[1], &unprotected); len(unprotected) != 0 {
		t.Errorf("unprotected header %v, want empty", unprotected)
	}
	var payload []byte
	cbor.Unmarshal(parts[2], &payload)
	var cwt map[int64]any
	if err := cbor.Unmarshal(payload, &cwt); err != nil {
		t.Fatal(err)
	}
	id := cwt[169].(map[any]any)
	want := map[string]any{
		"iss":      testIssuer,
		"iat":      uint64(c.IssuedAt.Unix()),
		"169.1":    c.HealthID.Digits(),
		"169.4":    c.Name,
		"169.8":    c.DOB,
		"169.9":    uint64(2),
		"private0": c.Serial,
		"private1": uint64(2),
	}
	card := cwt[CardClaimKey].([]any)
	got := map[string]any{
		"iss": cwt[1], "iat": cwt[6],
		"169.1": id[uint64(1)], "169.4": id[uint64(4)], "169.8": id[uint64(8)], "169.9": id[uint64(9)],
		"private0": card[0], "private1": card[1],
	}
	for key, w := range want {
		if got[key] != w {
			t.Errorf("%s = %#v, want %#v", key, got[key], w)
		}
	}
	if len(cwt) != 4 || len(id) != 4 {
		t.Errorf("unexpected claims in %v", cwt)
	}
}

// coseOf undoes Base45 and zlib.
func coseOf(t testing.TB, text string) []byte {
	t.Helper()
	z, err := base45Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := inflate(z)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func wrapCOSE(t testing.TB, signed []byte) string {
	t.Helper()
	z, err := deflate(signed)
	if err != nil {
		t.Fatal(err)
	}
	return base45Encode(z)
}

func TestDeflateIsZlib(t *testing.T) {
	for _, in := range [][]byte{
		coseOf(t, sampleCards(t, testKey(t), 1)[0].QR),
		bytes.Repeat([]byte("Lakshminarasimha "), 20),
		{},
	} {
		z, err := deflate(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(z) != len(in)+11 {
			t.Errorf("deflate(%d bytes) = %d bytes, want stored (+11)", len(in), len(z))
		}
		// Any zlib reader reads it.
		zr, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(back, in) {
			t.Errorf("compress/zlib read %d bytes, %v", len(back), err)
		}
		if back, err := inflate(z); err != nil || !bytes.Equal(back, in) {
			t.Errorf("inflate(deflate(x)) = %v", err)
		}
		// The same content compressed otherwise is not a card's encoding.
		var other bytes.Buffer
		zw := zlib.NewWriter(&other)
		zw.Write(in)
		zw.Close()
		if _, err := inflate(other.Bytes()); err == nil {
			t.Error("inflate accepted a Huffman-coded stream")
		}
	}
}

func reasonOf(t testing.TB, text string, keys KeySet) string {
	t.Helper()
	_, _, err := Verify(text, keys, time.Now())
	if err == nil {
		return ""
	}
	r := VerifyReason(err)
	if r == "" {
		t.Fatalf("error without a reason: %v", err)
	}
	return r
}

// TestTamperedCompressed changes every byte of the zlib stream, three ways
// each: nothing verifies, and each failure has one of the expected reasons.
func TestTamperedCompressed(t *testing.T) {
	k := testKey(t)
	keys := keySetOf(t, k)
	text := sampleCards(t, k, 1)[0].QR
	z, _ := base45Decode(text)
	reasons := map[string]int{}
	for i := range z {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			m := bytes.Clone(z)
			m[i] ^= flip
			r := reasonOf(t, base45Encode(m), keys)
			switch r {
			case ReasonBadCompression, ReasonNotCOSE, ReasonBadSignature, ReasonUnknownKey:
				reasons[r]++
			case "":
				t.Fatalf("byte %d ^ %#x: still verifies", i, flip)
			default:
				t.Errorf("byte %d ^ %#x: reason %s", i, flip, r)
			}
		}
	}
	t.Logf("%d mutations of %d bytes: %v", 3*len(z), len(z), reasons)
}

// TestTamperedCOSE changes every byte of the signed message and compresses
// it again correctly, so the change reaches the COSE and signature checks.
func TestTamperedCOSE(t *testing.T) {
	k := testKey(t)
	keys := keySetOf(t, k)
	signed := coseOf(t, sampleCards(t, k, 1)[0].QR)
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(signed); err != nil {
		t.Fatal(err)
	}
	payloadAt := bytes.Index(signed, msg.Payload)
	sigAt := len(signed) - len(msg.Signature)
	reasons := map[string]int{}
	for i := range signed {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			m := bytes.Clone(signed)
			m[i] ^= flip
			r := reasonOf(t, wrapCOSE(t, m), keys)
			inside := (i >= payloadAt && i < payloadAt+len(msg.Payload)) || i >= sigAt
			switch {
			case r == "":
				t.Fatalf("COSE byte %d ^ %#x: still verifies", i, flip)
			case inside && r != ReasonBadSignature:
				t.Errorf("COSE byte %d ^ %#x (payload or signature): reason %s, want bad_signature", i, flip, r)
			case !inside && r != ReasonNotCOSE && r != ReasonUnknownKey && r != ReasonBadSignature:
				t.Errorf("COSE byte %d ^ %#x (framing or header): reason %s", i, flip, r)
			}
			reasons[r]++
		}
	}
	t.Logf("%d mutations of %d bytes: %v", 3*len(signed), len(signed), reasons)
}

func TestTamperedText(t *testing.T) {
	k := testKey(t)
	keys := keySetOf(t, k)
	text := sampleCards(t, k, 1)[0].QR
	for i := 0; i < len(text); i++ {
		m := []byte(text)
		m[i] = base45Alphabet[(base45Value[m[i]]+1)%45]
		if r := reasonOf(t, string(m), keys); r == "" {
			t.Fatalf("character %d changed: still verifies", i)
		}
	}
}

func TestVerifyReasons(t *testing.T) {
	k := testKey(t)
	keys := keySetOf(t, k)
	good := sampleCards(t, k, 1)[0].QR
	stranger := seededKey(t, "not published")
	unpublished, err := Sign(sampleClaims(t), stranger)
	if err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		text string
		want string
	}{
		"garbage":             {"hello, world", ReasonNotBase45},
		"empty":               {"", ReasonNotBase45},
		"lower case":          {strings.ToLower(good), ReasonNotBase45},
		"too long":            {strings.Repeat("0", maxQRText+3), ReasonNotBase45},
		"base45 of plain":     {base45Encode([]byte("not compressed at all")), ReasonBadCompression},
		"zlib of non-COSE":    {wrapCOSE(t, []byte("just text")), ReasonNotCOSE},
		"untagged COSE":       {wrapCOSE(t, coseOf(t, good)[1:]), ReasonNotCOSE},
		"unpublished key":     {unpublished, ReasonUnknownKey},
		"signed, not a card":  {signRaw(t, k, cose.AlgorithmEdDSA, rawKeyID(k.Public()), []byte{0xa1, 0x01, 0x61, 0x78}), ReasonBadClaims},
		"no key id":           {signRaw(t, k, cose.AlgorithmEdDSA, nil, coseOfPayload(t, good)), ReasonNotCOSE},
		"ES256 under our kid": {signES256(t, rawKeyID(k.Public()), coseOfPayload(t, good)), ReasonNotCOSE},
		"trailing bytes":      {base45Encode(append(mustBase45(t, good), 0)), ReasonBadCompression},
		"unsigned extras":     {wrapCOSE(t, withUnprotected(t, coseOf(t, good))), ReasonNotCOSE},
	}
	for name, tc := range cases {
		_, _, err := Verify(tc.text, keys, time.Now())
		if got := VerifyReason(err); got != tc.want {
			t.Errorf("%s: reason %q (%v), want %q", name, got, err, tc.want)
		}
	}

	// Every truncation fails early, at Base45 or at zlib.
	for n := 1; n < len(good); n++ {
		if r := reasonOf(t, good[:n], keys); r != ReasonNotBase45 && r != ReasonBadCompression {
			t.Fatalf("truncated to %d: reason %q", n, r)
		}
	}
}

// withUnprotected adds a header the signature does not cover.
func withUnprotected(t testing.TB, signed []byte) []byte {
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(signed); err != nil {
		t.Fatal(err)
	}
	msg.Headers.RawUnprotected = nil
	msg.Headers.Unprotected = cose.UnprotectedHeader{"note": "unsigned"}
	b, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBase45(t testing.TB, s string) []byte {
	b, err := base45Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func coseOfPayload(t testing.TB, text string) []byte {
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(coseOf(t, text)); err != nil {
		t.Fatal(err)
	}
	return msg.Payload
}

// signRaw signs any payload with k, with or without a kid, and wraps it.
func signRaw(t testing.TB, k *SigningKey, alg cose.Algorithm, kid, payload []byte) string {
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(alg)
	if kid != nil {
		msg.Headers.Protected[cose.HeaderLabelKeyID] = kid
	}
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, k.signer); err != nil {
		t.Fatal(err)
	}
	b, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return wrapCOSE(t, b)
}

func signES256(t testing.TB, kid, payload []byte) string {
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := cose.NewSigner(cose.AlgorithmES256, pk)
	if err != nil {
		t.Fatal(err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmES256)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = kid
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		t.Fatal(err)
	}
	b, _ := msg.MarshalCBOR()
	return wrapCOSE(t, b)
}

func TestVerifyRetiredKey(t *testing.T) {
	k := testKey(t)
	text := sampleCards(t, k, 1)[0].QR
	retiredAt := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	doc := PublicKeyDocument{Keys: []PublicJWK{newPublicJWK(k.Public(), KeyInfo{
		ID: k.ID(), Status: KeyRetired, Created: retiredAt.AddDate(-1, 0, 0), Retired: &retiredAt,
	})}}
	keys, err := NewKeySet(doc)
	if err != nil {
		t.Fatal(err)
	}
	c, info, err := Verify(text, keys, retiredAt.Add(time.Hour))
	if VerifyReason(err) != ReasonRetiredKey || info.ID != k.ID() || c.Serial == "" {
		t.Fatalf("Verify with a retired key: %+v, %v", info, err)
	}
	if !strings.Contains(err.Error(), "retired key") || !strings.Contains(err.Error(), "2026-06-01") {
		t.Errorf("message %q", err)
	}
	// A forgery under a retired key id is a bad signature, not "retired".
	m := coseOf(t, text)
	m[len(m)-1] ^= 1
	if r := reasonOf(t, wrapCOSE(t, m), keys); r != ReasonBadSignature {
		t.Errorf("forgery under a retired key: %s", r)
	}
	// Before its retirement time a key still verifies (status active, a
	// retirement scheduled): the time is judged at now.
	doc.Keys[0].Status = KeyActive
	keys, _ = NewKeySet(doc)
	if _, _, err := Verify(text, keys, retiredAt.Add(-time.Hour)); err != nil {
		t.Errorf("before retirement: %v", err)
	}
	if _, _, err := Verify(text, keys, retiredAt); VerifyReason(err) != ReasonRetiredKey {
		t.Errorf("at retirement: %v", err)
	}
}

func TestSignRejectsBadClaims(t *testing.T) {
	k := testKey(t)
	for field, mutate := range map[string]func(*Claims){
		"health_id": func(c *Claims) { c.HealthID = HealthID{} },
		"name":      func(c *Claims) { c.Name = "" },
		"dob":       func(c *Claims) { c.DOB = "1979-04-02" },
		"sex":       func(c *Claims) { c.Sex = "X" },
		"serial":    func(c *Claims) { c.Serial = "" },
		"version":   func(c *Claims) { c.CardVersion = 0 },
		"issued_at": func(c *Claims) { c.IssuedAt = time.Time{} },
	} {
		c := sampleClaims(t)
		mutate(&c)
		_, err := Sign(c, k)
		var se *schema.Error
		if !errors.As(err, &se) || se.Field != field || se.Code != schema.EINVALID {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := Sign(sampleClaims(t), nil); err == nil {
		t.Error("signed without a key")
	}
}

func TestClaimDOB(t *testing.T) {
	for _, tc := range []struct{ dob, prec, want string }{
		{"1975-04-02", schema.PrecisionDay, "19750402"},
		{"1975", schema.PrecisionYear, "1975"},
		{"1980", schema.PrecisionEstimated, "1980"},
	} {
		if got := ClaimDOB(tc.dob, tc.prec); got != tc.want {
			t.Errorf("ClaimDOB(%q, %q) = %q, want %q", tc.dob, tc.prec, got, tc.want)
		}
	}
}
