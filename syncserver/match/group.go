package match

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
// likely than not another member of that resident's household.
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
			cmp := m.Score(f, c.Features, freq, c.hh)
			d.Best = &cmp
			d.Outcome = m.decide(c.score.probability(), c.score.blocks != 0)
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
	score pairScore
	hh    HouseholdEvidence
}

// householdEvidence re-scores, with HouseholdOtherMatch, every pair (a, b)
// for which another member of a's household has a candidate other than b
// in b's household that is more likely than not the same person and breaks
// no hard rule. (At review level, one chance likeness among a household's
// members lent weight to all the others.)
func (m *Model) householdEvidence(feats []Features, scored [][]groupCandidate, freq Frequencies) {
	type hit struct {
		member int
		id     string
	}
	byHousehold := make(map[string][]hit)
	for i, list := range scored {
		for _, c := range list {
			if c.score.total >= 0 && c.score.blocks == 0 {
				hh := c.Features.HouseholdID
				byHousehold[hh] = append(byHousehold[hh], hit{i, c.Features.ID})
			}
		}
	}
	if len(byHousehold) == 0 {
		return
	}
	for i, list := range scored {
		for k := range list {
			c := &list[k]
			for _, o := range byHousehold[c.Features.HouseholdID] {
				if o.member != i && o.id != c.Features.ID {
					c.hh = HouseholdOtherMatch
					c.score = m.score(&feats[i], c.Features, freq, HouseholdOtherMatch)
					break
				}
			}
		}
	}
}
