package surveygen

import (
	"slices"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// Noise holds the probabilities of the ways a second enrolment of the same
// person differs from the first. Each is drawn on its own for every second
// enrolment, so several often combine.
type Noise struct {
	// Name
	GivenVariant   float64 // a given name, prefix or marker respelt: Mohd/Mohammad/Md., Laxmi/Lakshmi, Surender/Surinder, or a transliteration shift (aa/a, ee/i, oo/u, v/w, sh/s, th/t, bh/b, dh/d, ph/f, z/j, q/k)
	SurnameVariant float64 // the surname respelt: Chaudhary/Choudhry/Chowdhury, Shrivastava/Srivastava
	MiddleDropped  float64 // Kumar, the Mohd. prefix or a Marathi middle name left out
	SurnameDropped float64 // surname and markers (Devi, Kaur, Begum) left out
	SurnameSwapped float64 // marker for surname or back (Sunita Devi / Sunita Sharma), surname added, or written first
	Initials       float64 // R.K. Sharma, S. Kumar; a Tamil initial moved, expanded to the father's name or dropped
	Spacing        float64 // Ram Kumar / Ramkumar, Gurpreet / Gur Preet
	Typo           float64 // one letter dropped, doubled, swapped or a vowel changed
	Honorific      float64 // Shri, Smt., Km., Master, Baby
	UpperCase      float64 // the whole name in capitals
	SexFlip        float64 // sex entered wrongly

	// Date of birth
	AgeStated float64 // an age stated instead of the date (ages heap on multiples of five)
	YearOnly  float64 // the year only
	DOBError  float64 // a date off: 1 January, day and month swapped, or a year off

	// Phone
	PhoneMissing float64 // no number given
	PhoneChanged float64 // another number: a new SIM, or a relative's
	PhoneTypo    float64 // one digit wrong or two swapped

	// Father's and spouse's names
	RelativeMissing  float64 // father_name or spouse_name left out, each drawn on its own
	RelativeVariant  float64 // father_name or spouse_name written differently
	FatherForHusband float64 // a married woman gives her father's name instead of her husband's

	// Documents
	DocTypo float64 // a voter ID or ration card number with a look-alike letter or digit
}

// DefaultNoise returns the noise model the generator uses unless told
// otherwise.
func DefaultNoise() Noise {
	return Noise{
		GivenVariant:     0.30,
		SurnameVariant:   0.20,
		MiddleDropped:    0.12,
		SurnameDropped:   0.10,
		SurnameSwapped:   0.08,
		Initials:         0.08,
		Spacing:          0.04,
		Typo:             0.05,
		Honorific:        0.08,
		UpperCase:        0.05,
		SexFlip:          0.003,
		AgeStated:        0.25,
		YearOnly:         0.15,
		DOBError:         0.05,
		PhoneMissing:     0.20,
		PhoneChanged:     0.07,
		PhoneTypo:        0.05,
		RelativeMissing:  0.15,
		RelativeVariant:  0.25,
		FatherForHusband: 0.10,
		DocTypo:          0.03,
	}
}

// enrolment is one person as one team writes them down.
type enrolment struct {
	p       *person
	rel     string
	name    name
	father  name
	spouse  name
	married bool
	st      *style // the style of the family they are enrolled with
	contact string // the number to give, 10 digits, or ""
	ration  string // the household's ration card, shown by the head
	second  bool   // a later enrolment: apply the noise model
}

// enrolment returns member i as the team that first meets the family writes
// them down; a second team's visit starts from it and adds noise.
func (f *family) enrolment(i int) enrolment {
	p := f.members[i]
	e := enrolment{p: p, rel: f.rels[i], name: p.name, father: p.father, spouse: p.spouse,
		married: p.married, st: p.st, contact: p.contact}
	if i == 0 {
		e.ration = f.ration
	}
	return e
}

// member writes one enrolment as a household member.
func (g *Generator) member(e enrolment, visit time.Time) Member {
	p := e.p
	N := &g.noise
	m := Member{Cluster: p.cluster}
	r := &m.Resident

	n := e.name
	if e.second {
		n = g.noisyName(n, e, visit)
	} else {
		// Teams differ in habits even on a first visit.
		if g.chance(0.02) {
			n = g.honorific(n, e, visit)
		}
		if g.chance(0.03) {
			n = upper(n)
		}
	}
	r.Name = n.String()
	r.Sex = string(p.sex)
	if e.second && g.chance(N.SexFlip) {
		r.Sex = bySex(p.sex, "F", "M")
	}
	r.Relation = e.rel

	// Father's and spouse's names: a married woman gives her husband's,
	// others their father's, a married man often both.
	var pFather, pSpouse float64
	switch {
	case e.married && p.sex == 'F':
		pFather, pSpouse = 0.08, 0.97
	case e.married:
		pFather, pSpouse = 0.75, 0.95
	default:
		pFather = 0.97
	}
	father, spouse := e.father, e.spouse
	if e.second {
		if e.married && p.sex == 'F' && g.chance(N.FatherForHusband) {
			pFather, pSpouse = 1, 0
		}
		if g.chance(N.RelativeMissing) {
			pFather = 0
		}
		if g.chance(N.RelativeMissing) {
			pSpouse = 0
		}
		if len(father) > 0 && g.chance(N.RelativeVariant) {
			father = g.relativeName(father)
		}
		if len(spouse) > 0 && g.chance(N.RelativeVariant) {
			spouse = g.relativeName(spouse)
		}
	}
	if len(father) > 0 && g.chance(pFather) {
		if p.fatherLate && g.chance(0.15) || !p.fatherHere && g.ageOf(p) >= 45 && g.chance(0.06) {
			father = append(name{{"Late", kHon}}, father...)
		}
		r.FatherName = father.String()
	}
	if len(spouse) > 0 && g.chance(pSpouse) {
		r.SpouseName = spouse.String()
	}

	g.dob(r, e, visit)

	contact := e.contact
	if e.second {
		switch {
		case g.chance(N.PhoneMissing):
			contact = ""
		case g.chance(N.PhoneChanged):
			contact = g.mobile()
		case contact != "" && g.chance(N.PhoneTypo):
			contact = g.phoneTypo(contact)
		}
	}
	if contact != "" {
		r.Phone = g.writePhone(contact)
	}

	// About a third of adults show their Aadhaar card at the door.
	pAadhaar := 0.12
	if age(p.dob, visit) >= 18 {
		pAadhaar = 0.32
	}
	if p.aadhaar != "" && g.chance(pAadhaar) {
		r.Aadhaar = g.writeAadhaar(p.aadhaar)
	}
	doc := func(typ, number string) {
		if e.second && g.chance(N.DocTypo) {
			number = g.docTypo(number)
		}
		r.Documents = append(r.Documents, schema.Document{Type: typ, Number: number})
	}
	if p.voter != "" && g.chance(0.08) {
		doc("voter_id", p.voter)
	}
	if e.ration != "" && g.chance(0.15) {
		doc("ration_card", e.ration)
	}
	if p.pan != "" && g.chance(0.03) {
		doc("pan", p.pan)
	}

	p.enrolments++
	if p.enrolments == 2 {
		g.stats.Duplicated++
	}
	g.stats.Residents++
	return m
}

// dob writes the date of birth as the team heard it: a date, a year, or a
// stated age. Children's dates are known from birth certificates; old
// people often know only their age, and state it rounded.
func (g *Generator) dob(r *schema.Resident, e enrolment, visit time.Time) {
	p := e.p
	a := age(p.dob, visit)
	var pAge, pYear float64
	switch {
	case e.second:
		pAge, pYear = g.noise.AgeStated, g.noise.YearOnly
		if a < 6 {
			pAge, pYear = pAge*0.3, pYear*0.3
		}
	case a < 6:
		pAge, pYear = 0.03, 0.02
	case a < 18:
		pAge, pYear = 0.07, 0.05
	case a < 50:
		pAge, pYear = 0.15, 0.10
	default:
		pAge, pYear = 0.30, 0.20
	}
	if p.twin && p.enrolments == 0 {
		pAge, pYear = 0, 0
	}
	x := g.rng.Float64()
	switch {
	case x < pAge:
		stated := a
		switch {
		case a >= 25 && g.chance(0.45):
			stated = (a + 2) / 5 * 5
		case g.chance(0.25):
			stated = max(a+oneOf(g, []int{-2, -1, 1, 2}), 0)
		}
		r.Age = &stated
	case x < pAge+pYear:
		r.DOB = p.dob.Format("2006")
		r.DOBPrecision = "year"
	default:
		d := p.dob
		if e.second && g.chance(g.noise.DOBError) {
			d = g.dobError(d, a, visit)
		}
		r.DOB = d.Format("2006-01-02")
		r.DOBPrecision = "day"
	}
}

// dobError returns a date of birth as it is sometimes misrecorded.
func (g *Generator) dobError(d time.Time, a int, visit time.Time) time.Time {
	var w time.Time
	switch x := g.rng.Float64(); {
	case x < 0.4 && a >= 18:
		w = time.Date(d.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	case x < 0.7 && d.Day() <= 12 && d.Day() != int(d.Month()):
		w = time.Date(d.Year(), time.Month(d.Day()), int(d.Month()), 0, 0, 0, 0, time.UTC)
	default:
		w = d.AddDate(oneOf(g, []int{-1, 1}), 0, 0)
	}
	vy, vm, vd := visit.Date()
	if w.After(time.Date(vy, vm, vd, 0, 0, 0, 0, time.UTC)) {
		return d
	}
	return w
}

// noisyName applies the name noise of a second enrolment.
func (g *Generator) noisyName(n name, e enrolment, visit time.Time) name {
	N := &g.noise
	n = slices.Clone(n)
	if g.chance(N.GivenVariant) {
		n = g.respellGiven(n)
	}
	if g.chance(N.SurnameVariant) {
		n = g.respellKind(n, kSur)
	}
	if g.chance(N.MiddleDropped) {
		n = drop(n, kMid, kPre)
	}
	if g.chance(N.SurnameDropped) {
		n = drop(n, kSur, kMark)
	} else if g.chance(N.SurnameSwapped) {
		n = g.swapSurname(n, e)
	}
	if g.chance(N.Initials) {
		n = g.initials(n, e.father)
	}
	if g.chance(N.Spacing) {
		n = g.spacing(n)
	}
	if g.chance(N.Typo) {
		n = g.typo(n)
	}
	if g.chance(N.Honorific) {
		n = g.honorific(n, e, visit)
	}
	if g.chance(N.UpperCase) {
		n = upper(n)
	}
	return n
}

// relativeName writes a father's or spouse's name the way another
// household member or team gives it.
func (g *Generator) relativeName(n name) name {
	n = slices.Clone(n)
	switch x := g.rng.Float64(); {
	case x < 0.45:
		n = g.respellGiven(n)
	case x < 0.65:
		n = drop(n, kSur, kMark, kMid, kPre)
	case x < 0.8:
		n = g.initials(n, nil)
	case x < 0.9:
		n = g.respellKind(n, kSur)
	default:
		n = g.typo(n)
	}
	return n
}

// respell returns another way of writing the word w, from spellings or by a
// transliteration shift; w itself when there is none.
func (g *Generator) respell(w string) string {
	if group, ok := g.tab.spelling[w]; ok {
		for range 4 {
			if s := oneOf(g, group); s != w {
				return s
			}
		}
		return w
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return w // Mohd., D'Souza: only spellings know how to vary them
		}
	}
	lw := strings.ToLower(w)
	type site struct {
		to      string
		at, len int
	}
	var cands []site
	for _, rule := range transliterations {
		from := rule[0]
		anchorStart, anchorEnd, lastSyllable := strings.HasPrefix(from, "^"), strings.HasSuffix(from, "$"), strings.HasSuffix(from, "~")
		from = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(from, "^"), "$"), "~")
		switch {
		case lastSyllable:
			if i := strings.LastIndex(lw, from); i > 0 && lastVowel(lw[i+len(from):]) {
				cands = append(cands, site{rule[1], i, len(from)})
			}
		case anchorStart:
			if strings.HasPrefix(lw, from) {
				cands = append(cands, site{rule[1], 0, len(from)})
			}
		case anchorEnd:
			if strings.HasSuffix(lw, from) && len(lw) > len(from)+1 {
				cands = append(cands, site{rule[1], len(lw) - len(from), len(from)})
			}
		default:
			// Not the first letter: initial sounds are stable enough.
			if i := strings.Index(lw[1:], from); i >= 0 {
				cands = append(cands, site{rule[1], i + 1, len(from)})
			}
		}
	}
	if len(cands) == 0 {
		return w
	}
	c := oneOf(g, cands)
	out := lw[:c.at] + c.to + lw[c.at+c.len:]
	if len(out) < 2 {
		return w
	}
	return strings.ToUpper(out[:1]) + out[1:]
}

