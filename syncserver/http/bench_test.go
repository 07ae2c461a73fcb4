package httpapi_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// The target: 10,000 residents/s into a million, on two cores:
// go test -run ^$ -bench PushBatch -cpu 2 -seed-residents 1000000 ./syncserver/http
var seedResidents = flag.Int("seed-residents", 0, "residents to store before BenchmarkPushBatch measures")

// BenchmarkPushBatch pushes gzipped batches of 200 residents with their
// households over HTTP from four laptops at once, as a field day's end
// looks to the server.
func BenchmarkPushBatch(b *testing.B) {
	const laptops, perBatch = 4, 200
	e := newEnv(b, store.WithMaxBatchRecords(0))
	g := &gen{rand.New(rand.NewPCG(1, 2))}
	devs, toks := make([]string, laptops), make([]string, laptops)
	for i := range laptops {
		devs[i], toks[i] = e.device(b, fmt.Sprintf("team-%d", i))
	}
	for seeded := 0; seeded < *seedResidents; {
		n := min(20000, *seedResidents-seeded)
		if _, err := e.store.ApplyBatch(context.Background(), devs[0], batch(devs[0], g.records(n)...), 0); err != nil {
			b.Fatal(err)
		}
		seeded += n
	}

	pushed, wire := 0, 0
	bodies := make([]body, laptops)
	for b.Loop() {
		b.StopTimer()
		for i := range bodies {
			bodies[i] = gzipped(batch(devs[i], g.records(perBatch)...))
			wire += len(bodies[i].data)
		}
		b.StartTimer()
		var wg sync.WaitGroup
		for i := range laptops {
			wg.Go(func() {
				res := e.do(b, http.MethodPost, "/api/v1/sync/batches", toks[i], bodies[i])
				if res.status != http.StatusOK {
					b.Errorf("push: %d %s", res.status, res.body)
				}
			})
		}
		wg.Wait()
		pushed += laptops * perBatch
	}
	b.ReportMetric(float64(pushed)/b.Elapsed().Seconds(), "residents/s")
	b.ReportMetric(float64(wire)/float64(pushed), "wire-bytes/resident")
	b.ReportMetric(float64(*seedResidents), "registry-residents")
}

type gen struct{ rnd *rand.Rand }

var (
	firstNames = []string{"Ramesh", "Sunita", "Mohammad", "Priya", "Anil", "Kavita", "Suresh", "Geeta", "Rahul", "Pooja"}
	surnames   = []string{"Kumar", "Sharma", "Verma", "Khan", "Singh", "Gupta", "Yadav", "Devi", "Ansari"}
	relations  = []string{"head", "spouse", "son", "daughter"}
)

// records returns n residents with a household before every four.
func (g *gen) records(n int) []schema.Record {
	recs := make([]schema.Record, 0, n+n/4+1)
	var hh string
	for i := range n {
		if i%4 == 0 {
			hh = schema.NewID()
			recs = append(recs, household(hh))
		}
		r := schema.Resident{
			ID: schema.NewID(), HouseholdID: hh,
			Name:         firstNames[g.rnd.IntN(len(firstNames))] + " " + surnames[g.rnd.IntN(len(surnames))],
			FatherName:   firstNames[g.rnd.IntN(len(firstNames))] + " " + surnames[g.rnd.IntN(len(surnames))],
			Sex:          []string{"M", "F"}[g.rnd.IntN(2)],
			DOB:          fmt.Sprintf("%04d-%02d-%02d", 1940+g.rnd.IntN(80), g.rnd.IntN(12)+1, g.rnd.IntN(28)+1),
			DOBPrecision: schema.PrecisionDay,
			Relation:     relations[i%4],
			Phone:        fmt.Sprintf("+919%09d", g.rnd.IntN(1e9)),
			AadhaarHash:  fmt.Sprintf("%016x%016x%016x%016x", g.rnd.Uint64(), g.rnd.Uint64(), g.rnd.Uint64(), g.rnd.Uint64()),
			AadhaarLast4: fmt.Sprintf("%04d", g.rnd.IntN(10000)),
		}
		recs = append(recs, schema.Record{Kind: schema.KindResident, ID: r.ID, Version: 1, Data: plain(r).data})
	}
	return recs
}
