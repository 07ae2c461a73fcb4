package match

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestDiagRecall is a diagnostic, skipped unless MATCH_DIAG is set: to a
// surveygen seed (13,700 households, about 50,000 residents) or a FEBRL file
// name under febrlDir. It prints the pairwise figures; with
// MATCH_DIAG_DETAIL=1 it also classifies every resident not linked to its
// earlier cluster-mate (nocand: no mate among the candidates blocking gave;
// review_right / review_other / new / link_wrong; _blockedN: a hard rule;
// /family when two or more members of its household returned from one
// registered household), with the levels of its best pair with a mate.
// MATCH_DIAG_FP=1 prints wrong links, MATCH_DIAG_REV=1 every review task.
func TestDiagRecall(t *testing.T) {
	arg := os.Getenv("MATCH_DIAG")
	if arg == "" {
		t.Skip("MATCH_DIAG not set")
	}
	var data []Labelled
	if seed, err := strconv.Atoi(arg); err == nil {
		data = surveygenLabelled(t, 13700, uint64(seed))
	} else {
		var err error
		data, err = LoadLabelledFile(filepath.Join(febrlDir, arg), evalNow)
		if err != nil {
			t.Fatal(err)
		}
	}
	met := Evaluate(data, DefaultModel(), MatcherOptions{})
	t.Logf("P %.4f R %.4f F1 %.4f reviews %d (%d true) pairs %d linked %d correct %d",
		met.Precision, met.Recall, met.F1, met.ReviewTasks, met.ReviewTrue, met.TruePairs, met.LinkedPairs, met.CorrectPairs)
	if os.Getenv("MATCH_DIAG_DETAIL") == "" {
		return
	}
	m := DefaultModel()
	mt := NewMatcher(m, MatcherOptions{})
	clusterSeqs := map[string][]int32{}
	clusterHH := map[string]string{}
	seqCluster := []string{}
	kinds := map[string]int{}
	levelHist := map[string]int{}
	shown := 0
	for i := range data {
		h := &data[i].Household
		feats := make([]Features, len(h.Members))
		candSets := make([]map[int32]bool, len(h.Members))
		for j := range h.Members {
			feats[j] = NewFeatures(&h.Members[j], h)
			cs := mt.index.Candidates(LookupKeys(&feats[j]), mt.opt.PerKey, mt.opt.MaxCandidates, nil)
			candSets[j] = map[int32]bool{}
			for _, c := range cs {
				candSets[j][c] = true
			}
		}
		// family dup: how many members' clusters had earlier mates in one household
		hhCount := map[string]int{}
		for j := range h.Members {
			c := data[i].Clusters[j]
			if c != "" && len(clusterSeqs[c]) > 0 {
				hhCount[clusterHH[c]]++
			}
		}
		base := int32(mt.Len())
		ds := mt.AddHousehold(h)
		for j, d := range ds {
			c := data[i].Clusters[j]
			seq := base + int32(j)
			prev := clusterSeqs[c]
			if d.Outcome == OutcomeLink && d.Best != nil && os.Getenv("MATCH_DIAG_FP") != "" {
				bc := seqCluster[mt.person[seqOf(mt, d.Best.B)]]
				if c == "" || bc != c {
					ev := []string{}
					for _, e := range d.Best.Evidence {
						if e.Level != "missing" && e.Level != "none" {
							ev = append(ev, fmt.Sprintf("%s=%s(%.1f)[%s|%s]", e.Field, e.Level, e.Weight, e.A, e.B))
						}
					}
					fmt.Printf("FP w=%.1f prior=%.1f %s\n", d.Best.Weight, d.Best.Prior, strings.Join(ev, " "))
				}
			}
			if d.Outcome == OutcomeReview && d.Best != nil && os.Getenv("MATCH_DIAG_REV") != "" {
				bc := seqCluster[seqOf(mt, d.Best.B)]
				ok := c != "" && bc == c
				ev := []string{}
				for _, e := range d.Best.Evidence {
					if e.Level != "missing" && e.Level != "none" {
						ev = append(ev, fmt.Sprintf("%s=%s(%.1f)[%s|%s]", e.Field[:3], e.Level, e.Weight, e.A, e.B))
					}
				}
				fmt.Printf("REV %v %.1f prior=%.1f %s %v\n", ok, d.Best.Weight, d.Best.Prior, strings.Join(ev, " "), d.Best.Blocks)
			}
			if c != "" && len(prev) > 0 {
				ok := mt.PersonOf(int(seq)) == mt.PersonOf(int(prev[0]))
				if !ok {
					inCand := false
					var bestPrev int32 = -1
					var bestScore pairScore
					for _, p := range prev {
						if candSets[j][p] {
							inCand = true
						}
						s := m.score(&feats[j], mt.feats.at(p), mt.freq, HouseholdUnknown)
						if bestPrev < 0 || s.total > bestScore.total {
							bestPrev, bestScore = p, s
						}
					}
					fam := "person"
					if hhCount[clusterHH[c]] >= 2 {
						fam = "family"
					}
					var k string
					switch {
					case !inCand:
						k = "nocand"
					case d.Outcome == OutcomeReview && d.Best != nil && d.Best.B == mt.feats.at(bestPrev).ID:
						k = "review_right"
					case d.Outcome == OutcomeReview:
						k = "review_other"
					case d.Outcome == OutcomeNew:
						k = "new"
					case d.Outcome == OutcomeLink:
						k = "link_wrong"
					}
					if bestScore.blocks != 0 {
						k += "_blocked" + strconv.Itoa(int(bestScore.blocks))
					}
					kinds[k+"/"+fam]++
					kinds["E "+evidenceClass(&bestScore)]++
					lv := []string{}
					for f := 0; f < numFields; f++ {
						l := int(bestScore.levels[f])
						if l >= 0 {
							lv = append(lv, fieldNames[f][:3]+"="+fieldLevels[f][l])
						}
					}
					if strings.HasPrefix(k, "nocand") {
						levelHist["nocand "+fieldLevels[fName][bestScore.levels[fName]]+" "+dobLv(bestScore.levels[fDOB])]++
					}
					if shown < diagShow() {
						shown++
						pf := mt.feats.at(bestPrev)
						fmt.Printf("%s/%s w=%.1f %s | %q/%q %d%c %s | %q/%q %d%c %s\n", k, fam, bestScore.total, strings.Join(lv, " "),
							feats[j].Name, feats[j].Father+"|"+feats[j].Spouse, feats[j].BirthYear, feats[j].Precision, feats[j].Phone,
							pf.Name, pf.Father+"|"+pf.Spouse, pf.BirthYear, pf.Precision, pf.Phone)
					}
				}
			}
			if c != "" {
				clusterSeqs[c] = append(clusterSeqs[c], seq)
				if _, ok := clusterHH[c]; !ok {
					clusterHH[c] = h.ID
				}
			}
			seqCluster = append(seqCluster, c)
		}
	}
	type kv struct {
		k string
		v int
	}
	var out []kv
	for k, v := range kinds {
		out = append(out, kv{k, v})
	}
	for k, v := range levelHist {
		out = append(out, kv{"H " + k, v})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].v > out[b].v })
	for _, o := range out {
		fmt.Println(o.v, o.k)
	}
}

