package store

import (
	"context"
	"encoding/json"
	"flag"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveygen"
)

var registryResidents = flag.Int("registry-residents", 20000, "residents matched into the registry before BenchmarkMatchIncremental measures")

// BenchmarkStoreMatchIncremental fills a registry with surveygen households (10%
// duplicates), matching them all (the whole-registry figure), then matches
// further households one by one and reports the cost per new resident:
// median and 99th percentile, against the registry's size. It runs on
// the run's engine (sqlite, or postgres under DOORSTEP_TEST_POSTGRES), as
// its sub-benchmark's name says.
//
//	go test -run ^$ -bench StoreMatchIncremental -benchtime 2000x -registry-residents 1000000 ./syncserver/store
func BenchmarkStoreMatchIncremental(b *testing.B) {
	b.Run(testdb.Engine(), benchStoreMatchIncremental)
}

func benchStoreMatchIncremental(b *testing.B) {
	ctx := context.Background()
	db, keys := testdb.Registry(b)
	s, err := Open(ctx, db, WithKeysDir(keys), WithMaxBatchRecords(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dev, code, err := s.AddDevice(ctx, "bench", "DL-NW-W05")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.RegisterDevice(ctx, code, "bench"); err != nil {
		b.Fatal(err)
	}
	// Enough households for the registry and for the measured arrivals.
	g := surveygen.New(surveygen.Options{Households: *registryResidents/3 + 20000, DupRate: 0.1, Seed: 1})
	now := time.Now()
	next := func(n int) schema.Batch {
		bt := schema.Batch{BatchID: schema.NewID(), DeviceID: dev, SchemaVersion: schema.SchemaVersion}
		for residents := 0; residents < n; {
			gh, ok := g.Next()
			if !ok {
				b.Fatal("surveygen ran out of households")
			}
			h := gh.Schema()
			h.Normalize(now)
			h.ProtectAadhaar(s.aadhaarKey)
			members := h.Members
			h.Members = nil
			bt.Records = append(bt.Records, record(b, schema.KindHousehold, h.ID, h))
			for i := range members {
				bt.Records = append(bt.Records, record(b, schema.KindResident, members[i].ID, members[i]))
			}
			residents += len(members)
		}
		return bt
	}

	seeded := 0
	var matching time.Duration
	for seeded < *registryResidents {
		bt := next(min(20000, *registryResidents-seeded))
		if _, err := s.ApplyBatch(ctx, dev, bt, 0); err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		rep, err := s.MatchAll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		matching += time.Since(began)
		seeded += rep.Residents
	}

	var perResident []time.Duration
	s.match.observe = func(d time.Duration, n int) {
		for range n {
			perResident = append(perResident, d/time.Duration(n))
		}
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		bt := next(1)
		if _, err := s.ApplyBatch(ctx, dev, bt, 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.MatchPending(ctx, 100); err != nil {
			b.Fatal(err)
		}
	}
	s.match.observe = nil
	b.ReportMetric(float64(seeded), "registry-residents")
	b.ReportMetric(float64(seeded)/matching.Seconds(), "registry-match-records/s")
	slices.Sort(perResident)
	if len(perResident) > 0 {
		b.ReportMetric(float64(perResident[len(perResident)/2].Microseconds())/1000, "p50-ms/resident")
		b.ReportMetric(float64(perResident[len(perResident)*99/100].Microseconds())/1000, "p99-ms/resident")
	}
}

func record(b *testing.B, kind, id string, v any) schema.Record {
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return schema.Record{Kind: kind, ID: id, Version: 1, Data: data}
}
