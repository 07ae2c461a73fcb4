package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/cli"
	"github.com/doorstep-health/doorstep/surveyor/surveytest"
)

// env is one laptop (a data directory) and a fake server.
type env struct {
	t   *testing.T
	dir string
	srv *surveytest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, dir: t.TempDir(), srv: surveytest.NewServer(t)}
}

// registered returns an env whose laptop has run `surveyor init`.
func registered(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.mustRun("", "init", "--server", e.srv.URL, "--code", e.srv.Code)
	return e
}

type result struct {
	out, err string
	code     int
}

// run runs the surveyor command line with stdin and returns its output.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	f := &cli.Factory{
		IO: cli.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string {
			if k == "SURVEYOR_DATA" {
				return e.dir
			}
			return ""
		},
		Retry: surveyor.RetryPolicy{Base: time.Millisecond, Max: 2 * time.Millisecond, MaxRetries: 2},
	}
	code := cli.Run(context.Background(), f, args)
	return result{out.String(), errOut.String(), code}
}

func (e *env) mustRun(stdin string, args ...string) result {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("surveyor %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

func (e *env) show(id string) surveyor.HouseholdView {
	e.t.Helper()
	var v surveyor.HouseholdView
	if err := json.Unmarshal([]byte(e.mustRun("", "show", id, "--json").out), &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) status() map[string]any {
	e.t.Helper()
	var s map[string]any
	if err := json.Unmarshal([]byte(e.mustRun("", "status", "--json").out), &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

const aadhaar1 = "234567890124"

func TestInitAndStatusJSON(t *testing.T) {
	e := newEnv(t)
	r := e.run("", "init", "--server", e.srv.URL, "--code", "WRONG")
	if r.code != 1 || !strings.Contains(r.err, "error: register: server answered 401") || !strings.Contains(r.err, "unknown, used or expired code") {
		t.Errorf("wrong code: %+v", r)
	}
	r = e.mustRun("", "init", "--server", e.srv.URL, "--code", e.srv.Code)
	if !strings.Contains(r.out, "registered as laptop 1 (DEV1)") {
		t.Errorf("init output: %q", r.out)
	}
	st := e.status()
	for _, k := range []string{"households", "residents", "pending", "synced", "rejected", "last_sync"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status --json lacks %q: %v", k, st)
		}
	}
	if st["last_sync"] != nil || st["households"] != 0.0 {
		t.Errorf("status = %v", st)
	}
	if fi, err := os.Stat(filepath.Join(e.dir, surveyor.DBFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("db file: %v, %v", fi, err)
	}
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"init", "--server", "http://x"}, 2, "init needs --server URL and --code CODE"},
		{[]string{"show"}, 2, "needs the id of a household or member"},
		{[]string{"list", "--pending", "--rejected"}, 2, "--pending and --rejected cannot be used together"},
		{[]string{"sync", "--batch-size", "0"}, 2, "--batch-size must be between 1 and 1000"},
		{[]string{"status", "--frobnicate"}, 2, "unknown flag: --frobnicate"},
		{[]string{"export"}, 2, "export needs --out FILE"},
		{[]string{"show", "NOPE"}, 1, "error: no household or member NOPE on this laptop"},
		{[]string{"household", "add", "--json", "-"}, 1, "not registered yet: run `surveyor init"},
		{[]string{"import", "-"}, 1, "not registered yet: run `surveyor init"},
		{[]string{"sync"}, 1, "not registered yet"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := e.run("", tt.args...)
			if r.code != tt.code || !strings.Contains(r.err, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.err, tt.code, tt.want)
			}
		})
	}
}

