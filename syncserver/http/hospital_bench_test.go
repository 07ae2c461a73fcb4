package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// The hospital figures of issue 5 on two cores, as scripts/bench.sh takes
// them (one seeding of the million serves both, through the cache):
//
//	go test -run '^$' -bench 'VerifyCardLoad$' -benchtime 30000x -cpu 2 ./syncserver/http \
//		-registry-cache /tmp/registries -registry-persons 1000000
//	go test -run '^$' -bench 'FeedCatchUp$' -benchtime 1x -cpu 2 ./syncserver/http \
//		-registry-cache /tmp/registries -feed-persons 1000000
//
// The sizes default small so that a plain -bench run stays quick.
var (
	registryCache   = flag.String("registry-cache", "", "keep seeded registries in this directory and reuse them in later runs (default: seed afresh each run)")
	registryPersons = flag.Int("registry-persons", 10000, "persons in the registry BenchmarkVerifyCardLoad verifies cards against")
	verifyRate      = flag.Float64("verify-rate", 5000, "requests a second BenchmarkVerifyCardLoad offers when it measures latency")
	feedPersons     = flag.Int("feed-persons", 10000, "persons (two feed events each) BenchmarkFeedCatchUp reads from seq 0")
	syncVerifyRate  = flag.Float64("sync-verify-rate", 500, "verifications a second BenchmarkVerifyDuringSync offers")
	syncRate        = flag.Float64("sync-rate", 2000, "residents a second BenchmarkVerifyDuringSync's laptops sync")
)

const (
	// verifyConns is how many connections the load generator keeps busy,
	// each with one request in flight.
	verifyConns = 64
	// signedCards is how many cards get a QR genuinely signed with the
	// store's key; the load cycles through them. Signing all of a million
	// would take longer than the benchmark.
	signedCards = 20000
)

