package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TrainOptions tune Train. Zero values take the defaults.
type TrainOptions struct {
	RandomPairs   int     // pairs sampled for u; default 200,000
	MinCount      int     // random pairs a level needs for its u to be estimated; default 20
	MaxIterations int     // EM iterations per session; default 50
	Tolerance     float64 // stop when no m moves more than this; default 1e-5
	Seed          uint64  // for the random pairs
	Matcher       MatcherOptions
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.RandomPairs <= 0 {
		o.RandomPairs = 200_000
	}
	if o.MinCount <= 0 {
		o.MinCount = 20
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = 50
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 1e-5
	}
	o.Matcher = o.Matcher.withDefaults()
	return o
}

// TrainReport says what Train saw and did.
type TrainReport struct {
	Records     int            `json:"records"`
	RandomPairs int            `json:"random_pairs"`
	Sessions    []TrainSession `json:"sessions"`
	// Matches is the expected number of matching pairs among the pairs
	// that agree on name and birth year; DuplicateRate is Matches/Records.
	Matches float64 `json:"matches"`
}

// TrainSession is one EM run over the pairs one kind of blocking key found.
type TrainSession struct {
	Key        string   `json:"key"`   // blocking key kind (KeyName, KeyPhone…)
	Pairs      int      `json:"pairs"` // candidate pairs
	Fixed      []string `json:"fixed"` // fields the key makes agree: not estimated here
	Iterations int      `json:"iterations"`
	Lambda     float64  `json:"lambda"`  // estimated share of matches among the pairs
	Matches    float64  `json:"matches"` // expected matching pairs
}

// levelRow is a pair's comparison levels, computed once.
type levelRow [numFields]int8

// Train estimates a model from records the way Splink does:
//
//   - u from random pairs: nearly all of them are two people, so the share
//     of each level among them is its u. A level seen fewer than MinCount
//     times keeps base's u (Aadhaar and document agreement are too rare to
//     count).
//   - m by expectation maximisation over the candidate pairs blocking finds,
//     one session per kind of blocking key, with u fixed. A session does not
//     estimate the fields its key makes agree (pairs found by phone all agree
//     on phone, so they say nothing of phone's m); each field's m is the
//     average over the sessions that estimated it, weighted by the expected
//     matches that observed it.
//   - the duplicate rate from the expected matches among the pairs that
//     agree on name and birth year.
//
// Keys that find families (phone, address, surname in a pincode) make no
// session, and pairs within a household are left out. The weights of name
// levels are kept in order. Household evidence, Aadhaar and documents keep
// base's m (see fixedInTraining), as do the prior's floor, the family size
// and the thresholds. Records are in arrival order, as the matcher sees them.
func Train(records []Features, base *Model, opt TrainOptions) (*Model, TrainReport, error) {
	opt = opt.withDefaults()
	rep := TrainReport{Records: len(records)}
	if len(records) < 2 {
		return nil, rep, fmt.Errorf("match train: need at least 2 records, have %d", len(records))
	}
	if err := base.Validate(); err != nil {
		return nil, rep, err
	}
	m := base.Clone()
	levels := func(a, b *Features) levelRow {
		p := base.score(a, b, nil, HouseholdUnknown)
		return p.levels
	}

	// u from random pairs.
	rng := rand.New(rand.NewPCG(opt.Seed, 0x7472616e)) // "tran"
	var ucount [numFields][]int
	var unon [numFields]int
	for f := range numFields {
		ucount[f] = make([]int, len(fieldLevels[f]))
	}
	for range opt.RandomPairs {
		i, j := rng.IntN(len(records)), rng.IntN(len(records))
		if i == j {
			continue
		}
		rep.RandomPairs++
		row := levels(&records[i], &records[j])
		for f := range numFields {
			if l := row[f]; l >= 0 {
				ucount[f][l]++
				unon[f]++
			}
		}
	}
	for f := range numFields {
		if f == fHousehold || unon[f] == 0 {
			continue
		}
		for l := range ucount[f] {
			if ucount[f][l] >= opt.MinCount {
				m.Fields[f].Levels[l].U = float64(ucount[f][l]) / float64(unon[f])
				m.Fields[f].Levels[l].Source = fmt.Sprintf("u: %d of %d random pairs", ucount[f][l], unon[f])
			}
		}
	}

	// Candidate pairs, by kind of blocking key. Keys that find families
	// (phone, address, surname in a pincode) are left out: among their
	// pairs, "same family" is the structure EM would find, not "same
	// person". Pairs within one household are never the same person.
	kinds := []string{KeyName, KeyBirth, KeyAadhaar, KeyDocument, KeyRelative, KeySingle}
	ix := NewIndex()
	sessions := make(map[string][]levelRow)
	union := make(map[[2]int32]levelRow)
	var cands []int32
	for i := range records {
		byKind := make(map[string][]string)
		for _, k := range LookupKeys(&records[i]) {
			byKind[keyKind(k)] = append(byKind[keyKind(k)], k)
		}
		for _, kind := range kinds {
			if len(byKind[kind]) == 0 {
				continue
			}
			cands = ix.Candidates(byKind[kind], opt.Matcher.PerKey, opt.Matcher.MaxCandidates, cands[:0])
			for _, j := range cands {
				if records[i].HouseholdID != "" && records[i].HouseholdID == records[j].HouseholdID {
					continue
				}
				key := [2]int32{j, int32(i)}
				row, ok := union[key]
				if !ok {
					row = levels(&records[i], &records[j])
					union[key] = row
				}
				sessions[kind] = append(sessions[kind], row)
			}
		}
		ix.Add(int32(i), BlockingKeys(&records[i]))
	}

	// EM per session.
	var sumM [numFields][]float64
	var sumW [numFields]float64
	for f := range numFields {
		sumM[f] = make([]float64, len(fieldLevels[f]))
	}
	for _, kind := range kinds {
		rows := sessions[kind]
		if len(rows) == 0 {
			continue
		}
		var est [numFields]bool
		for f := range numFields {
			est[f] = !fixedInTraining[f] && !slices.Contains(keyFields[kind], f)
			// A name says the sex: namesakes agree on it as often as
			// matches do.
			if f == fSex && slices.Contains(keyFields[kind], fName) {
				est[f] = false
			}
		}
		s := TrainSession{Key: kind, Pairs: len(rows)}
		for f := range numFields {
			if !est[f] {
				s.Fixed = append(s.Fixed, fieldNames[f])
			}
		}
		mm, lambda, weight, iters := em(rows, m, base, est, opt)
		s.Iterations, s.Lambda = iters, lambda
		for f := range numFields {
			if !est[f] || weight[f] == 0 {
				continue
			}
			for l := range mm[f] {
				sumM[f][l] += weight[f] * mm[f][l]
			}
			sumW[f] += weight[f]
		}
		s.Matches = lambda * float64(len(rows))
		rep.Sessions = append(rep.Sessions, s)
	}
	for f := range numFields {
		if sumW[f] == 0 {
			continue
		}
		for l := range sumM[f] {
			m.Fields[f].Levels[l].M = sumM[f][l] / sumW[f]
			src := m.Fields[f].Levels[l].Source
			m.Fields[f].Levels[l].Source = fmt.Sprintf("m: EM over %d records", len(records))
			if src != "" {
				m.Fields[f].Levels[l].Source += "; " + src
			}
		}
	}

	monotone(m)
	// The duplicate rate: expected matches among the pairs that agree on
	// name and birth year, the key that finds most re-enrolments and few
	// others, per record.
	for _, ses := range rep.Sessions {
		if ses.Key == KeyName {
			rep.Matches = ses.Matches
			m.DuplicateRate = min(max(ses.Matches/float64(len(records)), 0.001), 0.5)
		}
	}
	return m, rep, m.Validate()
}

