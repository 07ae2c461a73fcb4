package surveygen_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveygen"
)

// generate writes n households with Write and reads them back from JSON,
// so that tests see exactly what an import sees.
func generate(t testing.TB, opt surveygen.Options) ([]surveygen.Household, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := surveygen.New(opt).Write(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	var hs []surveygen.Household
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var h surveygen.Household
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			t.Fatalf("line %d: %v", len(hs)+1, err)
		}
		hs = append(hs, h)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(hs) != opt.Households {
		t.Fatalf("wrote %d households, want %d", len(hs), opt.Households)
	}
	return hs, buf.Bytes()
}

// enrolment is one member with the household it was enrolled in.
type enrolment struct {
	h *surveygen.Household
	m *surveygen.Member
}

// byCluster groups enrolments by cluster in the order they were written.
func byCluster(hs []surveygen.Household) (map[string][]enrolment, []string) {
	c := map[string][]enrolment{}
	var order []string
	for i := range hs {
		for j := range hs[i].Members {
			m := &hs[i].Members[j]
			if _, ok := c[m.Cluster]; !ok {
				order = append(order, m.Cluster)
			}
			c[m.Cluster] = append(c[m.Cluster], enrolment{&hs[i], m})
		}
	}
	return c, order
}

// firstVisits returns the households in which every member is enrolled for
// the first time: a family as it really is.
func firstVisits(hs []surveygen.Household) []*surveygen.Household {
	seen := map[string]bool{}
	var out []*surveygen.Household
	for i := range hs {
		first := true
		for _, m := range hs[i].Members {
			if seen[m.Cluster] {
				first = false
			}
			seen[m.Cluster] = true
		}
		if first && len(hs[i].Members) > 0 {
			out = append(out, &hs[i])
		}
	}
	return out
}

// plain strips the case and a leading honorific a team may have added.
func plain(name string) string {
	name = strings.ToUpper(name)
	for _, h := range []string{"SHRI ", "SH. ", "MR. ", "SMT. ", "SMT ", "MRS. ", "KM. ", "KUMARI ", "MS. ", "MASTER ", "MST. ", "BABY ", "S. ", "SARDAR ", "JANAB ", "LATE "} {
		name = strings.TrimPrefix(name, h)
	}
	return name
}

func normalized(t testing.TB, h surveygen.Household) schema.Household {
	t.Helper()
	s := h.Schema()
	s.Normalize(surveygen.DefaultStart())
	return s
}

func TestDeterministic(t *testing.T) {
	opt := surveygen.Options{Households: 2000, DupRate: 0.15, Seed: 42}
	_, a := generate(t, opt)
	_, b := generate(t, opt)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed wrote different bytes")
	}
	opt.Seed = 43
	_, c := generate(t, opt)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds wrote the same bytes")
	}
	// Next and Write agree.
	g := surveygen.New(surveygen.Options{Households: 2000, DupRate: 0.15, Seed: 42})
	var buf bytes.Buffer
	for {
		h, ok := g.Next()
		if !ok {
			break
		}
		line, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if !bytes.Equal(a, buf.Bytes()) {
		t.Fatal("Next and Write disagree")
	}
}

func TestEveryHouseholdValid(t *testing.T) {
	now := surveygen.DefaultStart().AddDate(0, 0, 31)
	for seed, rate := range []float64{0.3, 1, 0.05} {
		seed := uint64(seed + 1)
		hs, _ := generate(t, surveygen.Options{Households: 4000, DupRate: rate, Seed: seed})
		for i, h := range hs {
			s := h.Schema()
			s.Normalize(now)
			if err := s.Validate(now); err != nil {
				line, _ := json.Marshal(h)
				t.Fatalf("seed %d household %d: %v\n%s", seed, i+1, err, line)
			}
			if len(h.Members) > 9 {
				t.Errorf("seed %d household %d has %d members", seed, i+1, len(h.Members))
			}
		}
	}
}

func TestJSONShape(t *testing.T) {
	_, raw := generate(t, surveygen.Options{Households: 1500, DupRate: 0.1, Seed: 5})
	members := 0
	for line := range bytes.Lines(raw) {
		var h map[string]any
		if err := json.Unmarshal(line, &h); err != nil {
			t.Fatal(err)
		}
		if _, ok := h["id"]; ok {
			t.Fatal("household with an id: import generates them")
		}
		ms, _ := h["members"].([]any)
		for _, m := range ms {
			m := m.(map[string]any)
			members++
			if c, ok := m["cluster"].(string); !ok || c == "" {
				t.Fatalf("member without cluster: %v", m)
			}
			if _, ok := m["id"]; ok {
				t.Fatalf("member with an id: %v", m)
			}
		}
	}
	if members == 0 {
		t.Fatal("no members")
	}
}

