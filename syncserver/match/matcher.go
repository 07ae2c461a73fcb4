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
// result depends only on the residents and their order of arrival. It runs
// the decisions the store runs (Model.MatchGroup over a Registry), over an
// in-memory Index and FrequencyTable instead of tables: the reference for
// the store, and the evaluation harness.
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
// order, with Model.MatchGroup (the store's path too), and registers them.
// h must be normalised (schema Household.Normalize).
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

func (mt *Matcher) addGroup(feats []Features) []Decision {
	reg := memRegistry{mt: mt, seq: make(map[string]int32)}
	decisions, err := mt.model.MatchGroup(&reg, feats, mt.opt)
	if err != nil {
		panic(err) // memRegistry never fails
	}
	for i := range decisions {
		d := &decisions[i]
		seq := int32(mt.feats.len())
		person := seq
		if d.Outcome == OutcomeLink {
			person = mt.person[reg.seq[d.Best.B]]
		}
		mt.register(feats[i], seq, person)
		d.Person = mt.feats.at(person).ID
	}
	return decisions
}

// memRegistry is Registry over the matcher's index, for one group.
type memRegistry struct {
	mt  *Matcher
	seq map[string]int32 // candidates returned, by resident id
}

func (r *memRegistry) Frequencies() Frequencies { return r.mt.freq }

func (r *memRegistry) Candidates(f *Features, perKey, limit int) ([]Candidate, error) {
	mt := r.mt
	mt.cands = mt.index.Candidates(LookupKeys(f), perKey, limit, mt.cands[:0])
	out := make([]Candidate, len(mt.cands))
	for k, id := range mt.cands {
		c := mt.feats.at(id)
		out[k] = Candidate{Features: c, Person: mt.feats.at(mt.person[id]).ID}
		r.seq[c.ID] = id
	}
	return out, nil
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