// fixedInTraining are the fields whose m Train keeps from the base model:
// household evidence needs the store's links; an Aadhaar or document
// number that disagrees is near-proof of two people, which EM's match class
// (loose enough to hold some namesakes) cannot learn.
var fixedInTraining = [numFields]bool{fHousehold: true, fAadhaar: true, fDocument: true}

// monotone keeps the weights of name levels in their order, exact highest,
// by lowering the m of a level that outweighs the one above it (EM finds
// namesakes' fathers "similar" more often than true pairs' fathers), then
// renormalising.
func monotone(m *Model) {
	for _, f := range []int{fName, fFather, fSpouse} {
		lv := m.Fields[f].Levels
		for l := 1; l < len(lv); l++ {
			if w, above := math.Log2(lv[l].M/lv[l].U), math.Log2(lv[l-1].M/lv[l-1].U); w > above {
				lv[l].M = lv[l].U * math.Exp2(above)
			}
		}
		sum := 0.0
		for _, x := range lv {
			sum += x.M
		}
		for l := range lv {
			lv[l].M /= sum
		}
	}
}

// em estimates m (for the fields est marks) and λ over rows with u fixed.
// It returns the m, λ, and per field the expected matches that observed it.
func em(rows []levelRow, start, base *Model, est [numFields]bool, opt TrainOptions) (m [numFields][]float64, lambda float64, weight [numFields]float64, iters int) {
	for f := range numFields {
		m[f] = make([]float64, len(fieldLevels[f]))
		for l := range m[f] {
			m[f][l] = start.Fields[f].Levels[l].M
		}
	}
	lambda = 0.1
	// Each step is a model with the current m over the fixed u.
	cur := start.Clone()
	for iters = 1; iters <= opt.MaxIterations; iters++ {
		for f := range numFields {
			for l := range m[f] {
				cur.Fields[f].Levels[l].M = m[f][l]
			}
		}
		var num [numFields][]float64
		var den [numFields]float64
		for f := range numFields {
			num[f] = make([]float64, len(m[f]))
		}
		total := 0.0
		for k := range rows {
			p := posterior(rowWeight(&rows[k], cur, &est), lambda)
			total += p
			for f := range numFields {
				if l := rows[k][f]; est[f] && l >= 0 {
					num[f][l] += p
					den[f] += p
				}
			}
		}
		lambda = min(max(total/float64(len(rows)), 1e-6), 1-1e-6)
		moved := 0.0
		for f := range numFields {
			if !est[f] {
				continue
			}
			// One pseudo-match at base's m keeps a level never seen among
			// matches from reaching zero.
			for l := range m[f] {
				next := (num[f][l] + base.Fields[f].Levels[l].M) / (den[f] + 1)
				moved = max(moved, math.Abs(next-m[f][l]))
				m[f][l] = next
			}
			weight[f] = den[f]
		}
		if moved < opt.Tolerance {
			break
		}
	}
	return m, lambda, weight, min(iters, opt.MaxIterations)
}

// rowWeight is the log2 Bayes factor of a pair's levels over the fields use
// marks.
func rowWeight(row *levelRow, m *Model, use *[numFields]bool) float64 {
	w := 0.0
	for f := range numFields {
		if l := row[f]; use[f] && l >= 0 {
			w += m.weight(f, int(l))
		}
	}
	return w
}

// posterior is the match probability of a pair with Bayes factor 2^w
// under prior λ.
func posterior(w, lambda float64) float64 {
	odds := math.Exp2(w) * lambda / (1 - lambda)
	if math.IsInf(odds, 1) {
		return 1
	}
	return odds / (1 + odds)
}
