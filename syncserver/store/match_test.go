package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveygen"
	"github.com/doorstep-health/doorstep/syncserver/match"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// visitAt is when the hand-written test households were enrolled: ages
// stated then become estimated years of birth.
const visitAt = "2026-03-02T11:00:00+05:30"

// aadhaarKey stands in for the deployment's Aadhaar key in generated data.
var aadhaarKey = []byte("test aadhaar key, 32 bytes long!")

// registry is a store fed the way laptops feed it (ApplyBatch, then the
// matcher), with a read-only handle on its file to look at the persons
// it formed.
type registry struct {
	t     *testing.T
	s     *store.Store
	db    *sql.DB
	file  string // the store's --db: a SQLite path or a PostgreSQL URL
	keys  string
	teams map[string]string // team → device id
}

func (r *registry) path() string { return r.file }

// newRegistry opens an empty store.
func newRegistry(t *testing.T) *registry {
	t.Helper()
	db, keys := testdb.Registry(t)
	return openRegistry(t, db, keys)
}

// populated opens a store that already holds a few hundred generated
// households, so that the registry's size and name frequencies are a
// city's, not an empty database's. The households are matched once per
// test binary and the registry copied for each test.
func populated(t *testing.T) *registry {
	t.Helper()
	background.once.Do(func() {
		background.dir, background.err = os.MkdirTemp("", "store-match-test-")
		if background.err != nil {
			return
		}
		background.keys = filepath.Join(background.dir, "keys")
		background.db = filepath.Join(background.dir, "server.db")
		if testdb.Postgres() {
			if background.db, background.drop, background.err = testdb.CreateDatabase(); background.err != nil {
				return
			}
		}
		background.err = populate(background.db, background.keys)
	})
	if background.err != nil {
		t.Fatalf("populate background registry: %v", background.err)
	}
	if testdb.Postgres() {
		return openRegistry(t, testdb.CopyDatabase(t, background.db), background.keys)
	}
	path := filepath.Join(t.TempDir(), "server.db")
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(background.db + suffix)
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return openRegistry(t, path, background.keys)
}

// background is the populated registry, made once.
var background struct {
	once sync.Once
	dir  string
	db   string // a SQLite file in dir, or a PostgreSQL database
	keys string
	drop func() // drops the PostgreSQL database
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if background.drop != nil {
		background.drop()
	}
	if background.dir != "" {
		os.RemoveAll(background.dir)
	}
	os.Exit(code)
}

// populate registers 150 generated households, sent by one team and
// matched, in a new store at db.
func populate(db, keys string) error {
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.WithKeysDir(keys))
	if err != nil {
		return err
	}
	defer s.Close()
	dev, code, err := s.AddDevice(ctx, "background", "")
	if err != nil {
		return err
	}
	if _, err := s.RegisterDevice(ctx, code, "laptop"); err != nil {
		return err
	}
	hs, _ := generated(surveygen.Options{Households: 150, DupRate: 0, Seed: 7})
	res, err := s.ApplyBatch(ctx, dev, batch(dev, records(1, hs...)...), 0)
	if err != nil {
		return err
	}
	if _, _, _, rej := res.Counts(); rej > 0 {
		return fmt.Errorf("%d generated records rejected", rej)
	}
	if _, err := s.MatchAll(ctx); err != nil {
		return err
	}
	return s.Close()
}

