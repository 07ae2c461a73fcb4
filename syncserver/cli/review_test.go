package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveygen"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// devices registers n laptops on the env's database and returns their ids.
func (e *cmdEnv) devices(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	e.withStore(t, func(s *store.Store) {
		ctx := context.Background()
		for i := range n {
			id, code, err := s.AddDevice(ctx, fmt.Sprintf("team-%d", i+1), "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RegisterDevice(ctx, code, ""); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	})
	return ids
}

// householdRecords is what a laptop sends for h: the household record,
// then its members.
func householdRecords(h schema.Household) []schema.Record {
	h.Normalize(time.Now())
	members := h.Members
	h.Members = nil
	b, _ := json.Marshal(h)
	recs := []schema.Record{{Kind: schema.KindHousehold, ID: h.ID, Version: 1, Data: b}}
	for _, m := range members {
		b, _ := json.Marshal(m)
		recs = append(recs, schema.Record{Kind: schema.KindResident, ID: m.ID, Version: 1, Data: b})
	}
	return recs
}

func moved(id, line1, locality, pincode string, m schema.Resident) schema.Household {
	m.Relation = "head"
	return schema.Household{ID: id, Area: "DL-NE-W02", Outcome: schema.OutcomeEnrolled,
		Address:   schema.Address{Line1: line1, Locality: locality, City: "Delhi", Pincode: pincode},
		Consent:   schema.Consent{Given: true},
		VisitedAt: "2026-03-02T11:00:00+05:30", Members: []schema.Resident{m}}
}

// importReviewCases imports, as 'syncserver import' does, two women
// enrolled by team 1 and again after a move by team 2 with their names as
// heard and an age: two pairs the matcher asks a supervisor about.
func (e *cmdEnv) importReviewCases(t *testing.T) {
	t.Helper()
	dev := e.devices(t, 2)
	age := func(n int) *int { return &n }
	file := writeJSONL(t, e.dir, "export.jsonl",
		batch(dev[0], append(
			householdRecords(moved("hh-1", "H.No. 9, Gali 4", "Trilokpuri", "110091",
				schema.Resident{ID: "lakshmi-1", Name: "Lakshmi Verma", Sex: "F", DOB: "1990-06-30", Phone: "+919899887766",
					Documents: []schema.Document{{Type: "voter_id", Number: "DLN1234567"}}})),
			householdRecords(moved("hh-2", "H.No. 31, Gali 8", "Mangolpuri", "110083",
				schema.Resident{ID: "sunita-1", Name: "Suneeta Shrivastava", Sex: "F", DOB: "1984-02-11"}))...)...),
		batch(dev[1], append(
			householdRecords(moved("hh-3", "D-14, Block D", "Sultanpuri", "110086",
				schema.Resident{ID: "lakshmi-2", Name: "Laxmi Varma", Sex: "F", Age: age(35)})),
			householdRecords(moved("hh-4", "B-2, Block B", "Kirari", "110086",
				schema.Resident{ID: "sunita-2", Name: "Sunita Srivastav", Sex: "F", Age: age(42)}))...)...),
	)
	e.ok(t, "import", file)
}

type reviewTask struct {
	ID          int64   `json:"id"`
	Status      string  `json:"status"`
	Probability float64 `json:"probability"`
	DecidedBy   string  `json:"decided_by"`
	A, B        struct {
		Resident struct{ ID, Name string }
		Person   string
	}
	Comparison *struct {
		Evidence []struct{ Field, Level string }
		Weight   float64
	}
}

func (e *cmdEnv) tasks(t *testing.T, args ...string) []reviewTask {
	t.Helper()
	var out struct{ Tasks []reviewTask }
	if err := json.Unmarshal([]byte(e.ok(t, append([]string{"review", "list", "--json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out.Tasks
}

func (e *cmdEnv) stats(t *testing.T) store.Stats {
	t.Helper()
	var st store.Stats
	if err := json.Unmarshal([]byte(e.ok(t, "stats", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReviewCommands(t *testing.T) {
	e := newCmdEnv(t)
	e.importReviewCases(t)

	tasks := e.tasks(t)
	if len(tasks) != 2 || tasks[0].Probability < tasks[1].Probability {
		t.Fatalf("review list: %+v, want 2 tasks, the most likely first", tasks)
	}
	if table := e.ok(t, "review", "list"); !strings.HasPrefix(table, "ID ") || !strings.Contains(table, "Laxmi Varma") ||
		!strings.Contains(table, "Suneeta Shrivastava") {
		t.Errorf("review list:\n%s", table)
	}
	if got := e.tasks(t, "--limit", "1"); len(got) != 1 || got[0].ID != tasks[0].ID {
		t.Errorf("review list --limit 1: %+v", got)
	}
	lakshmi := tasks[0]
	if lakshmi.A.Resident.ID != "lakshmi-2" {
		lakshmi = tasks[1]
	}
	id := fmt.Sprint(lakshmi.ID)

	// Side by side, field by field, then the evidence adding up.
	show := e.ok(t, "review", "show", id)
	for _, want := range []string{
		"review task " + id + ": open",
		"name", "Laxmi Varma", "Lakshmi Verma",
		"dob", "(from age)", "1990-06-30",
		"phone", "+919899887766",
		"documents", "voter_id DLN1234567",
		"address", "D-14, Block D, Sultanpuri, Delhi, 110086", "H.No. 9, Gali 4, Trilokpuri, Delhi, 110091",
		"area", "device",
		"FIELD", "LEVEL", "WEIGHT", "prior", "total", "probability",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("review show lacks %q:\n%s", want, show)
		}
	}
	var shown reviewTask
	if err := json.Unmarshal([]byte(e.ok(t, "review", "show", id, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Comparison == nil || len(shown.Comparison.Evidence) < 5 || shown.Comparison.Evidence[0].Field != "name" {
		t.Errorf("review show --json: %+v", shown)
	}

	// "same" merges the two persons.
	before := e.stats(t)
	if out := e.ok(t, "review", "decide", id, "same", "--by", "asha"); !strings.Contains(out, "same person") {
		t.Errorf("review decide: %q", out)
	}
	if after := e.stats(t); after.Persons != before.Persons-1 || after.ReviewOpen != before.ReviewOpen-1 {
		t.Errorf("after same: persons %d→%d, open %d→%d", before.Persons, after.Persons, before.ReviewOpen, after.ReviewOpen)
	}
	same := e.tasks(t, "--status", "same")
	if len(same) != 1 || same[0].ID != lakshmi.ID || same[0].DecidedBy != "asha" || same[0].A.Person != same[0].B.Person {
		t.Errorf("review list --status same: %+v", same)
	}
	if r := e.run(t, "", "review", "decide", id, "different"); r.code != 1 || !strings.Contains(r.err, "already decided same") {
		t.Errorf("deciding the other way: %+v", r)
	}

	// Unmerge restores Laxmi's person as it was.
	m, keys := keysOf(t, e.ok(t, "person", "unmerge", lakshmi.A.Person, "--json", "--by", "asha"))
	if !slices.Equal(keys, []string{"residents", "restored", "survivor"}) || m["restored"] != lakshmi.A.Person || m["survivor"] != lakshmi.B.Person {
		t.Errorf("person unmerge: %v", m)
	}
	if after := e.stats(t); after.Persons != before.Persons {
		t.Errorf("persons after unmerge %d, want %d", after.Persons, before.Persons)
	}
	if r := e.run(t, "", "person", "unmerge", lakshmi.A.Person); r.code != 1 || !strings.HasPrefix(r.err, "error: ") {
		t.Errorf("unmerge twice: %+v", r)
	}

	// The other task, decided different by the user running the command.
	e.env["USER"] = "ravi"
	other := fmt.Sprint(tasks[0].ID + tasks[1].ID - lakshmi.ID)
	if out := e.ok(t, "review", "decide", other, "different"); !strings.Contains(out, "stay apart") {
		t.Errorf("review decide different: %q", out)
	}
	if diff := e.tasks(t, "--status", "different"); len(diff) != 2 || !slices.ContainsFunc(diff, func(t reviewTask) bool { return t.DecidedBy == "ravi" }) {
		t.Errorf("review list --status different: %+v", diff)
	}
	if open := e.ok(t, "review", "list"); !strings.Contains(open, "no open review tasks") {
		t.Errorf("review list with nothing open: %q", open)
	}

	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"review", "decide", id, "maybe"}, 2, "same or different"},
		{[]string{"review", "decide", id}, 2, ""},
		{[]string{"review", "show", "abc"}, 2, "positive whole number"},
		{[]string{"review", "show", "999"}, 1, "no review task 999"},
		{[]string{"review", "list", "--status", "closed"}, 1, "status: must be open, same, different or all"},
		{[]string{"review", "list", "--limit", "5000"}, 2, "--limit must be from 1 to 1000"},
		{[]string{"review"}, 2, "needs a command"},
		{[]string{"person", "unmerge"}, 2, ""},
		{[]string{"person", "unmerge", "NO-SUCH"}, 1, "no person or resident NO-SUCH"},
	} {
		r := e.run(t, "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.err, tt.err) {
			t.Errorf("syncserver %s: exit %d %q, want %d %q", strings.Join(tt.args, " "), r.code, r.err, tt.code, tt.err)
		}
	}
}

// writeGenerated writes surveygen households: the labelled file as
// surveygen prints it, and the same households as one laptop's export.
func writeGenerated(t *testing.T, e *cmdEnv, dev string, opt surveygen.Options) (labelled, export string) {
	t.Helper()
	var buf bytes.Buffer
	if err := surveygen.New(opt).Write(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	labelled = filepath.Join(e.dir, "labelled.jsonl")
	if err := os.WriteFile(labelled, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if dev == "" {
		return labelled, ""
	}
	var batches []schema.Batch
	var recs []schema.Record
	g := surveygen.New(opt)
	for {
		gh, ok := g.Next()
		if !ok {
			break
		}
		h := gh.Schema()
		h.Normalize(time.Now())
		h.ProtectAadhaar([]byte("test key"))
		recs = append(recs, householdRecords(h)...)
		if len(recs) > 200 {
			batches, recs = append(batches, batch(dev, recs...)), nil
		}
	}
	batches = append(batches, batch(dev, recs...))
	return labelled, writeJSONL(t, e.dir, "export.jsonl", batches...)
}

var evalKeys = []string{"records", "true_pairs", "precision", "recall", "f1", "review_tasks", "records_per_second"}

func TestMatchEval(t *testing.T) {
	e := newCmdEnv(t)
	file, _ := writeGenerated(t, e, "", surveygen.Options{Households: 150, DupRate: 0.15, Seed: 3})

	m, keys := keysOf(t, e.ok(t, "match", "eval", "--in", file, "--json"))
	for _, k := range evalKeys {
		if !slices.Contains(keys, k) {
			t.Errorf("match eval --json lacks %q: %v", k, keys)
		}
	}
	if m["records"].(float64) < 300 || m["true_pairs"].(float64) < 10 || m["precision"].(float64) < 0.95 ||
		m["recall"].(float64) < 0.5 || m["records_per_second"].(float64) <= 0 || m["model"] != "default" {
		t.Errorf("match eval: %v", m)
	}
	if _, err := os.Stat(e.env["SYNCSERVER_DB"]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("match eval created the database: %v", err)
	}
	human := e.ok(t, "match", "eval", "--in", file)
	for _, want := range []string{"precision", "recall", "f1", "review tasks", "records/second"} {
		if !strings.Contains(human, want) {
			t.Errorf("match eval lacks %q:\n%s", want, human)
		}
	}

	// Missing sex, phone and relatives are missing evidence: the same
	// name, date of birth and address still link.
	sparse := filepath.Join(e.dir, "sparse.jsonl")
	line := `{"area":"DL-NE-W02","address":{"line1":"H.No. 45, Gali No. 6","locality":"Jafrabad","city":"Delhi","pincode":"110053"},"outcome":"enrolled","members":[{"name":"%s","dob":"1982-05-14","relation":"head","cluster":"irfan"}]}` + "\n"
	data := fmt.Sprintf(line, "Mohammad Irfan Kureshi") + fmt.Sprintf(line, "Mohd. Irfan Qureshi")
	if err := os.WriteFile(sparse, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ = keysOf(t, e.ok(t, "match", "eval", "--in", sparse, "--json"))
	if m["records"] != 2.0 || m["true_pairs"] != 1.0 || m["precision"] != 1.0 || m["recall"] != 1.0 {
		t.Errorf("match eval on records without sex, phone or relatives: %v", m)
	}

	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"match", "eval"}, 2, "--in is required"},
		{[]string{"match", "eval", "--in", filepath.Join(e.dir, "none.jsonl")}, 1, "none.jsonl"},
		{[]string{"match"}, 2, "needs a command"},
	} {
		r := e.run(t, "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.err, tt.err) {
			t.Errorf("syncserver %s: exit %d %q, want %d %q", strings.Join(tt.args, " "), r.code, r.err, tt.code, tt.err)
		}
	}
}

func TestMatchTrain(t *testing.T) {
	e := newCmdEnv(t)
	if r := e.run(t, "", "match", "train"); r.code != 1 || !strings.Contains(r.err, "residents to learn from") {
		t.Errorf("match train on an empty registry: %+v", r)
	}
	dev := e.devices(t, 1)[0]
	labelled, export := writeGenerated(t, e, dev, surveygen.Options{Households: 150, DupRate: 0.15, Seed: 3})
	e.ok(t, "import", export)
	residents := e.stats(t).Residents

	var res struct {
		ID    int64
		Model struct {
			Fields []struct {
				Field  string
				Levels []struct {
					M, U   float64
					Source string
				}
			}
			DuplicateRate float64 `json:"duplicate_rate"`
		}
		Report struct {
			Records  int64
			Sessions []struct{ Key string }
		}
	}
	if err := json.Unmarshal([]byte(e.ok(t, "match", "train", "--random-pairs", "20000", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.ID != 1 || res.Report.Records != residents || len(res.Report.Sessions) == 0 || len(res.Model.Fields) == 0 || res.Model.DuplicateRate <= 0 {
		t.Fatalf("match train: id %d, %d records of %d, %d sessions, %d fields, duplicate rate %g",
			res.ID, res.Report.Records, residents, len(res.Report.Sessions), len(res.Model.Fields), res.Model.DuplicateRate)
	}
	estimated := 0
	for _, f := range res.Model.Fields {
		for _, l := range f.Levels {
			if strings.Contains(l.Source, "random pairs") {
				estimated++
			}
		}
	}
	if estimated == 0 {
		t.Error("match train estimated no u from random pairs")
	}

	// The trained model is the one in use, and eval judges it.
	m, _ := keysOf(t, e.ok(t, "match", "eval", "--in", labelled, "--json"))
	if m["model"] != "trained" || m["precision"].(float64) < 0.9 {
		t.Errorf("match eval with the trained model: %v", m)
	}
	human := e.ok(t, "match", "train", "--random-pairs", "20000")
	for _, want := range []string{"model", "2 (in use from now on)", "SESSION", "FIELD", "LEVEL", "name", "exact"} {
		if !strings.Contains(human, want) {
			t.Errorf("match train lacks %q:\n%s", want, human)
		}
	}
}