func TestHouseholdAddInteractive(t *testing.T) {
	e := registered(t)
	future := fmt.Sprintf("%d-01-01", time.Now().Year()+1)
	script := strings.Join([]string{
		"",                 // area: the registration's DL-NW-W05
		"House 12, Gali 4", // line1
		"",                 // line2 skipped
		"Rohini Sector 5",  // locality
		"Delhi",            // city
		"12345",            // pincode: wrong
		"110085",           // pincode again
		"",                 // outcome: enrolled
		"y",                // consent
		"Ram Kumar",        // member 1 name
		"X",                // sex: wrong
		"m",                // sex again
		future,             // dob: in the future
		"45y",              // dob as an age
		"",                 // relation: head
		"", "",             // father, spouse
		"098123 45678",   // phone
		aadhaar1,         // aadhaar
		"y",              // another member
		"Sita Devi", "F", // name, sex
		"1984-02-30",        // not a real date
		"1984",              // year
		"head",              // a second head
		"spouse",            // relation again
		"", "Ram Kumar", "", // father, spouse, phone
		"",  // aadhaar skipped
		"n", // no more members
	}, "\n") + "\n"
	r := e.run(script, "household", "add")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.err)
	}
	id := strings.TrimSpace(r.out)
	for _, want := range []string{
		"address.pincode must be 6 digits not starting with 0, like 110085 (pincode_format)\naddress: pincode: ",
		`members[0].sex must be one of M, F, O, not "X" (one_of)` + "\n  sex (M, F, O): ",
		"members[0].dob must not be in the future (not_future)\n  date of birth",
		"members[1].dob must be a real date written YYYY-MM-DD (date_format)",
		"members an enrolled household needs exactly one member with relation head, found 2 (one_head)\n  relation to head",
		"saved household with 2 members",
	} {
		if !strings.Contains(r.err, want) {
			t.Errorf("prompts lack %q\n---\n%s", want, r.err)
		}
	}
	if strings.Contains(r.err+r.out, aadhaar1) {
		t.Errorf("the Aadhaar number was echoed")
	}

	v := e.show(id)
	if v.ID != id || v.Area != "DL-NW-W05" || v.Address.Pincode != "110085" || v.Address.Line2 != "" || !v.Consent.Given || len(v.Members) != 2 {
		t.Fatalf("saved household = %+v", v)
	}
	m0, m1 := v.Members[0], v.Members[1]
	if m0.Sex != "M" || m0.DOB != fmt.Sprint(time.Now().Year()-45) || m0.DOBPrecision != schema.PrecisionEstimated ||
		m0.Relation != "head" || m0.Phone != "+919812345678" || m0.AadhaarLast4 != "0124" || m0.Aadhaar != "" {
		t.Errorf("member 1 = %+v", m0.Resident)
	}
	if m1.Name != "Sita Devi" || m1.DOB != "1984" || m1.DOBPrecision != schema.PrecisionYear || m1.Relation != "spouse" || m1.SpouseName != "Ram Kumar" {
		t.Errorf("member 2 = %+v", m1.Resident)
	}
	if st := e.status(); st["households"] != 1.0 || st["pending"] != 3.0 {
		t.Errorf("status = %v", st)
	}
}

func TestHouseholdAddInteractiveRefusal(t *testing.T) {
	e := registered(t)
	// Enrolling without consent breaks a rule only another outcome fixes.
	script := "DL-X1\n1 Road\n\nLoc\nCity\n110001\nenrolled\nn\nrefused\n"
	r := e.run(script, "household", "add")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	if !strings.Contains(r.err, "consent.given must be true to enrol a household (consent_required)") {
		t.Errorf("stderr lacks the consent rule:\n%s", r.err)
	}
	v := e.show(strings.TrimSpace(r.out))
	if v.Outcome != schema.OutcomeRefused || len(v.Members) != 0 {
		t.Errorf("household = %+v", v)
	}
}

func TestHouseholdAddInputEnds(t *testing.T) {
	e := registered(t)
	r := e.run("DL-X1\n1 Road\n", "household", "add")
	if r.code != 1 || !strings.Contains(r.err, "input ended before the household was complete; nothing was saved") {
		t.Errorf("exit %d, stderr %q", r.code, r.err)
	}
	if st := e.status(); st["households"] != 0.0 {
		t.Errorf("status = %v", st)
	}
}

const validJSON = `{"area": "DL-NW-W05", "address": {"line1": "House 12", "locality": "Rohini", "city": "Delhi", "pincode": "110085"},
 "outcome": "enrolled", "consent": {"given": true},
 "members": [{"name": "Ram Kumar", "sex": "M", "dob": "1980-05-12", "relation": "head", "aadhaar": "` + aadhaar1 + `"},
             {"name": "Sita Devi", "sex": "F", "dob": "1984", "relation": "spouse"},
             {"name": "Mohan Kumar", "sex": "M", "age": 8, "relation": "son"}]}`

