package match

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// Labelled is a household from an evaluation file: the household in the
// import format and, for each member, its ground-truth cluster. Members of
// one cluster are one human.
type Labelled struct {
	Household schema.Household
	Clusters  []string // Clusters[i] is Household.Members[i]'s; "" means a person of its own
}

// clusterLine reads the one field the import format does not have.
type clusterLine struct {
	Members []struct {
		Cluster string `json:"cluster"`
	} `json:"members"`
}

// LoadLabelled reads households in the import format (JSONL, one a line)
// whose members carry a "cluster" field, and normalises each household as
// an import does (schema Household.Normalize with now as the import time).
// It does not validate: evaluation data may lack fields (sex, phone,
// relatives) that matching treats as missing evidence.
func LoadLabelled(r io.Reader, now time.Time) ([]Labelled, error) {
	var out []Labelled
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		var h schema.Household
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		var cl clusterLine
		if err := json.Unmarshal(b, &cl); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		h.Normalize(now)
		l := Labelled{Household: h, Clusters: make([]string, len(h.Members))}
		for i := range l.Clusters {
			if i < len(cl.Members) {
				l.Clusters[i] = cl.Members[i].Cluster
			}
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}

// LoadLabelledFile is LoadLabelled on a file.
func LoadLabelledFile(path string, now time.Time) ([]Labelled, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := LoadLabelled(f, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Metrics are pairwise figures of a matching run. The JSON keys are those
// of `syncserver match eval --json` (DESIGN.md §11), plus a few more.
type Metrics struct {
	Records   int `json:"records"`
	TruePairs int `json:"true_pairs"` // pairs of residents in one ground-truth cluster
	// LinkedPairs are pairs of residents in one person after matching;
	// CorrectPairs those of them that are also a true pair.
	LinkedPairs  int     `json:"linked_pairs"`
	CorrectPairs int     `json:"correct_pairs"`
	Precision    float64 `json:"precision"` // CorrectPairs / LinkedPairs (1 when nothing is linked)
	Recall       float64 `json:"recall"`    // CorrectPairs / TruePairs (1 when there are none)
	F1           float64 `json:"f1"`
	// ReviewTasks is the number of residents sent to review: one task
	// each, against its best candidate. A review is not a link: until a
	// supervisor decides, the resident is a person of its own, and the
	// pairwise figures count it so.
	ReviewTasks int `json:"review_tasks"`
	// ReviewTrue is how many of those tasks are a true pair: what a
	// supervisor would link.
	ReviewTrue       int     `json:"review_true"`
	Persons          int     `json:"persons"`
	Seconds          float64 `json:"seconds"` // matching time, loading excluded
	RecordsPerSecond float64 `json:"records_per_second"`
}

// Evaluate runs matching from an empty registry over the households in
// order and compares the persons formed by automatic links with the
// ground-truth clusters, pair by pair.
func Evaluate(data []Labelled, m *Model, opt MatcherOptions) Metrics {
	mt := NewMatcher(m, opt)
	var truth []string
	var persons []string
	var met Metrics
	byID := make(map[string]string) // resident id → cluster, for review tasks
	start := time.Now()
	for i := range data {
		h := &data[i].Household
		for j, c := range data[i].Clusters {
			if c == "" {
				c = "\x00" + h.Members[j].ID
			}
			truth = append(truth, c)
			byID[h.Members[j].ID] = c
		}
		for _, d := range mt.AddHousehold(h) {
			persons = append(persons, d.Person)
			if d.Outcome == OutcomeReview {
				met.ReviewTasks++
				if d.Best != nil && byID[d.Best.A] == byID[d.Best.B] {
					met.ReviewTrue++
				}
			}
		}
	}
	met.Seconds = time.Since(start).Seconds()
	met.Records = len(truth)
	if met.Seconds > 0 {
		met.RecordsPerSecond = float64(met.Records) / met.Seconds
	}
	met.Persons = mt.Persons()
	met.TruePairs, met.LinkedPairs, met.CorrectPairs = PairCounts(truth, persons)
	met.Precision, met.Recall, met.F1 = prf(met.CorrectPairs, met.LinkedPairs, met.TruePairs)
	return met
}

// PairCounts counts pairs of records within truth clusters, within
// predicted clusters (persons) and within both: the three numbers pairwise
// precision and recall are made of. truth[i] and pred[i] label record i.
func PairCounts(truth, pred []string) (truePairs, predPairs, both int) {
	type cell struct{ t, p string }
	tc := make(map[string]int)
	pc := make(map[string]int)
	cc := make(map[cell]int)
	for i := range truth {
		tc[truth[i]]++
		pc[pred[i]]++
		cc[cell{truth[i], pred[i]}]++
	}
	pairs := func(n int) int { return n * (n - 1) / 2 }
	for _, n := range tc {
		truePairs += pairs(n)
	}
	for _, n := range pc {
		predPairs += pairs(n)
	}
	for _, n := range cc {
		both += pairs(n)
	}
	return
}

func prf(correct, linked, truePairs int) (p, r, f1 float64) {
	p, r = 1, 1
	if linked > 0 {
		p = float64(correct) / float64(linked)
	}
	if truePairs > 0 {
		r = float64(correct) / float64(truePairs)
	}
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	return
}
