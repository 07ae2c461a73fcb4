package match

import (
	"slices"
	"sync"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Smt. Sunita Devi", "sunita devi"},
		{"  SUNITA   devi ", "sunita devi"},
		{"Shri Ram Lal", "ram lal"},
		{"Sh. Ram Lal", "ram lal"},
		{"Late Shri Ram Prasad", "ram prasad"},
		{"Mr. Amit Kumar", "amit kumar"},
		{"Mrs. Kavita Sharma", "kavita sharma"},
		{"Dr. Anil Gupta", "anil gupta"},
		{"Kumari Pooja", "pooja"},
		{"Km. Pooja", "pooja"},
		{"Sunita Kumari", "sunita kumari"}, // a trailing Kumari is a surname, not a title
		{"Kumari", "kumari"},               // never the whole name
		{"Md. Irfan", "mohammad irfan"},
		{"Mohd Irfan", "mohammad irfan"},
		{"Mohammed Irfan", "mohammad irfan"},
		{"Muhammad Irfan", "mohammad irfan"},
		{"Ram Kr. Sharma", "ram kumar sharma"},
		{"Shiv Pd. Yadav", "shiv prasad yadav"},
		{"R.K. Sharma", "r k sharma"},
		{"RK Sharma", "r k sharma"},
		{"R. Senthil Kumar", "r senthil kumar"},
		{"D'Souza", "dsouza"},
		{"Ram-Kumar", "ram kumar"},
		{"Ram s/o Shyam", "ram"},
		{"Lakṣmī", "laksmi"},   // IAST diacritics
		{"Ｓｕｎｉｔａ", "sunita"},   // full-width letters (NFKC)
		{"Sunita 2", "sunita"}, // digits are no part of a name
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeName(tt.in); got != tt.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := NameTokens("R. Senthil Kumar"), []string{"r", "senthil", "kumar"}; !slices.Equal(got, want) {
		t.Errorf("NameTokens = %q, want %q", got, want)
	}
}

// Spellings of one name that must fold to the same key, so that they agree
// exactly.
func TestFoldNameVariants(t *testing.T) {
	groups := [][]string{
		{"Mohd Irfan", "Mohammad Irfan", "Md. Irfan", "Mohammed Irfan"},
		{"Laxmi", "Lakshmi"},
		{"Sunita", "Suneeta", "Sunitha"},
		{"Shrivastava", "Srivastava", "Shrivastav", "Srivastav"},
		{"R. Senthil Kumar", "Senthil Kumar R", "Kumar Senthil R."},
		{"Smt. Sunita Devi", "Sunita Devi", "Devi Sunita", "Sunita Debi"},
		{"Deepak", "Dipak"},
		{"Pooja", "Puja"},
		{"Sanjeev", "Sanjiv"},
		{"Aarti", "Arti"},
		{"Vikas", "Bikas", "Vikash"},
		{"Bhawna", "Bhavna"},
		{"Zakir", "Jakir"},
		{"Qureshi", "Kureshi"},
		{"Pandey", "Pande"},
		{"Pappu", "Papu"},
		{"Chawla", "Chavla"},
		{"Jyoti", "Jyothi"},
		{"Santosh", "Santhosh"},
		{"Gautam", "Goutam"},
		{"Subhash", "Subash"},
		{"Rinki", "Rinky"},
	}
	for _, g := range groups {
		want := FoldName(g[0])
		for _, v := range g[1:] {
			if got := FoldName(v); got != want {
				t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q: want equal", v, got, g[0], want)
			}
		}
	}
	// And names that must not fold together.
	apart := [][2]string{{"Rakesh", "Rajesh"}, {"Sunil", "Sunita"}, {"Ram", "Shyam"}, {"Anil", "Sunil"}}
	for _, p := range apart {
		if FoldName(p[0]) == FoldName(p[1]) {
			t.Errorf("FoldName(%q) = FoldName(%q) = %q: want different", p[0], p[1], FoldName(p[0]))
		}
	}
}

// Spellings that differ in vowels share a phonetic key: the blocking key,
// and the "phonetic" comparison level.
func TestPhoneticKeyVariants(t *testing.T) {
	groups := [][]string{
		{"Chaudhary", "Choudhry", "Chowdhury", "Chaudhari", "Choudhary"},
		{"Tiwari", "Tewari", "Tiwary"},
		{"Mandal", "Mondal"},
		{"Verma", "Varma"},
		{"Kiran", "Kiren"},
		{"Priya", "Pria"},
		{"Omkar", "Onkar"},
		{"Husain", "Hussein", "Husen"},
		{"Laxmi", "Lakshmi", "Luxmi"},
		{"Roy", "Ray"},
		{"R. Senthil Kumar", "Senthil Kumar R"},
		{"Smt. Sunita Devi", "Sunita Devi"},
	}
	for _, g := range groups {
		want := PhoneticKey(g[0])
		for _, v := range g[1:] {
			if got := PhoneticKey(v); got != want {
				t.Errorf("PhoneticKey(%q) = %q, PhoneticKey(%q) = %q: want equal", v, got, g[0], want)
			}
		}
	}
	if PhoneticKey("Rakesh") == PhoneticKey("Rajesh") {
		t.Errorf("Rakesh and Rajesh share a phonetic key %q", PhoneticKey("Rakesh"))
	}
}

