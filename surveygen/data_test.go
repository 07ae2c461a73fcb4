package surveygen

import (
	"regexp"
	"strings"
	"testing"
)

func TestSpellingGroupsDisjoint(t *testing.T) {
	seen := map[string]string{}
	for _, g := range spellings {
		words := strings.Split(g, "|")
		if len(words) < 2 {
			t.Errorf("group %q has one spelling", g)
		}
		for _, w := range words {
			if w == "" || strings.TrimSpace(w) != w {
				t.Errorf("group %q: bad spelling %q", g, w)
			}
			if other, ok := seen[w]; ok {
				t.Errorf("%q is in %q and %q", w, other, g)
			}
			seen[w] = g
		}
	}
}

func TestNameLists(t *testing.T) {
	given, surnames := map[string]bool{}, map[string]bool{}
	word := regexp.MustCompile(`^[A-Z][a-z]+( [A-Z][a-z]+)*$`)
	for c, d := range communities {
		for _, list := range []string{d.male, d.female} {
			names, _ := parseList(list)
			if len(names) < 30 {
				t.Errorf("%s: only %d names in a list", d.name, len(names))
			}
			for _, n := range names {
				if !word.MatchString(n) {
					t.Errorf("%s: given name %q", d.name, n)
				}
				given[n] = true
			}
		}
		names, _ := parseList(d.surnames)
		if c != cTamil && len(names) < 10 {
			t.Errorf("%s: only %d surnames", d.name, len(names))
		}
		for _, n := range names {
			surnames[n] = true
		}
	}
	if len(given) < 800 || len(surnames) < 250 {
		t.Errorf("%d given names and %d surnames in the data", len(given), len(surnames))
	}
	t.Logf("%d given names, %d surnames", len(given), len(surnames))
}

func TestLocalities(t *testing.T) {
	pin := regexp.MustCompile(`^11[0-9]{4}$`)
	districts := "NW N NE E SH C ND S SE SW W"
	names := map[string]bool{}
	locs := localities()
	if len(locs) < 40 {
		t.Fatalf("%d localities", len(locs))
	}
	for _, l := range locs {
		if names[l.name] {
			t.Errorf("%s twice", l.name)
		}
		names[l.name] = true
		if !pin.MatchString(l.pincode) {
			t.Errorf("%s: pincode %s", l.name, l.pincode)
		}
		if !strings.Contains(" "+districts+" ", " "+l.district+" ") {
			t.Errorf("%s: district %s", l.name, l.district)
		}
		if len(l.variants) == 0 || l.weight <= 0 || l.radius <= 0 {
			t.Errorf("%s: incomplete", l.name)
		}
		if l.lat < 28.4 || l.lat > 28.9 || l.lon < 76.8 || l.lon > 77.4 {
			t.Errorf("%s: %f,%f is not in Delhi", l.name, l.lat, l.lon)
		}
	}
}

func TestRespell(t *testing.T) {
	g := New(Options{Seed: 1})
	for _, w := range []string{"Mohd.", "Laxmi", "Chaudhary", "Sunita", "Pooja", "Deepak", "Shrivastava"} {
		if got := g.respell(w); got == w {
			t.Errorf("respell(%q) = %q", w, got)
		}
	}
	varied := 0
	for _, w := range []string{"Rajesh", "Bhupesh", "Dharam", "Vinay", "Praveen", "Ashoka", "Shobhit"} {
		if got := g.respell(w); got != w {
			varied++
			if got == "" || strings.ToUpper(got[:1]) != got[:1] {
				t.Errorf("respell(%q) = %q", w, got)
			}
		}
	}
	if varied < 5 {
		t.Errorf("transliteration varied %d of 7 names", varied)
	}
}

func TestInitials(t *testing.T) {
	g := New(Options{Seed: 1})
	n := name{{"Rajesh", kGiven}, {"Kumar", kMid}, {"Sharma", kSur}}
	got := g.initials(n, nil).String()
	if got != "R.K. Sharma" && got != "R. K. Sharma" {
		t.Errorf("initials = %q", got)
	}
	n = name{{"Ram", kGiven}, {"Kumar", kMid}}
	if got := g.initials(n, nil).String(); got != "R. Kumar" {
		t.Errorf("initials = %q", got)
	}
	n = name{{"R.", kInit}, {"Senthil", kGiven}, {"Kumar", kGiven}}
	father := name{{"Ramasamy", kGiven}}
	seen := map[string]bool{}
	for range 50 {
		seen[g.initials(n, father).String()] = true
	}
	for _, want := range []string{"Senthil Kumar R.", "Senthil Kumar Ramasamy", "Senthil Kumar"} {
		if !seen[want] {
			t.Errorf("never %q; got %v", want, seen)
		}
	}
}
