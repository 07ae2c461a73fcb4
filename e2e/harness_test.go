package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin holds the paths of the binaries built once for the whole package.
var bin struct{ surveyor, syncserver, surveygen string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "doorstep-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/surveyor", "./cmd/syncserver", "./cmd/surveygen")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin.surveyor = filepath.Join(dir, "surveyor")
	bin.syncserver = filepath.Join(dir, "syncserver")
	bin.surveygen = filepath.Join(dir, "surveygen")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs a binary and returns its standard output, failing the test on a
// non-zero exit with everything the command printed.
func run(t testing.TB, stdin io.Reader, name string, args ...string) string {
	t.Helper()
	out, errOut, err := tryRun(stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func tryRun(stdin io.Reader, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = cleanEnv()
	var o, e bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// cleanEnv keeps the caller's environment but drops our own variables, so
// a developer's SURVEYOR_DATA never leaks into a test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SURVEYOR_") || strings.HasPrefix(kv, "SYNCSERVER_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func decodeJSON[T any](t testing.TB, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

// server is a running `syncserver serve` on 127.0.0.1.
type server struct {
	db   string
	keys string // --keys; "" for the default beside a SQLite file
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// dbArgs is the global flags naming s's registry, followed by args: a
// PostgreSQL registry needs its keys folder on every command.
func (s *server) dbArgs(args ...string) []string {
	out := []string{"--db", s.db}
	if s.keys != "" {
		out = append(out, "--keys", s.keys)
	}
	return append(out, args...)
}

var listeningAddr = regexp.MustCompile(`addr=([0-9.]+:[0-9]+)`)

// startServer starts `syncserver serve` on a free port of 127.0.0.1 over the
// SQLite file db and stops it when the test ends.
func startServer(t *testing.T, db string) *server {
	t.Helper()
	return startServerOn(t, db, "127.0.0.1:0")
}

// startServerOn starts the server on a given address, to restart one where
// laptops already know it.
func startServerOn(t *testing.T, db, addr string) *server {
	t.Helper()
	return startServe(t, db, "", addr)
}

// startServe starts `syncserver serve` on addr over db, with its keys in
// keys ("" for the default beside a SQLite file) and extra serve flags.
// Several servers on one PostgreSQL registry share one keys folder.
func startServe(t testing.TB, db, keys, addr string, extra ...string) *server {
	t.Helper()
	s := &server{db: db, keys: keys, log: &bytes.Buffer{}}
	cmd := exec.Command(bin.syncserver, s.dbArgs(append([]string{"serve", "--addr", addr}, extra...)...)...)
	cmd.Env = cleanEnv()
	s.cmd = cmd
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteString(line + "\n")
			if m := listeningAddr.FindStringSubmatch(line); m != nil && !sent && strings.Contains(line, "listening") {
				found <- m[1]
				sent = true
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			cmd.Wait()
			t.Fatalf("syncserver exited before listening:\n%s", s.log)
		}
		s.addr = addr
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("syncserver did not listen within 30s:\n%s", s.log)
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *server) url() string { return "http://" + s.addr }

func (s *server) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// serverStats is `syncserver stats --json` (DESIGN.md §11).
type serverStats struct {
	Households int `json:"households"`
	Residents  int `json:"residents"`
	Persons    int `json:"persons"`
	ReviewOpen int `json:"review_open"`
}

// laptopStatus is `surveyor status --json`.
type laptopStatus struct {
	Households int    `json:"households"`
	Residents  int    `json:"residents"`
	Pending    int    `json:"pending"`
	Synced     int    `json:"synced"`
	Rejected   int    `json:"rejected"`
	LastSync   string `json:"last_sync"`
}

// syncReport is `surveyor sync --json`.
type syncReport struct {
	Accepted  int     `json:"accepted"`
	Duplicate int     `json:"duplicate"`
	Stale     int     `json:"stale"`
	Rejected  int     `json:"rejected"`
	BytesSent int64   `json:"bytes_sent"`
	Seconds   float64 `json:"seconds"`
}

func (s *server) stats(t *testing.T) serverStats {
	t.Helper()
	return decodeJSON[serverStats](t, run(t, nil, bin.syncserver, s.dbArgs("stats", "--json")...))
}

// laptop is one surveyor data folder registered with a server.
type laptop struct {
	data     string
	deviceID string
}

// newLaptop registers a laptop with srv through a one-time code, as a
// supervisor and a survey worker do it.
func newLaptop(t *testing.T, srv *server, name string) *laptop {
	t.Helper()
	return newLaptopVia(t, srv, srv.url(), name)
}

// newLaptopVia registers a laptop that reaches srv at url (a proxy, say).
func newLaptopVia(t *testing.T, srv *server, url, name string) *laptop {
	t.Helper()
	id, code := addDevice(t, srv, name)
	l := &laptop{data: filepath.Join(t.TempDir(), name), deviceID: id}
	l.run(t, "init", "--server", url, "--code", code)
	return l
}

// addDevice adds a device on srv's registry, as a supervisor does, and
// returns its id and one-time registration code.
func addDevice(t testing.TB, srv *server, name string) (id, code string) {
	t.Helper()
	reg := decodeJSON[struct {
		DeviceID string `json:"device_id"`
		Code     string `json:"code"`
	}](t, run(t, nil, bin.syncserver, srv.dbArgs("device", "add", "--name", name, "--area", "DL-NW-W05", "--json")...))
	if reg.DeviceID == "" || reg.Code == "" {
		t.Fatalf("device add gave no id or code: %+v", reg)
	}
	return reg.DeviceID, reg.Code
}

func (l *laptop) run(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, nil, bin.surveyor, append([]string{"--data", l.data}, args...)...)
}

func (l *laptop) status(t *testing.T) laptopStatus {
	t.Helper()
	return decodeJSON[laptopStatus](t, l.run(t, "status", "--json"))
}

func (l *laptop) sync(t *testing.T) syncReport {
	t.Helper()
	return decodeJSON[syncReport](t, l.run(t, "sync", "--json"))
}

// generate writes surveygen households to a file and returns its path.
func generate(t *testing.T, households int, dupRate float64, seed int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "households.jsonl")
	run(t, nil, bin.surveygen, "--households", fmt.Sprint(households), "--dup-rate", fmt.Sprint(dupRate), "--seed", fmt.Sprint(seed), "--out", path)
	return path
}