func TestHouseholdAddJSON(t *testing.T) {
	e := registered(t)
	r := e.mustRun(validJSON, "household", "add", "--json", "-")
	v := e.show(strings.TrimSpace(r.out))
	if len(v.Members) != 3 || v.Members[2].DOBPrecision != schema.PrecisionEstimated {
		t.Errorf("household = %+v", v)
	}

	bad := strings.Replace(validJSON, `"dob": "1984"`, `"dob": "2999-01-01"`, 1)
	bad = strings.Replace(bad, `"110085"`, `"11008"`, 1)
	path := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(path, []byte(bad), 0o600)
	r = e.run("", "household", "add", "--json", path)
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	want := "error: the household was not saved; fix 2 rules:\n" +
		"  address.pincode must be 6 digits not starting with 0, like 110085 (pincode_format)\n" +
		"  members[1].dob must not be in the future (not_future)\n"
	if r.err != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.err, want)
	}
	if st := e.status(); st["households"] != 1.0 || st["residents"] != 3.0 {
		t.Errorf("a rejected household wrote something: %v", st)
	}
}

func TestImportCommand(t *testing.T) {
	e := registered(t)
	var buf bytes.Buffer
	surveytest.WriteJSONL(&buf, surveytest.Households(30, 2))
	buf.WriteString(`{"area": "DL-NW-W05", "address": {"line1": "x", "locality": "y", "city": "z", "pincode": "12345"}, "outcome": "locked"}` + "\n")
	buf.WriteString("{oops\n")
	path := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(path, buf.Bytes(), 0o600)

	r := e.mustRun("", "import", path)
	want := "imported 30 households, skipped 0 already on this laptop, 2 lines failed\n" +
		"  line 31: address.pincode must be 6 digits not starting with 0, like 110085 (pincode_format)\n"
	if !strings.HasPrefix(r.out, want) || !strings.Contains(r.out, "  line 32: is not one household") {
		t.Errorf("output:\n%s", r.out)
	}
	r = e.mustRun("", "import", path, "--json")
	var rep surveyor.ImportReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || rep.Skipped != 30 || rep.Failed != 2 || rep.Errors[0].Line != 31 || rep.Errors[0].Field != "address.pincode" {
		t.Errorf("re-import = %+v", rep)
	}
}

func TestEditInteractiveBumpsVersions(t *testing.T) {
	e := registered(t)
	id := strings.TrimSpace(e.mustRun(validJSON, "household", "add", "--json", "-").out)
	e.mustRun("", "sync")
	if st := e.status(); st["pending"] != 0.0 {
		t.Fatalf("status after sync = %v", st)
	}
	// Keep every household field, edit member 2's name, remove member 3,
	// add nobody.
	script := strings.Repeat("\n", 6) + // area, address lines, pincode
		"\n" + // outcome
		"\n" + // consent (yes)
		"k\n" +
		"e\nSita Kumari\n" + strings.Repeat("\n", 7) +
		"r\n" +
		"n\n"
	r := e.run(script, "edit", id)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	if !strings.Contains(r.err, "saved household "+id+": 2 changed records to send") {
		t.Errorf("stderr:\n%s", r.err)
	}
	v := e.show(id)
	if v.Version != 1 || len(v.Members) != 2 || v.Members[1].Name != "Sita Kumari" || v.Members[1].Version != 2 ||
		v.Members[1].SyncStatus != surveyor.StatusPending || v.Members[0].Version != 1 || v.Members[0].SyncStatus != surveyor.StatusSynced {
		t.Errorf("after edit: %+v", v)
	}
	if v.Members[0].AadhaarLast4 != "0124" {
		t.Errorf("head lost the Aadhaar: %+v", v.Members[0].Resident)
	}
	if st := e.status(); st["pending"] != 2.0 {
		t.Errorf("status = %v", st)
	}
	e.mustRun("", "sync")
	if got := e.srv.Version(schema.KindResident, v.Members[1].ID); got != 2 {
		t.Errorf("server has v%d of the edited member", got)
	}
}

