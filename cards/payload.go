package cards

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/doorstep-health/doorstep/schema"
)

// Claims are what a card's QR says about its holder, signed.
//
// On the wire (DESIGN.md §8) they are a CBOR Web Token (RFC 8392):
//
//	{ 1: iss,                      issuer id (text; omitted when empty)
//	  6: iat,                      issued at, seconds since 1970 (UTC)
//	  169: {                       MOSIP identity claim (IANA CWT claim 169)
//	    1: health ID               14 digits, text, no dashes
//	    4: full name               text, as enrolled (any Unicode)
//	    8: date of birth           text "YYYYMMDD", or "YYYY" when only the year is known
//	    9: sex                     1 male, 2 female, 3 other
//	  },
//	  -65537: [serial, version] }  our private claim (CardClaimKey): the card
//	                               serial (text) and its print version (uint)
//
// encoded in CBOR core deterministic form, signed as a tagged COSE_Sign1
// (RFC 9052) with EdDSA/Ed25519 (alg -8) and the 4-byte key id (kid, label 4)
// in the protected header and nothing in the unprotected one, wrapped in
// zlib (RFC 1950; one stored block, see deflate) and written in Base45
// (RFC 9285) with no prefix: the layout of MOSIP's Claim 169 QR, so that
// its verifiers read ours.
type Claims struct {
	Issuer      string
	IssuedAt    time.Time // kept to the second
	HealthID    HealthID
	Name        string
	DOB         string // "YYYYMMDD" or "YYYY"
	Sex         string // "M", "F" or "O"
	Serial      string
	CardVersion int
}

// CardClaimKey is the CWT claim key of our private claim [serial, version].
// RFC 8392 §9.1 leaves keys below -65536 to private use, so -65537 is the
// nearest key that can never collide with a registered claim; it costs 5
// bytes of CBOR, about 7 characters of QR.
const CardClaimKey = -65537

// MOSIP Claim 169 sex codes.
var sexCodes = map[string]int{"M": 1, "F": 2, "O": 3}

type cwtClaims struct {
	Issuer   string         `cbor:"1,keyasint,omitempty"`
	IssuedAt int64          `cbor:"6,keyasint"`
	Identity *identityClaim `cbor:"169,keyasint"`
	Card     *cardClaim     `cbor:"-65537,keyasint"`
}

type identityClaim struct {
	ID   string `cbor:"1,keyasint"`
	Name string `cbor:"4,keyasint"`
	DOB  string `cbor:"8,keyasint"`
	Sex  int    `cbor:"9,keyasint"`
}

type cardClaim struct {
	_       struct{} `cbor:",toarray"`
	Serial  string
	Version uint64
}

