package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/cli"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// cmdEnv runs syncserver commands against one registry (on the run's
// engine: see testdb) with files in a temp dir.
type cmdEnv struct {
	dir string
	env map[string]string
}

func newCmdEnv(t *testing.T) *cmdEnv {
	t.Helper()
	db, keys := testdb.Registry(t)
	return &cmdEnv{dir: t.TempDir(), env: map[string]string{"SYNCSERVER_DB": db, "SYNCSERVER_KEYS": keys}}
}

type result struct {
	out, err string
	code     int
}

func (e *cmdEnv) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{In: strings.NewReader(stdin), Out: &out, Err: &errb, Getenv: func(k string) string { return e.env[k] }}
	code := cli.Run(context.Background(), args, app)
	return result{out.String(), errb.String(), code}
}

func (e *cmdEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := e.run(t, "", args...)
	if r.code != 0 {
		t.Fatalf("syncserver %s: exit %d: %s", strings.Join(args, " "), r.code, r.err)
	}
	return r.out
}

// keysOf decodes one JSON object and returns its sorted top-level keys.
func keysOf(t *testing.T, out string) (map[string]any, []string) {
	t.Helper()
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("--json output is not one line: %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return m, keys
}

// withStore opens the env's store directly, as the server would, for
// registering devices the way a laptop does.
func (e *cmdEnv) withStore(t *testing.T, fn func(*store.Store)) {
	t.Helper()
	s, err := store.Open(context.Background(), e.env["SYNCSERVER_DB"], store.WithKeysDir(e.env["SYNCSERVER_KEYS"]))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fn(s)
}

func TestDeviceCommands(t *testing.T) {
	e := newCmdEnv(t)
	m, keys := keysOf(t, e.ok(t, "device", "add", "--name", "team-1", "--area", "DL-NW-W05", "--json"))
	if !slices.Equal(keys, []string{"code", "device_id"}) {
		t.Errorf("device add --json keys %v, want exactly code, device_id", keys)
	}
	code, id := m["code"].(string), m["device_id"].(string)
	if !regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`).MatchString(code) || id == "" {
		t.Errorf("device add: %v", m)
	}

	human := e.ok(t, "device", "add", "--name", "team-2")
	if !strings.Contains(human, "surveyor init") || !strings.Contains(human, "code") {
		t.Errorf("device add: %q", human)
	}

	e.withStore(t, func(s *store.Store) {
		if _, err := s.RegisterDevice(context.Background(), code, "lap-1"); err != nil {
			t.Fatal(err)
		}
	})
	e.ok(t, "device", "revoke", id)

	var list struct{ Devices []store.Device }
	if err := json.Unmarshal([]byte(e.ok(t, "device", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Devices) != 2 || list.Devices[0].ID != id || list.Devices[0].Status != store.DeviceRevoked || list.Devices[1].Status != store.DeviceWaiting {
		t.Errorf("device list: %+v", list.Devices)
	}
	table := e.ok(t, "device", "list")
	if !strings.HasPrefix(table, "ID ") || !strings.Contains(table, "team-2") || !strings.Contains(table, "revoked") {
		t.Errorf("device list table:\n%s", table)
	}
	if r := e.run(t, "", "device", "revoke", "NO-SUCH"); r.code != 1 || !strings.HasPrefix(r.err, "error: ") {
		t.Errorf("revoke unknown device: %+v", r)
	}
}

func TestTokenCommands(t *testing.T) {
	e := newCmdEnv(t)
	m, keys := keysOf(t, e.ok(t, "token", "create", "--role", "supervisor", "--name", "asha", "--json"))
	if !slices.Equal(keys, []string{"name", "role", "token"}) {
		t.Errorf("token create --json keys %v, want exactly name, role, token", keys)
	}
	tok := m["token"].(string)
	if m["role"] != "supervisor" || m["name"] != "asha" || len(tok) < 26 {
		t.Errorf("token create: %v", m)
	}

	r := e.run(t, "", "token", "create", "--role", "root", "--name", "x")
	if r.code != 1 || !strings.Contains(r.err, "error: role: must be one of admin, supervisor") {
		t.Errorf("bad role: %+v", r)
	}
	list := e.ok(t, "token", "list", "--json")
	if strings.Contains(list, tok) || strings.Contains(list, strings.TrimPrefix(tok, "dst_")) || !strings.Contains(list, `"asha"`) {
		t.Errorf("token list shows the token or misses it: %s", list)
	}
	e.ok(t, "token", "revoke", "asha")
	if r := e.run(t, "", "token", "revoke", "asha"); r.code != 1 {
		t.Errorf("revoke twice by name: %+v", r)
	}
	if table := e.ok(t, "token", "list"); !strings.Contains(table, "asha") || strings.Contains(table, tok) {
		t.Errorf("token list table:\n%s", table)
	}
	e.withStore(t, func(s *store.Store) {
		if _, err := s.Authenticate(context.Background(), tok); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
			t.Errorf("revoked token authenticates: %v", err)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	e := newCmdEnv(t)
	for _, args := range [][]string{
		{"bogus"},
		{"device"},
		{"device", "bogus"},
		{"device", "add"},
		{"device", "add", "--name", "x", "--frobnicate"},
		{"device", "revoke"},
		{"token", "create", "--role", "admin"},
		{"import"},
		{"stats", "extra"},
	} {
		r := e.run(t, "", args...)
		if r.code != 2 || !strings.HasPrefix(r.err, "error: ") || r.out != "" {
			t.Errorf("syncserver %s: exit %d, stderr %q, stdout %q; want exit 2 and an error", strings.Join(args, " "), r.code, r.err, r.out)
		}
	}
	if r := e.run(t, "", "--help"); r.code != 0 || !strings.Contains(r.out, "device") {
		t.Errorf("--help: %+v", r)
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	e := newCmdEnv(t)
	var dev, revoked string
	e.withStore(t, func(s *store.Store) {
		ctx := context.Background()
		for _, p := range []*string{&dev, &revoked} {
			id, code, err := s.AddDevice(ctx, "team", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RegisterDevice(ctx, code, ""); err != nil {
				t.Fatal(err)
			}
			*p = id
		}
		if err := s.RevokeDevice(ctx, revoked); err != nil {
			t.Fatal(err)
		}
	})
	h := schema.NewID()
	file := writeJSONL(t, e.dir, "export.jsonl",
		batch(dev, household(h), resident(schema.NewID(), h, "F")),
		batch(dev, resident(schema.NewID(), h, "M"), resident(schema.NewID(), h, "X")),
	)

	first := decodeImport(t, e.ok(t, "import", file, "--json"))
	if first.Batches != 2 || first.Records != 4 || first.Accepted != 3 || first.Rejected != 1 {
		t.Errorf("first import: %+v", first)
	}
	if len(first.Rejections) != 1 || first.Rejections[0].Line != 2 || first.Rejections[0].Field != "sex" {
		t.Errorf("first import rejections: %+v", first.Rejections)
	}
	stats := e.ok(t, "stats", "--json")

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := e.run(t, string(data), "import", "-", "--json") // again, from stdin
	if r.code != 0 {
		t.Fatalf("second import: %+v", r)
	}
	second := decodeImport(t, r.out)
	if second.Accepted != 0 || second.Duplicate != 3 || second.Rejected != 1 {
		t.Errorf("second import: %+v", second)
	}
	if again := e.ok(t, "stats", "--json"); again != stats {
		t.Errorf("second import changed stats:\n%s\n%s", stats, again)
	}
	if human := e.ok(t, "import", file); !strings.Contains(human, "duplicate  3") || !strings.Contains(human, "line 2: resident") {
		t.Errorf("human import output:\n%s", human)
	}

	for name, b := range map[string]schema.Batch{
		"revoked device": batch(revoked, household(schema.NewID())),
		"unknown device": batch("NO-SUCH-DEVICE", household(schema.NewID())),
	} {
		f := writeJSONL(t, e.dir, "bad.jsonl", b)
		if r := e.run(t, "", "import", f); r.code != 1 || !strings.Contains(r.err, "line 1") {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if err := os.WriteFile(filepath.Join(e.dir, "junk.jsonl"), []byte("{not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.run(t, "", "import", filepath.Join(e.dir, "junk.jsonl")); r.code != 1 || !strings.Contains(r.err, "line 1 is not a JSON batch") {
		t.Errorf("junk: %+v", r)
	}
	if again := e.ok(t, "stats", "--json"); again != stats {
		t.Errorf("failed imports changed stats:\n%s\n%s", stats, again)
	}
}

func TestStatsJSON(t *testing.T) {
	e := newCmdEnv(t)
	m, keys := keysOf(t, e.ok(t, "stats", "--json"))
	for _, k := range []string{"households", "residents", "persons", "review_open", "cards"} {
		if !slices.Contains(keys, k) {
			t.Errorf("stats --json lacks %q: %v", k, keys)
		}
	}
	cards, _ := m["cards"].(map[string]any)
	for _, k := range []string{"queued", "printed", "dispatched", "delivered", "revoked"} {
		if _, ok := cards[k]; !ok {
			t.Errorf("stats --json cards lacks %q: %v", k, cards)
		}
	}
	if human := e.ok(t, "stats"); !strings.HasPrefix(human, "households") {
		t.Errorf("stats:\n%s", human)
	}
}

func TestServe(t *testing.T) {
	for _, tc := range []struct{ matchEnv, wantMatch string }{
		{"", "match=true"},
		{"0", "match=false"}, // a server that leaves matching to others
	} {
		t.Run("SYNCSERVER_MATCH="+tc.matchEnv, func(t *testing.T) { testServe(t, tc.matchEnv, tc.wantMatch) })
	}
}

func testServe(t *testing.T, matchEnv, wantMatch string) {
	e := newCmdEnv(t)
	e.env["SYNCSERVER_ADDR"] = "127.0.0.1:0"
	e.env["SYNCSERVER_KEYS"] = filepath.Join(e.dir, "my-keys")
	e.env["SYNCSERVER_MATCH"] = matchEnv
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		app := &cli.App{In: strings.NewReader(""), Out: io.Discard, Err: pw, Getenv: func(k string) string { return e.env[k] }}
		done <- cli.Run(ctx, []string{"serve"}, app)
		pw.Close()
	}()

	// The "listening" log line names the port the OS chose.
	addr, opened := "", ""
	lines := bufio.NewScanner(pr)
	for addr == "" && lines.Scan() {
		if strings.Contains(lines.Text(), `msg="store open"`) {
			opened = lines.Text()
		}
		if m := regexp.MustCompile(`msg=listening addr=(\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("no listening line")
	}
	if !strings.Contains(opened, wantMatch) {
		t.Errorf("store open line %q, want %s", opened, wantMatch)
	}
	go io.Copy(io.Discard, pr)

	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", res.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d after interrupt", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(filepath.Join(e.dir, "my-keys", "aadhaar-hmac.key")); err != nil {
		t.Errorf("SYNCSERVER_KEYS not used: %v", err)
	}
}

type importSummary struct {
	Batches, Records, Accepted, Duplicate, Stale, Rejected int
	Rejections                                             []struct {
		Line  int
		Field string
	}
}

func decodeImport(t *testing.T, out string) importSummary {
	t.Helper()
	var s importSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("import --json %q: %v", out, err)
	}
	return s
}

