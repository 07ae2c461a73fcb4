package surveygen

// Locality is a neighbourhood of Delhi as an address names it: the name
// the generator writes, the other ways survey workers write it, its real
// pincode and the city written on letters there (Delhi or New Delhi).
type Locality struct {
	Name     string   `json:"name"`
	Variants []string `json:"variants,omitempty"`
	Pincode  string   `json:"pincode"`
	City     string   `json:"city"`
}

// Localities returns the neighbourhoods the generator draws addresses
// from, in a fixed order. The laptop offers them as a gazetteer while a
// survey worker types an address, so the generated data and the form agree
// on names and pincodes. The caller owns the returned slice.
func Localities() []Locality {
	locs := localities()
	out := make([]Locality, len(locs))
	for i, l := range locs {
		out[i] = Locality{Name: l.name, Variants: append([]string(nil), l.variants...), Pincode: l.pincode, City: l.city}
	}
	return out
}
