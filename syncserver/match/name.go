package match

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// honorifics are dropped when they lead a name ("Smt. Sunita Devi",
// "Late Shri Ram Lal"). Only leading ones: "Sunita Kumari" keeps Kumari,
// which there is a surname, not a title.
var honorifics = map[string]bool{
	"shri": true, "shree": true, "sri": true, "sree": true, "sh": true, "shrimati": true,
	"srimati": true, "smt": true, "mr": true, "mrs": true, "ms": true, "miss": true,
	"kumari": true, "km": true, "kum": true, "dr": true, "late": true, "lt": true,
	"master": true, "mst": true, "sushri": true, "baby": true, "janab": true, "sardar": true,
	"sdr": true,
}

// abbreviations are written forms of one name token, mapped to the full
// token so the two spellings agree exactly.
var abbreviations = map[string]string{
	"md": "mohammad", "mohd": "mohammad", "mohd.": "mohammad", "mohmmad": "mohammad",
	"mohammed": "mohammad", "muhammad": "mohammad", "muhammed": "mohammad",
	"mohamad": "mohammad", "mohamed": "mohammad", "mohmad": "mohammad", "mohmed": "mohammad",
	"kr": "kumar", "pd": "prasad", "prd": "prasad", "prsd": "prasad",
}

// newStripMarks removes combining marks after canonical decomposition, so
// "Lakṣmī" written with IAST diacritics reads as "Laksmi". A transformer
// chain keeps state between calls, so each use makes its own: names are
// normalised from several goroutines (the laptop's form, the server).
func newStripMarks() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// NormalizeName returns a name in canonical form: Unicode NFKC, diacritics
// removed, lower case, punctuation as spaces, leading honorifics dropped,
// Md/Mohd (and the other spellings) as "mohammad", Kr as "kumar", Pd as
// "prasad", single spaces. Transliteration variants are not folded here (see
// FoldToken): the result is still the name as written, only tidier.
func NormalizeName(s string) string { return strings.Join(NameTokens(s), " ") }

// NameTokens returns the tokens of NormalizeName in written order. An
// initial is a one-letter token ("R. K. Sharma" and "RK Sharma" both give
// r, k, sharma). A relation tail ("Ram s/o Shyam") is cut off.
func NameTokens(s string) []string {
	s = canonicalText(s)
	for _, rel := range []string{" s/o ", " d/o ", " w/o ", " c/o ", " h/o "} {
		if i := strings.Index(" "+s+" ", rel); i >= 0 {
			s = s[:max(i-1, 0)]
		}
	}
	raw := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	toks := make([]string, 0, len(raw))
	for _, t := range raw {
		if full, ok := abbreviations[t]; ok {
			toks = append(toks, full)
			continue
		}
		if isInitials(t) && !honorifics[t] {
			for i := 0; i < len(t); i++ {
				toks = append(toks, t[i:i+1])
			}
			continue
		}
		toks = append(toks, t)
	}
	// Leading honorifics, possibly stacked ("Late Shri"); never drop the
	// whole name.
	for len(toks) > 1 && honorifics[toks[0]] {
		toks = toks[1:]
	}
	return toks
}

// canonicalText is NFKC, diacritics stripped, lower case, apostrophes
// removed (D'Souza is dsouza). The same steps serve addresses.
func canonicalText(s string) string {
	if !isASCII(s) {
		s = norm.NFKC.String(s)
		if t, _, err := transform.String(newStripMarks(), s); err == nil {
			s = t
		}
	}
	s = strings.ToLower(s)
	if strings.ContainsAny(s, "'’`") {
		s = strings.NewReplacer("'", "", "’", "", "`", "").Replace(s)
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isInitials reports a run of initials written together ("rk", "mks"): two
// or three ASCII consonants with no vowel. Real name tokens that short
// always have a vowel.
func isInitials(t string) bool {
	if len(t) < 2 || len(t) > 3 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 'a' || c > 'z' || isVowel(c) || c == 'y' {
			return false
		}
	}
	return true
}

func isVowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }

