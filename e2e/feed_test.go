package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/syncserver/feed"
)

// A hospital's copy follows the feed while laptops sync and the server
// makes persons; the server is killed (SIGKILL) mid-run and restarted.
// The copy ends with exactly the server's persons, and its file holds
// every event once, in order, with no gap.
func TestFeedFollowSurvivesServerCrash(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "server.db")
	srv := startServer(t, db)
	token := decodeJSON[struct {
		Token string `json:"token"`
	}](t, run(t, nil, bin.syncserver, "--db", db, "token", "create", "--role", "hospital", "--name", "records-module", "--json")).Token
	out := filepath.Join(dir, "copy.jsonl")

	// The follower runs throughout, long-polling with a short wait so the
	// test need not idle, and retrying while the server is down.
	follower := exec.Command(bin.syncserver, "feed", "follow", "--server", srv.url(), "--out", out, "--wait", "2s", "--limit", "200")
	follower.Env = append(cleanEnv(), "SYNCSERVER_TOKEN="+token)
	var followErr bytes.Buffer
	follower.Stderr = &followErr
	if err := follower.Start(); err != nil {
		t.Fatal(err)
	}
	defer follower.Process.Kill()

	in := generate(t, 240, 0.1, 77)
	chunks := splitLines(t, in, 3)
	l := newLaptop(t, srv, "team-feed")
	for i, chunk := range chunks {
		l.run(t, "import", chunk)
		l.sync(t)
		if i == 1 {
			// The matcher is working behind the sync that just returned:
			// kill the server in the middle of it, and bring it back where
			// the laptop and the follower know it.
			addr := srv.addr
			if err := srv.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			srv.cmd.Wait()
			time.Sleep(500 * time.Millisecond)
			srv = startServerOn(t, db, addr)
		}
	}
	waitMatched(t, srv)

	// Let the follower catch up, stop it as an operator would, and
	// finish with a run that stops once idle: it resumes from its file.
	time.Sleep(3 * time.Second)
	follower.Process.Signal(syscall.SIGTERM)
	if err := follower.Wait(); err != nil {
		t.Fatalf("follower: %v\n%s", err, followErr.String())
	}
	cmd := exec.Command(bin.syncserver, "feed", "follow", "--server", srv.url(), "--out", out, "--until-idle", "--json")
	cmd.Env = append(cleanEnv(), "SYNCSERVER_TOKEN="+token)
	final, err := cmd.Output()
	if err != nil {
		t.Fatalf("final follow: %v", err)
	}
	t.Logf("final follow: %s", final)

	seqs := feedSeqs(t, out)
	reader, err := sqlitedb.OpenReader(context.Background(), db, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var last int64
	if err := reader.QueryRow(`SELECT MAX(seq) FROM events`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if int64(len(seqs)) != last || seqs[0] != 1 || seqs[len(seqs)-1] != last {
		t.Fatalf("copy holds %d events (%d..%d), server wrote %d", len(seqs), seqs[0], seqs[len(seqs)-1], last)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("copy jumps from event %d to %d", seqs[i-1], seqs[i])
		}
	}

	reg, err := feed.Replay(out)
	if err != nil {
		t.Fatal(err)
	}
	got := reg.Active()
	var want []string
	rows, err := reader.Query(`SELECT h.health_id FROM persons p JOIN health_ids h ON h.person_id = p.id WHERE p.status = 'active'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		rows.Scan(&d)
		id, err := cards.ParseHealthID(d)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id.String())
	}
	rows.Close()
	slices.Sort(got)
	slices.Sort(want)
	if len(want) < 500 || !slices.Equal(got, want) {
		t.Errorf("the copy has %d active persons, the server %d", len(got), len(want))
	}
}

// splitLines cuts a JSON-lines file into n files of whole lines.
func splitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimRight(string(data), "\n"), "\n")
	var out []string
	per := (len(lines) + n - 1) / n
	for i := 0; i < len(lines); i += per {
		p := filepath.Join(t.TempDir(), fmt.Sprintf("part-%d.jsonl", i/per))
		chunk := strings.Join(lines[i:min(i+per, len(lines))], "")
		if !strings.HasSuffix(chunk, "\n") {
			chunk += "\n"
		}
		if err := os.WriteFile(p, []byte(chunk), 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// waitMatched waits until the server has matched every resident.
func waitMatched(t *testing.T, srv *server) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		st := decodeJSON[struct {
			Pending int `json:"match_pending"`
		}](t, run(t, nil, bin.syncserver, "--db", srv.db, "stats", "--json"))
		if st.Pending == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("matching did not finish within 2 minutes")
}

// feedSeqs reads the sequence numbers of a feed file, in file order.
func feedSeqs(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seqs []int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	if len(seqs) == 0 {
		t.Fatal("the copy is empty")
	}
	return seqs
}
