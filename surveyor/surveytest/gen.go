package surveytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/doorstep-health/doorstep/schema"
)

var (
	givenM   = []string{"Ram", "Mohan", "Suresh", "Arjun", "Imran", "Vikas", "Rahul", "Harpreet", "Anil", "Deepak"}
	givenF   = []string{"Sita", "Asha", "Priya", "Fatima", "Sunita", "Kavita", "Neha", "Pooja", "Rekha", "Geeta"}
	surnames = []string{"Kumar", "Sharma", "Singh", "Khan", "Verma", "Gupta", "Yadav", "Devi", "Ansari", "Mishra"}
	children = []string{"son", "daughter"}
)

// Households returns n valid households in the import format, the same
// for the same seed. Households at even positions carry their own ids
// (H0000000, its members H0000000-1 …); odd ones leave ids to the
// importer, so both ways of recognising a re-imported line get exercised.
// About a third of members have an Aadhaar number (valid check digit).
func Households(n int, seed uint64) []schema.Household {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]schema.Household, n)
	for i := range out {
		h := schema.Household{
			Area: "DL-NW-W05",
			Address: schema.Address{Line1: fmt.Sprintf("House %d, Gali %d", r.IntN(900)+1, r.IntN(40)+1),
				Locality: "Rohini Sector " + fmt.Sprint(r.IntN(20)+1), City: "Delhi", Pincode: fmt.Sprintf("1100%02d", r.IntN(90)+10)},
			VisitedAt: fmt.Sprintf("2025-03-%02dT%02d:%02d:00+05:30", r.IntN(28)+1, r.IntN(10)+8, r.IntN(60)),
			Outcome:   schema.OutcomeEnrolled,
			Consent:   schema.Consent{Given: true},
		}
		if i%2 == 0 {
			h.ID = fmt.Sprintf("H%07d", i)
		}
		surname := surnames[r.IntN(len(surnames))]
		head := given(r, "M") + " " + surname
		members := 1 + r.IntN(6)
		for j := 0; j < members; j++ {
			m := schema.Resident{Sex: "M", Relation: "head"}
			switch j {
			case 0:
				m.Name = head
				setDOB(r, &m, 30, 70)
			case 1:
				m.Sex, m.Relation, m.SpouseName = "F", "spouse", head
				m.Name = given(r, "F") + " " + surname
				setDOB(r, &m, 25, 65)
			default:
				m.Relation = children[r.IntN(2)]
				if m.Relation == "daughter" {
					m.Sex = "F"
				}
				m.FatherName = head
				m.Name = given(r, m.Sex) + " " + surname
				setDOB(r, &m, 0, 25)
			}
			if r.IntN(2) == 0 {
				m.Phone = fmt.Sprintf("9%09d", r.IntN(1e9))
			}
			if r.IntN(3) == 0 {
				m.Aadhaar = Aadhaar(r)
			}
			if h.ID != "" {
				m.ID = fmt.Sprintf("%s-%d", h.ID, j+1)
			}
			h.Members = append(h.Members, m)
		}
		out[i] = h
	}
	return out
}

func given(r *rand.Rand, sex string) string {
	if sex == "F" {
		return givenF[r.IntN(len(givenF))]
	}
	return givenM[r.IntN(len(givenM))]
}

// setDOB writes a date of birth the three ways workers record one.
func setDOB(r *rand.Rand, m *schema.Resident, minAge, maxAge int) {
	age := minAge + r.IntN(maxAge-minAge+1)
	switch r.IntN(3) {
	case 0:
		m.DOB = fmt.Sprintf("%04d-%02d-%02d", 2024-age, r.IntN(12)+1, r.IntN(28)+1)
	case 1:
		m.DOB = fmt.Sprintf("%04d", 2024-age)
	default:
		m.Age = &age
	}
}

// Aadhaar returns a random number that passes schema.AadhaarValid.
func Aadhaar(r *rand.Rand) string {
	s := fmt.Sprintf("%d%010d", 2+r.IntN(8), r.Int64N(1e10))
	d, _ := schema.VerhoeffDigit(s)
	return s + string(d)
}

// WriteJSONL writes households one a line, as the import format wants.
// It returns the lines written, without their newlines.
func WriteJSONL(w io.Writer, hs []schema.Household) ([][]byte, error) {
	bw := bufio.NewWriter(w)
	lines := make([][]byte, len(hs))
	for i := range hs {
		b, err := json.Marshal(&hs[i])
		if err != nil {
			return nil, err
		}
		lines[i] = b
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return lines, bw.Flush()
}
