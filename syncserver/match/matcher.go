package match

import (
	"github.com/doorstep-health/doorstep/schema"
)

// MatcherOptions bound the work per new resident.
type MatcherOptions struct {
	// PerKey is how many residents are looked at under one blocking key,
	// the most recently added first. Default 15.
	PerKey int
	// MaxCandidates is how many distinct candidates are scored per new
	// resident, smallest blocks first. Default 60.
	MaxCandidates int
}

func (o MatcherOptions) withDefaults() MatcherOptions {
	if o.PerKey <= 0 {
		o.PerKey = 15
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 60
	}
	return o
}

// Decision is the matcher's answer for one new resident.
type Decision struct {
	Resident string  `json:"resident"`
	Outcome  Outcome `json:"outcome"`
	// Person is the person the resident belongs to now, named by the id of
	// its first resident: the best candidate's person for a link, the
	// resident itself otherwise.
	Person string `json:"person"`
	// Best is the comparison with the best-scoring candidate (the review
	// task's content), nil when there was no candidate.
	Best       *Comparison `json:"best,omitempty"`
	Candidates int         `json:"candidates"` // how many were scored
}

// Matcher is the incremental matcher over an in-memory registry: each new
// resident, in arrival order, is compared with its candidates from the
// blocking index and linked, sent to review or made a new person. The
// result depends only on the order of arrival. It is the reference for the
// store's integration, which does the same with its tables.
//
// A Matcher is not safe for concurrent use.
type Matcher struct {
	model   *Model
	opt     MatcherOptions
	index   *Index
	freq    *FrequencyTable
	feats   residents
	person  []int32           // resident → person (its first resident)
	members map[int32][]int32 // person → residents, for persons with more than one
	cands   []int32
}

// NewMatcher returns a matcher with an empty registry.
func NewMatcher(m *Model, opt MatcherOptions) *Matcher {
	return &Matcher{
		model:   m,
		opt:     opt.withDefaults(),
		index:   NewIndex(),
		freq:    NewFrequencyTable(),
		members: make(map[int32][]int32),
	}
}

// Len is the number of residents registered.
func (mt *Matcher) Len() int { return mt.feats.len() }

// Persons is the number of persons registered.
func (mt *Matcher) Persons() int { return mt.freq.Total() }

// Frequencies is the matcher's term table.
func (mt *Matcher) Frequencies() Frequencies { return mt.freq }

// AddHousehold matches the members of a newly arrived household, in
// order, and registers them. h must be normalised (schema
// Household.Normalize). Household evidence comes from the whole
// household: a member's pair with a registered resident gets it when
// another member of h matches (at least at review level) another member
// of that resident's household.
func (mt *Matcher) AddHousehold(h *schema.Household) []Decision {
	feats := make([]Features, len(h.Members))
	for i := range h.Members {
		feats[i] = NewFeatures(&h.Members[i], h)
	}
	return mt.addGroup(feats)
}

// Add matches one resident on its own, without household evidence, and
// registers it.
func (mt *Matcher) Add(f Features) Decision { return mt.addGroup([]Features{f})[0] }

type scoredCand struct {
	id    int32
	score pairScore
	hh    HouseholdEvidence
}