func TestDuplicateRate(t *testing.T) {
	for _, rate := range []float64{0, 0.05, 0.1, 0.3} {
		hs, _ := generate(t, surveygen.Options{Households: 8000, DupRate: rate, Seed: 11})
		clusters, _ := byCluster(hs)
		dup := 0
		for _, es := range clusters {
			if len(es) > 1 {
				dup++
			}
		}
		got := float64(dup) / float64(len(clusters))
		tol := 0.015 + rate*0.1
		if got < rate-tol || got > rate+tol {
			t.Errorf("dup-rate %.2f: %.3f of %d persons enrolled more than once", rate, got, len(clusters))
		}
		t.Logf("dup-rate %.2f: %d of %d persons (%.3f) enrolled more than once", rate, dup, len(clusters), got)
	}
}

// TestDuplicatesNoisy checks that second enrolments differ from the first
// in the ways the noise model promises, each at least sometimes and none
// always.
func TestDuplicatesNoisy(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 10000, DupRate: 0.15, Seed: 3})
	clusters, order := byCluster(hs)
	count := map[string]int{}
	pairs := 0
	for _, c := range order {
		es := clusters[c]
		if len(es) < 2 {
			continue
		}
		a, b := es[0], es[1]
		pairs++
		an, bn := a.m.Name, b.m.Name
		if an != bn {
			count["name differs"]++
		}
		if strings.ToUpper(bn) == bn && strings.ToUpper(an) != an {
			count["upper case"]++
		}
		if regexp.MustCompile(`^(Shri|Sh\.|Smt\.?|Mr\.|Mrs\.|Km\.|Kumari|Ms\.|Master|Mst\.|Baby|S\.|Sardar|Janab) `).MatchString(bn) && !strings.HasPrefix(an, strings.Fields(bn)[0]+" ") {
			count["honorific"]++
		}
		if regexp.MustCompile(`\b[A-Z]\.`).MatchString(bn) && !regexp.MustCompile(`\b[A-Z]\.`).MatchString(an) {
			count["initials"]++
		}
		if len(strings.Fields(bn)) < len(strings.Fields(an)) {
			count["fewer words"]++
		}
		if len(strings.Fields(bn)) == len(strings.Fields(an)) && an != bn && strings.ToUpper(an) != strings.ToUpper(bn) {
			count["respelt"]++
		}
		if a.m.Age == nil && b.m.Age != nil {
			count["age stated"]++
		}
		if b.m.DOBPrecision == "year" {
			count["year only"]++
		}
		pa, _ := schema.NormalizePhone(a.m.Phone)
		pb, _ := schema.NormalizePhone(b.m.Phone)
		switch {
		case pa != "" && pb == "":
			count["phone missing"]++
		case pa != "" && pb != "" && pa != pb && hamming(pa, pb) <= 2:
			count["phone typo"]++
		case pa == pb && pa != "" && a.m.Phone != b.m.Phone:
			count["phone written differently"]++
		}
		if a.m.FatherName != "" && b.m.FatherName != "" && a.m.FatherName != b.m.FatherName {
			count["father name differs"]++
		}
		if a.h.Address.Pincode != b.h.Address.Pincode {
			count["moved"]++
		}
		if a.h.Address.Pincode == b.h.Address.Pincode && a.h.Address.Line1 != b.h.Address.Line1 {
			count["address written differently"]++
		}
		if a.h.Area != b.h.Area {
			count["other area"]++
		}
		if a.h.VisitedAt[:10] != b.h.VisitedAt[:10] {
			count["other day"]++
		}
		if a.m.Relation != b.m.Relation {
			count["relation differs"]++
		}
	}
	t.Logf("%d duplicate pairs: %v", pairs, count)
	for _, k := range []string{"name differs", "upper case", "honorific", "initials", "fewer words",
		"respelt", "age stated", "year only", "phone missing", "phone typo", "phone written differently",
		"father name differs", "moved", "address written differently", "other area", "other day",
		"relation differs"} {
		if count[k] == 0 {
			t.Errorf("no duplicate pair shows %q", k)
		}
		if count[k] == pairs && k != "other day" {
			t.Errorf("every duplicate pair shows %q", k)
		}
	}
	if float64(count["name differs"]) < 0.3*float64(pairs) {
		t.Errorf("only %d of %d duplicate names differ", count["name differs"], pairs)
	}
}