var (
	cborEnc = func() cbor.EncMode {
		m, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
	cborDec = func() cbor.DecMode {
		m, err := cbor.DecOptions{
			DupMapKey:        cbor.DupMapKeyEnforcedAPF,
			IndefLength:      cbor.IndefLengthForbidden,
			MaxNestedLevels:  8,
			MaxArrayElements: 64,
			MaxMapPairs:      64,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
)

// maxQRText is the longest text Verify reads: the most a QR code holds
// (version 40, alphanumeric, level L). Longer input is refused unread.
const maxQRText = 4296

// Sign checks c and returns the QR text: Base45 of zlib of the COSE_Sign1
// of c's CWT, signed with k.
func Sign(c Claims, k *SigningKey) (string, error) {
	if k == nil {
		return "", errors.New("sign: no signing key")
	}
	if err := c.validate(); err != nil {
		return "", err
	}
	payload, err := cborEnc.Marshal(cwtClaims{
		Issuer:   c.Issuer,
		IssuedAt: c.IssuedAt.Unix(),
		Identity: &identityClaim{ID: c.HealthID.Digits(), Name: c.Name, DOB: c.DOB, Sex: sexCodes[c.Sex]},
		Card:     &cardClaim{Serial: c.Serial, Version: uint64(c.CardVersion)},
	})
	if err != nil {
		return "", fmt.Errorf("sign: encoding claims: %w", err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = k.kid
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, k.signer); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	signed, err := msg.MarshalCBOR()
	if err != nil {
		return "", fmt.Errorf("sign: encoding COSE: %w", err)
	}
	z, err := deflate(signed)
	if err != nil {
		return "", fmt.Errorf("sign: compressing: %w", err)
	}
	return base45Encode(z), nil
}

// deflate wraps b in a zlib stream (RFC 1950) of one stored, uncompressed
// deflate block: header 78 01, block header 01, LEN and NLEN, b, Adler-32.
// Any zlib reader reads it, and zlib stays in the format because MOSIP's
// Claim 169 QR has it, but it is not compressed, for two reasons. Nothing
// would be gained: a card is ~190 bytes of which a third is signature and
// key id, and zlib -9 saves nothing on it (for a short name, 2 bytes). And
// the stored form is the one encoding of its content, which Verify
// insists on: compressed deflate is malleable (a back-reference can point at
// another copy of the same bytes, padding bits are ignored), so a changed
// QR text could still verify, and a compressor's output changes between
// versions. This way every byte of a card's text is checked.
func deflate(b []byte) ([]byte, error) {
	n := len(b)
	if n > 0xffff {
		return nil, fmt.Errorf("%d bytes, more than one stored block holds", n)
	}
	out := make([]byte, 0, n+11)
	out = append(out, 0x78, 0x01) // deflate, 32K window, no dictionary; 0x7801 is a multiple of 31
	out = append(out, 0x01)       // BFINAL=1, BTYPE=00 (stored), padding bits 0
	out = append(out, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
	out = append(out, b...)
	return binary.BigEndian.AppendUint32(out, adler32.Checksum(b)), nil
}

// inflate reads the stream deflate writes, and nothing else: any other
// zlib stream, even a valid one with the same content, is refused, so that
// each signed card has exactly one QR text.
func inflate(z []byte) ([]byte, error) {
	if len(z) < 11 {
		return nil, fmt.Errorf("%d bytes, too short for a zlib stream", len(z))
	}
	if z[0]&0x0f != 8 || (int(z[0])<<8|int(z[1]))%31 != 0 {
		return nil, fmt.Errorf("not a zlib stream (header %02x %02x)", z[0], z[1])
	}
	if z[0] != 0x78 || z[1] != 0x01 || z[2] != 0x01 {
		return nil, fmt.Errorf("zlib stream is not the single stored block a card carries (header %02x %02x %02x)", z[0], z[1], z[2])
	}
	n := int(z[3]) | int(z[4])<<8
	if z[5] != ^z[3] || z[6] != ^z[4] {
		return nil, errors.New("zlib stored block length is corrupt")
	}
	if len(z) != 7+n+4 {
		return nil, fmt.Errorf("zlib stream is %d bytes, its block says %d", len(z), 7+n+4)
	}
	out := z[7 : 7+n]
	if binary.BigEndian.Uint32(z[7+n:]) != adler32.Checksum(out) {
		return nil, errors.New("zlib checksum does not match")
	}
	return out, nil
}

func (c Claims) validate() error {
	bad := func(field, rule, format string, args ...any) error {
		return &schema.Error{Code: schema.EINVALID, Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.HealthID.IsZero():
		return bad("health_id", "required", "is required")
	case c.Name == "" || !utf8.ValidString(c.Name):
		return bad("name", "required", "is required (valid UTF-8 text)")
	case len(c.Name) > 4*schema.MaxNameLen:
		return bad("name", "max_length", "is too long for a card")
	case !validClaimDOB(c.DOB):
		return bad("dob", "date_format", "must be YYYYMMDD or YYYY, got %q", c.DOB)
	case sexCodes[c.Sex] == 0:
		return bad("sex", "one_of", "must be M, F or O, got %q", c.Sex)
	case c.Serial == "" || len(c.Serial) > 64:
		return bad("serial", "required", "is required (at most 64 bytes)")
	case c.CardVersion < 1:
		return bad("version", "min", "must be 1 or more, got %d", c.CardVersion)
	case c.IssuedAt.IsZero() || c.IssuedAt.Unix() < 0:
		return bad("issued_at", "required", "is required")
	}
	return nil
}

func validClaimDOB(s string) bool {
	switch len(s) {
	case 4:
		_, err := time.Parse("2006", s)
		return err == nil
	case 8:
		_, err := time.Parse("20060102", s)
		return err == nil
	}
	return false
}

// ClaimDOB turns a date of birth as the schema stores it (YYYY-MM-DD with
// precision day; YYYY with precision year or estimated) into the Claim 169
// form: YYYYMMDD, or YYYY when only the year is known.
func ClaimDOB(dob, precision string) string {
	if precision == schema.PrecisionDay && len(dob) == 10 {
		return dob[0:4] + dob[5:7] + dob[8:10]
	}
	if len(dob) >= 4 {
		return dob[:4]
	}
	return dob
}

// Reasons a card does not verify. They are stable strings: the verify
// command prints them, the API returns them and scripts branch on them.
const (
	ReasonNotBase45      = "not_base45"      // not Base45 text (or longer than any QR holds)
	ReasonBadCompression = "bad_compression" // Base45 fine, but not the zlib stream a card carries
	ReasonNotCOSE        = "not_cose"        // not a tagged COSE_Sign1 with EdDSA and a key id
	ReasonUnknownKey     = "unknown_key"     // signed with a key id that is not published
	ReasonBadSignature   = "bad_signature"   // the signature does not match the content
	ReasonRetiredKey     = "retired_key"     // genuine, but its key has been retired
	ReasonBadClaims      = "bad_claims"      // genuine signature over claims that are not a card's
	// The server's verify endpoint adds these after a valid signature, from
	// its own records; Verify never returns them.
	ReasonRevokedCard = "revoked_card" // the card was revoked
	ReasonSuperseded  = "superseded"   // a newer version of the card was printed
)

var reasonText = map[string]string{
	ReasonNotBase45:      "not Base45",
	ReasonBadCompression: "bad compression",
	ReasonNotCOSE:        "not COSE",
	ReasonUnknownKey:     "unknown key id",
	ReasonBadSignature:   "bad signature",
	ReasonRetiredKey:     "retired key",
	ReasonBadClaims:      "not a health card",
	ReasonRevokedCard:    "revoked card",
	ReasonSuperseded:     "superseded by a newer card version",
}

// VerifyError is why a QR text is not a valid card.
type VerifyError struct {
	Reason string // one of the Reason constants
	Detail string // what exactly was wrong, for a human
}

func (e *VerifyError) Error() string {
	t := reasonText[e.Reason]
	if t == "" {
		t = e.Reason
	}
	if e.Detail == "" {
		return "card not valid: " + t
	}
	return "card not valid: " + t + ": " + e.Detail
}

// VerifyReason returns the Reason of a *VerifyError in err's chain, or "".
func VerifyReason(err error) string {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

func verifyErr(reason, format string, args ...any) *VerifyError {
	return &VerifyError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Verify checks a QR text offline with nothing but the published keys and
// returns its claims and the key that signed it. A failure is a
// *VerifyError whose Reason says which step failed, in this order:
// not_base45, bad_compression, not_cose, unknown_key, bad_signature,
// retired_key (checked after the signature, so a forgery under a retired
// key id is a bad signature), bad_claims. With retired_key the claims are
// returned too: the signature was good, only the key is withdrawn. now is
// the time at which key retirement is judged. A trailing newline, as
// scanners print one, is ignored; other whitespace is not, since a space is
// a Base45 character.
func Verify(text string, keys KeySet, now time.Time) (Claims, KeyInfo, error) {
	msg, kid, verr := openCOSE(text)
	if verr != nil {
		return Claims{}, KeyInfo{}, verr
	}
	key := keys.keys[string(kid)]
	if key == nil {
		return Claims{}, KeyInfo{}, verifyErr(ReasonUnknownKey, "key id %s is not among the %d published keys", displayKID(kid), len(keys.keys))
	}
	if err := msg.Verify(nil, key.verifier); err != nil {
		return Claims{}, key.info, verifyErr(ReasonBadSignature, "signature does not match key %s", key.info.ID)
	}
	c, err := decodeClaims(msg.Payload)
	if err != nil {
		return Claims{}, key.info, &VerifyError{Reason: ReasonBadClaims, Detail: err.Error()}
	}
	if key.info.retiredAt(now) {
		when := ""
		if key.info.Retired != nil {
			when = " on " + key.info.Retired.UTC().Format(time.DateOnly)
		}
		return c, key.info, verifyErr(ReasonRetiredKey, "key %s was retired%s; the card must be reprinted", key.info.ID, when)
	}
	return c, key.info, nil
}

// openCOSE undoes Base45 and zlib and reads the COSE_Sign1 and its key id,
// checking everything but the signature.
func openCOSE(text string) (*cose.Sign1Message, []byte, *VerifyError) {
	for len(text) > 0 && (text[len(text)-1] == '\n' || text[len(text)-1] == '\r') {
		text = text[:len(text)-1]
	}
	if text == "" {
		return nil, nil, verifyErr(ReasonNotBase45, "empty text")
	}
	if len(text) > maxQRText {
		return nil, nil, verifyErr(ReasonNotBase45, "%d characters, more than any QR code holds", len(text))
	}
	z, err := base45Decode(text)
	if err != nil {
		return nil, nil, &VerifyError{Reason: ReasonNotBase45, Detail: err.Error()}
	}
	signed, err := inflate(z)
	if err != nil {
		return nil, nil, &VerifyError{Reason: ReasonBadCompression, Detail: err.Error()}
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(signed); err != nil {
		return nil, nil, &VerifyError{Reason: ReasonNotCOSE, Detail: err.Error()}
	}
	// Nothing unsigned rides along: Sign leaves the unprotected header empty.
	if !bytes.Equal(msg.Headers.RawUnprotected, []byte{0xa0}) {
		return nil, nil, verifyErr(ReasonNotCOSE, "unprotected header is not empty")
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil || alg != cose.AlgorithmEdDSA {
		return nil, nil, verifyErr(ReasonNotCOSE, "protected header algorithm is %v, want EdDSA", alg)
	}
	kid, ok := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if !ok || len(kid) == 0 {
		return nil, nil, verifyErr(ReasonNotCOSE, "no key id in the protected header")
	}
	return &msg, kid, nil
}

// readUnverified returns the claims of a QR text without checking its
// signature. It is for the printer, which checks that a card's QR and its
// printed text agree; never trust what it returns.
func readUnverified(text string) (Claims, error) {
	msg, _, verr := openCOSE(text)
	if verr != nil {
		return Claims{}, verr
	}
	return decodeClaims(msg.Payload)
}

func displayKID(kid []byte) string {
	if len(kid) > 32 {
		kid = kid[:32]
	}
	return fmt.Sprintf("%x", kid)
}

func decodeClaims(payload []byte) (Claims, error) {
	var w cwtClaims
	if err := cborDec.Unmarshal(payload, &w); err != nil {
		return Claims{}, fmt.Errorf("claims: %w", err)
	}
	if w.Identity == nil {
		return Claims{}, errors.New("claims: no identity claim (169)")
	}
	if w.Card == nil {
		return Claims{}, fmt.Errorf("claims: no card claim (%d)", CardClaimKey)
	}
	id, err := ParseHealthID(w.Identity.ID)
	if err != nil || len(w.Identity.ID) != HealthIDLen {
		return Claims{}, fmt.Errorf("claims: %q is not a health ID", w.Identity.ID)
	}
	c := Claims{
		Issuer:   w.Issuer,
		IssuedAt: time.Unix(w.IssuedAt, 0).UTC(),
		HealthID: id,
		Name:     w.Identity.Name,
		DOB:      w.Identity.DOB,
		Serial:   w.Card.Serial,
	}
	for s, code := range sexCodes {
		if code == w.Identity.Sex {
			c.Sex = s
		}
	}
	if w.Card.Version > 1<<31 {
		return Claims{}, fmt.Errorf("claims: card version %d out of range", w.Card.Version)
	}
	c.CardVersion = int(w.Card.Version)
	if err := c.validate(); err != nil {
		return Claims{}, fmt.Errorf("claims: %w", err)
	}
	return c, nil
}
