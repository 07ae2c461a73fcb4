package surveygen

import (
	"math/rand/v2"
	"strings"
)

// Eras of birth, for names that went in and out of fashion.
const (
	eraAncient = iota // born before 1950
	eraOld            // born 1950–1967
	eraMid            // born 1968–1998
	eraYoung          // born after 1998
	nEra
)

func eraOf(birthYear int) int {
	switch {
	case birthYear < 1950:
		return eraAncient
	case birthYear < 1968:
		return eraOld
	case birthYear > 1998:
		return eraYoung
	}
	return eraMid
}

// eraFactor[tag][era] scales a name's weight by how likely a person of
// that era carries it. Tag 0 is untagged, 1 is /o, 2 is /y, 3 is /n.
var eraFactor = [4][nEra]float64{
	{0.3, 0.8, 1, 0.3},
	{3, 1, 0.12, 0.01},
	{0.001, 0.005, 0.05, 4},
	{0.005, 0.02, 1, 1},
}

// picker draws an item with probability proportional to its weight.
type picker struct {
	items []string
	cum   []float64
}

func (p *picker) add(item string, w float64) {
	total := 0.0
	if n := len(p.cum); n > 0 {
		total = p.cum[n-1]
	}
	p.items = append(p.items, item)
	p.cum = append(p.cum, total+w)
}

func (p *picker) pick(r *rand.Rand) string {
	return p.items[pickIndex(r, p.cum)]
}

// pickIndex returns i with probability (cum[i]-cum[i-1]) / cum[last].
func pickIndex(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// zipf is the weight of the name at rank i (0-based) of its list: the
// first few dominate and the long tail stays rare but present.
func zipf(i int) float64 { return 1 / float64(i+4) }

// parseList splits a comma-separated name list into names and era tags,
// dropping repeats.
func parseList(s string) (names []string, tags []int) {
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.Join(strings.Fields(f), " ")
		if f == "" {
			continue
		}
		tag := 0
		switch {
		case strings.HasSuffix(f, "/o"):
			tag, f = 1, strings.TrimSuffix(f, "/o")
		case strings.HasSuffix(f, "/y"):
			tag, f = 2, strings.TrimSuffix(f, "/y")
		case strings.HasSuffix(f, "/n"):
			tag, f = 3, strings.TrimSuffix(f, "/n")
		}
		if seen[f] {
			continue
		}
		seen[f] = true
		names = append(names, f)
		tags = append(tags, tag)
	}
	return names, tags
}

// tables are the generator's read-only lookups, built once per Generator
// from the data in names.go and places.go.
type tables struct {
	given    [nComm][2][nEra]picker // [community][0 male, 1 female][era]
	surnames [nComm]picker
	// spelling maps a token or multi-word given name to its group in
	// spellings.
	spelling map[string][]string
	locs     []locality
	wards    [][]int   // wards of each locality
	locCum   []float64 // locality weights
	commCum  [][]float64
}

func newTables() *tables {
	t := &tables{spelling: map[string][]string{}}
	for c := range nComm {
		d := communities[c]
		for sex, list := range []string{d.male, d.female} {
			names, tags := parseList(list)
			for e := range nEra {
				for i, n := range names {
					t.given[c][sex][e].add(n, zipf(i)*eraFactor[tags[i]][e])
				}
			}
		}
		names, _ := parseList(d.surnames)
		for i, n := range names {
			t.surnames[c].add(n, zipf(i))
		}
	}
	for _, g := range spellings {
		group := strings.Split(g, "|")
		for _, s := range group {
			t.spelling[s] = group
		}
	}
	t.locs = localities()
	next := map[string]int{}
	total := 0.0
	for _, l := range t.locs {
		// Two or three wards per locality, numbered in order within the
		// district, so DL-NW-W05 and DL-NW-W06 are neighbours.
		n := 2 + len(l.name)%2
		ws := make([]int, n)
		for i := range ws {
			next[l.district]++
			ws[i] = next[l.district]
		}
		t.wards = append(t.wards, ws)
		total += l.weight
		t.locCum = append(t.locCum, total)
		cum := make([]float64, nComm)
		sum := 0.0
		for c := range nComm {
			sum += communities[c].share * l.bias[c]
			cum[c] = sum
		}
		t.commCum = append(t.commCum, cum)
	}
	return t
}
