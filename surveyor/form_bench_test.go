package surveyor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveygen"
	"github.com/doorstep-health/doorstep/surveyor"
)

// The benchmarks of the survey worker's form (issue 8), store side: a
// laptop holding benchHouseholds surveygen households (about 3.6 residents
// each), as at the end of a long survey.
const benchHouseholds = 5000

// generated returns n surveygen households in the import format, visited
// in the weeks before now so that none is in the future.
func generated(tb testing.TB, n int, seed uint64) []surveygen.Household {
	tb.Helper()
	g := surveygen.New(surveygen.Options{Households: n, DupRate: 0.1, Seed: seed,
		Start: time.Now().AddDate(0, 0, -40).Truncate(24 * time.Hour).Add(9 * time.Hour)})
	var out []surveygen.Household
	for {
		h, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, h)
	}
}

// seededStore returns a registered store holding benchHouseholds
// households, imported as `surveyor import` would.
func seededStore(b *testing.B) *surveyor.Store {
	b.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, h := range generated(b, benchHouseholds, 2026) {
		if err := enc.Encode(h); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := mustRegistered(b)
	rep, err := st.Import(context.Background(), &buf, nil)
	if err != nil || rep.Imported != benchHouseholds {
		b.Fatalf("seed: %+v, %v", rep.Imported, err)
	}
	return st
}

// familiesOfFour returns households of four, new to the seeded store, as
// the form submits them: ids left to the store.
func familiesOfFour(b *testing.B, n int) []schema.Household {
	b.Helper()
	var out []schema.Household
	for _, h := range generated(b, 8*n, 7) {
		if len(h.Members) == 4 {
			out = append(out, h.Schema())
		}
		if len(out) == n {
			break
		}
	}
	if len(out) == 0 {
		b.Fatal("surveygen made no household of four")
	}
	return out
}

// fresh returns a copy of h that the store has never seen.
func fresh(h schema.Household) *schema.Household {
	c := h
	c.ID = ""
	c.Members = slices.Clone(h.Members)
	for i := range c.Members {
		c.Members[i].ID = ""
		c.Members[i].Documents = slices.Clone(c.Members[i].Documents)
	}
	return &c
}

// reportLatency reports the median and 99th percentile of times in ms.
func reportLatency(b *testing.B, times []time.Duration) {
	b.Helper()
	slices.Sort(times)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(times[len(times)/2]), "p50-ms")
	b.ReportMetric(ms(times[len(times)*99/100]), "p99-ms")
}

// BenchmarkSaveHousehold is the time from pressing Save to the household
// being durable: SaveHousehold (normalise, validate, hash Aadhaar, write
// household, members, outbox rows and lookup keys, commit with an fsync) of
// a household of four into a laptop already holding 5,000. Run it with
// -benchtime 500x for 500 saves.
func BenchmarkSaveHousehold(b *testing.B) {
	ctx := context.Background()
	st := seededStore(b)
	pool := familiesOfFour(b, 500)
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		h := fresh(pool[i%len(pool)])
		start := time.Now()
		if err := st.SaveHousehold(ctx, h); err != nil {
			b.Fatalf("save: %v", err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, times)
	b.ReportMetric(benchHouseholds, "households-before")
}

// BenchmarkListHouseholds is the store's part of the household list page:
// List of every household on a laptop holding 5,000, with head, member
// count and sync status.
func BenchmarkListHouseholds(b *testing.B) {
	ctx := context.Background()
	st := seededStore(b)
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		list, err := st.List(ctx, surveyor.ListFilter{})
		if err != nil || len(list) != benchHouseholds {
			b.Fatalf("list: %d, %v", len(list), err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, times)
	b.ReportMetric(benchHouseholds, "households")
}

// BenchmarkLookalikes is the check the form makes before Save: the
// lookalikes of a household of four among the ~18,000 residents of 5,000
// households.
func BenchmarkLookalikes(b *testing.B) {
	ctx := context.Background()
	st := seededStore(b)
	pool := familiesOfFour(b, 500)
	if _, err := st.Lookalikes(ctx, &pool[0]); err != nil { // keys the imported residents
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, b.N)
	found := 0
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		got, err := st.Lookalikes(ctx, &pool[i%len(pool)])
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		found += len(got)
	}
	b.StopTimer()
	reportLatency(b, times)
	b.ReportMetric(float64(found)/float64(b.N), "lookalikes/op")
}

// BenchmarkPlaces is one keystroke in the address's locality field: the
// places matching a prefix, from 5,000 households and the gazetteer.
func BenchmarkPlaces(b *testing.B) {
	ctx := context.Background()
	st := seededStore(b)
	prefixes := []string{"r", "ro", "roh", "s", "sa", "1100", "11009", "m", "mu", "l", "la", "k"}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := st.Places(ctx, prefixes[i%len(prefixes)], 10); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, times)
}