func hamming(a, b string) int {
	if len(a) != len(b) {
		return len(a) + len(b)
	}
	d := 0
	for i := range a {
		if a[i] != b[i] {
			d++
		}
	}
	return d
}

func TestWholeFamiliesAndLoners(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 6000, DupRate: 0.1, Seed: 8})
	clusters, _ := byCluster(hs)
	wholeFamily, alone := 0, 0
	for i := range hs {
		h := &hs[i]
		again := 0
		for _, m := range h.Members {
			if es := clusters[m.Cluster]; es[0].h != h {
				again++
			}
		}
		switch {
		case again >= 3 && again == len(h.Members):
			wholeFamily++
		case again == 1 && len(h.Members) == 1:
			alone++
		}
	}
	if wholeFamily < 50 || alone < 50 {
		t.Errorf("re-enrolled families %d, persons alone elsewhere %d; want both common", wholeFamily, alone)
	}
}

func TestNameDiversity(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 10000, DupRate: 0.1, Seed: 4})
	markers := []string{"Devi", "Kumari", "Kumar", "Singh", "Kaur", "Begum", "Khatoon", "Bano", "Parveen", "Rani"}
	given, surnames := map[string]int{}, map[string]bool{}
	for _, h := range firstVisits(hs) {
		for _, m := range h.Members {
			var words []string
			for _, w := range strings.Fields(m.Name) {
				if !strings.HasSuffix(w, ".") && w != "Shri" && w != "Smt" && w != "Baby" && w != "Master" && w != "Kumari" || len(words) > 0 {
					words = append(words, w)
				}
			}
			if len(words) == 0 {
				continue
			}
			given[words[0]]++
			if last := words[len(words)-1]; len(words) > 1 && !slices.Contains(markers, last) {
				surnames[last] = true
			}
		}
	}
	if len(given) < 300 || len(surnames) < 150 {
		t.Errorf("%d distinct given names and %d surnames in 10,000 households; want at least 300 and 150", len(given), len(surnames))
	}
	// A few names are very common, most are rare.
	var counts []int
	for _, c := range given {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	total := 0
	for _, c := range counts {
		total += c
	}
	if top := counts[0]; float64(top) < 0.01*float64(total) || float64(top) > 0.1*float64(total) {
		t.Errorf("the commonest given name is %d of %d", top, total)
	}
	rare := 0
	for _, c := range counts {
		if c <= 5 {
			rare++
		}
	}
	if rare < len(counts)/4 {
		t.Errorf("only %d of %d given names are rare", rare, len(counts))
	}
	t.Logf("%d given names, %d surnames, commonest %d of %d, %d seen five times or fewer", len(given), len(surnames), counts[0], total, rare)
}

func TestCommunities(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 5000, Seed: 9})
	want := map[string]*regexp.Regexp{
		"sikh":       regexp.MustCompile(` (Singh|Kaur)\b`),
		"muslim":     regexp.MustCompile(`\b(Mohd\.|Mohammad|Md\.|Khan|Ansari|Qureshi|Siddiqui|Begum|Khatoon)\b`),
		"bengali":    regexp.MustCompile(`\b(Chatterjee|Banerjee|Mukherjee|Ghosh|Das|Bose)$`),
		"south":      regexp.MustCompile(`^[A-Z]\. [A-Z][a-z]+`),
		"christian":  regexp.MustCompile(`\b(D'Souza|Fernandes|Masih|Joseph|Thomas)$`),
		"marathi":    regexp.MustCompile(`\b(Patil|Jadhav|Pawar|Shinde|Deshmukh|Kulkarni)$`),
		"gujarati":   regexp.MustCompile(`\b(Patel|Shah|Desai|Parikh|Trivedi)$`),
		"north":      regexp.MustCompile(`\b(Devi|Kumar)\b`),
		"punjabi":    regexp.MustCompile(`\b(Arora|Kapoor|Khanna|Malhotra|Chopra)$`),
		"devi/kumar": regexp.MustCompile(`^[A-Z][a-z]+ (Devi|Kumari)$`),
	}
	for name, re := range want {
		n := 0
		for _, h := range hs {
			for _, m := range h.Members {
				if re.MatchString(m.Name) {
					n++
				}
			}
		}
		if n < 10 {
			t.Errorf("%s names: %d", name, n)
		}
	}
}