// lastVowel reports whether rest, what follows a vowel, is one consonant
// (or an aspirate like sh, th, dh) and perhaps a final a: the vowel is the
// last syllable's.
func lastVowel(rest string) bool {
	rest = strings.TrimSuffix(rest, "a")
	switch {
	case len(rest) == 1:
		return strings.IndexAny(rest, "aeiouy") < 0
	case len(rest) == 2:
		return rest[1] == 'h' && strings.IndexByte("aeiouy", rest[0]) < 0
	}
	return false
}

// respellGiven respells the given name as a whole when spellings knows it
// (Om Prakash / Omprakash), otherwise one of its words, its prefix or its
// marker.
func (g *Generator) respellGiven(n name) name {
	var words []string
	first := -1
	for i, t := range n {
		if t.k == kGiven {
			if first < 0 {
				first = i
			}
			words = append(words, t.s)
		}
	}
	if len(words) > 1 {
		whole := strings.Join(words, " ")
		if group, ok := g.tab.spelling[whole]; ok {
			alt := oneOf(g, group)
			if alt != whole {
				var out name
				out = append(out, n[:first]...)
				for _, w := range strings.Fields(alt) {
					out = append(out, tok{w, kGiven})
				}
				return append(out, n[first+len(words):]...)
			}
		}
	}
	var cands []int
	for i, t := range n {
		if t.k == kGiven || t.k == kPre || t.k == kMark || (t.k == kMid && t.s != "Kumar") {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return n
	}
	i := oneOf(g, cands)
	n[i].s = g.respell(n[i].s)
	return n
}

// respellKind respells the words of one kind.
func (g *Generator) respellKind(n name, k tokKind) name {
	for i, t := range n {
		if t.k == k {
			n[i].s = g.respell(t.s)
		}
	}
	return n
}

// drop removes words of the given kinds, keeping at least the given name.
func drop(n name, kinds ...tokKind) name {
	out := n[:0:0]
	for _, t := range n {
		if !slices.Contains(kinds, t.k) {
			out = append(out, t)
		}
	}
	if !out.has(kGiven) {
		return n
	}
	return out
}

// swapSurname writes the marker where the surname was or the other way
// round, adds a surname the first team left out, or writes it first.
func (g *Generator) swapSurname(n name, e enrolment) name {
	st, p := e.st, e.p
	sur := ""
	if st != nil {
		sur = st.sur
	}
	if g.chance(0.25) {
		for i, t := range n {
			if t.k == kSur && i > 0 {
				out := append(name{t}, n[:i]...)
				return append(out, n[i+1:]...)
			}
		}
	}
	for i, t := range n {
		switch {
		case t.k == kMark && sur != "" && !n.hasWord(sur):
			n[i] = tok{sur, kSur}
			return n
		case t.k == kSur && p.sex == 'F' && (p.comm == cNorth || p.comm == cMuslim):
			m := "Devi"
			switch {
			case p.comm == cMuslim:
				m = oneOf(g, muslimWomanMarkers)
			case !e.married:
				m = "Kumari"
			}
			n[i] = tok{m, kMark}
			return n
		case t.k == kSur && p.sex == 'M' && p.comm == cNorth && !n.hasWord("Kumar"):
			n[i] = tok{"Kumar", kMid}
			return n
		}
	}
	if sur != "" && !n.has(kSur) && !n.hasWord(sur) {
		return append(n, tok{sur, kSur})
	}
	return n
}

func (n name) hasWord(w string) bool {
	for _, t := range n {
		if t.s == w {
			return true
		}
	}
	return false
}

// initials shortens a name the way forms do: R.K. Sharma, S. Kumar,
// M. Irfan. A South Indian initial moves after the name, is written out as
// the father's name, or is left out.
func (g *Generator) initials(n name, father name) name {
	for i, t := range n {
		switch t.k {
		case kInit:
			rest := append(append(name(nil), n[:i]...), n[i+1:]...)
			switch x := g.rng.Float64(); {
			case x < 0.4:
				return append(rest, tok{t.s, kInitAfter})
			case x < 0.75 && father.firstGiven() != "" && initial(father.firstGiven()) == t.s:
				return append(rest, tok{father.firstGiven(), kMid})
			default:
				if rest.has(kGiven) {
					return rest
				}
				return n
			}
		case kInitAfter:
			rest := append(append(name(nil), n[:i]...), n[i+1:]...)
			return append(name{{t.s, kInit}}, rest...)
		}
	}
	// Words that can become initials, and whether a surname or marker
	// follows to carry the name.
	var idx []int
	tail := false
	for i, t := range n {
		switch t.k {
		case kPre, kGiven, kMid:
			idx = append(idx, i)
		case kSur, kMark:
			tail = true
		}
	}
	if !tail {
		if len(idx) < 2 {
			return n
		}
		idx = idx[:len(idx)-1]
	}
	spaced := g.chance(0.4)
	var out name
	var run []string
	flush := func() {
		if len(run) == 0 {
			return
		}
		if spaced {
			for _, r := range run {
				out = append(out, tok{r, kInit})
			}
		} else {
			out = append(out, tok{strings.Join(run, ""), kInit})
		}
		run = nil
	}
	for i, t := range n {
		if slices.Contains(idx, i) {
			run = append(run, initial(t.s))
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// suffixes that Indian names are often written joined to or split from.
var joinable = []string{"kumar", "prakash", "preet", "deep", "jeet", "jit", "bhai", "ben", "lal", "pal", "nath", "raj", "devi"}

// spacing joins two words of a name or splits one.
func (g *Generator) spacing(n name) name {
	for i := 0; i+1 < len(n); i++ {
		a, b := n[i], n[i+1]
		if (a.k == kGiven || a.k == kPre) && (b.k == kGiven || b.k == kMid) && isWord(a.s) && isWord(b.s) {
			joined := tok{a.s + strings.ToLower(b.s), kGiven}
			return append(append(append(name(nil), n[:i]...), joined), n[i+2:]...)
		}
	}
	for i, t := range n {
		if t.k != kGiven {
			continue
		}
		lw := strings.ToLower(t.s)
		for _, suf := range joinable {
			if strings.HasSuffix(lw, suf) && len(lw) >= len(suf)+3 {
				head := t.s[:len(t.s)-len(suf)]
				tailWord := strings.ToUpper(suf[:1]) + suf[1:]
				out := append(append(name(nil), n[:i]...), tok{head, kGiven}, tok{tailWord, kGiven})
				return append(out, n[i+1:]...)
			}
		}
	}
	return n
}

func isWord(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// typo makes one keying mistake in a given name or surname.
func (g *Generator) typo(n name) name {
	var cands []int
	for i, t := range n {
		if (t.k == kGiven || t.k == kSur) && len(t.s) >= 4 && isWord(t.s) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return n
	}
	i := oneOf(g, cands)
	w := n[i].s
	b := []byte(w)
	j := g.between(1, len(b)-1)
	switch g.rng.IntN(4) {
	case 0: // dropped
		b = []byte(w[:j] + w[j+1:])
	case 1: // doubled
		b = []byte(w[:j+1] + w[j:])
	case 2: // swapped
		if j+1 < len(b) {
			b[j], b[j+1] = b[j+1], b[j]
		} else {
			b[j-1], b[j] = b[j], b[j-1]
		}
	default: // a vowel heard differently
		for k := range len(b) - 1 {
			at := 1 + (j+k)%(len(b)-1)
			if strings.IndexByte("aeiou", b[at]) >= 0 {
				b[at] = "aeiou"[(strings.IndexByte("aeiou", b[at])+g.between(1, 4))%5]
				break
			}
		}
	}
	out := slices.Clone(n)
	out[i].s = strings.ToUpper(string(b[:1])) + string(b[1:])
	return out
}

// honorific writes a title before the name fitting age, sex, marriage and
// community.
func (g *Generator) honorific(n name, e enrolment, visit time.Time) name {
	if n.has(kHon) {
		return n
	}
	p := e.p
	a := age(p.dob, visit)
	var h string
	switch {
	case a < 12 && p.sex == 'M':
		h = oneOf(g, honBoy)
	case a < 12:
		h = oneOf(g, honBabyGirl)
	case p.sex == 'M' && p.comm == cSikh:
		h = oneOf(g, honSikhMan)
	case p.sex == 'M' && p.comm == cMuslim:
		h = oneOf(g, honMuslim)
	case p.sex == 'M':
		h = oneOf(g, honMan)
	case e.married:
		h = oneOf(g, honWife)
	default:
		h = oneOf(g, honGirl)
	}
	return append(name{{h, kHon}}, n...)
}

func upper(n name) name {
	out := slices.Clone(n)
	for i := range out {
		out[i].s = strings.ToUpper(out[i].s)
	}
	return out
}
