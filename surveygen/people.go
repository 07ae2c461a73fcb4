package surveygen

import (
	"fmt"
	"strings"
	"time"
)

// tokKind says what a word of a name is, so that noise can drop a surname,
// turn given names into initials or swap a marker for the family surname.
type tokKind uint8

const (
	kHon       tokKind = iota // honorific: Shri, Smt., Late
	kInit                     // initial before the name: the R. of R. Senthil Kumar
	kPre                      // Mohd., Mohammad
	kGiven                    // given name, possibly several words
	kMid                      // Kumar; father's or husband's name as a middle name
	kMark                     // Devi, Kumari, Singh, Kaur, Begum, Khatoon, Rani
	kSur                      // family surname
	kInitAfter                // initial after the name: the K. of Biju K.
)

type tok struct {
	s string
	k tokKind
}

// name is a name as written, word by word.
type name []tok

func (n name) String() string {
	var b strings.Builder
	for i, t := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.s)
	}
	return b.String()
}

// firstGiven returns the first given word, the one initials and Marathi
// middle names are made from.
func (n name) firstGiven() string {
	for _, t := range n {
		if t.k == kGiven {
			return t.s
		}
	}
	return ""
}

func (n name) has(k tokKind) bool {
	for _, t := range n {
		if t.k == k {
			return true
		}
	}
	return false
}

func initial(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + "."
}

// style is how one family writes its names.
type style struct {
	comm   int
	sur    string  // family surname; for Telugu families the caste suffix
	useSur bool    // whether the family writes its surname at all
	kumar  float64 // North Indian men: chance of "Kumar" after the given name
	mohd   float64 // Muslim men: chance of the Mohd. prefix
	pre    string  // the family's spelling of the prefix
	init   string  // Telugu family initial
}

var useSurname = [nComm]float64{
	cNorth: 0.55, cPunjabi: 0.97, cSikh: 0.45, cMuslim: 0.55, cBengali: 0.97,
	cTamil: 0, cTelugu: 0.6, cMalayali: 0.65, cKannada: 0.8, cMarathi: 0.97,
	cGujarati: 0.97, cChristian: 0.95,
}

func (g *Generator) newStyle(comm int) *style {
	st := &style{comm: comm, useSur: g.chance(useSurname[comm])}
	if len(g.tab.surnames[comm].items) > 0 {
		st.sur = g.tab.surnames[comm].pick(g.rng)
	}
	switch comm {
	case cNorth:
		st.kumar = 0.6
		if st.useSur {
			st.kumar = 0.3
		}
	case cMuslim:
		st.mohd = 0.4
		st.pre = oneOf(g, []string{"Mohd.", "Mohd.", "Mohd.", "Mohammad", "Mohammad", "Md.", "Mohammed"})
	case cTelugu:
		st.init = oneOf(g, []string{"K.", "P.", "V.", "M.", "G.", "B.", "S.", "N.", "R.", "T.", "Ch.", "D."})
	}
	return st
}

// givenName draws a given name of a community for a sex and year of birth.
func (g *Generator) givenName(comm int, sex byte, born int) []string {
	s := 0
	if sex == 'F' {
		s = 1
	}
	return strings.Fields(g.tab.given[comm][s][eraOf(born)].pick(g.rng))
}

// personName draws a given name and writes it in the family's style.
func (g *Generator) personName(st *style, sex byte, born int, married bool, fatherGiven, husbandGiven string) name {
	return g.styleName(st, g.givenName(st.comm, sex, born), sex, born, married, fatherGiven, husbandGiven)
}