// evidenceClass sums up what a missed pair has beyond the name: a
// relative's name (father or spouse agreeing at subset or better), contact
// (phone exact or one slip off), place (address exact or close), identity
// (Aadhaar or a document exact or one slip off), or nothing.
func evidenceClass(p *pairScore) string {
	var out []string
	if l := p.levels[fFather]; l >= 0 && l <= nameSubset {
		out = append(out, "relative")
	} else if l := p.levels[fSpouse]; l >= 0 && l <= nameSubset {
		out = append(out, "relative")
	}
	if l := p.levels[fPhone]; l == phoneExact || l == phoneTypo {
		out = append(out, "phone")
	}
	if l := p.levels[fAddress]; l == addrExact || l == addrClose {
		out = append(out, "address")
	}
	if p.levels[fAadhaar] == aadhaarExact || p.levels[fDocument] == idExact || p.levels[fDocument] == idTypo {
		out = append(out, "identity")
	}
	if len(out) == 0 {
		return "name+dob only"
	}
	return strings.Join(out, "+")
}

// diagShow is how many misses TestDiagRecall prints: MATCH_DIAG_SHOW, 60
// unless set.
func diagShow() int {
	if n, err := strconv.Atoi(os.Getenv("MATCH_DIAG_SHOW")); err == nil {
		return n
	}
	return 60
}

func dobLv(l int8) string {
	if l < 0 {
		return "missing"
	}
	return fieldLevels[fDOB][l]
}

func seqOf(mt *Matcher, id string) int32 {
	for i := mt.Len() - 1; i >= 0; i-- {
		if mt.feats.at(int32(i)).ID == id {
			return int32(i)
		}
	}
	return -1
}