func TestFamilies(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 6000, DupRate: 0.1, Seed: 12})
	fams := firstVisits(hs)
	sizes := make([]int, 10)
	sum, childOK, childAll, spouseBoth, spouses := 0, 0, 0, 0, 0
	for _, h := range fams {
		sizes[len(h.Members)]++
		sum += len(h.Members)
		s := normalized(t, *h)
		head := s.Members[slices.IndexFunc(s.Members, func(r schema.Resident) bool { return r.Relation == "head" })]
		for _, m := range s.Members {
			if (m.Relation == "son" || m.Relation == "daughter") && head.Sex == "M" {
				childAll++
				if m.FatherName == "" || plain(m.FatherName) == plain(head.Name) {
					childOK++
				}
				if by, hy := m.BirthYear(), head.BirthYear(); by-hy < 15 {
					t.Errorf("child %q born %d, father %q born %d", m.Name, by, head.Name, hy)
				}
			}
			if m.Relation == "spouse" {
				spouses++
				if plain(m.SpouseName) == plain(head.Name) && plain(head.SpouseName) == plain(m.Name) {
					spouseBoth++
				}
			}
		}
	}
	mean := float64(sum) / float64(len(fams))
	if mean < 4 || mean > 5 {
		t.Errorf("mean household size %.2f", mean)
	}
	for n := 1; n <= 9; n++ {
		if sizes[n] == 0 {
			t.Errorf("no household of %d", n)
		}
	}
	if float64(childOK) < 0.98*float64(childAll) {
		t.Errorf("%d of %d children carry their father's (the head's) name as father_name", childOK, childAll)
	}
	if float64(spouseBoth) < 0.8*float64(spouses) {
		t.Errorf("spouse_name set both ways in %d of %d couples", spouseBoth, spouses)
	}
	t.Logf("%d families, mean size %.2f, sizes %v", len(fams), mean, sizes[1:])
}

func TestOutcomes(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 3000, DupRate: 0.1, Seed: 2})
	count := map[string]int{}
	for _, h := range hs {
		count[h.Outcome]++
		if h.Outcome != schema.OutcomeEnrolled && len(h.Members) > 0 {
			t.Errorf("%s household with members", h.Outcome)
		}
		if h.Outcome == schema.OutcomeEnrolled && !h.Consent.Given {
			t.Error("enrolled without consent")
		}
	}
	for _, o := range schema.Outcomes {
		if count[o] == 0 {
			t.Errorf("no %s household", o)
		}
	}
	if float64(count[schema.OutcomeEnrolled]) < 0.8*float64(len(hs)) {
		t.Errorf("only %d of %d enrolled", count[schema.OutcomeEnrolled], len(hs))
	}
}

func TestPlacesAndTimes(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 5000, DupRate: 0.1, Seed: 6})
	start := surveygen.DefaultStart()
	area := regexp.MustCompile(`^DL-(NW|N|NE|E|SH|C|ND|S|SE|SW|W)-W\d{2,3}$`)
	localities := map[string]bool{}
	pincodeOf := map[string]string{"Rohini Sector 7": "110085", "Laxmi Nagar": "110092", "Jamia Nagar": "110025",
		"Sangam Vihar": "110062", "Seelampur": "110053", "Dwarka Sector 7": "110075", "Karol Bagh": "110005",
		"Mayur Vihar Phase 1": "110091"}
	withGPS := 0
	for _, h := range hs {
		if !area.MatchString(h.Area) {
			t.Errorf("area %q", h.Area)
		}
		localities[h.Address.Locality] = true
		if p, ok := pincodeOf[h.Address.Locality]; ok && p != h.Address.Pincode {
			t.Errorf("%s with pincode %s", h.Address.Locality, h.Address.Pincode)
		}
		if g := h.GPS; g != nil {
			withGPS++
			if g.Lat < 28.4 || g.Lat > 28.9 || g.Lon < 76.8 || g.Lon > 77.4 {
				t.Errorf("GPS %v outside Delhi", *g)
			}
		}
		v, err := time.Parse(time.RFC3339, h.VisitedAt)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(h.VisitedAt, "+05:30") {
			t.Errorf("visited_at %s not in +05:30", h.VisitedAt)
		}
		if v.Before(start) || v.After(start.AddDate(0, 0, 30)) || v.Hour() < 9 || v.Hour() >= 18 || v.Weekday() == time.Sunday {
			t.Errorf("visited_at %s outside working hours of the survey", h.VisitedAt)
		}
	}
	if len(localities) < 40 {
		t.Errorf("%d localities", len(localities))
	}
	if withGPS < len(hs)/2 || withGPS == len(hs) {
		t.Errorf("%d of %d households with GPS", withGPS, len(hs))
	}
}

