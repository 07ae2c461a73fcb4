package cards

import (
	"errors"
	"fmt"
)

// Base45 (RFC 9285) turns bytes into text drawn from the 45 characters of
// the QR code's alphanumeric mode, which packs two characters into 11 bits.
// Three characters carry two bytes, so a byte costs 8.25 bits in the QR
// instead of 8 in byte mode but the text survives copy, paste and scanners
// that mangle binary. It is an encoding, not cryptography, and small enough
// to keep here rather than pull in a module for it.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

var base45Value = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(base45Alphabet); i++ {
		v[base45Alphabet[i]] = int8(i)
	}
	return v
}()

// base45Encode returns the RFC 9285 encoding of b.
func base45Encode(b []byte) string {
	out := make([]byte, 0, len(b)/2*3+2)
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])<<8 | int(b[i+1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return string(out)
}

var errBase45Length = errors.New("base45: length leaves one character over")

// base45Decode reverses base45Encode. It rejects characters outside the
// alphabet (lower case included: RFC 9285 has none), a length that leaves a
// single character over, and groups whose value does not fit the bytes they
// stand for, so every text has at most one decoding.
func base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, errBase45Length
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		group := s[i:min(i+3, len(s))]
		n := 0
		for j := len(group) - 1; j >= 0; j-- {
			v := base45Value[group[j]]
			if v < 0 {
				return nil, fmt.Errorf("base45: character %q at %d is not in the alphabet", group[j], i+j)
			}
			n = n*45 + int(v)
		}
		if len(group) == 3 {
			if n > 0xffff {
				return nil, fmt.Errorf("base45: group %q at %d is larger than two bytes", group, i)
			}
			out = append(out, byte(n>>8), byte(n))
		} else {
			if n > 0xff {
				return nil, fmt.Errorf("base45: final group %q is larger than one byte", group)
			}
			out = append(out, byte(n))
		}
	}
	return out, nil
}
