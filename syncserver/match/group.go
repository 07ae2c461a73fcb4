package match

import "math"

// Registry is the registered residents as matching reads them: the
// in-memory Matcher's slices for evaluation, or the server store's tables.
// Both run the same decisions through MatchGroup.
type Registry interface {
	// Candidates returns registered residents sharing a blocking key
	// (LookupKeys) with f: at most perKey under one key, the most recent
	// first, at most limit in all, each once. Residents a supervisor has
	// said are not f, and f's own earlier versions, are left out.
	Candidates(f *Features, perKey, limit int) ([]Candidate, error)
	// Frequencies is the term table for frequency adjustment.
	Frequencies() Frequencies
}

// Candidate is a registered resident and the person it belongs to now.
type Candidate struct {
	Features *Features
	Person   string
}

// MatchGroup decides, for each member of a newly arrived household in
// order, whether it is a registered person (OutcomeLink, Decision.Person
// naming that person), may be one (OutcomeReview, Decision.Best naming the
// candidate) or is new (Decision.Person empty for the caller to fill).
//
// It reads the registry as it was before the household: registering the
// members (blocking keys, terms, persons) is the caller's, after it. Earlier
// members of the group are candidates for later ones, so a member entered
// twice at one door becomes a review, never a link (the same-household
// rule). Household evidence comes from the whole group: a member's pair with
// a registered resident gets it when another member of the group is more
// likely than not another member of that resident's household, and weighs
// as much as being one family enrolled again when that other member is one
// beyond doubt (see householdEvidence and DefaultModel).
func (m *Model) MatchGroup(reg Registry, feats []Features, opt MatcherOptions) ([]Decision, error) {
	opt = opt.withDefaults()
	freq := reg.Frequencies()
	scored := make([][]groupCandidate, len(feats))
	for i := range feats {
		cands, err := reg.Candidates(&feats[i], opt.PerKey, opt.MaxCandidates)
		if err != nil {
			return nil, err
		}
		list := make([]groupCandidate, len(cands))
		for k := range cands {
			list[k] = groupCandidate{Candidate: cands[k], score: m.score(&feats[i], cands[k].Features, freq, HouseholdUnknown)}
		}
		scored[i] = list
	}
	if len(feats) > 1 {
		m.householdEvidence(feats, scored, freq)
	}

	decisions := make([]Decision, len(feats))
	for i := range feats {
		f := &feats[i]
		list := scored[i]
		for j := 0; j < i; j++ {
			list = append(list, groupCandidate{Candidate: Candidate{Features: &feats[j]}, score: m.score(f, &feats[j], freq, HouseholdUnknown)})
		}
		best := -1
		for k := range list {
			if best < 0 || list[k].score.total > list[best].score.total ||
				(list[k].score.total == list[best].score.total && list[k].Features.ID < list[best].Features.ID) {
				best = k
			}
		}
		d := Decision{Resident: f.ID, Outcome: OutcomeNew, Candidates: len(list)}
		if best >= 0 {
			c := list[best]
			cmp := m.comparison(c.score, f, c.Features)
			d.Best = &cmp
			prob := c.score.probability()
			if !tellsMember(&f.name, &c.Features.name, int(c.score.levels[fName])) {
				prob = competing(list, best)
			}
			d.Outcome = m.decide(prob, c.score.blocks != 0)
			if d.Outcome == OutcomeLink {
				if c.Person == "" { // an earlier member of the group: never linked
					d.Outcome = OutcomeReview
				} else {
					d.Person = c.Person
				}
			}
		}
		decisions[i] = d
	}
	return decisions, nil
}

type groupCandidate struct {
	Candidate
	score  pairScore
	family float64 // the probability that the two households are one family
}

// householdEvidence re-scores every pair (a, b) for which another member
// of a's household is, more likely than not, a registered member of b's
// household other than b (and breaks no hard rule), with the probability
// that the two households are one family: 1 − Π(1 − p) over those other
// members matched beyond doubt (p ≥ Upper), p the best such likeness of
// each, weighed without the relatives' names (pairScore.ownTotal: a wife's
// spouse name is her husband's name, which must not come back to him as
// household evidence). The others lend only the level's fixed weight: at
// review level, one chance likeness among a household's members would lend
// weight to all the others.
func (m *Model) householdEvidence(feats []Features, scored [][]groupCandidate, freq Frequencies) {
	type hit struct {
		member int
		id     string
		prob   float64
	}
	byHousehold := make(map[string][]hit)
	for i, list := range scored {
		for _, c := range list {
			if c.score.total >= 0 && c.score.blocks == 0 {
				hh := c.Features.HouseholdID
				byHousehold[hh] = append(byHousehold[hh], hit{i, c.Features.ID, Probability(c.score.ownTotal())})
			}
		}
	}
	if len(byHousehold) == 0 {
		return
	}
	best := make([]float64, len(feats))
	for i, list := range scored {
		for k := range list {
			c := &list[k]
			hits := byHousehold[c.Features.HouseholdID]
			if len(hits) == 0 {
				continue
			}
			clear(best)
			for _, o := range hits {
				if o.member != i && o.id != c.Features.ID {
					best[o.member] = max(best[o.member], o.prob)
				}
			}
			apart, any := 1.0, false
			for _, p := range best {
				if p > 0 {
					any = true
				}
				if p >= m.Upper {
					apart *= 1 - p
				}
			}
			if any {
				c.family = 1 - apart
				c.score = m.scoreFamily(&feats[i], c.Features, freq, c.family)
			}
		}
	}
}

// competing is the probability that the resident is list[best]'s person
// when the other persons among the candidates are alternatives to it, for a
// best candidate whose name does not pick out one person (an initial, a
// surname alone: see tellsMember; two persons both close to a whole name
// are more often one human enrolled twice than two): each
// pair's odds are worked out as if it were the only candidate, and a
// resident is at most one person, so the best's probability is its odds
// over one plus the odds of every person (the best of each person's
// residents; candidates a hard rule rules out do not compete). "R. Singh"
// of a family with twins Rahul and Rohit is neither.
func competing(list []groupCandidate, best int) float64 {
	b := &list[best]
	top := b.score.total
	person := func(c *groupCandidate) string {
		if c.Person == "" {
			return "\x00" + c.Features.ID // an earlier member of the group
		}
		return c.Person
	}
	bp := person(b)
	// Odds relative to the best's, to stay finite: 2^(w−top).
	others := 0.0
	seen := make(map[string]float64)
	for k := range list {
		c := &list[k]
		if k == best || c.score.blocks != 0 || c.score.total < top-20 {
			continue
		}
		p := person(c)
		if p == bp {
			continue
		}
		seen[p] = max(seen[p], math.Exp2(c.score.total-top))
	}
	for _, o := range seen {
		others += o
	}
	// p = o/(1 + o + others·o) with o = 2^top.
	return 1 / (1 + math.Exp2(-top) + others)
}