func TestPhones(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 4000, DupRate: 0.1, Seed: 13})
	shared, families, members, without := 0, 0, 0, 0
	forms := map[string]int{}
	for _, h := range firstVisits(hs) {
		s := normalized(t, *h)
		if len(s.Members) >= 3 {
			families++
			seen := map[string]int{}
			for _, m := range s.Members {
				if m.Phone != "" {
					seen[m.Phone]++
				}
			}
			for _, n := range seen {
				if n >= 2 {
					shared++
					break
				}
			}
		}
		for _, m := range h.Members {
			members++
			switch p := m.Phone; {
			case p == "":
				without++
			case strings.HasPrefix(p, "+91"):
				forms["+91"]++
			case strings.Contains(p, " "):
				forms["spaced"]++
			case len(p) == 10:
				forms["plain"]++
			}
		}
	}
	if float64(shared) < 0.5*float64(families) {
		t.Errorf("%d of %d families of three or more share a number", shared, families)
	}
	if without == 0 || without > members/2 {
		t.Errorf("%d of %d members without a phone", without, members)
	}
	for _, f := range []string{"+91", "spaced", "plain"} {
		if forms[f] == 0 {
			t.Errorf("no phone written %s", f)
		}
	}
}

func TestIdentityNumbers(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 4000, DupRate: 0.1, Seed: 14})
	adults, withAadhaar, voters, strict := 0, 0, 0, 0
	docs := map[string]int{}
	voter := regexp.MustCompile(`^([A-Z]{3}[0-9]{7}|DL/[0-9]{2}/[0-9]{3}/[0-9]{6})$`)
	for _, h := range hs {
		s := normalized(t, h)
		for _, m := range s.Members {
			if m.Aadhaar != "" && !schema.AadhaarValid(m.Aadhaar) {
				t.Errorf("invalid Aadhaar %s", m.Aadhaar)
			}
			if 2026-m.BirthYear() >= 18 {
				adults++
				if m.Aadhaar != "" {
					withAadhaar++
				}
			}
			for _, d := range m.Documents {
				docs[d.Type]++
				if d.Type == "voter_id" {
					voters++
					if voter.MatchString(d.Number) {
						strict++ // the rest carry a look-alike typo
					}
				}
			}
		}
	}
	if share := float64(withAadhaar) / float64(adults); share < 0.2 || share > 0.4 {
		t.Errorf("%.2f of adults with an Aadhaar number, want about 0.3", share)
	}
	if float64(strict) < 0.95*float64(voters) {
		t.Errorf("%d of %d voter IDs in EPIC format", strict, voters)
	}
	for _, d := range []string{"voter_id", "ration_card", "pan"} {
		if docs[d] == 0 {
			t.Errorf("no %s", d)
		}
	}
}

func TestDatesOfBirth(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 4000, DupRate: 0.1, Seed: 15})
	count := map[string]int{}
	total := 0
	for _, h := range hs {
		for _, m := range h.Members {
			total++
			switch {
			case m.Age != nil && m.DOB == "":
				count["age"]++
			case m.DOBPrecision == "year" && len(m.DOB) == 4:
				count["year"]++
			case m.DOBPrecision == "day" && len(m.DOB) == 10:
				count["day"]++
			default:
				t.Errorf("dob %q precision %q age %v", m.DOB, m.DOBPrecision, m.Age)
			}
		}
	}
	if float64(count["day"]) < 0.6*float64(total) || count["year"] < total/20 || count["age"] < total/20 {
		t.Errorf("precisions %v of %d", count, total)
	}
}

