package match

import (
	"strconv"
)

// Blocking key kinds: the first letter of every key, before the colon.
const (
	KeyName     = "n" // phonetic keys of two name tokens + birth year
	KeyBirth    = "b" // full date of birth
	KeyPhone    = "p" // phone
	KeyAadhaar  = "a" // Aadhaar hash
	KeyDocument = "d" // document number (any type, ration cards included)
	KeySurname  = "s" // pincode + phonetic surname + sex
	KeyAddress  = "h" // household address + first letter of a name token
	KeyRelative = "r" // phonetic key of a given name + of the father's or spouse's given name
	KeySingle   = "g" // phonetic key of one name token + sex + birth year
	KeyNameOnly = "y" // phonetic keys of two name tokens, whatever the birth year: looked up only by a resident whose birth year is unknown
)

// keyFields are the fields a blocking key kind makes agree, which EM must
// not estimate from the pairs that key found (see Train).
var keyFields = map[string][]int{
	KeyName:     {fName, fDOB},
	KeyBirth:    {fDOB},
	KeyPhone:    {fPhone},
	KeyAadhaar:  {fAadhaar},
	KeyDocument: {fDocument},
	KeySurname:  {fName, fAddress, fSex},
	KeyAddress:  {fName, fAddress},
	KeyRelative: {fName, fFather, fSpouse},
	KeySingle:   {fName, fSex, fDOB},
	KeyNameOnly: {fName},
}

// maxNameKeyTokens bounds the name tokens that make pair keys (six pairs
// for four tokens).
const maxNameKeyTokens = 4

// BlockingKeys returns the keys under which a resident is stored in the
// blocking index. Look candidates up with LookupKeys, which widens the
// birth year: the stored and looked-up keys are not the same set.
//
// A resident whose dob was estimated from a stated age is stored under
// five birth years (±2); others under their own.
func BlockingKeys(f *Features) []string {
	lo, hi := 0, 0
	if f.Precision == 'e' {
		lo, hi = -2, 2
	}
	return blockingKeys(f, lo, hi, false)
}

// LookupKeys returns the keys to look a new resident's candidates up
// under: its BlockingKeys with birth years widened (±1, or ±3 when
// estimated), so that with the stored side's own widening two birth years
// up to 1 apart always share a key (3 when one side is an estimate, 5 when
// both are), and with every sex when the resident's is unknown.
func LookupKeys(f *Features) []string {
	lo, hi := -1, 1
	if f.Precision == 'e' {
		lo, hi = -3, 3
	}
	return blockingKeys(f, lo, hi, true)
}

func blockingKeys(f *Features, lo, hi int, lookup bool) []string {
	keys := make([]string, 0, 48)
	years := func(prefix string) {
		if f.BirthYear == 0 {
			keys = append(keys, prefix+"?")
			return
		}
		for d := lo; d <= hi; d++ {
			keys = append(keys, prefix+strconv.Itoa(f.BirthYear+d))
		}
	}
	// Name keys: by birth year, and once without it. A resident whose
	// birth year is unknown is stored under "?" and looks up the keys
	// without a year; one whose year is known is stored under the key
	// without a year and looks up "?" besides its years. (The first
	// stored and looked up under every year would cost a hundred keys.)
	nameYears := func(prefix string) {
		years(KeyName + ":" + prefix + ":")
		switch {
		case f.BirthYear != 0 && !lookup:
			keys = append(keys, KeyNameOnly+":"+prefix)
		case f.BirthYear != 0:
			keys = append(keys, KeyName+":"+prefix+":?")
		case lookup:
			keys = append(keys, KeyNameOnly+":"+prefix)
		}
	}
	// The sexes to key by: one's own when storing ("?" when unknown); when
	// looking up, also "?", or every sex when one's own is unknown.
	var sexes []string
	switch {
	case !lookup && f.Sex == 0:
		sexes = []string{"?"}
	case !lookup:
		sexes = []string{string(rune(f.Sex))}
	case f.Sex == 0:
		sexes = []string{"?", "M", "F", "O"}
	default:
		sexes = []string{string(rune(f.Sex)), "?"}
	}
	// Name + birth year: every pair of full tokens, so that a token left
	// out or moved still leaves a pair in common.
	phon := f.name.keys
	if len(phon) > maxNameKeyTokens {
		phon = phon[:maxNameKeyTokens]
	}
	switch len(phon) {
	case 0:
	case 1:
		nameYears(phon[0])
	default:
		for i := 0; i < len(phon); i++ {
			for j := i + 1; j < len(phon); j++ {
				x, y := phon[i], phon[j]
				if x > y {
					x, y = y, x
				}
				nameYears(x + "." + y)
			}
		}
	}
	// One token + sex + birth year, for a name whose surname was left out
	// or swapped for a marker (Rekha Singh, Reka; Neha Devi, Neha Rana),
	// and two neighbouring tokens joined as one, for a name written
	// joined or split (Sunil Kumar, Sunilkumar; Charan Jit, Charanjeet).
	core := f.name.coreKeys()
	for _, c := range core {
		for _, sx := range sexes {
			years(KeySingle + ":" + c + ":" + sx + ":")
		}
	}
	if c := f.name.joinedKey(); c != "" {
		// Looked up under one's own sex only: a join and an unknown sex
		// together are too rare for the keys they would cost.
		for _, sx := range sexes[:1] {
			years(KeySingle + ":" + c + ":" + sx + ":")
		}
	}
	// Given name + relative's given name, whatever the birth year: a son
	// enrolled with a stated age and his father's name.
	if len(core) > 2 {
		core = core[:2]
	}
	// And by the first letters of the name's first two tokens, for a name
	// written with initials on one side (K. Singh, Kulwant Singh, both sons
	// of Tejinder Singh).
	core = append(core, f.name.initialKeys()...)
	for _, c := range core {
		for _, rel := range []*nameFeat{&f.father, &f.spouse} {
			if r := rel.givenKey(&f.name); r != "" {
				keys = append(keys, KeyRelative+":"+c+":"+r)
			}
		}
	}
	if f.Precision == 'd' {
		keys = append(keys, KeyBirth+":"+f.DOB)
	}
	if f.Phone != "" {
		keys = append(keys, KeyPhone+":"+f.Phone)
	}
	if f.AadhaarHash != "" {
		keys = append(keys, KeyAadhaar+":"+f.AadhaarHash)
	}
	for _, d := range f.Documents {
		_, num := splitDoc(d)
		keys = append(keys, KeyDocument+":"+num)
	}
	for _, num := range f.RationCards {
		keys = append(keys, KeyDocument+":"+num)
	}
	// Pincode + surname (the last full token) + sex.
	if f.Pincode != "" && len(f.name.keys) > 0 {
		base := KeySurname + ":" + f.Pincode + ":" + f.name.keys[len(f.name.keys)-1] + ":"
		for _, sx := range sexes {
			keys = append(keys, base+sx)
		}
	}
	// Household address + first letter of each name token (order may swap).
	if f.LineKey != "" {
		base := KeyAddress + ":" + f.LineKey + "|" + f.Pincode + ":"
		var seen [26]bool
		for _, t := range f.name.tokens {
			c := t[0]
			if c >= 'a' && c <= 'z' {
				if seen[c-'a'] {
					continue
				}
				seen[c-'a'] = true
			}
			keys = append(keys, base+t[:1])
		}
	}
	return keys
}

// keyKind returns the kind of a blocking key.
func keyKind(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == ':' {
			return key[:i]
		}
	}
	return key
}
