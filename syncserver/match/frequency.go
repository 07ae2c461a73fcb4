package match

import "slices"

// Frequencies tells the scorer how common a name or phone number is, for
// term-frequency adjustment: "Ram Kumar" agreeing counts for less than a
// rare name, and a number a whole household gave counts for less than a
// personal one. The store keeps a table of (term, count) updated with
// FrequencyKeys as persons are created and linked.
type Frequencies interface {
	// Count is the number of registered persons with the term, one of the
	// strings FrequencyKeys returns.
	Count(term string) int
	// Total is the number of registered persons.
	Total() int
}

// Term key prefixes. The store treats terms as opaque strings.
const (
	termName     = "n:"
	termRelative = "r:"
	termPhone    = "p:"
	termAddress  = "a:"
	termDate     = "d:"
	termPincode  = "z:"
	termToken    = "t:"
)

// FrequencyKeys returns the terms of a resident to count: its folded name
// and each of its tokens, its relatives' folded names, its date of birth,
// its phone, its address line and its pincode. Count a term once per person:
// when a resident is linked to a person that already has the term, the
// count stays.
func FrequencyKeys(f *Features) []string {
	t := &f.terms
	keys := make([]string, 0, 12)
	for _, k := range []string{t.name, t.father, t.spouse, t.date, t.phone, t.address, t.pincode} {
		if k != "" && !(k == t.spouse && t.spouse == t.father) {
			keys = append(keys, k)
		}
	}
	for _, k := range f.name.tokTerms {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// FrequencyTable is an in-memory Frequencies.
type FrequencyTable struct {
	counts map[string]int
	total  int
}

// NewFrequencyTable returns an empty table.
func NewFrequencyTable() *FrequencyTable {
	return &FrequencyTable{counts: make(map[string]int)}
}

// Count implements Frequencies.
func (t *FrequencyTable) Count(term string) int { return t.counts[term] }

// Total implements Frequencies.
func (t *FrequencyTable) Total() int { return t.total }

// AddPerson counts a new person with the given terms.
func (t *FrequencyTable) AddPerson(terms []string) {
	t.total++
	t.AddTerms(terms)
}

// AddTerms counts terms newly held by an existing person (a linked
// resident's new spelling or phone).
func (t *FrequencyTable) AddTerms(terms []string) {
	for _, k := range terms {
		t.counts[k]++
	}
}