// TestHardNegatives checks that the generator writes the pairs a matcher
// must not merge: twins (same date of birth, different names) and sons
// named after their fathers (same name, different dates).
func TestHardNegatives(t *testing.T) {
	hs, _ := generate(t, surveygen.Options{Households: 6000, DupRate: 0.1, Seed: 16})
	twins, juniors := 0, 0
	for _, h := range firstVisits(hs) {
		ms := h.Members
		for i := range ms {
			for j := i + 1; j < len(ms); j++ {
				a, b := ms[i], ms[j]
				if a.Cluster == b.Cluster {
					t.Fatalf("one person twice in a household: %v", a)
				}
				if a.DOBPrecision == "day" && a.DOB == b.DOB && a.Name != b.Name && a.FatherName != "" && a.FatherName == b.FatherName {
					twins++
				}
				if a.Name == b.Name && (b.FatherName == a.Name || a.FatherName == b.Name) {
					juniors++
				}
			}
		}
	}
	if twins < 5 || juniors < 5 {
		t.Errorf("twins %d, sons named after their fathers %d", twins, juniors)
	}
	t.Logf("twins %d, sons named after their fathers %d", twins, juniors)
}

func TestOptions(t *testing.T) {
	start := time.Date(2027, 2, 1, 10, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
	hs, _ := generate(t, surveygen.Options{Households: 300, DupRate: 2, Seed: 1, Start: start, Days: 7})
	for _, h := range hs {
		v, _ := time.Parse(time.RFC3339, h.VisitedAt)
		if v.Before(start) || !v.Before(start.AddDate(0, 0, 7)) {
			t.Fatalf("visit %s outside the week from %s", h.VisitedAt, start)
		}
	}
	g := surveygen.New(surveygen.Options{Households: -5})
	if _, ok := g.Next(); ok {
		t.Fatal("a household from a negative count")
	}
	noise := surveygen.Noise{}
	hs, _ = generate(t, surveygen.Options{Households: 2000, DupRate: 0.2, Seed: 1, Noise: &noise})
	clusters, _ := byCluster(hs)
	same, pairs := 0, 0
	for _, es := range clusters {
		for _, e := range es[1:] {
			pairs++
			if e.m.DOBPrecision != "day" || e.m.Age != nil {
				t.Errorf("without noise a second enrolment with dob %q, precision %q", e.m.DOB, e.m.DOBPrecision)
			}
			if plain(e.m.Name) == plain(es[0].m.Name) {
				same++
			}
		}
	}
	// Only a married daughter's new surname changes her name.
	if float64(same) < 0.95*float64(pairs) {
		t.Errorf("without noise %d of %d second enrolments keep the name", same, pairs)
	}
}

func TestWriteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := surveygen.New(surveygen.Options{Households: 10}).Write(ctx, &bytes.Buffer{})
	if err != context.Canceled {
		t.Fatalf("Write with a cancelled context: %v", err)
	}
}

func TestStats(t *testing.T) {
	g := surveygen.New(surveygen.Options{Households: 3000, DupRate: 0.1, Seed: 21})
	var hs []surveygen.Household
	for {
		h, ok := g.Next()
		if !ok {
			break
		}
		hs = append(hs, h)
	}
	st := g.Stats()
	clusters, _ := byCluster(hs)
	residents, dup := 0, 0
	for _, h := range hs {
		residents += len(h.Members)
	}
	for _, es := range clusters {
		if len(es) > 1 {
			dup++
		}
	}
	if st.Households != len(hs) || st.Residents != residents || st.Persons != len(clusters) || st.Duplicated != dup {
		t.Errorf("stats %+v; counted %d households, %d residents, %d persons, %d duplicated", st, len(hs), residents, len(clusters), dup)
	}
}

// TestFast generates 50,000 residents, well within the time a demo or a
// benchmark setup can spare.
func TestFast(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	begin := time.Now()
	g := surveygen.New(surveygen.Options{Households: 14000, DupRate: 0.1, Seed: 1})
	if err := g.Write(context.Background(), discard{}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	if r := g.Stats().Residents; r < 50000 {
		t.Fatalf("only %d residents", r)
	}
	if took > 5*time.Second {
		t.Errorf("%d residents took %v", g.Stats().Residents, took)
	}
	t.Logf("%d residents in %v", g.Stats().Residents, took)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkGenerate(b *testing.B) {
	residents := 0
	for i := 0; b.Loop(); i++ {
		g := surveygen.New(surveygen.Options{Households: 1000, DupRate: 0.1, Seed: uint64(i)})
		if err := g.Write(context.Background(), discard{}); err != nil {
			b.Fatal(err)
		}
		residents += g.Stats().Residents
	}
	b.ReportMetric(float64(residents)/b.Elapsed().Seconds(), "residents/s")
}