// FoldToken folds one normalised name token so that the common Latin
// spellings of one Indian name agree:
//
//   - aspirates lose their h: th→t, dh→d, bh→b, kh→k, gh→g, jh→j, ph→f, ch/chh→c, sh→s;
//   - ksh, ks and khs→x (Lakshmi, Laxmi; Rukhsana, Ruksana), z→j, q→k, c→k;
//   - b, v and w are one letter (Vikas, Bikas; Bhawna, Bhavna; Devi, Debi), written v;
//   - vowel length: aa→a, ee→i, ii→i, oo→u, uu→u; au/ou, and ow before a
//     consonant→o (Chaudhary, Choudhry, Chowdhury); ay before a consonant or
//     at the end→ai; final ey→e (Pandey), final y after a consonant→i;
//   - doubled letters once (Pappu, Papu);
//   - a final a after a consonant is dropped when four letters remain
//     (Shrivastava, Srivastav; Sunita, Suneeta).
//
// Tokens with letters outside ASCII are returned unchanged.
func FoldToken(t string) string {
	if !isASCII(t) {
		return t
	}
	n := len(t)
	b := make([]byte, 0, n)
	emit := func(c byte) {
		if len(b) > 0 && b[len(b)-1] == c {
			return
		}
		b = append(b, c)
	}
	at := func(i int) byte {
		if i < n {
			return t[i]
		}
		return 0
	}
	for i := 0; i < n; i++ {
		c, next := t[i], at(i+1)
		switch c {
		case 'k':
			switch {
			case next == 's' && at(i+2) == 'h':
				emit('x')
				i += 2
			case next == 's':
				emit('x')
				i++
			case next == 'h' && at(i+2) == 's':
				// khs, khsh: ks with an aspirate (Rukhsana, Ruksana, Rukshana).
				emit('x')
				i += 2
				if at(i+1) == 'h' {
					i++
				}
			case next == 'h':
				emit('k')
				i++
			default:
				emit('k')
			}
		case 'c':
			switch {
			case next == 'h':
				i++
				if at(i+1) == 'h' {
					i++
				}
				emit('c')
			case next == 'k':
				emit('k')
				i++
			default:
				emit('k')
			}
		case 'p':
			if next == 'h' {
				emit('f')
				i++
			} else {
				emit('p')
			}
		case 'b':
			// b and v are one letter in Bengali and Odia spellings (Vikas,
			// Bikas; Devi, Debi).
			if next == 'h' {
				i++
			}
			emit('v')
		case 'v':
			emit('v')
		case 's', 't', 'd', 'g', 'j':
			if next == 'h' {
				i++
			}
			emit(c)
		case 'z':
			emit('j')
		case 'q':
			emit('k')
		case 'w':
			// ow before a consonant is a vowel (Chowdhury).
			if len(b) > 0 && b[len(b)-1] == 'o' && next != 0 && !isVowel(next) && next != 'y' {
				continue
			}
			emit('v')
		case 'a':
			switch next {
			case 'a':
				emit('a')
				i++
			case 'u':
				emit('o')
				i++
			default:
				emit('a')
			}
		case 'e':
			switch {
			case next == 'e':
				emit('i')
				i++
			case next == 'y' && i+2 == n:
				emit('e')
				i++
			default:
				emit('e')
			}
		case 'i':
			if next == 'i' {
				i++
			}
			emit('i')
		case 'o':
			switch next {
			case 'o':
				emit('u')
				i++
			case 'u':
				emit('o')
				i++
			default:
				emit('o')
			}
		case 'u':
			if next == 'u' {
				i++
			}
			emit('u')
		case 'y':
			prev := byte(0)
			if len(b) > 0 {
				prev = b[len(b)-1]
			}
			switch {
			case i == n-1 && prev != 0 && !isVowel(prev):
				emit('i')
			case prev == 'a' && (next == 0 || (!isVowel(next) && next != 'y')):
				emit('i')
			default:
				emit('y')
			}
		default:
			emit(c)
		}
	}
	if len(b) >= 4 && b[len(b)-1] == 'a' && !isVowel(b[len(b)-2]) {
		b = b[:len(b)-1]
	}
	return string(b)
}

// phoneticToken is the phonetic key of one folded token: its first letter
// (any vowel as a) and then its consonants, without h and y, m before a
// consonant as n. Vowels are where transliterations disagree most
// (Chaudhary, Choudhry, Chowdhury all give cdr; Tiwari, Tewari give tvr;
// Priya, Pria give pr; Omkar, Onkar give ankr).
func phoneticToken(fold string) string {
	if fold == "" || !isASCII(fold) {
		return fold
	}
	b := make([]byte, 0, len(fold))
	c := fold[0]
	if isVowel(c) {
		c = 'a'
	}
	b = append(b, c)
	for i := 1; i < len(fold); i++ {
		c := fold[i]
		if isVowel(c) || c == 'h' || c == 'y' {
			continue
		}
		if c == 'm' && i+1 < len(fold) && !isVowel(fold[i+1]) && fold[i+1] != 'h' && fold[i+1] != 'y' {
			c = 'n'
		}
		b = append(b, c)
	}
	if len(b) == 1 && len(fold) > 1 {
		// A full token whose key is one letter (Roy, Ray) must not read as
		// an initial.
		b = append(b, '_')
	}
	return string(b)
}

// markers stand where a surname would and are often swapped for one
// (Sunita Devi, Sunita Sharma; Vishal Kumar, Vishal Jha); matching treats
// them as optional. Folded forms of Devi, Kumari, Kumar, Kaur, Singh,
// Begum, Begam, Khatoon, Bano, Banu, Parveen, Bai, Ben, Bibi, and the
// Mohammad prefix (Md. Arman Qureshi, Arman Qureshi).
var markers = map[string]bool{
	"devi": true, "kumari": true, "kumar": true, "kor": true, "sing": true, "vegum": true,
	"vegam": true, "katun": true, "vano": true, "vanu": true, "parvin": true, "vai": true,
	"ven": true, "vivi": true, "mohamad": true,
}

// FoldName returns the folded tokens of a name, sorted and joined by one
// space. Two names with the same FoldName agree exactly as far as matching
// is concerned ("Suneeta Devi", "Smt. Sunita Devi", "Devi Sunita").
func FoldName(s string) string {
	toks := foldTokens(NameTokens(s))
	slices.Sort(toks)
	return strings.Join(toks, " ")
}

// PhoneticKey returns the phonetic keys of a name's full tokens (initials
// are left out), sorted and joined by one space: a transliteration-folding
// key in the spirit of Double Metaphone for Indian names in Latin script.
func PhoneticKey(s string) string {
	var keys []string
	for _, t := range foldTokens(NameTokens(s)) {
		if len(t) > 1 {
			keys = append(keys, phoneticToken(t))
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, " ")
}

func foldTokens(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = FoldToken(t)
	}
	return out
}
