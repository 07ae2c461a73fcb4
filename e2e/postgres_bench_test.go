package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveygen"
	"github.com/doorstep-health/doorstep/surveyor"
)

// Issue 7's ingest figures, as scripts/bench.sh takes them:
//
//	DOORSTEP_TEST_POSTGRES=postgres://… go test -run '^$' -bench 'BenchmarkIngestServers' \
//		-benchtime 1x ./e2e/ -ingest-registry 1000000
var ingestRegistry = flag.Int("ingest-registry", 10000, "residents in the registry before BenchmarkIngestServers measures")

// BenchmarkIngestServers pushes the same batches from four laptops at
// once, each through surveyor's own sync client (gzip, retries), into a
// registry already holding -ingest-registry residents: on one server over
// SQLite, and on one and on two server processes sharing one PostgreSQL
// database, the laptops spread over the servers as a load balancer would.
// The servers run with --match=false, so the figure is ingest alone, as
// the SQLite figure of issue 2 is; and without rate limits.
func BenchmarkIngestServers(b *testing.B) {
	const laptops, batches, perBatch = 4, 25, 200 // 20,000 residents a run
	for _, c := range []struct {
		name    string
		pg      bool
		servers int
	}{
		{"sqlite-1-server", false, 1},
		{"postgres-1-server", true, 1},
		{"postgres-2-servers", true, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.pg && !testdb.Postgres() {
				b.Skip("needs DOORSTEP_TEST_POSTGRES; scripts/bench.sh starts a throwaway cluster")
			}
			db, keys := filepath.Join(b.TempDir(), "registry.db"), ""
			if c.pg {
				db, keys = testdb.NewDatabase(b), filepath.Join(b.TempDir(), "keys")
			}
			first := startServe(b, db, keys, "127.0.0.1:0", "--match=false", "--rate-limit", "0")
			seedRegistry(b, first, *ingestRegistry)
			servers := []*server{first}
			for range c.servers - 1 {
				servers = append(servers, startServe(b, db, keys, "127.0.0.1:0", "--match=false", "--rate-limit", "0"))
			}

			clients := make([]*benchClient, laptops)
			work := make([][]schema.Batch, laptops)
			gen := surveygen.New(surveygen.Options{Households: laptops * batches * perBatch / 3, Seed: 77})
			residents := 0
			for i := range clients {
				clients[i] = registerClient(b, first, servers[i%len(servers)].url(), fmt.Sprintf("bench-%d", i))
				for range batches {
					recs, n := surveyRecords(gen, clients[i].aadhaarKey, perBatch)
					work[i] = append(work[i], schema.Batch{BatchID: schema.NewID(), DeviceID: clients[i].deviceID,
						SchemaVersion: schema.SchemaVersion, Records: recs})
					residents += n
				}
			}

			ctx := context.Background()
			for b.Loop() {
				var wg sync.WaitGroup
				for i, c := range clients {
					wg.Go(func() {
						for _, bt := range work[i] {
							res, _, err := c.PushBatch(ctx, bt)
							if err != nil {
								b.Error(err)
								return
							}
							if _, _, _, rej := res.Counts(); rej > 0 {
								for _, r := range res.Results {
									if r.Status == schema.StatusRejected {
										b.Errorf("batch %s: %d rejected, as %s %s: %s %s", bt.BatchID, rej, r.Kind, r.ID, r.Field, r.Message)
										break
									}
								}
							}
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(residents)/b.Elapsed().Seconds(), "residents/s")
			b.ReportMetric(float64(*ingestRegistry), "registry-residents")
			b.ReportMetric(float64(len(servers)), "servers")
		})
	}
}

// benchClient is a registered laptop's sync client.
type benchClient struct {
	*surveyor.Client
	deviceID   string
	aadhaarKey []byte
}

// registerClient adds a device on srv's registry and registers it through
// url, as `surveyor init` does.
func registerClient(b *testing.B, srv *server, url, name string) *benchClient {
	b.Helper()
	_, code := addDevice(b, srv, name)
	c := &surveyor.Client{BaseURL: url, Retry: surveyor.DefaultRetryPolicy()}
	got, err := c.Register(context.Background(), schema.Registration{Code: code, Hostname: name})
	if err != nil {
		b.Fatal(err)
	}
	c.Token = got.Token
	key, err := base64.StdEncoding.DecodeString(got.AadhaarKey)
	if err != nil {
		b.Fatal(err)
	}
	return &benchClient{Client: c, deviceID: got.DeviceID, aadhaarKey: key}
}

// surveyRecords takes generated households until they hold about n
// residents, as the records a laptop sends: each household, then its
// members.
func surveyRecords(g *surveygen.Generator, key []byte, n int) ([]schema.Record, int) {
	var recs []schema.Record
	residents := 0
	for residents < n {
		h, ok := g.Next()
		if !ok {
			break
		}
		// What a laptop's import does: ids, normal forms, Aadhaar numbers
		// replaced by their keyed hash.
		s := h.Schema()
		now := time.Now()
		s.Normalize(now)
		if s.Validate(now) != nil {
			continue
		}
		s.ProtectAadhaar(key)
		members := s.Members
		s.Members = nil
		recs = append(recs, schema.Record{Kind: schema.KindHousehold, ID: s.ID, Version: 1, Data: mustMarshal(s)})
		for _, m := range members {
			m.HouseholdID = s.ID
			recs = append(recs, schema.Record{Kind: schema.KindResident, ID: m.ID, Version: 1, Data: mustMarshal(m)})
			residents++
		}
	}
	return recs, residents
}

// seedRegistry fills srv's registry with n residents in households of
// four, written by SQL in one statement each (the same statements on
// both engines), so that a million takes seconds rather than an ingest's
// minutes. They are left unmatched: the benchmark's servers do not match.
func seedRegistry(b *testing.B, srv *server, n int) {
	b.Helper()
	if n <= 0 {
		return
	}
	dev := decodeJSON[struct {
		DeviceID string `json:"device_id"`
	}](b, run(b, nil, bin.syncserver, srv.dbArgs("device", "add", "--name", "seed", "--area", "DL-NW-W05", "--json")...)).DeviceID
	db := testdb.OpenSQL(b, srv.db)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	begun := time.Now()
	for _, q := range []string{
		`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
		INSERT INTO households (id, device_id, version, deleted, area, pincode, data, received_at, updated_at)
		SELECT 'SEEDH' || x, CAST(? AS TEXT), 1, 0, 'DL-NW-W05', '110085',
			'{"area":"DL-NW-W05","address":{"line1":"' || x || '","locality":"Rohini","city":"Delhi","pincode":"110085"}}',
			CAST(? AS TEXT), CAST(? AS TEXT) FROM n`,
		`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
		INSERT INTO residents (id, device_id, household_id, version, deleted, data, received_at, updated_at, match_state)
		SELECT 'SEEDR' || x, CAST(? AS TEXT), 'SEEDH' || ((x + 3) / 4), 1, 0,
			'{"name":"Seed Resident ' || x || '","sex":"F","dob":"1980","dob_precision":"year"}',
			CAST(? AS TEXT), CAST(? AS TEXT), 'done' FROM n`,
	} {
		count := n
		if strings.Contains(q, "INTO households") {
			count = (n + 3) / 4
		}
		if _, err := db.Exec(q, count, dev, now, now); err != nil {
			b.Fatalf("seed registry: %v", err)
		}
	}
	b.Logf("seeded %d residents in %s", n, time.Since(begun).Round(time.Millisecond))
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // schema types always marshal
	}
	return b
}