func openRegistry(t *testing.T, db, keys string) *registry {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.WithKeysDir(keys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &registry{t: t, s: s, db: testdb.OpenSQL(t, db), file: db, keys: keys, teams: map[string]string{}}
}

func (r *registry) device(team string) string {
	r.t.Helper()
	if id, ok := r.teams[team]; ok {
		return id
	}
	id, _ := mustDevice(r.t, r.s, team)
	r.teams[team] = id
	return id
}

// records is what a laptop sends for households at version v: each
// household record, then its members as resident records.
func records(v int64, hs ...schema.Household) []schema.Record {
	var recs []schema.Record
	for _, h := range hs {
		members := h.Members
		h.Members = nil
		recs = append(recs, schema.Record{Kind: schema.KindHousehold, ID: h.ID, Version: v, Data: mustJSON(h)})
		for _, m := range members {
			m.HouseholdID = h.ID
			recs = append(recs, schema.Record{Kind: schema.KindResident, ID: m.ID, Version: v, Data: mustJSON(m)})
		}
	}
	return recs
}

// send applies one batch from team and fails on any rejected record.
func (r *registry) send(team string, recs []schema.Record) schema.BatchResult {
	r.t.Helper()
	dev := r.device(team)
	res := mustApply(r.t, r.s, dev, batch(dev, recs...))
	for _, rr := range res.Results {
		if rr.Status == schema.StatusRejected {
			r.t.Fatalf("%s %s rejected: %s %s", rr.Kind, rr.ID, rr.Field, rr.Message)
		}
	}
	return res
}

// sync sends households from team at version v and runs the matcher, as
// the server does right behind ingest.
func (r *registry) sync(team string, v int64, hs ...schema.Household) store.MatchReport {
	r.t.Helper()
	r.send(team, records(v, hs...))
	return r.match()
}

func (r *registry) match() store.MatchReport {
	r.t.Helper()
	rep, err := r.s.MatchAll(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

func (r *registry) personOf(resident string) string {
	r.t.Helper()
	var p sql.NullString
	if err := r.db.QueryRow(`SELECT person_id FROM residents WHERE id = ?`, resident).Scan(&p); err != nil {
		r.t.Fatalf("person of %s: %v", resident, err)
	}
	if !p.Valid {
		r.t.Fatalf("resident %s has no person", resident)
	}
	return p.String
}

// persons returns every active person with its live residents, sorted.
func (r *registry) persons() map[string][]string {
	r.t.Helper()
	rows, err := r.db.Query(`SELECT p.id, r.id FROM persons p JOIN residents r ON r.person_id = p.id
		WHERE p.status = 'active' AND r.deleted = 0 ORDER BY p.id, r.id`)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var p, res string
		if err := rows.Scan(&p, &res); err != nil {
			r.t.Fatal(err)
		}
		out[p] = append(out[p], res)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// task returns the review task about residents a and b, in any status.
func (r *registry) task(a, b string) (store.ReviewTask, bool) {
	r.t.Helper()
	tasks, err := r.s.ReviewTasks(context.Background(), store.ReviewFilter{Status: "all", Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	for _, t := range tasks {
		if (t.A.Resident.ID == a && t.B.Resident.ID == b) || (t.A.Resident.ID == b && t.B.Resident.ID == a) {
			return t, true
		}
	}
	return store.ReviewTask{}, false
}

func (r *registry) stats() store.Stats {
	r.t.Helper()
	return mustStats(r.t, r.s)
}

// generated returns surveygen households as a laptop sends them
// (normalised, Aadhaar protected) and each member's cluster.
func generated(opt surveygen.Options) ([]schema.Household, map[string]string) {
	g := surveygen.New(opt)
	var hs []schema.Household
	cluster := map[string]string{}
	for {
		gh, ok := g.Next()
		if !ok {
			break
		}
		h := gh.Schema()
		h.Normalize(surveygen.DefaultStart())
		h.ProtectAadhaar(aadhaarKey)
		for i, m := range h.Members {
			cluster[m.ID] = gh.Members[i].Cluster
		}
		hs = append(hs, h)
	}
	return hs, cluster
}

// home is a household enrolled at visitAt, normalised as a laptop saves
// it; its first member is the head.
func home(id, line1, locality, pincode string, members ...schema.Resident) schema.Household {
	h := schema.Household{ID: id, Area: "DL-NE-W02", Outcome: schema.OutcomeEnrolled,
		Address:   schema.Address{Line1: line1, Locality: locality, City: "Delhi", Pincode: pincode},
		Consent:   schema.Consent{Given: true},
		VisitedAt: visitAt, Members: members}
	for i := range h.Members {
		if h.Members[i].Relation == "" {
			h.Members[i].Relation = "other"
			if i == 0 {
				h.Members[i].Relation = "head"
			}
		}
	}
	h.Normalize(time.Now())
	return h
}

// person is a resident; dob is YYYY-MM-DD, YYYY, or "age N" for an age
// stated at the door.
func person(id, name, sex, dob string, edit ...func(*schema.Resident)) schema.Resident {
	r := schema.Resident{ID: id, Name: name, Sex: sex}
	var age int
	if _, err := fmt.Sscanf(dob, "age %d", &age); err == nil {
		r.Age = &age
	} else if len(dob) == 4 {
		r.DOB, r.DOBPrecision = dob, schema.PrecisionYear
	} else {
		r.DOB, r.DOBPrecision = dob, schema.PrecisionDay
	}
	for _, e := range edit {
		e(&r)
	}
	return r
}

func father(name string) func(*schema.Resident) {
	return func(r *schema.Resident) { r.FatherName = name }
}
func spouse(name string) func(*schema.Resident) {
	return func(r *schema.Resident) { r.SpouseName = name }
}
func phone(p string) func(*schema.Resident) { return func(r *schema.Resident) { r.Phone = p } }
func relation(rel string) func(*schema.Resident) {
	return func(r *schema.Resident) { r.Relation = rel }
}

// check is what must hold for one resident after matching.
type check struct {
	who string
	// never: residents who must not share who's person (a review task
	// about the pair is allowed).
	never []string
	// found: an earlier enrolment of the same human: who is linked to its
	// person, or an open review task asks about the pair. Never a silent
	// new person.
	found string
}

func (r *registry) verify(c check) {
	r.t.Helper()
	p := r.personOf(c.who)
	for _, n := range c.never {
		if r.personOf(n) == p {
			t, _ := r.task(c.who, n)
			r.t.Errorf("%s was linked to %s (%s)", c.who, n, t.Status)
		}
	}
	if c.found == "" {
		return
	}
	if r.personOf(c.found) == p {
		return
	}
	if t, ok := r.task(c.who, c.found); !ok || t.Status != "open" {
		r.t.Errorf("%s is a new person with no review task against %s (task: %v %q)", c.who, c.found, ok, t.Status)
	}
}

// The cases issue 3 says must hold, each against a registry holding a few
// hundred generated households first.
func TestMatchMustHold(t *testing.T) {
	twins := home("hh-twins", "H.No. 5, Gali 2", "Mangolpuri", "110083",
		person("mahesh", "Mahesh Yadav", "M", "1975-01-10", phone("+919822222222")),
		person("luv", "Luv Yadav", "M", "2012-08-15", father("Mahesh Yadav"), phone("+919822222222"), relation("son")),
		person("kush", "Kush Yadav", "M", "2012-08-15", father("Mahesh Yadav"), phone("+919822222222"), relation("son")))
	ramFather := person("ram-father", "Ram Kumar", "M", "1960-03-01", father("Shyam Lal"), phone("+919811111111"))
	ramSon := person("ram-son", "Ram Kumar", "M", "1985-07-10", father("Ram Kumar"), phone("+919811111111"), relation("son"))
	irfan := home("hh-irfan-1", "H.No. 45, Gali No. 6", "Jafrabad", "110053",
		person("irfan-1", "Mohammad Irfan Kureshi", "M", "1982-05-14", father("Abdul Rashid Kureshi"), phone("+919811234567")))
	lakshmi := home("hh-lakshmi-1", "H.No. 9, Gali 4", "Trilokpuri", "110091",
		person("lakshmi-1", "Lakshmi Verma", "F", "1990-06-30", spouse("Dinesh Verma"), phone("+919899887766")))

	tests := []struct {
		name   string
		before []schema.Household // enrolled first, by team A
		add    []schema.Household // then these, by team B
		checks []check
	}{
		{
			name:   "twins: one household, one date of birth, two names",
			add:    []schema.Household{twins},
			checks: []check{{who: "kush", never: []string{"luv"}}},
		},
		{
			name:   "twins re-enrolled by a second team are each found, never crossed",
			before: []schema.Household{twins},
			add: []schema.Household{home("hh-twins-2", "House 5 Gali 2", "Mangolpuri", "110083",
				person("mahesh-2", "Mahesh Yadav", "M", "age 51", phone("+919822222222")),
				person("luv-2", "Luv Yadav", "M", "2012-08-15", father("Mahesh Yadav"), relation("son")),
				person("kush-2", "Kush Yadav", "M", "2012-08-15", father("Mahesh Yadav"), relation("son")))},
			checks: []check{
				{who: "luv-2", never: []string{"kush", "kush-2"}, found: "luv"},
				{who: "kush-2", never: []string{"luv", "luv-2"}, found: "kush"},
			},
		},
		{
			name:   "father and son of one name in one household",
			add:    []schema.Household{home("hh-ram", "H.No. 44, Gali 9", "Seelampur", "110053", ramFather, ramSon)},
			checks: []check{{who: "ram-son", never: []string{"ram-father"}}},
		},
		{
			name:   "son of the father's name enrolled at his own door, with the family phone",
			before: []schema.Household{home("hh-ram", "H.No. 44, Gali 9", "Seelampur", "110053", ramFather)},
			add: []schema.Household{home("hh-ram-son", "H.No. 7, Gali 1", "Seelampur", "110053",
				person("ram-son-2", "Ram Kumar", "M", "1986", father("Ram Kumar"), phone("+919811111111")))},
			checks: []check{{who: "ram-son-2", never: []string{"ram-father"}}},
		},
		{
			name:   "son of the father's name, an age stated",
			before: []schema.Household{home("hh-ram", "H.No. 44, Gali 9", "Seelampur", "110053", ramFather)},
			add: []schema.Household{home("hh-ram-son", "H.No. 7, Gali 1", "Seelampur", "110053",
				person("ram-son-3", "Ram Kumar", "M", "age 40", phone("+919811111111")))},
			checks: []check{{who: "ram-son-3", never: []string{"ram-father"}}},
		},
		{
			name: "common names, one birth year, different localities",
			before: []schema.Household{
				home("hh-burari-1", "H.No. 12, Gali No. 3", "Burari", "110084", person("ram-burari", "Ram Kumar", "M", "1975")),
				home("hh-burari-2", "H.No. 80, Gali No. 11", "Burari", "110084", person("sunita-burari", "Sunita Devi", "F", "1980-04-11")),
			},
			add: []schema.Household{
				home("hh-okhla-1", "H.No. 300, Gali 14", "Okhla", "110025", person("ram-okhla", "Ram Kumar", "M", "1975")),
				home("hh-okhla-2", "H.No. 12, Gali 2", "Okhla", "110025", person("sunita-okhla", "Sunita Devi", "F", "1980-09-23")),
			},
			checks: []check{
				{who: "ram-okhla", never: []string{"ram-burari"}},
				{who: "sunita-okhla", never: []string{"sunita-burari"}},
			},
		},
		{
			name:   "re-enrolled: Mohd./Mohammad, Qureshi/Kureshi, an age instead of the date",
			before: []schema.Household{irfan},
			add: []schema.Household{home("hh-irfan-2", "House 45 Gali 6", "Jafrabad", "110053",
				person("irfan-2", "Mohd. Irfan Qureshi", "M", "age 43", father("Abdul Rasheed Qureshi"), phone("+919811234567")))},
			checks: []check{{who: "irfan-2", found: "irfan-1"}},
		},
		{
			name:   "re-enrolled: Mohd. Irfan Qureshi with an age and nothing else",
			before: []schema.Household{irfan},
			add: []schema.Household{home("hh-irfan-3", "House 45 Gali 6", "Jafrabad", "110053",
				person("irfan-3", "Mohd. Irfan Qureshi", "M", "age 44"))},
			checks: []check{{who: "irfan-3", found: "irfan-1"}},
		},
		{
			name:   "re-enrolled after moving: Laxmi/Lakshmi, Varma/Verma, an age",
			before: []schema.Household{lakshmi},
			add: []schema.Household{home("hh-lakshmi-2", "D-14, Block D", "Sultanpuri", "110086",
				person("lakshmi-2", "Smt. Laxmi Varma", "F", "age 35", spouse("Dinesh Varma")))},
			checks: []check{{who: "lakshmi-2", found: "lakshmi-1"}},
		},
		{
			name:   "re-enrolled at home: Laxmi, an age, the same phone",
			before: []schema.Household{lakshmi},
			add: []schema.Household{home("hh-lakshmi-3", "H No 9 Gali 4", "Trilokpuri", "110091",
				person("lakshmi-3", "Laxmi Verma", "F", "age 36", phone("+919899887766")))},
			checks: []check{{who: "lakshmi-3", found: "lakshmi-1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := populated(t)
			if len(tt.before) > 0 {
				r.sync("team-a", 1, tt.before...)
			}
			r.sync("team-b", 1, tt.add...)
			for _, c := range tt.checks {
				r.verify(c)
			}
		})
	}
}

// Re-sending a batch, or a new version that changes nothing matching looks
// at, creates no second person and no second review task; an edit to a
// name matches the resident again.
func TestMatchResyncAndEdit(t *testing.T) {
	r := populated(t)
	first := home("hh-irfan-1", "H.No. 45, Gali No. 6", "Jafrabad", "110053",
		person("irfan-1", "Mohammad Irfan Kureshi", "M", "1982-05-14", father("Abdul Rashid Kureshi"), phone("+919811234567")))
	lakshmi := home("hh-lakshmi-1", "H.No. 9, Gali 4", "Trilokpuri", "110091",
		person("lakshmi-1", "Lakshmi Verma", "F", "1990-06-30", spouse("Dinesh Verma")))
	r.sync("team-a", 1, first, lakshmi)

	// Team B enrols Irfan again with his name mistyped beyond recognition,
	// and Lakshmi as she gives it now.
	second := home("hh-irfan-2", "House 45 Gali 6", "Jafrabad", "110053",
		person("irfan-2", "Ifran Ali", "M", "age 43"))
	lakshmi2 := home("hh-lakshmi-2", "D-14, Block D", "Sultanpuri", "110086",
		person("lakshmi-2", "Smt. Laxmi Varma", "F", "age 35", spouse("Dinesh Varma")))
	recs := records(1, second, lakshmi2)
	r.send("team-b", recs)
	r.match()
	if r.personOf("irfan-2") == r.personOf("irfan-1") {
		t.Fatal("a mistyped name was linked: the edit below would show nothing")
	}
	before, beforeTasks := r.stats(), r.openTasks()

	// The same batch again, and then the same content as version 2.
	res := r.send("team-b", recs)
	for _, rr := range res.Results {
		if rr.Status != schema.StatusDuplicate {
			t.Errorf("re-sent %s %s: %s", rr.Kind, rr.ID, rr.Status)
		}
	}
	if rep := r.match(); rep.Residents != 0 {
		t.Errorf("re-sent batch matched again: %+v", rep)
	}
	r.send("team-b", records(2, second, lakshmi2))
	if rep := r.match(); rep.Residents != 2 || rep.Unchanged != 2 {
		t.Errorf("new version with the same content: %+v, want 2 residents unchanged", rep)
	}
	after, afterTasks := r.stats(), r.openTasks()
	if after.Persons != before.Persons || after.ReviewOpen != before.ReviewOpen || !slices.Equal(afterTasks, beforeTasks) {
		t.Errorf("re-sync changed persons or tasks: %d→%d persons, tasks %v→%v", before.Persons, after.Persons, beforeTasks, afterTasks)
	}

	// The supervisor has the name fixed on the laptop: version 3.
	fixed := second
	fixed.Members = []schema.Resident{second.Members[0]}
	fixed.Members[0].Name = "Mohd. Irfan Qureshi"
	fixed.Members[0].FatherName = "Abdul Rasheed Qureshi"
	fixed.Members[0].Phone = "+919811234567"
	r.send("team-b", records(3, fixed))
	if rep := r.match(); rep.Residents != 1 || rep.Unchanged != 0 {
		t.Errorf("edit matched %+v, want the edited resident matched again", rep)
	}
	if a, b := r.personOf("irfan-2"), r.personOf("irfan-1"); a != b {
		if task, ok := r.task("irfan-1", "irfan-2"); !ok || task.Status != "open" {
			t.Errorf("after the name was fixed, irfan-2 (%s) is neither linked to irfan-1 (%s) nor in review", a, b)
		}
	}
}

// openTasks returns the ids of the open review tasks, sorted.
func (r *registry) openTasks() []int64 {
	r.t.Helper()
	ids := r.openTasksListed(store.ReviewFilter{Limit: 1000})
	slices.Sort(ids)
	return ids
}

// openTasksListed returns the ids of the tasks f selects, in the
// listing's order.
func (r *registry) openTasksListed(f store.ReviewFilter) []int64 {
	r.t.Helper()
	tasks, err := r.s.ReviewTasks(context.Background(), f)
	if err != nil {
		r.t.Fatal(err)
	}
	var ids []int64
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	return ids
}

// reviewCase registers Lakshmi, then her re-enrolment after a move, which
// the matcher is unsure of, and returns the open task about the pair.
func reviewCase(t *testing.T) (*registry, store.ReviewTask) {
	t.Helper()
	r := populated(t)
	r.sync("team-a", 1, home("hh-lakshmi-1", "H.No. 9, Gali 4", "Trilokpuri", "110091",
		person("lakshmi-1", "Lakshmi Verma", "F", "1990-06-30", spouse("Dinesh Verma")),
		person("dinesh-1", "Dinesh Verma", "M", "1986-01-20", relation("spouse"))))
	r.sync("team-b", 1, lakshmiMoved(1))
	task, ok := r.task("lakshmi-1", "lakshmi-2")
	if !ok || task.Status != "open" {
		t.Fatalf("no open review task about lakshmi-1 and lakshmi-2 (persons %s, %s)", r.personOf("lakshmi-1"), r.personOf("lakshmi-2"))
	}
	return r, task
}

// lakshmiMoved is Lakshmi enrolled again by another team after a move:
// the name as heard, an age, nothing else. At version 2 she has given a
// phone number meanwhile: a change matching looks at, so she is matched
// again.
func lakshmiMoved(v int64) schema.Household {
	l := person("lakshmi-2", "Laxmi Varma", "F", "age 35")
	if v > 1 {
		l.Phone = "+919700011122"
	}
	return home("hh-lakshmi-2", "D-14, Block D", "Sultanpuri", "110086", l)
}

// A supervisor's decision is final: "same" merges the two persons,
// "different" keeps them apart, and neither pair comes back, whatever the
// laptops send again.
func TestReviewDecision(t *testing.T) {
	ctx := context.Background()
	for _, decision := range []string{store.DecisionSame, store.DecisionDifferent} {
		t.Run(decision, func(t *testing.T) {
			r, task := reviewCase(t)
			before := r.stats()
			pa, pb := r.personOf("lakshmi-1"), r.personOf("lakshmi-2")

			got, err := r.s.DecideReview(ctx, task.ID, decision, "asha")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != decision || got.DecidedBy != "asha" || got.DecidedAt == "" {
				t.Errorf("decided task: %s by %q at %q", got.Status, got.DecidedBy, got.DecidedAt)
			}
			after := r.stats()
			merged := r.personOf("lakshmi-1") == r.personOf("lakshmi-2")
			switch decision {
			case store.DecisionSame:
				if !merged || r.personOf("lakshmi-1") != pa || after.Persons != before.Persons-1 || after.Merged != before.Merged+1 {
					t.Errorf("same: merged %v (survivor %s, want %s), persons %d→%d, merged %d→%d",
						merged, r.personOf("lakshmi-1"), pa, before.Persons, after.Persons, before.Merged, after.Merged)
				}
			case store.DecisionDifferent:
				if merged || r.personOf("lakshmi-2") != pb || after.Persons != before.Persons {
					t.Errorf("different: merged %v, persons %d→%d", merged, before.Persons, after.Persons)
				}
			}
			if after.ReviewOpen != before.ReviewOpen-1 || after.ReviewDecided != before.ReviewDecided+1 {
				t.Errorf("review open %d→%d, decided %d→%d", before.ReviewOpen, after.ReviewOpen, before.ReviewDecided, after.ReviewDecided)
			}

			// The same decision again is a no-op; the other is a conflict.
			if _, err := r.s.DecideReview(ctx, task.ID, decision, "asha"); err != nil {
				t.Errorf("deciding again the same way: %v", err)
			}
			other := map[string]string{store.DecisionSame: store.DecisionDifferent, store.DecisionDifferent: store.DecisionSame}[decision]
			if _, err := r.s.DecideReview(ctx, task.ID, other, "asha"); schema.ErrorCode(err) != schema.ECONFLICT {
				t.Errorf("deciding %s after %s: %v, want a conflict", other, decision, err)
			}

			// The laptop syncs again, then sends a new version with new
			// evidence: the resident is matched again, the pair stays
			// decided and no task about it is opened.
			settled := r.persons()
			res := r.send("team-b", records(1, lakshmiMoved(1)))
			if res.Results[1].Status != schema.StatusDuplicate {
				t.Errorf("re-sync: %s", res.Results[1].Status)
			}
			r.match()
			if rep := r.sync("team-b", 2, lakshmiMoved(2)); rep.Residents != 1 || rep.Unchanged != 0 {
				t.Errorf("new version with a phone: %+v, want the resident matched again", rep)
			}
			if now := r.persons(); !equalPersons(now, settled) {
				t.Errorf("persons changed after re-sync and a new version:\n%v\n%v", settled, now)
			}
			if again, _ := r.task("lakshmi-1", "lakshmi-2"); again.ID != task.ID || again.Status != decision {
				t.Errorf("task after re-sync: #%d %s, want #%d %s", again.ID, again.Status, task.ID, decision)
			}
			if st := r.stats(); st.ReviewOpen != after.ReviewOpen {
				t.Errorf("review open %d after re-sync, want %d", st.ReviewOpen, after.ReviewOpen)
			}
		})
	}
}

func equalPersons(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for p, rs := range a {
		if !slices.Equal(rs, b[p]) {
			return false
		}
	}
	return true
}

// Unmerge restores both persons exactly, and matching never joins them
// again on its own.
func TestUnmerge(t *testing.T) {
	ctx := context.Background()
	t.Run("a merge decided in review", func(t *testing.T) {
		r, task := reviewCase(t)
		beforeMerge, statsBefore := r.persons(), r.stats()
		pa, pb := r.personOf("lakshmi-1"), r.personOf("lakshmi-2")
		if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
			t.Fatal(err)
		}
		res, err := r.s.Unmerge(ctx, pb, "asha")
		if err != nil {
			t.Fatal(err)
		}
		if res.Survivor != pa || res.Restored != pb || !slices.Equal(res.Residents, []string{"lakshmi-2"}) {
			t.Errorf("unmerge: %+v", res)
		}
		if now := r.persons(); !equalPersons(now, beforeMerge) {
			t.Errorf("persons after unmerge differ from before the merge:\n%v\n%v", beforeMerge, now)
		}
		if st := r.stats(); st.Persons != statsBefore.Persons || st.Merged != statsBefore.Merged {
			t.Errorf("persons %d→%d, merged %d→%d", statsBefore.Persons, st.Persons, statsBefore.Merged, st.Merged)
		}
		if _, err := r.s.Unmerge(ctx, pb, "asha"); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Errorf("unmerge twice: %v, want a conflict", err)
		}

		// A new version of Lakshmi's re-enrolment is matched again and
		// stays apart.
		if rep := r.sync("team-b", 2, lakshmiMoved(2)); rep.Residents != 1 || rep.Unchanged != 0 {
			t.Errorf("new version with a phone: %+v, want the resident matched again", rep)
		}
		if now := r.persons(); !equalPersons(now, beforeMerge) {
			t.Errorf("a later re-match changed the persons:\n%v\n%v", beforeMerge, now)
		}
	})

	t.Run("an automatic link", func(t *testing.T) {
		r := populated(t)
		irfan := person("irfan-1", "Mohammad Irfan Kureshi", "M", "1982-05-14", father("Abdul Rashid Kureshi"), phone("+919811234567"))
		r.sync("team-a", 1, home("hh-irfan-1", "H.No. 45, Gali No. 6", "Jafrabad", "110053", irfan))
		again := func(v int64) schema.Household {
			p := person("irfan-2", "Mohd. Irfan Qureshi", "M", "1982-05-14", father("Abdul Rashid Qureshi"), phone("+919811234567"))
			if v > 1 {
				p.Documents = []schema.Document{{Type: "voter_id", Number: "DLN1234567"}}
			}
			return home("hh-irfan-2", "House 45 Gali 6", "Jafrabad", "110053", p)
		}
		r.sync("team-b", 1, again(1))
		person := r.personOf("irfan-1")
		if r.personOf("irfan-2") != person {
			t.Fatal("a re-enrolment agreeing on date of birth, phone, father and address was not linked")
		}
		before := r.stats()
		res, err := r.s.Unmerge(ctx, "irfan-2", "asha")
		if err != nil {
			t.Fatal(err)
		}
		if res.Survivor != person || res.Restored == person || !slices.Equal(res.Residents, []string{"irfan-2"}) {
			t.Errorf("unmerge: %+v", res)
		}
		ps := r.persons()
		if !slices.Equal(ps[person], []string{"irfan-1"}) || !slices.Equal(ps[res.Restored], []string{"irfan-2"}) {
			t.Errorf("persons after unlinking: %v", ps)
		}
		if st := r.stats(); st.Persons != before.Persons+1 {
			t.Errorf("persons %d→%d", before.Persons, st.Persons)
		}
		if rep := r.sync("team-b", 2, again(2)); rep.Residents != 1 || rep.Unchanged != 0 {
			t.Errorf("new version with a voter ID: %+v, want the resident matched again", rep)
		}
		if now := r.persons(); !equalPersons(now, ps) {
			t.Errorf("a later re-match changed the persons:\n%v\n%v", ps, now)
		}
		if _, err := r.s.Unmerge(ctx, "irfan-2", "asha"); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Errorf("unlinking a resident alone in its person: %v, want a conflict", err)
		}
		if _, err := r.s.Unmerge(ctx, "no-such-id", "asha"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Errorf("unmerge of an unknown id: %v, want not found", err)
		}
	})
}

// On generated Delhi data with known duplicates, the links the store makes
// on its own are nearly all right, and the store decides as the in-memory
// reference matcher does.
func TestMatchPrecisionOnGeneratedData(t *testing.T) {
	t.Parallel()
	r := newRegistry(t)
	hs, cluster := generated(surveygen.Options{Households: 400, DupRate: 0.1, Seed: 1})
	// Two teams, batches of about 200 records, as laptops send them.
	var chunk []schema.Household
	n := 0
	for i, h := range hs {
		chunk = append(chunk, h)
		n += 1 + len(h.Members)
		if n >= 200 || i == len(hs)-1 {
			r.send(fmt.Sprintf("team-%d", i%2), records(1, chunk...))
			chunk, n = nil, 0
		}
	}
	rep := r.match()

	var truth, pred []string
	for p, rs := range r.persons() {
		for _, id := range rs {
			truth, pred = append(truth, cluster[id]), append(pred, p)
		}
	}
	if len(truth) != len(cluster) {
		t.Fatalf("%d residents in persons, %d generated", len(truth), len(cluster))
	}
	truePairs, linked, correct := match.PairCounts(truth, pred)
	precision, recall := float64(correct)/float64(linked), float64(correct)/float64(truePairs)
	st := r.stats()
	t.Logf("store: %d residents, %d persons, %d true pairs, %d linked pairs, %d correct: precision %.4f recall %.4f; %d review tasks",
		len(truth), st.Persons, truePairs, linked, correct, precision, recall, st.ReviewOpen)
	if precision < 0.98 {
		t.Errorf("precision of automatic links %.4f, want at least 0.98", precision)
	}
	if recall < 0.5 {
		t.Errorf("recall %.4f: hardly anything linked", recall)
	}
	if rep.Review != int(st.ReviewOpen) {
		t.Errorf("matcher reported %d reviews, %d tasks are open", rep.Review, st.ReviewOpen)
	}

	// Paging through the open tasks, two at a time, gives the listing.
	all := r.openTasksListed(store.ReviewFilter{Limit: 1000})
	var paged []int64
	for after := int64(0); len(paged) <= len(all); {
		page := r.openTasksListed(store.ReviewFilter{Limit: 2, After: after})
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1]
	}
	if len(all) < 3 || !slices.Equal(paged, all) {
		t.Errorf("paged %v, listed %v", paged, all)
	}

	// The reference matcher over the same households in the same order.
	data := make([]match.Labelled, len(hs))
	for i, h := range hs {
		data[i].Household = h
		for _, m := range h.Members {
			data[i].Clusters = append(data[i].Clusters, cluster[m.ID])
		}
	}
	ref := match.Evaluate(data, match.DefaultModel(), match.MatcherOptions{})
	t.Logf("reference: precision %.4f recall %.4f, %d persons, %d review tasks", ref.Precision, ref.Recall, ref.Persons, ref.ReviewTasks)
	if ref.TruePairs != truePairs || ref.LinkedPairs != linked || ref.CorrectPairs != correct || ref.Persons != int(st.Persons) {
		t.Errorf("store and reference matcher differ: linked %d/%d, correct %d/%d, persons %d/%d",
			linked, ref.LinkedPairs, correct, ref.CorrectPairs, st.Persons, ref.Persons)
	}
}

// A model trained by another process (`syncserver match train` while the
// server runs, or another server on a shared registry) is the one the
// running server's matcher uses from its next round.
func TestMatcherTakesUpAModelTrainedElsewhere(t *testing.T) {
	ctx := context.Background()
	r := populated(t)
	cli, err := store.Open(ctx, r.file, store.WithKeysDir(r.keys))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	trained, err := cli.TrainModel(ctx, match.TrainOptions{RandomPairs: 5000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(trained.Model)
	if got, _ := json.Marshal(r.s.Model()); string(got) == string(want) {
		t.Fatal("the trained model equals the server's before it looked; the test proves nothing")
	}
	r.match()
	if got, _ := json.Marshal(r.s.Model()); string(got) != string(want) {
		t.Errorf("after a matching round the server still uses its old model")
	}
}
