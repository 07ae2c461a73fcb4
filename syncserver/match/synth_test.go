package match

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// A small synthetic Delhi for tests and benchmarks: households with
// families (twins, sons named after their fathers), re-enrolments by a
// second team with names spelled as heard, ages instead of dates, phones
// left out. surveygen is the real generator; this one is only enough to
// exercise the matcher without it.

var (
	synthMale = strings.Fields(`Ram Rajesh Sunil Suresh Anil Ramesh Mukesh Rakesh Manoj Sanjay
		Vinod Ashok Pankaj Amit Deepak Rahul Vijay Ajay Dinesh Naresh Mahesh Satish Raju
		Santosh Pawan Sandeep Rohit Sachin Vikas Arun Ravi Krishan Shyam Surender Narender
		Virender Yogesh Umesh Rajiv Nitin Gaurav Saurabh Vishal Abhishek Ankit Aman Akash
		Manish Mohit Naveen Neeraj Pradeep Pramod Praveen Sanjeev Sumit Vivek Lakshman
		Bhagwan Dharmendra Subhash Shankar Gopal Kishore Chandan Jitendra Laxmi-Narayan
		Harpreet Gurpreet Irfan Salman Imran Arif Shahid Zakir Rizwan Faizan Senthil Murugan
		Venkatesh Srinivas Prakash Anand Kamal Harish Lokesh Girish Tarun Varun Kunal`)
	synthFemale = strings.Fields(`Sunita Anita Geeta Seema Rekha Pooja Neha Priya Suman Kavita
		Meena Asha Usha Sarita Savita Kiran Poonam Rani Renu Manju Sangeeta Mamta Nirmala
		Kamla Shanti Lakshmi Radha Sita Jyoti Preeti Pinki Rinki Sapna Kajal Shabnam Nazia
		Farzana Rukhsana Shabana Nasreen Parveen Harpreet Gurpreet Jaspreet Kamaljeet Lalita
		Vandana Archana Aarti Bharti Shalini Deepika Sonia Monika Ritu Nisha Komal Khushboo
		Anjali Shweta Swati Divya Madhu Sudha Shobha Uma Durga Parvati Saraswati Bhavna
		Malti Vimla Shakuntala Lata Pushpa Phoolwati Meenakshi Valli Selvi`)
	synthSurname = strings.Fields(`Kumar Sharma Singh Verma Gupta Yadav Chaudhary Jain Aggarwal
		Mishra Pandey Tiwari Shukla Srivastava Saxena Mehta Arora Kapoor Malhotra Khanna
		Bhatia Sethi Chawla Khan Ansari Qureshi Siddiqui Sheikh Rizvi Das Sen Bose Chatterjee
		Banerjee Iyer Pillai Nair Reddy Rao Joshi Thakur Rawat Negi Bisht Rana Chauhan
		Tomar Solanki Prajapati Kushwaha Maurya Paswan Rajput Saini Bansal Goel Mittal`)
	synthLocality = []struct{ name, pin string }{
		{"Burari", "110084"}, {"Mangolpuri", "110083"}, {"Sultanpuri", "110086"},
		{"Jahangirpuri", "110033"}, {"Seelampur", "110053"}, {"Sangam Vihar", "110080"},
		{"Trilokpuri", "110091"}, {"Uttam Nagar", "110059"}, {"Shakurpur", "110034"},
		{"Khichripur", "110091"}, {"Nangloi", "110041"}, {"Badarpur", "110044"},
		{"Kirari", "110086"}, {"Mustafabad", "110094"}, {"Okhla", "110025"},
		{"Madanpur Khadar", "110076"}, {"Dakshinpuri", "110062"}, {"Govindpuri", "110019"},
		{"Shaheen Bagh", "110025"}, {"Karawal Nagar", "110094"},
	}
	synthSpellings = [][2]string{
		{"aa", "a"}, {"ee", "i"}, {"oo", "u"}, {"v", "w"}, {"w", "v"}, {"sh", "s"},
		{"th", "t"}, {"bh", "b"}, {"dh", "d"}, {"ph", "f"}, {"ksh", "x"}, {"x", "ksh"},
		{"q", "k"}, {"z", "j"}, {"au", "ou"}, {"ou", "au"}, {"i", "ee"}, {"u", "oo"},
		{"y", "i"}, {"ay", "ai"}, {"ri", "ree"}, {"ender", "inder"}, {"endra", "ender"},
	}
)

