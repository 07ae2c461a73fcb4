package surveygen

import "testing"

func TestLocalitiesExported(t *testing.T) {
	locs := localities()
	got := Localities()
	if len(got) != len(locs) {
		t.Fatalf("Localities() = %d, want %d", len(got), len(locs))
	}
	for i, l := range got {
		if l.Name != locs[i].name || l.Pincode != locs[i].pincode || l.City != locs[i].city || len(l.Variants) != len(locs[i].variants) {
			t.Errorf("Localities()[%d] = %+v, want %s %s %s", i, l, locs[i].name, locs[i].pincode, locs[i].city)
		}
	}
	got[0].Variants[0] = "changed"
	if Localities()[0].Variants[0] == "changed" {
		t.Error("Localities shares its variants with the caller")
	}
}