// styleName writes given names in a family's style: surname or marker,
// initials, middle names. A woman who marries into another family keeps her
// given names and takes the new family's style.
func (g *Generator) styleName(st *style, given []string, sex byte, born int, married bool, fatherGiven, husbandGiven string) name {
	var n name
	words := func() {
		for _, w := range given {
			n = append(n, tok{w, kGiven})
		}
	}
	last := given[len(given)-1]
	mark := func(m string) {
		if m != last {
			n = append(n, tok{m, kMark})
		}
	}
	sur := func(p float64) {
		if st.sur != "" && st.sur != last && g.chance(p) {
			n = append(n, tok{st.sur, kSur})
		}
	}
	// The initial a South Indian takes: the father's, or for a married
	// woman often the husband's.
	parentInitial := fatherGiven
	if sex == 'F' && married && husbandGiven != "" {
		parentInitial = husbandGiven
	}
	if parentInitial == "" {
		parentInitial = string(rune('A' + g.rng.IntN(26)))
	}
	switch st.comm {
	case cNorth:
		words()
		// A family called Kumar writes its women Devi or Kumari.
		useSur := st.useSur && st.sur != "Kumar"
		switch {
		case sex == 'M':
			if len(given) == 1 && st.sur != "Kumar" && g.chance(st.kumar) {
				n = append(n, tok{"Kumar", kMid})
			}
			if st.useSur {
				sur(0.9)
			}
		case married && useSur && g.chance(0.6):
			sur(1)
		case married && (useSur || g.chance(0.85)):
			mark("Devi")
		case !married && useSur && g.chance(0.75):
			sur(1)
		case !married && g.chance(0.5):
			mark("Kumari")
		}
	case cPunjabi:
		words()
		if sex == 'F' && married && born < 1965 && len(given) == 1 && g.chance(0.3) {
			mark("Rani")
		} else {
			sur(0.95)
		}
	case cSikh:
		words()
		if sex == 'M' {
			mark("Singh")
			if st.useSur {
				sur(1)
			}
		} else {
			mark("Kaur")
			if st.useSur {
				sur(0.7)
			}
		}
	case cMuslim:
		if sex == 'M' && g.chance(st.mohd) && given[0] != "Abdul" && !strings.Contains(strings.Join(given, " "), "Mohammad") {
			pre := st.pre
			if g.chance(0.3) {
				pre = oneOf(g, []string{"Mohd.", "Mohammad", "Md.", "Mohammed", "Mohd"})
			}
			n = append(n, tok{pre, kPre})
		}
		words()
		x := g.rng.Float64()
		switch {
		case sex == 'M':
			if st.useSur {
				sur(0.9)
			}
		case married && x < 0.35:
			mark(oneOf(g, muslimWomanMarkers))
		case married && x < 0.7 && st.useSur:
			sur(1)
		case !married && x < 0.5 && st.useSur:
			sur(1)
		case !married && x < 0.65:
			mark(oneOf(g, muslimGirlMarkers))
		}
	case cTamil:
		if g.chance(0.9) {
			n = append(n, tok{initial(parentInitial), kInit})
		}
		words()
	case cTelugu:
		n = append(n, tok{st.init, kInit})
		words()
		if sex == 'M' && st.useSur {
			sur(0.8)
		}
	case cMalayali:
		words()
		if st.useSur {
			sur(1)
		} else {
			n = append(n, tok{initial(parentInitial), kInitAfter})
		}
	case cKannada:
		if st.useSur {
			words()
			sur(1)
		} else {
			n = append(n, tok{initial(parentInitial), kInit})
			words()
		}
	case cMarathi:
		words()
		middle := fatherGiven
		if sex == 'F' && married {
			middle = husbandGiven
		}
		if len(given) == 1 && middle != "" && g.chance(0.45) {
			n = append(n, tok{middle, kMid})
		}
		sur(1)
	case cGujarati:
		suffix := "bhai"
		if sex == 'F' {
			suffix = "ben"
		}
		for i, w := range given {
			if i == len(given)-1 && !strings.HasSuffix(w, "bhai") && !strings.HasSuffix(w, "ben") && g.chance(0.15) {
				w += suffix
			}
			n = append(n, tok{w, kGiven})
		}
		middle := fatherGiven
		if sex == 'F' && married {
			middle = husbandGiven
		}
		if middle != "" && g.chance(0.25) {
			if g.chance(0.5) && !strings.HasSuffix(middle, "bhai") {
				middle += "bhai"
			}
			n = append(n, tok{middle, kMid})
		}
		sur(1)
	default: // Bengali, Christian
		words()
		sur(0.96)
	}
	return n
}

// person is one human: the ground truth behind every enrolment.
type person struct {
	cluster string
	comm    int
	sex     byte
	dob     time.Time // as on their documents
	name    name      // as written at the first enrolment
	st      *style    // the style the name is written in
	father  name
	spouse  name // present, absent or late spouse; nil if never married
	married bool
	phone   string // own mobile, 10 digits, or ""
	contact string // the number written at the first enrolment, or ""
	aadhaar string
	voter   string
	pan     string

	fatherHere bool // the father lives in the same house
	fatherLate bool // the father has died

	enrolments int
	twin       bool // enrolled with day precision the first time, like the twin
}