func TestSyncRejectedListedAndFixedByEdit(t *testing.T) {
	e := registered(t)
	e.srv.Reject = func(r schema.Record) *schema.RecordResult {
		if strings.Contains(string(r.Data), `"Sita Devi"`) {
			return &schema.RecordResult{Kind: r.Kind, ID: r.ID, Version: r.Version, Status: schema.StatusRejected,
				Code: schema.EINVALID, Field: "name", Message: "matches a person already enrolled as deceased"}
		}
		return nil
	}
	id := strings.TrimSpace(e.mustRun(validJSON, "household", "add", "--json", "-").out)
	e.srv.FailNext(surveytest.Failure{Status: 503}, surveytest.Failure{Cut: true})

	r := e.mustRun("", "sync", "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accepted", "duplicate", "stale", "rejected", "bytes_sent", "seconds"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("sync --json lacks %q: %s", k, r.out)
		}
	}
	if rep["accepted"] != 3.0 || rep["rejected"] != 1.0 {
		t.Errorf("sync report = %s", r.out)
	}
	if !strings.Contains(r.err, "will retry") {
		t.Errorf("no retry logged: %s", r.err)
	}

	r = e.mustRun("", "list", "--rejected")
	if !strings.Contains(r.out, id) || !strings.Contains(r.out, id+"  members[1].name matches a person already enrolled as deceased (invalid)") {
		t.Errorf("list --rejected:\n%s", r.out)
	}
	var list []surveyor.HouseholdSummary
	json.Unmarshal([]byte(e.mustRun("", "list", "--rejected", "--json").out), &list)
	if len(list) != 1 || list[0].Rejections[0].Code != schema.EINVALID || list[0].Rejections[0].Field != "members[1].name" {
		t.Errorf("list --rejected --json = %+v", list)
	}
	r = e.mustRun("", "show", id)
	if !strings.Contains(r.out, "member 2 rejected: members[1].name matches a person already enrolled as deceased (invalid)") {
		t.Errorf("show:\n%s", r.out)
	}
	v := e.show(id)
	if v.Members[0].HealthID != surveytest.HealthIDFor(v.Members[0].ID) || v.Members[1].HealthID != "" {
		t.Errorf("health ids: %q %q", v.Members[0].HealthID, v.Members[1].HealthID)
	}

	// Fix by --json edit; the rejection is cleared and the member re-sent.
	e.srv.Reject = nil
	h := v.Schema()
	h.Members[1].Name = "Sita Kumari"
	b, _ := json.Marshal(h)
	e.mustRun(string(b), "edit", id, "--json", "-")
	if r := e.mustRun("", "list", "--rejected"); strings.Contains(r.out, id) {
		t.Errorf("still rejected after edit:\n%s", r.out)
	}
	r = e.mustRun("", "sync", "--json")
	json.Unmarshal([]byte(r.out), &rep)
	if rep["accepted"] != 1.0 || rep["rejected"] != 0.0 {
		t.Errorf("sync after fix: %s", r.out)
	}
	if st := e.status(); st["rejected"] != 0.0 || st["pending"] != 0.0 || st["last_sync"] == nil {
		t.Errorf("status = %v", st)
	}
}

func TestSyncGivesUpOn422(t *testing.T) {
	e := registered(t)
	e.mustRun(validJSON, "household", "add", "--json", "-")
	e.srv.FailNext(surveytest.Failure{Status: 422, Problem: &schema.Problem{Title: "Unprocessable", Status: 422,
		Code: schema.EINVALID, Message: "batch_id is required"}})
	r := e.run("", "sync")
	if r.code != 1 || !strings.Contains(r.err, "error: push batch") || !strings.Contains(r.err, "server answered 422: batch_id is required") {
		t.Errorf("exit %d, stderr %q", r.code, r.err)
	}
	if n := len(e.srv.Pushes()); n != 1 {
		t.Errorf("%d pushes; a 422 is not retried", n)
	}
}

func TestExport(t *testing.T) {
	e := registered(t)
	var buf bytes.Buffer
	surveytest.WriteJSONL(&buf, surveytest.Households(80, 9))
	in := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(in, buf.Bytes(), 0o600)
	e.mustRun("", "import", in)
	before := e.status()

	out := filepath.Join(t.TempDir(), "batches.jsonl")
	r := e.mustRun("", "export", "--out", out)
	pending := int(before["pending"].(float64))
	if want := fmt.Sprintf("wrote %d records in %d batches", pending, (pending+199)/200); !strings.Contains(r.out, want) {
		t.Errorf("output %q, want %q", r.out, want)
	}
	file, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 16<<20)
	records, lines := 0, 0
	seenHousehold := map[string]bool{}
	for sc.Scan() {
		lines++
		var b schema.Batch
		if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if b.DeviceID != e.srv.DeviceID || b.SchemaVersion != schema.SchemaVersion || b.BatchID == "" || len(b.Records) > 200 {
			t.Errorf("batch %d: %s %d %q %d records", lines, b.DeviceID, b.SchemaVersion, b.BatchID, len(b.Records))
		}
		for _, rec := range b.Records {
			records++
			if rec.Kind == schema.KindHousehold {
				seenHousehold[rec.ID] = true
				continue
			}
			var m schema.Resident
			json.Unmarshal(rec.Data, &m)
			if !seenHousehold[m.HouseholdID] {
				t.Errorf("resident %s comes before its household", rec.ID)
			}
		}
	}
	if records != pending {
		t.Errorf("%d records exported, want %d", records, pending)
	}
	if st := e.status(); st["pending"] != before["pending"] {
		t.Errorf("export changed pending: %v → %v", before["pending"], st["pending"])
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v", fi.Mode().Perm())
	}

	// --all after a sync writes everything although nothing is pending.
	e.mustRun("", "sync")
	r = e.mustRun("", "export", "--out", out, "--all", "--json")
	var sum map[string]any
	json.Unmarshal([]byte(r.out), &sum)
	if sum["records"] != float64(pending) {
		t.Errorf("export --all = %s", r.out)
	}
	r = e.mustRun("", "export", "--out", out, "--json")
	json.Unmarshal([]byte(r.out), &sum)
	if sum["records"] != 0.0 {
		t.Errorf("export after sync = %s", r.out)
	}
}

