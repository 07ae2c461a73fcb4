package store_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// The target is measured against a database already holding a million
// residents: go test -run ^$ -bench ApplyBatch -seed-residents 1000000 ./syncserver/store
var seedResidents = flag.Int("seed-residents", 0, "residents to store before BenchmarkApplyBatch measures")

// BenchmarkApplyBatch applies batches of 200 residents with their
// households (4 residents a household), as laptops send them.
func BenchmarkApplyBatch(b *testing.B) {
	s := MustOpen(b, store.WithMaxBatchRecords(0))
	dev, _ := mustDevice(b, s, "bench")
	g := newGen(1)
	for seeded := 0; seeded < *seedResidents; {
		n := min(20000, *seedResidents-seeded)
		res := mustApply(b, s, dev, batch(dev, g.records(n)...))
		if acc, _, _, _ := res.Counts(); acc != len(res.Results) {
			b.Fatalf("seeding accepted %d of %d", acc, len(res.Results))
		}
		seeded += n
	}
	const perBatch = 200
	n := 0
	for b.Loop() {
		b.StopTimer()
		bt := batch(dev, g.records(perBatch)...)
		b.StartTimer()
		res := mustApply(b, s, dev, bt)
		if acc, _, _, _ := res.Counts(); acc != len(res.Results) {
			b.Fatalf("accepted %d of %d", acc, len(res.Results))
		}
		n++
	}
	b.ReportMetric(float64(n*perBatch)/b.Elapsed().Seconds(), "residents/s")
}

// gen makes plausible, valid, distinct households and residents.
type gen struct{ rnd *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, seed))} }

var (
	firstNames = []string{"Ramesh", "Sunita", "Mohammad", "Priya", "Anil", "Kavita", "Suresh", "Geeta", "Rahul", "Pooja", "Imran", "Neha"}
	surnames   = []string{"Kumar", "Sharma", "Verma", "Khan", "Singh", "Gupta", "Yadav", "Devi", "Ansari", "Chauhan"}
	relations  = []string{"head", "spouse", "son", "daughter"}
)

// records returns n residents and a household before every four of them.
func (g *gen) records(n int) []schema.Record {
	recs := make([]schema.Record, 0, n+n/4+1)
	var hh string
	for i := range n {
		if i%4 == 0 {
			hh = schema.NewID()
			recs = append(recs, household(hh, 1, func(h *schema.Household) {
				h.Address.Line1 = fmt.Sprintf("H.No. %d, Gali %d", g.rnd.IntN(900)+1, g.rnd.IntN(40)+1)
				h.Address.Pincode = fmt.Sprintf("1100%02d", g.rnd.IntN(99)+1)
			}))
		}
		recs = append(recs, resident(schema.NewID(), hh, 1, func(r *schema.Resident) {
			r.Name = firstNames[g.rnd.IntN(len(firstNames))] + " " + surnames[g.rnd.IntN(len(surnames))]
			r.FatherName = firstNames[g.rnd.IntN(len(firstNames))] + " " + surnames[g.rnd.IntN(len(surnames))]
			r.Relation = relations[i%4]
			r.DOB = fmt.Sprintf("%04d-%02d-%02d", 1940+g.rnd.IntN(80), g.rnd.IntN(12)+1, g.rnd.IntN(28)+1)
			r.Phone = fmt.Sprintf("+919%09d", g.rnd.IntN(1e9))
			r.AadhaarHash = fmt.Sprintf("%016x%016x%016x%016x", g.rnd.Uint64(), g.rnd.Uint64(), g.rnd.Uint64(), g.rnd.Uint64())
			r.AadhaarLast4 = fmt.Sprintf("%04d", g.rnd.IntN(10000))
		}))
	}
	return recs
}