func TestCompareNamesLevels(t *testing.T) {
	tests := []struct {
		a, b string
		want string
	}{
		{"Sunita Devi", "Smt. Suneeta Devi", "exact"},
		{"Mohd. Irfan", "Mohammad Irfan", "exact"},
		{"Ram Kumar", "Kumar Ram", "exact"},
		{"R. Senthil Kumar", "Senthil Kumar R", "exact"},
		{"R. Kumar", "Ram Kumar", "tokens"},
		{"Ramkumar", "Ram Kumar", "tokens"},
		{"Sunil Kumar Tiwari", "Sunil Tiwari", "tokens"}, // a marker dropped beside two names
		{"Md. Arman Qureshi", "Arman Qureshi", "tokens"},
		{"S. Harpreet Singh", "Harpreet Singh", "tokens"},
		{"Rahul Tiwari", "Rahul Tewari", "phonetic"},
		{"Sunita", "Sunita Sharma", "subset"},
		{"Neha Devi", "Neha Rana", "subset"}, // a marker swapped for a surname
		{"Kirra Gaskin", "Kirra Gaskni", "phonetic"},
		{"Mahesh Gupta", "Mahest Gupta", "jw_high"},
		{"Rakesh Kumar", "Rajesh Kumar", "jw_mid"},
		{"Sunita Devi", "Geeta Sharma", "disagree"},
		{"Sunita", "", "missing"},
		// An initial pairs with a token of its letter as written, not as a
		// phonetic key reads it (every vowel as a).
		{"A. Kumar", "Anil Kumar", "tokens"},
		{"A. Tiwari", "Anil Tewari", "phonetic"},
		{"A. Kumar", "Umesh Kumar", "disagree"},
		{"U. Tiwari", "Anil Tewari", "disagree"},
	}
	for _, tt := range tests {
		a, b := newNameFeat(tt.a), newNameFeat(tt.b)
		lv := compareNames(&a, &b)
		got := "missing"
		if lv >= 0 {
			got = fieldLevels[fName][lv]
		}
		if got != tt.want {
			t.Errorf("compareNames(%q, %q) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}

// The markers table holds folded forms: every marker as written must fold
// into it.
func TestMarkersFolded(t *testing.T) {
	for _, w := range []string{"Devi", "Kumari", "Kumar", "Kaur", "Singh", "Begum", "Begam",
		"Khatoon", "Bano", "Banu", "Parveen", "Bai", "Ben", "Bibi", "Mohammad"} {
		if f := FoldToken(NormalizeName(w)); !markers[f] {
			t.Errorf("marker %s folds to %q, which is not in markers", w, f)
		}
	}
}

func TestFoldAspirateKS(t *testing.T) {
	for _, p := range [][2]string{{"Rukhsana", "Ruksana"}, {"Rukhsana", "Rukshana"}, {"Lakshmi", "Laxmi"}} {
		if a, b := FoldName(p[0]), FoldName(p[1]); a != b {
			t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q", p[0], a, p[1], b)
		}
	}
}

func TestTellsMember(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"Rinki Singh", "Rinky Singh", true},      // exact
		{"Sunilkumar", "Sunil Kumar", true},       // tokens, joined
		{"Protima Das", "Pratima Das", true},      // phonetic
		{"Rinki", "Rinki Singh", true},            // subset, the given name agrees
		{"Smt. Shabana", "Shabana Parveen", true}, // subset beside a marker
		{"Sharma", "Ram Sharma", false},           // only the surname
		{"Rinki Sharma", "Rinki Singh", true},     // a marker for a surname: the given name agrees
		{"R. Sharma", "Rekha Sharma", false},      // an initial
		{"Devi", "Devi", false},                   // markers only
		{"Sunita Devi", "Anita Devi", false},      // another member
	}
	for _, tt := range tests {
		a, b := newNameFeat(tt.a), newNameFeat(tt.b)
		if got := tellsMember(&a, &b, compareNames(&a, &b)); got != tt.want {
			t.Errorf("tellsMember(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDateTypo(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"19840312", "19840312", false}, // equal is not a slip
		{"19840312", "19840313", true},  // one digit
		{"19840312", "19840321", true},  // two digits swapped
		{"19840312", "19841203", true},  // day and month swapped
		{"20100314", "20090314", true},  // the year one out, day and month kept
		{"19990101", "20000101", true},  // across a decade
		{"20100314", "20080314", false}, // two years out
		{"20100314", "20090315", false}, // the year and the day
	}
	for _, tt := range tests {
		if got := dateTypo(tt.a, tt.b); got != tt.want {
			t.Errorf("dateTypo(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// Names with diacritics are normalised safely from many goroutines at
// once (run with -race).
func TestNormalizeNameConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if got := NormalizeName("Lakṣmī Devī"); got != "laksmi devi" {
					t.Errorf("NormalizeName = %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