func (g *Generator) newPerson(comm int, sex byte, age int) *person {
	g.stats.Persons++
	p := &person{
		cluster: fmt.Sprintf("P%07d", g.stats.Persons),
		comm:    comm,
		sex:     sex,
	}
	age = min(max(age, 0), 95)
	p.dob = g.today.AddDate(-age, 0, -g.rng.IntN(365))
	if age >= 18 && g.chance(0.05) {
		// Many adults' documents say 1 January: the year was known, the day
		// was not.
		p.dob = time.Date(p.dob.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var pAadhaar float64
	switch {
	case age >= 18:
		pAadhaar = 0.93
	case age >= 5:
		pAadhaar = 0.7
	default:
		pAadhaar = 0.35
	}
	if g.chance(pAadhaar) {
		p.aadhaar = g.aadhaarNumber()
	}
	if age >= 18 && g.chance(0.75) {
		p.voter = g.voterID()
	}
	if age >= 18 && g.chance(bySex(sex, 0.3, 0.15)) {
		p.pan = g.panNumber()
	}
	return p
}

// age returns the age in whole years at t.
func age(dob, t time.Time) int {
	y, m, d := t.Date()
	a := y - dob.Year()
	if m < dob.Month() || (m == dob.Month() && d < dob.Day()) {
		a--
	}
	return max(a, 0)
}

func (g *Generator) ageOf(p *person) int { return age(p.dob, g.today) }

// family is a household as it really is: the people who live in one house
// and how they are related to its head.
type family struct {
	max     int // members at most
	st      *style
	loc     int
	addr    address
	members []*person
	rels    []string
	ration  string
}

func (f *family) add(p *person, rel string) {
	f.members = append(f.members, p)
	f.rels = append(f.rels, rel)
}

func (f *family) head() *person { return f.members[0] }

// man creates a man of the family's style.
func (g *Generator) man(st *style, age int, father name, married bool) *person {
	p := g.newPerson(st.comm, 'M', age)
	p.father, p.married, p.st = father, married, st
	p.name = g.personName(st, 'M', p.dob.Year(), married, father.firstGiven(), "")
	return p
}

// outsideMan is the name of a man who is not enrolled: a father who lives
// elsewhere or has died, a late husband.
func (g *Generator) outsideMan(st *style, born int) name {
	return g.personName(st, 'M', born, true, "", "")
}

// wife creates a woman married into the family of her husband. Her father
// is of another family of her community.
func (g *Generator) wife(st *style, age int, husband name) *person {
	p := g.newPerson(st.comm, 'F', age)
	p.father = g.outsideMan(g.newStyle(st.comm), p.dob.Year()-g.between(22, 35))
	p.married, p.spouse, p.st = true, husband, st
	p.name = g.personName(st, 'F', p.dob.Year(), true, p.father.firstGiven(), husband.firstGiven())
	return p
}

// child creates an unmarried child of the family, named unlike its father
// and the others in the house: parents do not give two children one name.
func (g *Generator) child(f *family, sex byte, age int, father name) *person {
	st := f.st
	p := g.newPerson(st.comm, sex, age)
	p.father, p.st, p.fatherHere = father, st, true
	for range 6 {
		p.name = g.personName(st, sex, p.dob.Year(), false, father.firstGiven(), "")
		if !f.usesGiven(p.name.firstGiven()) && p.name.firstGiven() != father.firstGiven() {
			break
		}
	}
	return p
}

// usesGiven reports whether a member of the family has the given name.
func (f *family) usesGiven(given string) bool {
	for _, m := range f.members {
		if m.name.firstGiven() == given {
			return true
		}
	}
	return false
}

// bySex returns m for a male and f for a female.
func bySex[T any](sex byte, m, f T) T {
	if sex == 'F' {
		return f
	}
	return m
}

func (g *Generator) sex() byte {
	if g.chance(0.515) {
		return 'M'
	}
	return 'F'
}

// newFamily draws a family of at most max members living in locality loc.
func (g *Generator) newFamily(loc, max int) *family {
	f := &family{max: max, loc: loc, st: g.newStyle(pickIndex(g.rng, g.tab.commCum[loc]))}
	x := g.rng.Float64()
	switch {
	case x < 0.05:
		g.single(f)
	case x < 0.12:
		g.couple(f)
	case x < 0.62:
		g.nuclear(f, false)
	case x < 0.80:
		g.nuclear(f, true)
	case x < 0.94:
		g.threeGenerations(f)
	default:
		g.widowed(f)
	}
	g.phones(f)
	if g.chance(0.4) {
		f.ration = g.rationCard()
	}
	f.addr = g.newAddress(loc)
	return f
}

// single: a young man who came to Delhi for work, or an old widow or
// widower living alone.
func (g *Generator) single(f *family) {
	st := f.st
	if g.chance(0.65) {
		a := g.between(19, 35)
		married := a > 24 && g.chance(0.4) // his wife stayed in the village
		p := g.man(st, a, g.outsideMan(st, g.today.Year()-a-g.between(24, 34)), married)
		if married {
			p.spouse = g.personName(st, 'F', p.dob.Year()+g.between(1, 5), true, "", p.name.firstGiven())
		}
		f.add(p, "head")
		return
	}
	a := g.between(60, 88)
	if g.chance(0.7) {
		late := g.outsideMan(st, g.today.Year()-a-g.between(2, 8))
		f.add(g.wife(st, a, late), "head")
		return
	}
	p := g.man(st, a, g.outsideMan(st, g.today.Year()-a-28), true)
	p.spouse = g.personName(st, 'F', p.dob.Year()+g.between(2, 7), true, "", p.name.firstGiven())
	f.add(p, "head")
}

// couple: newly married, or old with the children gone.
func (g *Generator) couple(f *family) {
	st := f.st
	h := g.between(21, 32)
	if g.chance(0.4) {
		h = g.between(55, 80)
	}
	head := g.man(st, h, g.outsideMan(st, g.today.Year()-h-g.between(22, 35)), true)
	w := g.wife(st, max(h-g.between(1, 7), 18), head.name)
	head.spouse = w.name
	f.add(head, "head")
	f.add(w, "spouse")
}

// nuclear: parents and children, with the head's old parents when elders.
func (g *Generator) nuclear(f *family, elders bool) {
	st := f.st
	h := g.between(24, 55)
	if elders {
		h = g.between(26, 50)
	}
	var father, mother *person
	var fatherName name
	if elders {
		fa := min(h+g.between(22, 34), 92)
		x := g.rng.Float64()
		if x < 0.6 { // father alive: with mother (0.45) or alone (0.15)
			father = g.man(st, fa, g.outsideMan(st, g.today.Year()-fa-g.between(22, 32)), true)
			fatherName = father.name
		} else {
			fatherName = g.outsideMan(st, g.today.Year()-fa)
		}
		if x < 0.45 || x >= 0.6 {
			mother = g.wife(st, min(fa-g.between(2, 7), 90), fatherName)
		}
		if father != nil && mother != nil {
			father.spouse = mother.name
		} else if father != nil {
			father.spouse = g.personName(st, 'F', father.dob.Year()+4, true, "", father.name.firstGiven())
		}
	} else {
		fatherName = g.outsideMan(st, g.today.Year()-h-g.between(22, 35))
	}
	head := g.man(st, h, fatherName, true)
	head.fatherHere = father != nil
	head.fatherLate = elders && father == nil
	wa := max(h-g.between(1, 8), 18)
	w := g.wife(st, wa, head.name)
	head.spouse = w.name
	f.add(head, "head")
	f.add(w, "spouse")
	// Room is kept for the elders, listed after the children as forms do.
	limit := f.max
	brother := -1
	if father != nil && g.chance(0.04) {
		// An unmarried younger brother of the head.
		if a := h - g.between(2, 10); a >= 15 {
			brother = a
			limit--
		}
	}
	for _, p := range []*person{father, mother} {
		if p != nil {
			limit--
		}
	}
	g.children(f, head.name, wa, g.numChildren(), limit, "son", "daughter")
	if brother >= 0 {
		b := g.child(f, 'M', brother, fatherName)
		b.fatherHere = true
		f.add(b, "brother")
	}
	if father != nil {
		f.add(father, "father")
	}
	if mother != nil {
		f.add(mother, "mother")
	}
	g.junior(f)
}

// threeGenerations: an older couple, their married son with his wife and
// children, and the son's younger unmarried siblings.
func (g *Generator) threeGenerations(f *family) {
	st := f.st
	h := g.between(50, 72)
	head := g.man(st, h, g.outsideMan(st, g.today.Year()-h-g.between(22, 35)), true)
	f.add(head, "head")
	wa := h - g.between(2, 7)
	if g.chance(0.8) {
		w := g.wife(st, wa, head.name)
		head.spouse = w.name
		f.add(w, "spouse")
	} else {
		head.spouse = g.personName(st, 'F', g.today.Year()-wa, true, "", head.name.firstGiven())
	}
	sa := g.between(24, min(38, wa-19))
	son := g.man(st, sa, head.name, true)
	son.fatherHere = true
	dil := g.wife(st, max(sa-g.between(1, 6), 19), son.name)
	son.spouse = dil.name
	f.add(son, "son")
	f.add(dil, "daughter_in_law")
	for range g.between(0, 2) {
		a := g.between(14, sa-2)
		sex := g.sex()
		if sex == 'F' && a > 25 {
			continue
		}
		f.add(g.child(f, sex, a, head.name), bySex(sex, "son", "daughter"))
	}
	g.children(f, son.name, g.ageOf(dil), g.between(1, 3), f.max, "grandson", "granddaughter")
}

// widowed: a widow heading the house with her children.
func (g *Generator) widowed(f *family) {
	st := f.st
	a := g.between(30, 65)
	late := g.outsideMan(st, g.today.Year()-a-g.between(3, 8))
	f.add(g.wife(st, a, late), "head")
	g.children(f, late, a, g.between(1, 4), f.max, "son", "daughter")
	for _, c := range f.members[1:] {
		c.fatherHere, c.fatherLate = false, true
	}
}

// numChildren follows the sizes of Delhi's survey households.
func (g *Generator) numChildren() int {
	return []int{1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 6}[g.rng.IntN(14)]
}

// children adds up to n children of father and a mother of motherAge,
// spaced one to four years apart, sometimes with twins, while the family
// has fewer than limit members. Daughters past 25 have mostly married and
// moved away.
func (g *Generator) children(f *family, father name, motherAge, n, limit int, sonRel, daughterRel string) {
	a := motherAge - g.between(19, 27)
	twinsAt := -1
	if g.chance(0.03) {
		twinsAt = g.rng.IntN(max(n, 1))
	}
	for i := 0; i < n && a >= 0 && len(f.members) < limit; i++ {
		sex := g.sex()
		if sex == 'F' && a > 25 && g.chance(0.85) {
			a -= g.between(1, 4)
			continue
		}
		c := g.child(f, sex, a, father)
		f.add(c, bySex(sex, sonRel, daughterRel))
		if i == twinsAt && len(f.members) < limit {
			// Twins: same day of birth, different names.
			sex2 := g.sex()
			t := g.child(f, sex2, a, father)
			t.dob = c.dob
			c.twin, t.twin = true, true
			f.add(t, bySex(sex2, sonRel, daughterRel))
		}
		a -= []int{1, 2, 2, 3, 3, 3, 4}[g.rng.IntN(7)]
	}
}

// junior names the eldest son after his father now and then: the same
// name, twenty-odd years apart, in the same house, with the father's name
// as his father_name. A matcher must keep them apart.
func (g *Generator) junior(f *family) {
	head := f.head()
	if head.sex != 'M' || f.st.comm == cTamil || f.st.comm == cTelugu || !g.chance(0.03) {
		return
	}
	for i, p := range f.members {
		if f.rels[i] == "son" {
			p.name = append(name(nil), head.name...)
			return
		}
	}
}

// phones gives members their own mobiles and decides which number each
// gives at the door: their own, the head's, or none.
func (g *Generator) phones(f *family) {
	for i, p := range f.members {
		a := g.ageOf(p)
		var own float64
		switch {
		case a < 14:
		case a < 18:
			own = 0.2
		case a < 25:
			own = 0.75
		case a < 60 && p.sex == 'M':
			own = 0.8
		case a < 60:
			own = 0.45
		default:
			own = 0.3
		}
		if i == 0 {
			own = max(own, 0.92)
		}
		if g.chance(own) {
			p.phone = g.mobile()
		}
	}
	hp := f.head().phone
	for i, p := range f.members {
		x := g.rng.Float64()
		switch {
		case i == 0:
			p.contact = p.phone
		case p.phone != "" && x < 0.85:
			p.contact = p.phone
		case p.phone != "" && x < 0.95:
			p.contact = hp
		case p.phone == "" && x < 0.55:
			p.contact = hp
		}
	}
}