func (mt *Matcher) addGroup(feats []Features) []Decision {
	m := mt.model
	// Score every member against the registry as it was before the household.
	scored := make([][]scoredCand, len(feats))
	for i := range feats {
		mt.cands = mt.index.Candidates(LookupKeys(&feats[i]), mt.opt.PerKey, mt.opt.MaxCandidates, mt.cands[:0])
		list := make([]scoredCand, len(mt.cands))
		for k, id := range mt.cands {
			list[k] = scoredCand{id: id, score: m.score(&feats[i], mt.feats.at(id), mt.freq, HouseholdUnknown)}
		}
		scored[i] = list
	}
	if len(feats) > 1 {
		mt.householdEvidence(feats, scored)
	}

	decisions := make([]Decision, len(feats))
	first := int32(mt.feats.len())
	for i := range feats {
		f := &feats[i]
		list := scored[i]
		// Earlier members of the same household: a member entered twice is
		// a review, never a link (the same-household rule).
		for j := first; j < int32(mt.feats.len()); j++ {
			list = append(list, scoredCand{id: j, score: m.score(f, mt.feats.at(j), mt.freq, HouseholdUnknown)})
		}
		best := -1
		for k := range list {
			if best < 0 || list[k].score.total > list[best].score.total ||
				(list[k].score.total == list[best].score.total && list[k].id < list[best].id) {
				best = k
			}
		}
		seq := int32(mt.feats.len())
		d := Decision{Resident: f.ID, Outcome: OutcomeNew, Person: f.ID, Candidates: len(list)}
		person := seq
		if best >= 0 {
			c := list[best]
			b := mt.feats.at(c.id)
			cmp := m.Score(f, b, mt.freq, c.hh)
			d.Best = &cmp
			d.Outcome = m.decide(c.score.probability(), c.score.blocks != 0)
			if d.Outcome == OutcomeLink {
				person = mt.person[c.id]
				d.Person = mt.feats.at(person).ID
			}
		}
		mt.register(*f, seq, person)
		decisions[i] = d
	}
	return decisions
}

// householdEvidence re-scores, with HouseholdOtherMatch, every pair (a, b)
// for which another member of a's household has a candidate other than b
// in b's household that is more likely than not the same person (and breaks
// no hard rule).
func (mt *Matcher) householdEvidence(feats []Features, scored [][]scoredCand) {
	m := mt.model
	type hit struct {
		member int
		id     int32
	}
	byHousehold := make(map[string][]hit)
	for i, list := range scored {
		for _, c := range list {
			if c.score.total >= 0 && c.score.blocks == 0 {
				hh := mt.feats.at(c.id).HouseholdID
				byHousehold[hh] = append(byHousehold[hh], hit{i, c.id})
			}
		}
	}
	if len(byHousehold) == 0 {
		return
	}
	for i, list := range scored {
		for k := range list {
			c := &list[k]
			hits := byHousehold[mt.feats.at(c.id).HouseholdID]
			for _, o := range hits {
				if o.member != i && o.id != c.id {
					c.hh = HouseholdOtherMatch
					c.score = m.score(&feats[i], mt.feats.at(c.id), mt.freq, HouseholdOtherMatch)
					break
				}
			}
		}
	}
}

// register adds a resident to the registry as seq, belonging to person.
func (mt *Matcher) register(f Features, seq, person int32) {
	fr := mt.feats.add(f)
	mt.person = append(mt.person, person)
	mt.index.Add(seq, BlockingKeys(fr))
	terms := FrequencyKeys(fr)
	if person == seq {
		mt.freq.AddPerson(terms)
		return
	}
	// Count only the terms the person did not have yet.
	others := mt.members[person]
	if len(others) == 0 {
		others = []int32{person}
	}
	fresh := terms[:0:0]
	for _, t := range terms {
		held := false
		for _, o := range others {
			for _, ot := range FrequencyKeys(mt.feats.at(o)) {
				if ot == t {
					held = true
					break
				}
			}
			if held {
				break
			}
		}
		if !held {
			fresh = append(fresh, t)
		}
	}
	mt.freq.AddTerms(fresh)
	mt.members[person] = append(others, seq)
}

// PersonOf returns the person (the id of its first resident) of the
// resident registered at position seq (arrival order, from 0).
func (mt *Matcher) PersonOf(seq int) string { return mt.feats.at(mt.person[seq]).ID }

// residents holds the registry's Features in fixed chunks, so that growing
// it never copies what is there (a million residents are half a gigabyte)
// and pointers into it stay valid.
type residents struct {
	chunks [][]Features
	n      int
}

const residentChunk = 4096

func (r *residents) len() int { return r.n }

func (r *residents) at(id int32) *Features {
	return &r.chunks[int(id)/residentChunk][int(id)%residentChunk]
}

func (r *residents) add(f Features) *Features {
	if r.n%residentChunk == 0 {
		r.chunks = append(r.chunks, make([]Features, 0, residentChunk))
	}
	c := &r.chunks[len(r.chunks)-1]
	*c = append(*c, f)
	r.n++
	return &(*c)[len(*c)-1]
}
