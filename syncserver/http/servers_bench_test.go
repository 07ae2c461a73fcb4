package httpapi_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// BenchmarkVerifyServers is issue 7's verification figure: the load of
// BenchmarkVerifyCardLoad at saturation, its 64 connections spread over
// two `syncserver serve` processes sharing one PostgreSQL registry of
// -registry-persons persons (seeded as BenchmarkVerifyCardLoad's, then
// copied over by migrate-store's code). Each verification's audit record
// is written on the shared database, so the two servers' audit commits
// take turns on its writer lock.
//
//	DOORSTEP_TEST_POSTGRES=postgres://… go test -run '^$' -bench 'VerifyServers' -benchtime 30000x -cpu 2 \
//		./syncserver/http -registry-cache /tmp/registries -registry-persons 1000000
func BenchmarkVerifyServers(b *testing.B) {
	b.Run("postgres-2-servers", func(b *testing.B) {
		if !testdb.Postgres() {
			b.Skip("needs DOORSTEP_TEST_POSTGRES; scripts/bench.sh starts a throwaway cluster")
		}
		reg := seedRegistry(b, *registryPersons, min(signedCards, *registryPersons))
		ctx := context.Background()
		keys := store.DefaultKeysDir(reg.Path)
		dsn := testdb.NewDatabase(b)
		target, err := store.Open(ctx, dsn, store.WithKeysDir(keys))
		if err != nil {
			b.Fatal(err)
		}
		target.Close()
		begun := time.Now()
		if _, err := store.CopyToPostgres(ctx, reg.Path, dsn, nil); err != nil {
			b.Fatal(err)
		}
		b.Logf("registry of %d persons copied to PostgreSQL in %s", reg.Persons, time.Since(begun).Round(time.Second))

		bin := buildSyncserver(b)
		urls := []string{
			startSyncserver(b, bin, "--db", dsn, "--keys", keys, "serve", "--addr", "127.0.0.1:0", "--rate-limit", "0", "--match=false"),
			startSyncserver(b, bin, "--db", dsn, "--keys", keys, "serve", "--addr", "127.0.0.1:0", "--rate-limit", "0", "--match=false"),
		}
		verify := verifyLoad(b, urls, reg)
		sat, wall, _ := saturate(b, verify)
		b.ReportMetric(float64(len(sat))/wall.Seconds(), "verifications/s")
		b.ReportMetric(ms(percentile(sat, 50)), "p50-ms")
		b.ReportMetric(ms(percentile(sat, 99)), "p99-ms")
		b.ReportMetric(float64(reg.Persons), "registry-persons")
	})
}

// buildSyncserver builds the syncserver binary for the benchmark.
func buildSyncserver(b *testing.B) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), "syncserver")
	build := exec.Command("go", "build", "-o", out, "./cmd/syncserver")
	build.Dir = filepath.Join("..", "..")
	if msg, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build syncserver: %v\n%s", err, msg)
	}
	return out
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startSyncserver runs the binary with args until the benchmark ends and
// returns the base URL it listens on.
func startSyncserver(b *testing.B, bin string, args ...string) string {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return "http://" + addr
	case <-time.After(30 * time.Second):
		b.Fatalf("syncserver %v did not listen within 30s", args)
		return ""
	}
}