// cancelOnWrite cancels a context when a prompt is written, as Ctrl-C at
// that moment would.
type cancelOnWrite struct {
	bytes.Buffer
	cancel func()
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("survey area code")) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

func TestHouseholdAddStopsOnInterrupt(t *testing.T) {
	e := registered(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in, _ := io.Pipe() // a worker who never types
	errOut := &cancelOnWrite{cancel: cancel}
	f := &cli.Factory{
		IO:     cli.IOStreams{In: in, Out: io.Discard, ErrOut: errOut},
		Getenv: func(string) string { return "" },
	}
	code := cli.Run(ctx, f, []string{"--data", e.dir, "household", "add"})
	if code != 1 || !strings.Contains(errOut.String(), "error: stopped; nothing was saved") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// `show --json` output is accepted by `edit --json` as it is.
func TestShowJSONRoundTripsThroughEdit(t *testing.T) {
	e := registered(t)
	id := strings.TrimSpace(e.mustRun(validJSON, "household", "add", "--json", "-").out)
	shown := e.mustRun("", "show", id, "--json").out
	r := e.mustRun(shown, "edit", id, "--json", "-")
	if !strings.Contains(r.err, "nothing changed in household "+id) {
		t.Errorf("stderr %q", r.err)
	}
	changed := strings.Replace(shown, `"line1": "House 12"`, `"line1": "House 14"`, 1)
	r = e.mustRun(changed, "edit", id, "--json", "-")
	if !strings.Contains(r.err, "1 changed record to send") {
		t.Errorf("stderr %q", r.err)
	}
	if v := e.show(id); v.Version != 2 || v.Address.Line1 != "House 14" {
		t.Errorf("after edit: v%d %q", v.Version, v.Address.Line1)
	}
}

// Household-wide rules (exactly one head) are checked once all members
// are in; the worker picks what to re-enter.
func TestHouseholdAddFixesHouseholdRules(t *testing.T) {
	e := registered(t)
	script := "\n1 Road\n\nLoc\nCity\n110001\n\ny\n" +
		"A B\nM\n1970\nson\n\n\n\n\n" + // member 1, not the head
		"n\n" + // no more members
		"x\n" + // not a choice
		"1\n\n\n\nhead\n\n\n\n\n" // re-enter member 1: keep all but the relation
	r := e.run(script, "household", "add")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	for _, want := range []string{
		"the household cannot be saved yet:\n  ! members an enrolled household needs exactly one member with relation head, found 0 (one_head)\n",
		"  ! answer h, a member number, a, r N or q",
		"  name [A B]: ",
	} {
		if !strings.Contains(r.err, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.err)
		}
	}
	v := e.show(strings.TrimSpace(r.out))
	if len(v.Members) != 1 || v.Members[0].Relation != "head" || v.Members[0].Name != "A B" || v.Members[0].DOB != "1970" {
		t.Errorf("saved = %+v", v.Members)
	}

	// q leaves without saving.
	r = e.run("\n1 Road\n\nLoc\nCity\n110001\n\ny\nA B\nM\n1970\nson\n\n\n\n\nn\nq\n", "household", "add")
	if r.code != 1 || !strings.Contains(r.err, "error: left without saving") {
		t.Errorf("quit: exit %d, %q", r.code, r.err)
	}
}
