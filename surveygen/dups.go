package surveygen

import (
	"slices"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

const (
	// familyShare is the part of the duplicated persons who come from whole
	// families enrolled twice; the rest are persons enrolled again alone.
	familyShare = 0.45
	// familyInclude is the chance that a member other than the head is at
	// home when the second team re-enrols a family.
	familyInclude = 0.9
	// maxDelay is how many records later, at most, a second enrolment is
	// written after the first: the file is not sorted by time, and a
	// duplicate seldom sits next to its original.
	maxDelay = 150
	// chainRate is the chance that a person enrolled again alone is enrolled
	// a third time.
	chainRate = 0.05
)

type dupKind uint8

const (
	dupFamily dupKind = iota // the family, or most of it, enrolled again
	dupPerson                // one member enrolled again on their own
)

// pending is a second enrolment waiting to be written.
type pending struct {
	due, seq   int
	kind       dupKind
	fam        *family
	idx        int    // the member, for dupPerson
	day        int    // the first visit's day, which the second team avoids
	area       string // the first visit's survey area
	noMarriage bool   // a third enrolment: she has not married twice
}

func (g *Generator) push(p pending) {
	p.due = g.stats.Households + 1 + g.rng.IntN(maxDelay)
	g.seq++
	p.seq = g.seq
	i, _ := slices.BinarySearchFunc(g.queue, p, func(a, b pending) int {
		if a.due != b.due {
			return a.due - b.due
		}
		return a.seq - b.seq
	})
	g.queue = slices.Insert(g.queue, i, p)
}

// first writes a first visit to a house.
func (g *Generator) first() Household {
	loc := g.locality()
	visit, day := g.visit(-1)
	area := g.area(loc)
	outcome := schema.OutcomeEnrolled
	switch x := g.rng.Float64(); {
	case x < 0.07:
		outcome = schema.OutcomeLocked
	case x < 0.10:
		outcome = schema.OutcomeRefused
	case x < 0.14:
		outcome = schema.OutcomeRevisit
	}
	if outcome != schema.OutcomeEnrolled {
		return g.household(g.newAddress(loc), area, visit, outcome, 0.15, 0.1)
	}
	f := g.newFamily(loc, 9)
	h := g.household(f.addr, area, visit, outcome, 0.15, 0.1)
	for i := range f.members {
		h.Members = append(h.Members, g.member(f.enrolment(i), visit))
	}
	g.schedule(f, day, area)
	return h
}

// schedule decides who of a newly enrolled family is enrolled again, so
// that DupRate of persons are, in expectation: a whole family with
// probability pFamily, otherwise each member alone with probability pAlone.
func (g *Generator) schedule(f *family, day int, area string) {
	r := g.opt.DupRate
	if r <= 0 {
		return
	}
	n := float64(len(f.members))
	included := (1 + familyInclude*(n-1)) / n
	pFamily := min(r*familyShare/included, 1)
	if g.chance(pFamily) {
		g.push(pending{kind: dupFamily, fam: f, day: day, area: area})
		return
	}
	// Children under 14 are not enrolled apart from their parents; the
	// others make up for them.
	eligible := 0
	for _, p := range f.members {
		if g.ageOf(p) >= 14 {
			eligible++
		}
	}
	if eligible == 0 {
		return
	}
	pAlone := min(r*(1-familyShare)*n/float64(eligible)/(1-pFamily), 1)
	for i, p := range f.members {
		if g.ageOf(p) >= 14 && g.chance(pAlone) {
			g.push(pending{kind: dupPerson, fam: f, idx: i, day: day, area: area})
		}
	}
}

// second writes a second team's visit.
func (g *Generator) second(pd pending) Household {
	if pd.kind == dupFamily {
		return g.secondFamily(pd)
	}
	return g.secondPerson(pd)
}

// promoted is how relations read when the head's old father is written as
// head instead.
var promoted = map[string]string{
	"head": "son", "spouse": "daughter_in_law", "son": "grandson", "daughter": "granddaughter",
	"father": "head", "mother": "spouse", "brother": "son",
}

// secondFamily: another team enrols the family again, in the same house
// (0.45), after a move to another locality (0.35) or to another house in
// the same locality (0.20). A member or two may be out; the head's old
// father is sometimes written as head, which changes every relation.
func (g *Generator) secondFamily(pd pending) Household {
	f := pd.fam
	visit, _ := g.visit(pd.day)
	var a address
	var area string
	moved := true
	switch x := g.rng.Float64(); {
	case x < 0.45:
		a, area, moved = f.addr, pd.area, false
		if g.chance(0.5) {
			area = g.otherArea(f.loc, pd.area)
		}
	case x < 0.8:
		loc := g.locality()
		if loc == f.loc {
			loc = g.locality()
		}
		a, area = g.newAddress(loc), g.area(loc)
	default:
		a, area = g.newAddress(f.loc), g.area(f.loc)
	}
	h := g.household(a, area, visit, schema.OutcomeEnrolled, 0.35, 0.2)

	rels := slices.Clone(f.rels)
	headAt := 0
	if fi := slices.Index(rels, "father"); fi >= 0 && g.chance(0.25) {
		for i, r := range rels {
			if m, ok := promoted[r]; ok {
				rels[i] = m
			} else {
				rels[i] = "other"
			}
		}
		headAt = fi
	}
	headPhone, newPhone := f.head().phone, f.head().phone
	if moved && headPhone != "" && g.chance(0.15) {
		newPhone = g.mobile() // a new SIM after the move
	}
	order := []int{headAt}
	for i := range f.members {
		if i != headAt && g.chance(familyInclude) {
			order = append(order, i)
		}
	}
	for _, i := range order {
		p := f.members[i]
		e := f.enrolment(i)
		e.rel, e.second, e.ration = rels[i], true, ""
		if rels[i] == "head" {
			e.ration = f.ration
		}
		if p.phone != "" && g.chance(0.3) {
			e.contact = p.phone
		}
		if e.contact != "" && e.contact == headPhone {
			e.contact = newPhone
		}
		h.Members = append(h.Members, g.member(e, visit))
	}
	return h
}

// secondPerson: one member enrolled again without the family. A young
// unmarried daughter may have married and be enrolled in her husband's
// house under his surname; a teenager stays with relatives; an adult lives
// alone elsewhere (0.4), is met alone at the family's house (0.3) or lodges
// with another family (0.3).
func (g *Generator) secondPerson(pd pending) Household {
	f := pd.fam
	p := f.members[pd.idx]
	rel := f.rels[pd.idx]
	a := g.ageOf(p)
	visit, _ := g.visit(pd.day)
	e := f.enrolment(pd.idx)
	e.second, e.ration = true, ""
	if !pd.noMarriage && g.chance(chainRate) {
		next := pd
		next.noMarriage = true
		g.pushUnlessStopped(next)
	}

	marriageable := p.sex == 'F' && !p.married && a >= 18 && a <= 35 &&
		(rel == "daughter" || rel == "granddaughter" || rel == "sister")
	x := g.rng.Float64()
	switch {
	case marriageable && !pd.noMarriage && x < 0.5:
		return g.marriedAway(p, e, visit)
	case a < 18 || x < 0.3:
		return g.lodging(p, e, visit)
	case x < 0.7:
		loc := f.loc
		if g.chance(0.6) {
			loc = g.locality()
		}
		h := g.household(g.newAddress(loc), g.area(loc), visit, schema.OutcomeEnrolled, 0.35, 0.2)
		e.rel = "head"
		e.contact = p.phone
		if e.contact == "" && g.chance(0.4) {
			e.contact = p.contact
		}
		h.Members = []Member{g.member(e, visit)}
		return h
	default:
		area := pd.area
		if g.chance(0.5) {
			area = g.otherArea(f.loc, pd.area)
		}
		h := g.household(f.addr, area, visit, schema.OutcomeEnrolled, 0.35, 0.2)
		e.rel = "head"
		h.Members = []Member{g.member(e, visit)}
		return h
	}
}

func (g *Generator) pushUnlessStopped(p pending) {
	if !g.stopped {
		g.push(p)
	}
}

// scheduleUnlessStopped gives the people a second team's visit met for the
// first time (a host family, a husband) the same chance of a second
// enrolment as everyone else, so DupRate holds over all persons.
func (g *Generator) scheduleUnlessStopped(f *family, visit time.Time, area string) {
	if !g.stopped {
		g.schedule(f, int(visit.Sub(g.start).Hours())/24, area)
	}
}

// lodging: the person stays with another family, enrolled there as a
// relative or lodger alongside that family's own first enrolment.
func (g *Generator) lodging(p *person, e enrolment, visit time.Time) Household {
	host := g.newFamily(g.locality(), 8) // and the lodger makes nine
	h := g.household(host.addr, g.area(host.loc), visit, schema.OutcomeEnrolled, 0.15, 0.1)
	for i := range host.members {
		h.Members = append(h.Members, g.member(host.enrolment(i), visit))
	}
	gap := g.ageOf(host.head()) - g.ageOf(p)
	switch {
	case gap >= 40 && g.ageOf(p) < 30:
		e.rel = bySex(p.sex, "grandson", "granddaughter")
	case gap >= 15 && (g.ageOf(p) < 18 || g.chance(0.6)):
		e.rel = bySex(p.sex, "nephew", "niece")
	case gap > -10 && gap < 10 && g.chance(0.3):
		e.rel = bySex(p.sex, "brother", "sister")
	default:
		e.rel = "other"
	}
	e.contact = p.phone
	if e.contact == "" && g.chance(0.5) {
		e.contact = host.head().phone
	}
	h.Members = append(h.Members, g.member(e, visit))
	g.scheduleUnlessStopped(host, visit, h.Area)
	return h
}

// marriedAway: the daughter has married; she is enrolled in her husband's
// house with his family's surname or marker, her husband's name as
// spouse_name, and her given name as before.
func (g *Generator) marriedAway(p *person, e enrolment, visit time.Time) Household {
	comm := p.comm
	if g.chance(0.08) {
		comm = g.rng.IntN(nComm)
	}
	st := g.newStyle(comm)
	loc := g.locality()
	hf := &family{st: st, loc: loc, addr: g.newAddress(loc)}
	ha := g.ageOf(p) + g.between(2, 7)
	husband := g.man(st, ha, g.outsideMan(st, g.today.Year()-ha-g.between(22, 32)), true)
	hf.add(husband, "head")
	if g.chance(0.35) {
		late := g.outsideMan(st, g.today.Year()-ha-g.between(26, 34))
		hf.add(g.wife(st, min(ha+g.between(20, 30), 90), late), "mother")
	}
	g.phones(hf)

	var given []string
	for _, t := range p.name {
		if t.k == kGiven {
			given = append(given, t.s)
		}
	}
	e.name = g.styleName(st, given, 'F', p.dob.Year(), true, p.father.firstGiven(), husband.name.firstGiven())
	e.married, e.spouse, e.st, e.rel = true, husband.name, st, "spouse"
	husband.spouse = e.name
	e.contact = p.phone
	if e.contact == "" && g.chance(0.6) {
		e.contact = husband.phone
	}

	h := g.household(hf.addr, g.area(loc), visit, schema.OutcomeEnrolled, 0.15, 0.1)
	h.Members = append(h.Members, g.member(hf.enrolment(0), visit), g.member(e, visit))
	for i := 1; i < len(hf.members); i++ {
		h.Members = append(h.Members, g.member(hf.enrolment(i), visit))
	}
	g.scheduleUnlessStopped(hf, visit, h.Area)
	return h
}
