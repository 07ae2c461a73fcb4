package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/surveytest"
)

// bin is the real surveyor binary, built once for these tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "surveyor-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "surveyor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// surveyorCmd runs the binary on the data directory dir.
func surveyorCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"--data", dir}, args...)...)
	cmd.Env = append(os.Environ(), "SURVEYOR_DATA=")
	return cmd
}

func mustRun(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := surveyorCmd(dir, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("surveyor %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"status"}, 0, ""},
		{[]string{"nope"}, 2, `error: unknown command "nope"`},
		{[]string{"show", "X"}, 1, "error: no household or member X"},
	} {
		cmd := surveyorCmd(dir, tt.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("surveyor %v: exit %d, stderr %q; want %d, %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}

// TestImportSurvivesSIGKILL kills an import of 20,000 households half way,
// checks that the database holds only whole households, and that running
// the import again completes it without duplicates.
func TestImportSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 20,000 households")
	}
	ctx := context.Background()
	srv := surveytest.NewServer(t)
	dir := t.TempDir()
	mustRun(t, dir, "", "init", "--server", srv.URL, "--code", srv.Code)

	const total = 20000
	hs := surveytest.Households(total, 42)
	file := filepath.Join(t.TempDir(), "households.jsonl")
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := surveytest.WriteJSONL(fh, hs)
	if err != nil {
		t.Fatal(err)
	}
	fh.Close()
	// Each line is known by the keyed hash the import log keeps, which
	// also finds the households whose ids the importer made up.
	membersOf := map[string]int{}
	allMembers := 0
	for i, l := range lines {
		m := hmac.New(sha256.New, srv.Key)
		m.Write(l)
		membersOf[hex.EncodeToString(m.Sum(nil))] = len(hs[i].Members)
		allMembers += len(hs[i].Members)
	}

	dbPath := filepath.Join(dir, surveyor.DBFile)
	reader, err := sqlitedb.OpenReader(ctx, dbPath, 1)
	if err != nil {
		t.Fatal(err)
	}
	cmd := surveyorCmd(dir, "import", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	killed := false
	for !killed {
		select {
		case err := <-exited:
			t.Fatalf("import finished before it could be killed (%v): %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no household stored after 15s: %s", stderr.String())
		}
		var n int
		if err := reader.QueryRow(`SELECT COUNT(*) FROM households`).Scan(&n); err == nil && n > 0 {
			cmd.Process.Kill()
			killed = true
		}
	}
	<-exited
	reader.Close()

	db, err := sqlitedb.Open(ctx, dbPath)
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	stored := count(t, db, `SELECT COUNT(*) FROM households`)
	if stored == 0 || stored >= total {
		t.Fatalf("%d households after the kill; want some but not all", stored)
	}
	t.Logf("killed with %d of %d households stored", stored, total)
	if n := count(t, db, `SELECT COUNT(*) FROM households h JOIN import_log l ON l.household_id = h.id`); n != stored {
		t.Errorf("%d of %d households have their import log entry", n, stored)
	}
	rows, err := db.Query(`SELECT l.line_hash, l.household_id,
		(SELECT COUNT(*) FROM residents r WHERE r.household_id = l.household_id) FROM import_log l`)
	if err != nil {
		t.Fatal(err)
	}
	residents := 0
	for rows.Next() {
		var hash, id string
		var n int
		rows.Scan(&hash, &id, &n)
		want, ok := membersOf[hash]
		if !ok {
			t.Errorf("import log entry %s matches no line of the file", hash)
		}
		if n != want {
			t.Errorf("household %s has %d of its %d members", id, n, want)
		}
		residents += n
	}
	rows.Close()
	if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != stored+residents {
		t.Errorf("outbox holds %d records, want %d", n, stored+residents)
	}
	db.Close()

	out := mustRun(t, dir, "", "import", file)
	if want := fmt.Sprintf("imported %d households, skipped %d already on this laptop, 0 lines failed", total-stored, stored); !strings.Contains(out, want) {
		t.Errorf("re-run: %q, want %q", out, want)
	}
	db, err = sqlitedb.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM households`:                    total,
		`SELECT COUNT(*) FROM residents`:                     allMembers,
		`SELECT COUNT(*) FROM import_log`:                    total,
		`SELECT COUNT(*) FROM outbox`:                        total + allMembers,
		`SELECT COUNT(DISTINCT household_id) FROM residents`: total,
	} {
		if n := count(t, db, q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v", integrity, err)
	}
}

// An interrupted import (Ctrl-C) stops between transactions and says so.
func TestImportInterrupted(t *testing.T) {
	ctx := context.Background()
	srv := surveytest.NewServer(t)
	dir := t.TempDir()
	mustRun(t, dir, "", "init", "--server", srv.URL, "--code", srv.Code)
	var buf bytes.Buffer
	surveytest.WriteJSONL(&buf, surveytest.Households(6000, 4))
	file := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(file, buf.Bytes(), 0o600)

	reader, err := sqlitedb.OpenReader(ctx, filepath.Join(dir, surveyor.DBFile), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	cmd := surveyorCmd(dir, "import", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for sent := false; !sent; {
		select {
		case <-exited:
			t.Fatalf("import finished before the interrupt")
		default:
		}
		var n int
		if reader.QueryRow(`SELECT COUNT(*) FROM households`).Scan(&n) == nil && n > 0 {
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "imported ") {
		t.Errorf("no partial report: %q", stdout.String())
	}
	var stored int
	reader.QueryRow(`SELECT COUNT(*) FROM households`).Scan(&stored)
	if !strings.Contains(stdout.String(), fmt.Sprintf("imported %d households", stored)) {
		t.Errorf("report %q does not match the %d households stored", stdout.String(), stored)
	}
}

// TestHouseholdAddKilledAfterID kills `household add` as soon as it printed
// the id: the household is there.
func TestHouseholdAddKilledAfterID(t *testing.T) {
	srv := surveytest.NewServer(t)
	dir := t.TempDir()
	mustRun(t, dir, "", "init", "--server", srv.URL, "--code", srv.Code)

	cmd := surveyorCmd(dir, "household", "add")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Keep standard input open, as a worker at the keyboard would.
	fmt.Fprint(stdin, "\n1 Main Road\n\nRohini\nDelhi\n110085\n\ny\nRam Kumar\nM\n1970\n\n\n\n\n\nn\n")
	line, err := bufio.NewReader(stdout).ReadString('\n')
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if err != nil {
		t.Fatalf("no id printed: %v", err)
	}
	id := strings.TrimSpace(line)

	var v surveyor.HouseholdView
	if err := json.Unmarshal([]byte(mustRun(t, dir, "", "show", id, "--json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.ID != id || len(v.Members) != 1 || v.Members[0].Name != "Ram Kumar" {
		t.Errorf("household after kill = %+v", v)
	}
}