// BenchmarkVerifyCardLoad drives POST /api/v1/cards/verify on a server
// listening on 127.0.0.1 from 64 keep-alive connections, against a
// registry of -registry-persons persons with a card each. Every request is
// a genuine, current card, so each one checks the signature, looks the
// card up and commits its audit record. The load generator runs in this
// process, so it takes its share of the two cores.
//
// It measures twice. First at saturation, as wrk does: each connection
// sends its next request as soon as the last is answered; one iteration
// is one request, and the figure is verifications a second (with the
// latencies seen, sat-p50-ms and sat-p99-ms, which at saturation are
// bound to be 64 requests' worth of queueing: 64 / rate on average).
// Then at a fixed offered rate, -verify-rate (the target's 5,000/s), as
// wrk2 does: requests are due at even intervals and shared over the same
// 64 connections, and each latency runs from when the request was due,
// so time spent waiting for a free connection counts (no coordinated
// omission). p50-ms and p99-ms are from this second run: what a hospital
// sees while the server carries that load.
func BenchmarkVerifyCardLoad(b *testing.B) {
	reg := seedRegistry(b, *registryPersons, min(signedCards, *registryPersons))
	url := reg.serve(b)

	verify := verifyLoad(b, []string{url}, reg)

	// At saturation.
	sat, wall, cpu := saturate(b, verify)
	n := len(sat)

	// At the offered rate, as many requests again.
	rate := *verifyRate
	paced, pacedWall := offer(b, n, n, rate, verify)

	b.ReportMetric(float64(len(sat))/wall.Seconds(), "verifications/s")
	b.ReportMetric(ms(percentile(sat, 50)), "sat-p50-ms")
	b.ReportMetric(ms(percentile(sat, 99)), "sat-p99-ms")
	// The CPU this process spent a verification at saturation, server
	// and load generator together: what bounds the rate on two cores of
	// its own when other work shares the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(sat)), "cpu-us/verification")
	b.ReportMetric(rate, "offered/s")
	b.ReportMetric(float64(len(paced))/pacedWall.Seconds(), "paced-verifications/s")
	b.ReportMetric(ms(percentile(paced, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(paced, 99)), "p99-ms")
	b.ReportMetric(float64(reg.Persons), "registry-persons")
}

// offer sends n verifications, of cards from first on, at rate a second,
// as wrk2 does: requests are due at even intervals and shared over the 64
// connections, and each latency runs from when the request was due, so
// time spent waiting for a free connection counts (no coordinated
// omission). It returns the sorted latencies and the wall time.
func offer(b *testing.B, n, first int, rate float64, verify func(w, i int) error) ([]time.Duration, time.Duration) {
	b.Helper()
	jobs := make(chan verifyJob, n)
	go func() {
		defer close(jobs)
		interval := time.Duration(float64(time.Second) / rate)
		begin := time.Now()
		for k := range n {
			due := begin.Add(time.Duration(k) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			jobs <- verifyJob{i: first + k, at: due}
		}
	}()
	start := time.Now()
	lats, err := runLoad(verifyConns, jobs, verify)
	if err != nil {
		b.Fatal(err)
	}
	return lats, time.Since(start)
}

// BenchmarkVerifyDuringSync is what a hospital sees at the end of a field
// day: verifications at -sync-verify-rate a second while laptops sync
// batches of 500 residents at -sync-rate residents a second and the
// matcher runs behind them, as `syncserver serve` does, on the registry of
// BenchmarkVerifyCardLoad. On SQLite a verification's audit record waits
// for the one writer, which ingest and matching also hold. One iteration
// is one verification; the figures are their p50, p99 and worst latency,
// the residents synced a second, and those left waiting for the matcher
// at the end. The seeded persons carry no blocking keys, so the new
// residents are matched against each other only: matching costs less
// than on a registry built by matching, though what a verification waits
// for is bounded by the matcher's yield (10 ms and one household).
func BenchmarkVerifyDuringSync(b *testing.B) {
	reg := seedRegistry(b, *registryPersons, min(signedCards, *registryPersons))
	url, st := reg.serveStore(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev, code, err := st.AddDevice(ctx, "field team", "DL-NW-W05")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.RegisterDevice(ctx, code, "laptop"); err != nil {
		b.Fatal(err)
	}
	verify := verifyLoad(b, []string{url}, reg)

	const perBatch = 500
	var synced atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { st.RunMatcher(ctx, func(string, ...any) {}) })
	wg.Go(func() {
		g := &gen{rand.New(rand.NewPCG(1, 2))}
		tick := time.NewTicker(time.Duration(float64(time.Second) * perBatch / *syncRate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := st.ApplyBatch(ctx, dev, batch(dev, g.records(perBatch)...), 0); err != nil {
				if ctx.Err() == nil {
					b.Error(err)
				}
				return
			}
			synced.Add(perBatch)
		}
	})
	b.ResetTimer()
	lats, wall := offer(b, b.N, 0, *syncVerifyRate, verify)
	b.StopTimer()
	stats, err := st.Stats(ctx)
	cancel()
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(*syncVerifyRate, "offered/s")
	b.ReportMetric(ms(percentile(lats, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lats, 99)), "p99-ms")
	b.ReportMetric(ms(lats[len(lats)-1]), "max-ms")
	b.ReportMetric(float64(synced.Load())/wall.Seconds(), "synced-residents/s")
	b.ReportMetric(float64(stats.MatchPending), "match-pending")
}

// verifyLoad opens the load generator's 64 connections, spread evenly over
// hosts, and returns the function that sends card i's verification on
// connection w and checks the answer. It warms every connection up
// outside the timer, as on a server that has been up a while.
//
// Each request is written whole from bytes made here once, as wrk does:
// the load generator shares the two cores with the server, and net/http's
// client spent about 50µs of CPU a request (three goroutine hand-offs,
// header maps, a fresh request) that a client on another machine would
// not take from the server. What is checked is the same: every answer
// must be a 200 saying the card is valid.
func verifyLoad(b *testing.B, urls []string, reg registry) func(w, i int) error {
	b.Helper()
	reqs := make([][][]byte, len(urls))
	for h, url := range urls {
		host := strings.TrimPrefix(url, "http://")
		for _, qr := range reg.QRs {
			body, _ := json.Marshal(map[string]string{"qr": qr})
			reqs[h] = append(reqs[h], fmt.Appendf(nil, "POST /api/v1/cards/verify HTTP/1.1\r\nHost: %s\r\n"+
				"Content-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
				host, reg.Token, len(body), body))
		}
	}
	conns := make([]*loadConn, verifyConns)
	for w := range conns {
		c, err := dialLoad(strings.TrimPrefix(urls[w%len(urls)], "http://"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		conns[w] = c
	}
	verify := func(w, i int) error {
		qrs := reqs[w%len(urls)]
		status, body, err := conns[w].do(qrs[i%len(qrs)])
		if err != nil {
			return fmt.Errorf("verify card %d: %w", i%len(qrs), err)
		}
		if status != http.StatusOK || !bytes.Contains(body, []byte(`"status":"valid"`)) {
			return fmt.Errorf("verify card %d: %d %s", i%len(qrs), status, body)
		}
		return nil
	}
	warm := make(chan verifyJob, 4*verifyConns)
	for i := range cap(warm) {
		warm <- verifyJob{i: i}
	}
	close(warm)
	if _, err := runLoad(verifyConns, warm, verify); err != nil {
		b.Fatal(err)
	}
	return verify
}

// saturate sends b.N verifications as wrk does, each connection its next
// request as soon as the last is answered, and returns the sorted
// latencies, the wall time and this process's CPU time over the run.
func saturate(b *testing.B, verify func(w, i int) error) ([]time.Duration, time.Duration, time.Duration) {
	b.Helper()
	jobs := make(chan verifyJob) // unbuffered: an iteration ends when a connection takes its request
	type result struct {
		lats []time.Duration
		err  error
	}
	done := make(chan result)
	go func() {
		lats, err := runLoad(verifyConns, jobs, verify)
		done <- result{lats, err}
	}()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for b.Loop() {
		jobs <- verifyJob{i: n}
		n++
	}
	close(jobs)
	sat := <-done
	wall, cpu := time.Since(start), cpuTime()-cpu0
	if sat.err != nil {
		b.Fatal(sat.err)
	}
	return sat.lats, wall, cpu
}

// verifyJob is one request of the load: which card, and when it was due
// (zero: when a connection takes it).
type verifyJob struct {
	i  int
	at time.Time
}

// runLoad sends jobs over conns connections, each with one request in
// flight, and returns the sorted latencies: from when each request was
// due, or was sent if it had no due time, to its whole answer.
func runLoad(conns int, jobs <-chan verifyJob, verify func(conn, i int) error) ([]time.Duration, error) {
	lats := make([][]time.Duration, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for j := range jobs {
				if errs[w] != nil {
					continue // drain, so the sender is not stuck
				}
				start := j.at
				if start.IsZero() {
					start = time.Now()
				}
				if errs[w] = verify(w, j.i); errs[w] == nil {
					lats[w] = append(lats[w], time.Since(start))
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lats...)
	slices.Sort(all)
	return all, errors.Join(errs...)
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFeedCatchUp follows GET /api/v1/feed from seq 0 in pages of
// 1000, as a hospital's new copy of the registry does, over a registry of
// -feed-persons persons with a person.created and a card.issued event
// each. One iteration is one whole catch-up; the figure is events a
// second delivered to the consumer, which decodes each page's cursor and
// sequence numbers and checks that none is skipped or repeated.
func BenchmarkFeedCatchUp(b *testing.B) {
	ctx := context.Background()
	// The same registry as BenchmarkVerifyCardLoad's at the same size, so
	// that with -registry-cache one seeding serves both.
	reg := seedRegistry(b, *feedPersons, min(signedCards, *feedPersons))
	url := reg.serve(b)
	client := loadClient(1)

	type page struct {
		Events []struct {
			Seq int64 `json:"seq"`
		} `json:"events"`
		Next int64 `json:"next"`
	}
	catchUp := func() (int, error) {
		var after int64
		events := 0
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet,
				url+"/api/v1/feed?limit="+strconv.Itoa(store.MaxFeedPage)+"&after="+strconv.FormatInt(after, 10), nil)
			if err != nil {
				return events, err
			}
			req.Header.Set("Authorization", "Bearer "+reg.Token)
			res, err := client.Do(req)
			if err != nil {
				return events, err
			}
			var p page
			err = json.NewDecoder(res.Body).Decode(&p)
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || err != nil {
				return events, fmt.Errorf("feed after %d: status %d: %v", after, res.StatusCode, err)
			}
			if len(p.Events) == 0 {
				return events, nil
			}
			for _, e := range p.Events {
				if e.Seq != after+1 {
					return events, fmt.Errorf("feed after %d: got seq %d", after, e.Seq)
				}
				after = e.Seq
			}
			if p.Next != after {
				return events, fmt.Errorf("feed: next %d after seq %d", p.Next, after)
			}
			events += len(p.Events)
		}
	}

	delivered := 0
	for b.Loop() {
		n, err := catchUp()
		if err != nil {
			b.Fatal(err)
		}
		if n != 2*reg.Persons {
			b.Fatalf("caught up with %d events, want %d", n, 2*reg.Persons)
		}
		delivered += n
	}
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(reg.Persons), "feed-persons")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the p-th percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// loadConn is one keep-alive HTTP/1.1 connection of the load generator,
// with one request in flight at a time.
type loadConn struct {
	net.Conn
	r    *bufio.Reader
	body []byte
}

func dialLoad(host string) (*loadConn, error) {
	c, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	return &loadConn{Conn: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

// do sends req, a whole HTTP/1.1 request, and reads the answer's status
// and body. The body is only valid until the next call. An answer
// without Content-Length (chunked, or closing the connection) is an
// error: the server answers a verification with one.
func (c *loadConn) do(req []byte) (status int, body []byte, err error) {
	if _, err := c.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, fmt.Errorf("bad header line %q", line)
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return 0, nil, fmt.Errorf("bad header line %q", line)
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(bytes.TrimSpace(value), []byte("close")):
			return 0, nil, errors.New("the server closed the connection")
		}
	}
	if length < 0 {
		return 0, nil, errors.New("answer without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return 0, nil, err
	}
	return status, c.body, nil
}

// loadClient keeps conns keep-alive connections to one host open.
func loadClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	t.MaxConnsPerHost = conns
	t.DisableCompression = true
	return &http.Client{Transport: t}
}

// registry is a server database seeded in bulk for the hospital
// benchmarks.
type registry struct {
	Path    string   `json:"-"`
	Persons int      `json:"persons"`
	Token   string   `json:"token"` // a hospital token
	QRs     []string `json:"qrs"`   // QR texts of genuine, current cards
}

// serve opens the store and serves the API on a 127.0.0.1 port for the
// rest of the benchmark, returning its base URL.
func (r registry) serve(b *testing.B) string {
	url, _ := r.serveStore(b)
	return url
}

// serveStore is serve that also returns the store it serves.
func (r registry) serveStore(b *testing.B) (string, *store.Store) {
	b.Helper()
	st, err := store.Open(context.Background(), r.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	// Rate limiting off (rps 0, also New's default), said explicitly: the
	// benchmark sends thousands of requests a second on one token, where
	// the serve command's default of 50/s would answer nearly all with 429.
	// Requests are logged as in production, to nowhere.
	srv := httpapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.WithRateLimit(0, 0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return "http://" + ln.Addr().String(), st
}

// seedRegistry returns a registry of persons persons, signed of whose
// cards carry genuine QRs: seeded afresh in the benchmark's temp dir, or,
// with -registry-cache, copied from the cache (seeded there first when
// absent) so that runs after the first skip the seeding.
func seedRegistry(b *testing.B, persons, signed int) registry {
	b.Helper()
	if *registryCache == "" {
		return seedInto(b, b.TempDir(), persons, signed)
	}
	cached := filepath.Join(*registryCache, fmt.Sprintf("registry-%d-%d", persons, signed))
	meta := filepath.Join(cached, "registry.json")
	var reg registry
	data, err := os.ReadFile(meta)
	if err == nil {
		err = json.Unmarshal(data, &reg)
	}
	if err != nil {
		if err := os.RemoveAll(cached); err != nil {
			b.Fatal(err)
		}
		if err := os.MkdirAll(cached, 0o700); err != nil {
			b.Fatal(err)
		}
		reg = seedInto(b, cached, persons, signed)
		data, _ := json.Marshal(reg)
		if err := os.WriteFile(meta, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	if err := copyTree(dir, cached); err != nil {
		b.Fatal(err)
	}
	reg.Path = filepath.Join(dir, "server.db")
	return reg
}

// copyTree copies the files under src into dst keeping their modes (the
// store refuses key files others may read).
func copyTree(dst, src string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(to, info.Mode().Perm())
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		// On disk before the benchmark starts, so writing back gigabytes
		// of copy does not hold up the server's commits.
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// seedInto makes, in dir, a server database of persons persons, each with
// a health ID, one resident in a household of four, a printed card
// (version 1) and its person.created and card.issued events. Matching a
// million residents in would take hours, so the rows go in with SQL: the
// store opens the file once to run the migrations and make the keys, then
// one connection fills the tables from a temporary table of generated
// values. signed cards, spread evenly over the registry, get a QR signed
// with the store's active key over claims matching their row; the others
// hold an unsigned placeholder of the same length, so rows have their real
// size. Matching's own tables (blocking keys, term counts) stay empty.
func seedInto(b *testing.B, dir string, persons, signed int) registry {
	b.Helper()
	ctx := context.Background()
	begun := time.Now()
	reg := registry{Path: filepath.Join(dir, "server.db"), Persons: persons}

	st, err := store.Open(ctx, reg.Path)
	if err != nil {
		b.Fatal(err)
	}
	device, _, err := st.AddDevice(ctx, "seed", "DL-NW-W05")
	if err != nil {
		b.Fatal(err)
	}
	if reg.Token, err = st.CreateToken(ctx, schema.RoleHospital, "bench-hospital"); err != nil {
		b.Fatal(err)
	}
	key, err := st.CardKeys().Active()
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}

	db, err := sqlitedb.Open(ctx, reg.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	exec := func(query string, args ...any) {
		b.Helper()
		if _, err := conn.ExecContext(ctx, query, args...); err != nil {
			b.Fatalf("seed: %v\n%s", err, query)
		}
	}
	// A throwaway file until it is done: no journal, no syncs, no foreign
	// key checks (every reference is right by construction), and a page
	// cache that holds the indexes being built.
	exec(`PRAGMA journal_mode = OFF`)
	exec(`PRAGMA synchronous = OFF`)
	exec(`PRAGMA foreign_keys = OFF`)
	exec(`PRAGMA cache_size = -1048576`)
	exec(`PRAGMA temp_store = MEMORY`)

	const cols = 12
	exec(`CREATE TEMP TABLE seed (
		n INTEGER PRIMARY KEY, person TEXT, resident TEXT, household TEXT, hid TEXT, serial TEXT,
		name TEXT, father TEXT, sex TEXT, dob TEXT, phone TEXT, at TEXT)`)
	rnd := rand.New(rand.NewChaCha8([32]byte{5}))
	randomness := rand.NewChaCha8([32]byte{6})
	// IDs as the store makes them (ULIDs, in time order), drawn from a
	// seeded source rather than crypto/rand, which is slower.
	ids := ulid.Monotonic(randomness, 0)
	base := time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC)
	// Health IDs and serials are random, as the store draws them; among a
	// million a repeat is likely, so draw again as the store would.
	seen := make(map[string]bool, 2*persons)
	name := func() string {
		return firstNames[rnd.IntN(len(firstNames))] + " " + surnames[rnd.IntN(len(surnames))]
	}
	var sample []seededPerson // the rows whose cards are signed
	every := 0
	if signed > 0 {
		every = max(persons/signed, 1)
	}

	// Rows go in a hundred to a statement: one statement per row would
	// spend most of the time crossing into the driver.
	const perInsert = 100
	insertSQL := func(rows int) string {
		one := "(" + strings.Repeat("?, ", cols-1) + "?)"
		return "INSERT INTO seed VALUES " + strings.Repeat(one+", ", rows-1) + one
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	full, err := tx.PrepareContext(ctx, insertSQL(perInsert))
	if err != nil {
		b.Fatal(err)
	}
	args := make([]any, 0, perInsert*cols)
	flush := func() {
		if len(args) == 0 {
			return
		}
		var err error
		if len(args) == perInsert*cols {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertSQL(len(args)/cols), args...)
		}
		if err != nil {
			b.Fatal(err)
		}
		args = args[:0]
	}
	var household string
	for n := range persons {
		at := base.Add(time.Duration(n) * 100 * time.Millisecond)
		ms := ulid.Timestamp(at)
		if n%4 == 0 {
			household = ulid.MustNew(ms, ids).String()
		}
		var hid cards.HealthID
		for hid.IsZero() || seen[hid.Digits()] {
			if hid, err = cards.NewHealthID(randomness); err != nil {
				b.Fatal(err)
			}
		}
		seen[hid.Digits()] = true
		var serial string
		for serial == "" || seen[serial] {
			var s [5]byte
			randomness.Read(s[:])
			serial = "C" + base32.StdEncoding.EncodeToString(s[:])
		}
		seen[serial] = true
		r := seededPerson{
			hid: hid, serial: serial, name: name(), sex: []string{"M", "F"}[rnd.IntN(2)],
			dob: fmt.Sprintf("%04d-%02d-%02d", 1940+rnd.IntN(80), rnd.IntN(12)+1, rnd.IntN(28)+1),
			at:  at,
		}
		if every > 0 && n%every == 0 && len(sample) < signed {
			sample = append(sample, r)
		}
		args = append(args, n+1, ulid.MustNew(ms, ids).String(), ulid.MustNew(ms, ids).String(), household,
			hid.Digits(), serial, r.name, name(), r.sex, r.dob,
			"+919"+strconv.Itoa(100000000+rnd.IntN(9e8)), at.Format("2006-01-02T15:04:05.000Z"))
		if len(args) == cap(args) {
			flush()
		}
	}
	flush()
	full.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}

	// A placeholder as long as a real QR, so card rows have their size.
	placeholder := "UNSIGNED-BENCHMARK-PLACEHOLDER-"
	if len(sample) > 0 {
		if qr, err := cards.Sign(claimsOf(sample[0]), key); err == nil {
			for len(placeholder) < len(qr) {
				placeholder += "0"
			}
		}
	}
	exec(`BEGIN`)
	exec(`INSERT INTO persons (id, status, created_at, updated_at) SELECT person, 'active', at, at FROM seed ORDER BY n`)
	exec(`INSERT INTO health_ids (health_id, person_id, issued_at) SELECT hid, person, at FROM seed ORDER BY n`)
	exec(`INSERT INTO households (id, device_id, version, deleted, area, pincode, data, received_at, updated_at)
		SELECT household, ?1, 1, 0, 'DL-NW-W05', '110085', json_object(
			'id', household, 'area', 'DL-NW-W05',
			'address', json_object('line1', 'H.No. ' || (n / 4) || ', Gali ' || (n % 17), 'locality', 'Rohini', 'city', 'Delhi', 'pincode', '110085'),
			'visited_at', '2025-11-27T10:30:00+05:30', 'outcome', 'enrolled',
			'consent', json_object('given', json('true'), 'at', '2025-11-27T10:30:00+05:30')), at, at
		FROM seed WHERE (n - 1) % 4 = 0 ORDER BY n`, device)
	exec(`INSERT INTO residents (id, device_id, household_id, version, deleted, data, received_at, updated_at,
			match_state, person_id, link)
		SELECT resident, ?1, household, 1, 0, json_object(
			'id', resident, 'household_id', household, 'name', name, 'sex', sex, 'dob', dob, 'dob_precision', 'day',
			'relation', CASE (n - 1) % 4 WHEN 0 THEN 'head' WHEN 1 THEN 'spouse' WHEN 2 THEN 'son' ELSE 'daughter' END,
			'father_name', father, 'phone', phone,
			'aadhaar_hash', lower(hex(randomblob(32))), 'aadhaar_last4', substr('000' || (abs(random()) % 10000), -4)),
			at, at, 'done', person, 'new'
		FROM seed ORDER BY n`, device)
	exec(`INSERT INTO cards (serial, person_id, health_id, version, status, centre, card, qr, issued_at, updated_at)
		SELECT serial, person, hid, 1, 'printed', 'DL-NW', json_object(
			'Programme', ?1, 'Helpline', ?2,
			'HealthID', substr(hid, 1, 2) || '-' || substr(hid, 3, 4) || '-' || substr(hid, 7, 4) || '-' || substr(hid, 11, 4),
			'Name', name, 'DOB', dob, 'DOBPrecision', 'day', 'Sex', sex, 'IssueDate', at,
			'Serial', serial, 'Version', 1, 'QR', ?3), ?3, at, at
		FROM seed ORDER BY n`, store.DefaultCardSettings.Programme, store.DefaultCardSettings.Helpline, placeholder)
	// Each person's two events in turn: seed's rows in order, the two
	// kinds within each (the join's loops run in that order).
	exec(`INSERT INTO events (kind, person_id, health_id, data, at)
		SELECT k.kind, s.person, s.hid,
			CASE k.o WHEN 0 THEN '{}' ELSE json_object('serial', s.serial, 'version', 1) END, s.at
		FROM seed s CROSS JOIN (SELECT 0 AS o, 'person.created' AS kind UNION ALL SELECT 1, 'card.issued') k`)
	exec(`UPDATE match_terms SET n = ?1 WHERE term = '#persons'`, persons)

	// The sampled cards' QRs, signed over the claims their rows hold.
	reg.QRs = make([]string, 0, len(sample))
	for _, r := range sample {
		qr, err := cards.Sign(claimsOf(r), key)
		if err != nil {
			b.Fatal(err)
		}
		exec(`UPDATE cards SET qr = ?1, card = json_set(card, '$.QR', ?1) WHERE serial = ?2`, qr, r.serial)
		reg.QRs = append(reg.QRs, qr)
	}
	exec(`COMMIT`)
	exec(`DROP TABLE seed`)
	exec(`PRAGMA journal_mode = WAL`)
	if err := checkSeeded(ctx, conn, persons); err != nil {
		b.Fatal(err)
	}
	// Written with syncs off: put it on disk now, so that writing it back
	// does not hold up the commits being measured.
	if f, err := os.Open(reg.Path); err != nil {
		b.Fatal(err)
	} else {
		err := f.Sync()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d persons (%d signed cards) in %s", persons, len(reg.QRs), time.Since(begun).Round(time.Millisecond))
	return reg
}

// seededPerson is what a signed card's claims are made from.
type seededPerson struct {
	hid               cards.HealthID
	serial, name, sex string
	dob               string
	at                time.Time
}

// claimsOf is what the card printed for p says, as queueCard signs it.
func claimsOf(p seededPerson) cards.Claims {
	return cards.Card{
		HealthID: p.hid, Name: p.name, DOB: p.dob, DOBPrecision: schema.PrecisionDay, Sex: p.sex,
		IssueDate: p.at, Serial: p.serial, Version: 1,
	}.Claims(store.DefaultCardSettings.Issuer)
}

// checkSeeded counts what seedInto wrote, and checks the events came in
// person order.
func checkSeeded(ctx context.Context, conn *sql.Conn, persons int) error {
	for table, want := range map[string]int{"persons": persons, "health_ids": persons, "residents": persons,
		"households": (persons + 3) / 4, "cards": persons, "events": 2 * persons} {
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("seed: %s has %d rows, want %d", table, n, want)
		}
	}
	var misplaced int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM events
		WHERE kind != CASE seq % 2 WHEN 1 THEN 'person.created' ELSE 'card.issued' END`).Scan(&misplaced); err != nil {
		return err
	}
	if misplaced != 0 {
		return fmt.Errorf("seed: %d events out of order", misplaced)
	}
	return nil
}