// synthPerson is one human of the synthetic population.
type synthPerson struct {
	given, surname string
	sex            string
	dob            time.Time
	father, spouse string
	phone          string
	aadhaar        string
	voter          string
}

type synth struct {
	r      *rand.Rand
	visit  time.Time
	serial int
}

func newSynth(seed uint64) *synth {
	return &synth{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), visit: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

// zipfPick picks from list with a skew towards the front, so that a few
// names are everywhere.
func (s *synth) zipfPick(list []string) string {
	// P(i) ∝ 1/(i+3)
	for {
		i := int(float64(len(list)) * s.r.Float64() * s.r.Float64())
		if i < len(list) {
			return list[i]
		}
	}
}

func (s *synth) phone() string {
	return "+91" + strconv.Itoa(6+s.r.IntN(4)) + fmt.Sprintf("%09d", s.r.IntN(1_000_000_000))
}

func (s *synth) dob(year int) time.Time {
	return time.Date(year, time.Month(1+s.r.IntN(12)), 1+s.r.IntN(28), 0, 0, 0, 0, time.UTC)
}

func (s *synth) maleName() string {
	n := s.zipfPick(synthMale)
	return strings.ReplaceAll(n, "-", " ")
}

// family makes the true people of one household.
func (s *synth) family() []synthPerson {
	surname := s.zipfPick(synthSurname)
	headYear := 1950 + s.r.IntN(50)
	head := synthPerson{given: s.maleName(), surname: surname, sex: "M", dob: s.dob(headYear),
		father: s.maleName() + " " + surname}
	if s.r.Float64() < 0.15 {
		// A woman heads the household.
		head.given, head.sex = s.zipfPick(synthFemale), "F"
	}
	fam := []synthPerson{head}
	hasSpouse := head.sex == "M" && s.r.Float64() < 0.85
	if hasSpouse {
		sp := synthPerson{given: s.zipfPick(synthFemale), surname: surname, sex: "F",
			dob: s.dob(headYear + s.r.IntN(8)), spouse: head.given + " " + surname}
		if s.r.Float64() < 0.4 {
			sp.surname = "Devi"
		}
		fam[0].spouse = sp.given + " " + sp.surname
		fam = append(fam, sp)
	}
	kids := s.r.IntN(4)
	for k := 0; k < kids; k++ {
		y := headYear + 20 + s.r.IntN(18)
		if y > 2025 {
			y = 2025
		}
		kid := synthPerson{surname: surname, dob: s.dob(y), father: head.given + " " + surname}
		for taken := true; taken; {
			if s.r.IntN(2) == 0 {
				kid.sex, kid.given = "M", s.maleName()
			} else {
				kid.sex, kid.given = "F", s.zipfPick(synthFemale)
			}
			taken = false
			for _, o := range fam {
				taken = taken || o.given == kid.given
			}
		}
		if kid.sex == "M" && s.r.Float64() < 0.05 {
			kid.given = head.given // named after his father
		}
		if head.sex == "F" {
			kid.father = s.maleName() + " " + surname
		}
		fam = append(fam, kid)
		if k == 0 && s.r.Float64() < 0.03 {
			// Twins: same day, another name.
			twin := kid
			for twin.given == kid.given || twin.given == head.given {
				if twin.sex == "M" {
					twin.given = s.maleName()
				} else {
					twin.given = s.zipfPick(synthFemale)
				}
			}
			fam = append(fam, twin)
		}
	}
	shared := s.phone()
	for i := range fam {
		switch x := s.r.Float64(); {
		case x < 0.6:
			fam[i].phone = shared
		case x < 0.8 && s.visit.Sub(fam[i].dob) > 18*365*24*time.Hour:
			fam[i].phone = s.phone()
		}
		if s.r.Float64() < 0.3 {
			fam[i].aadhaar = fmt.Sprintf("%012d", s.r.Int64N(900_000_000_000)+200_000_000_000)
		}
		if fam[i].dob.Year() < 2007 && s.r.Float64() < 0.3 {
			fam[i].voter = fmt.Sprintf("DL%08d", s.r.IntN(100_000_000))
		}
	}
	return fam
}

type synthHome struct {
	house, gali int
	loc         int
	ration      string
}

func (s *synth) home() synthHome {
	h := synthHome{house: 1 + s.r.IntN(900), gali: 1 + s.r.IntN(30), loc: s.r.IntN(len(synthLocality))}
	if s.r.Float64() < 0.4 {
		h.ration = fmt.Sprintf("RC%07d", s.r.IntN(10_000_000))
	}
	return h
}

// household writes a family living at home as one survey team would;
// second is a second team's visit, which writes everything its own way.
func (s *synth) household(fam []synthPerson, home synthHome, clusters []string, second bool) (schema.Household, []string) {
	s.serial++
	loc := synthLocality[home.loc]
	line := fmt.Sprintf("H.No. %d, Gali No. %d", home.house, home.gali)
	if second && s.r.IntN(2) == 0 {
		line = fmt.Sprintf("House No %d Gali %d", home.house, home.gali)
	}
	h := schema.Household{
		ID:      fmt.Sprintf("H%07d", s.serial),
		Area:    "DL-NW-W05",
		Address: schema.Address{Line1: line, Locality: loc.name, City: "Delhi", Pincode: loc.pin},
		Outcome: schema.OutcomeEnrolled, Consent: schema.Consent{Given: true},
		VisitedAt: s.visit.Format(time.RFC3339),
	}
	var cl []string
	for i, p := range fam {
		rel := "son"
		switch {
		case i == 0:
			rel = "head"
		case p.spouse != "" && i == 1:
			rel = "spouse"
		case p.sex == "F":
			rel = "daughter"
		}
		h.Members = append(h.Members, s.resident(p, fmt.Sprintf("%s-%d", h.ID, i), rel, home, second))
		cl = append(cl, clusters[i])
	}
	h.Normalize(s.visit)
	return h, cl
}

func (s *synth) resident(p synthPerson, id, rel string, home synthHome, second bool) schema.Resident {
	r := schema.Resident{ID: id, Sex: p.sex, Relation: rel, Phone: p.phone}
	name := p.given + " " + p.surname
	father, spouse := p.father, p.spouse
	if second {
		name = s.spellAsHeard(name)
		father = s.spellAsHeard(father)
		spouse = s.spellAsHeard(spouse)
	}
	if s.r.Float64() < 0.15 {
		switch p.sex {
		case "M":
			name = []string{"Shri ", "Sh. ", "Mr. "}[s.r.IntN(3)] + name
		case "F":
			name = []string{"Smt. ", "Smt ", "Km. ", "Mrs. "}[s.r.IntN(4)] + name
		}
	}
	r.Name, r.FatherName, r.SpouseName = name, father, spouse
	switch x := s.r.Float64(); {
	case x < 0.5:
		r.DOB, r.DOBPrecision = p.dob.Format("2006-01-02"), schema.PrecisionDay
	case x < 0.65:
		r.DOB, r.DOBPrecision = strconv.Itoa(p.dob.Year()), schema.PrecisionYear
	default:
		age := s.visit.Year() - p.dob.Year()
		if s.visit.YearDay() < p.dob.YearDay() {
			age--
		}
		if age > 30 && s.r.Float64() < 0.4 {
			age = (age + 2) / 5 * 5 // heaped on a multiple of five
		}
		r.Age = &age
	}
	if second {
		if s.r.Float64() < 0.4 {
			r.Phone = ""
		}
		if s.r.Float64() < 0.3 {
			r.FatherName, r.SpouseName = "", ""
		}
	}
	if p.aadhaar != "" && s.r.Float64() < 0.7 {
		r.Aadhaar = p.aadhaar
	}
	if p.voter != "" && s.r.Float64() < 0.6 {
		r.Documents = append(r.Documents, schema.Document{Type: "voter_id", Number: p.voter})
	}
	if home.ration != "" && s.r.Float64() < 0.5 {
		r.Documents = append(r.Documents, schema.Document{Type: "ration_card", Number: home.ration})
	}
	return r
}

// spellAsHeard writes a name the way a second survey worker might.
func (s *synth) spellAsHeard(name string) string {
	if name == "" {
		return ""
	}
	toks := strings.Fields(name)
	for i, t := range toks {
		if s.r.Float64() < 0.35 {
			low := strings.ToLower(t)
			sp := synthSpellings[s.r.IntN(len(synthSpellings))]
			if j := strings.Index(low, sp[0]); j >= 0 {
				low = low[:j] + sp[1] + low[j+len(sp[0]):]
				toks[i] = strings.ToUpper(low[:1]) + low[1:]
			}
		}
	}
	switch x := s.r.Float64(); {
	case x < 0.05 && len(toks) > 1:
		toks[0], toks[len(toks)-1] = toks[len(toks)-1], toks[0]
	case x < 0.10 && len(toks) > 1:
		toks[0] = toks[0][:1] + "."
	case x < 0.13 && len(toks) > 1:
		toks = toks[:len(toks)-1] // surname left out
	case x < 0.16:
		// one letter mistyped
		t := []byte(toks[0])
		if len(t) > 3 {
			k := 1 + s.r.IntN(len(t)-1)
			t[k] = "aeioubdgkmnprst"[s.r.IntN(15)]
			toks[0] = string(t)
		}
	}
	return strings.Join(toks, " ")
}

// synthData makes about n residents: households of families, and a share
// dupRate of residents enrolled a second time, either with their whole
// household by a second team or alone at a relative's address.
func synthData(seed uint64, n int, dupRate float64) []Labelled {
	s := newSynth(seed)
	type fam struct {
		people []synthPerson
		home   synthHome
		ids    []string
	}
	var fams []fam
	var out []Labelled
	count, cluster := 0, 0
	for count < n {
		if len(fams) > 20 && s.r.Float64() < dupRate {
			f := fams[s.r.IntN(len(fams))]
			if s.r.Float64() < 0.7 {
				// The whole household again, another team.
				home := f.home
				if s.r.Float64() < 0.2 {
					home = s.home() // they moved
				}
				h, cl := s.household(f.people, home, f.ids, true)
				out = append(out, Labelled{Household: h, Clusters: cl})
				count += len(h.Members)
			} else {
				// One member, enrolled at a relative's house.
				k := s.r.IntN(len(f.people))
				p := f.people[k]
				h, cl := s.household([]synthPerson{p}, s.home(), []string{f.ids[k]}, true)
				out = append(out, Labelled{Household: h, Clusters: cl})
				count++
			}
			continue
		}
		people := s.family()
		ids := make([]string, len(people))
		for i := range ids {
			cluster++
			ids[i] = "c" + strconv.Itoa(cluster)
		}
		home := s.home()
		h, cl := s.household(people, home, ids, false)
		out = append(out, Labelled{Household: h, Clusters: cl})
		fams = append(fams, fam{people, home, ids})
		count += len(people)
	}
	return out
}
