package match

import (
	"slices"
	"testing"

	"github.com/doorstep-health/doorstep/schema"
)

// shareKey reports whether b, stored, is found when a looks up.
func shareKey(a, b *Features) bool {
	stored := BlockingKeys(b)
	for _, k := range LookupKeys(a) {
		if slices.Contains(stored, k) {
			return true
		}
	}
	return false
}

func TestBlockingFindsVariants(t *testing.T) {
	at := func(line, loc, pin string, r schema.Resident) Features {
		h := household("H-"+r.ID, line, loc, pin, r)
		return features(h, 0)
	}
	tests := []struct {
		name string
		a, b Features
		want bool
	}{
		{"transliterated name, stated age three years out, elsewhere",
			at("1", "Okhla", "110025", person("a", "Suresh Choudhry", "M", "age:48")),
			at("2", "Burari", "110084", person("b", "Suresh Chaudhary", "M", "1975-04-12")), true},
		{"order swapped, a year out",
			at("1", "Okhla", "110025", person("a", "Kumar Ramesh", "M", "1976")),
			at("2", "Burari", "110084", person("b", "Ramesh Kumar", "M", "1975-04-12")), true},
		{"surname left out",
			at("1", "Okhla", "110025", person("a", "Rekha", "F", "1957")),
			at("2", "Burari", "110084", person("b", "Rekha Singh", "F", "1957-05-14")), true},
		{"marker for surname",
			at("1", "Okhla", "110025", person("a", "Neha Devi", "F", "1999-01-16")),
			at("2", "Burari", "110084", person("b", "Neha Mishra", "F", "age:25")), true},
		{"only the phone in common",
			at("1", "Okhla", "110025", with(person("a", "Pinki", "F", "2001"), func(r *schema.Resident) { r.Phone = "+919866666666" })),
			at("2", "Burari", "110084", with(person("b", "Priyanka Sharma", "F", "1995"), func(r *schema.Resident) { r.Phone = "+919866666666" })), true},
		{"only the voter ID in common",
			at("1", "Okhla", "110025", with(person("a", "A. Khan", "M", "1980"), func(r *schema.Resident) {
				r.Documents = []schema.Document{{Type: "voter_id", Number: "DL9999999"}}
			})),
			at("2", "Burari", "110084", with(person("b", "Imran Khan", "M", "1970"), func(r *schema.Resident) {
				r.Documents = []schema.Document{{Type: "voter_id", Number: "DL9999999"}}
			})), true},
		{"same house, first letter",
			at("H.No. 5, Gali 2", "Okhla", "110025", person("a", "Sushma", "F", "")),
			at("House No 5 Gali 2", "Okhla", "110025", person("b", "Sushma Rani", "F", "1960")), true},
		{"name written joined",
			at("1", "Okhla", "110025", person("a", "Suneelkumar", "M", "1976-03-02")),
			at("2", "Burari", "110084", person("b", "Sunil Kumar", "M", "1976")), true},
		{"name written split",
			at("1", "Okhla", "110025", person("a", "Charan Jit Kaur", "F", "age:44")),
			at("2", "Burari", "110084", person("b", "Charanjeet", "F", "1982")), true},
		{"initial and the father's name",
			at("1", "Okhla", "110025", with(person("a", "K. Singh", "M", "age:15"), func(r *schema.Resident) { r.FatherName = "Tejinder Singh" })),
			at("2", "Burari", "110084", with(person("b", "Kulwant Singh", "M", "2004"), func(r *schema.Resident) { r.FatherName = "Tejinder Singh" })), true},
		{"full name and the father's name, initial stored",
			at("1", "Okhla", "110025", with(person("a", "Kulwant Singh", "M", "2004"), func(r *schema.Resident) { r.FatherName = "Tejinder Singh" })),
			at("2", "Burari", "110084", with(person("b", "K. Singh", "M", "age:15"), func(r *schema.Resident) { r.FatherName = "Tejinder Singh" })), true},
		{"nothing in common",
			at("1", "Okhla", "110025", person("a", "Sunita Devi", "F", "1980")),
			at("2", "Burari", "110084", person("b", "Geeta Sharma", "F", "1992")), false},
	}
	for _, tt := range tests {
		if got := shareKey(&tt.a, &tt.b); got != tt.want {
			t.Errorf("%s: found %v, want %v\nlookup %q\nstored %q", tt.name, got, tt.want, LookupKeys(&tt.a), BlockingKeys(&tt.b))
		}
	}
}

func TestIndexCandidates(t *testing.T) {
	ix := NewIndex()
	for id := int32(0); id < 100; id++ {
		keys := []string{"n:common"}
		if id%10 == 0 {
			keys = append(keys, "p:rare")
		}
		ix.Add(id, keys)
	}
	if got := ix.BlockSize("n:common"); got != 100 {
		t.Fatalf("block size %d, want 100", got)
	}
	// The rare key's block comes first, then the most recent of the common
	// key, each resident once, perKey and limit respected.
	got := ix.Candidates([]string{"n:common", "p:rare", "n:absent"}, 5, 8, nil)
	want := []int32{90, 80, 70, 60, 50, 99, 98, 97}
	if !slices.Equal(got, want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
	// A second query forgets the first.
	if got := ix.Candidates([]string{"p:rare"}, 20, 20, nil); len(got) != 10 {
		t.Fatalf("second query found %d, want 10", len(got))
	}
}