func writeJSONL(t *testing.T, dir, name string, batches ...schema.Batch) string {
	t.Helper()
	var buf bytes.Buffer
	for _, b := range batches {
		line, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func household(id string) schema.Record {
	h := schema.Household{
		ID: id, Area: "DL-NW-W05",
		Address:   schema.Address{Line1: "H.No. 12, Gali 3", Locality: "Rohini", City: "Delhi", Pincode: "110085"},
		VisitedAt: "2025-11-27T10:30:00+05:30", Outcome: schema.OutcomeEnrolled,
		Consent: schema.Consent{Given: true, At: "2025-11-27T10:30:00+05:30"},
	}
	b, _ := json.Marshal(h)
	return schema.Record{Kind: schema.KindHousehold, ID: id, Version: 1, Data: b}
}

func resident(id, householdID, sex string) schema.Record {
	r := schema.Resident{ID: id, HouseholdID: householdID, Name: "Sunita Devi", Sex: sex, DOB: "1985",
		DOBPrecision: schema.PrecisionYear, Relation: "head"}
	b, _ := json.Marshal(r)
	return schema.Record{Kind: schema.KindResident, ID: id, Version: 1, Data: b}
}

func batch(deviceID string, recs ...schema.Record) schema.Batch {
	return schema.Batch{BatchID: schema.NewID(), DeviceID: deviceID, SchemaVersion: schema.SchemaVersion, Records: recs}
}
