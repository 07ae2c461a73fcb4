package match

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// benchRegistry is a matcher holding a big synthetic registry (registered
// without matching, as a store would load one) and residents still to
// arrive, among them re-enrolments of registered people. Built once per
// process: a million residents take a minute and a few GB.
var benchRegistry = sync.OnceValues(func() (*Matcher, []Features) {
	n := 1_000_000
	if s := os.Getenv("MATCH_BENCH_REGISTRY"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	const arrivals = 20_000
	data := synthData(42, n+arrivals, 0.1)
	mt := NewMatcher(DefaultModel(), MatcherOptions{})
	var pending []Features
	for i := range data {
		h := &data[i].Household
		for j := range h.Members {
			f := NewFeatures(&h.Members[j], h)
			if mt.Len() < n {
				seq := int32(mt.Len())
				mt.register(f, seq, seq)
			} else {
				pending = append(pending, f)
			}
		}
		data[i] = Labelled{} // let the schema structs go
	}
	return mt, pending
})

// BenchmarkMatchIncremental is the cost of matching one new resident
// (candidates from the index, scoring, decision, registration) against a
// registry of a million (MATCH_BENCH_REGISTRY to change it). It reports the
// median and 99th percentile per resident besides the mean.
func BenchmarkMatchIncremental(b *testing.B) {
	mt, pending := benchRegistry()
	b.Logf("registry %d residents, %d keys", mt.Len(), mt.index.Keys())
	times := make([]time.Duration, 0, b.N)
	cands := 0
	runtime.GC() // the registry's construction is not the matcher's garbage
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := pending[i%len(pending)]
		f.ID = f.ID + "#" + strconv.Itoa(i/len(pending))
		start := time.Now()
		d := mt.Add(f)
		times = append(times, time.Since(start))
		cands += d.Candidates
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(cands)/float64(b.N), "candidates/op")
}

// BenchmarkEvaluate runs matching from an empty registry over surveygen
// households and reports throughput and quality.
func BenchmarkEvaluate(b *testing.B) {
	data := surveygenLabelled(b, 3000, 1)
	var met Metrics
	b.ResetTimer()
	for range b.N {
		met = Evaluate(data, DefaultModel(), MatcherOptions{})
	}
	b.ReportMetric(met.RecordsPerSecond, "records/s")
	b.ReportMetric(met.F1, "F1")
	b.ReportMetric(float64(met.ReviewTasks), "reviews")
}
