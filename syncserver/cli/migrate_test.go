package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// A pilot's SQLite registry, with merges undone, review decisions, cards
// and tokens, is copied into PostgreSQL: every table matches by count and
// checksum, the copy serves the same figures, and writes after the switch
// carry on the pilot's sequences (the feed's next event follows its last,
// with no gap). A second copy into the same database is refused.
func TestMigrateStore(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("needs a PostgreSQL server in DOORSTEP_TEST_POSTGRES; make test-postgres sets it")
	}
	dir := t.TempDir()
	pilot := &cmdEnv{dir: dir, env: map[string]string{
		"SYNCSERVER_DB": filepath.Join(dir, "pilot.db"), "SYNCSERVER_KEYS": filepath.Join(dir, "pilot-keys")}}
	pilot.importReviewCases(t)
	tasks := pilot.tasks(t)
	if len(tasks) != 2 {
		t.Fatalf("review tasks: %+v", tasks)
	}
	pilot.ok(t, "review", "decide", fmt.Sprint(tasks[0].ID), "same", "--by", "asha")
	pilot.ok(t, "person", "unmerge", tasks[0].A.Person, "--by", "asha")
	pilot.ok(t, "review", "decide", fmt.Sprint(tasks[1].ID), "same", "--by", "asha")
	pilot.withCards(t, "Meena Devi", "Kamla Devi")
	pilot.ok(t, "token", "create", "--role", "hospital", "--name", "records")
	pilot.ok(t, "token", "create", "--role", "printer", "--name", "press")
	pilot.ok(t, "token", "revoke", "press")

	// A copy that does not come out the same commits nothing: here the
	// target alters every device's name as it is written.
	tampered := testdb.NewDatabase(t)
	if s, err := store.Open(context.Background(), tampered, store.WithKeysDir(pilot.env["SYNCSERVER_KEYS"])); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	if _, err := testdb.OpenSQL(t, tampered).Exec("-- pgdb:raw\n" + `CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;
		CREATE TRIGGER shout BEFORE INSERT ON devices FOR EACH ROW EXECUTE FUNCTION shout();`); err != nil {
		t.Fatal(err)
	}
	r := pilot.run(t, "", "migrate-store", "--from", "sqlite:"+pilot.env["SYNCSERVER_DB"], "--to", tampered)
	if r.code != 1 || !strings.Contains(r.err, "nothing was committed") || !strings.Contains(r.out, "DIFFERENT") {
		t.Errorf("a copy that differs: %+v", r)
	}
	var held int
	if err := testdb.OpenSQL(t, tampered).QueryRow(`SELECT COUNT(*) FROM devices`).Scan(&held); err != nil || held != 0 {
		t.Errorf("devices left in the target after a failed copy: %d (%v)", held, err)
	}

	to := testdb.NewDatabase(t)
	out := pilot.ok(t, "migrate-store", "--from", "sqlite:"+pilot.env["SYNCSERVER_DB"], "--to", to, "--json")
	var rep struct {
		Tables []struct {
			Table      string
			FromRows   int64  `json:"from_rows"`
			ToRows     int64  `json:"to_rows"`
			FromSum    string `json:"from_checksum"`
			ToSum      string `json:"to_checksum"`
			Consistent bool
		}
		Consistent bool
		Keys       string
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("migrate-store --json: %v\n%s", err, out)
	}
	if !rep.Consistent || len(rep.Tables) < 15 || rep.Keys != pilot.env["SYNCSERVER_KEYS"] {
		t.Fatalf("migrate-store: %s", out)
	}
	rows := map[string]int64{}
	for _, tb := range rep.Tables {
		if !tb.Consistent || tb.FromRows != tb.ToRows || tb.FromSum != tb.ToSum {
			t.Errorf("%s differs: %+v", tb.Table, tb)
		}
		rows[tb.Table] = tb.ToRows
	}
	for _, table := range []string{"devices", "tokens", "households", "residents", "persons", "person_links", "review_tasks", "health_ids", "cards", "events", "match_keys"} {
		if rows[table] == 0 {
			t.Errorf("%s: nothing copied, so the test proves nothing of it", table)
		}
	}

	moved := &cmdEnv{dir: dir, env: map[string]string{"SYNCSERVER_DB": to, "SYNCSERVER_KEYS": pilot.env["SYNCSERVER_KEYS"]}}
	if a, b := pilot.ok(t, "stats", "--json"), moved.ok(t, "stats", "--json"); a != b {
		t.Errorf("stats differ after the copy:\n sqlite   %s postgres %s", a, b)
	}
	// The revoked token stays revoked; the live one still works.
	if list := moved.ok(t, "token", "list"); !strings.Contains(list, "records") || !strings.Contains(list, "press") {
		t.Errorf("token list after the copy:\n%s", list)
	}

	// Writes after the switch: new persons and cards extend the feed.
	moved.withStore(t, func(s *store.Store) {
		ctx := context.Background()
		dev, code, err := s.AddDevice(ctx, "after-switch", "DL-NW-W07")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RegisterDevice(ctx, code, ""); err != nil {
			t.Fatal(err)
		}
		h := schema.Household{ID: schema.NewID(), Area: "DL-NW-W07", Outcome: schema.OutcomeEnrolled,
			Address:   schema.Address{Line1: "B-7", Locality: "Pitampura", City: "Delhi", Pincode: "110034"},
			Consent:   schema.Consent{Given: true, At: "2026-03-04T11:00:00+05:30"},
			VisitedAt: "2026-03-04T11:00:00+05:30"}
		r := schema.Resident{ID: schema.NewID(), HouseholdID: h.ID, Name: "Gurmeet Singh Bedi", Sex: "M", Relation: "head",
			DOB: "1955-02-17", DOBPrecision: schema.PrecisionDay}
		b := schema.Batch{BatchID: schema.NewID(), DeviceID: dev, SchemaVersion: schema.SchemaVersion, Records: []schema.Record{
			{Kind: schema.KindHousehold, ID: h.ID, Version: 1, Data: mustJSON(t, h)},
			{Kind: schema.KindResident, ID: r.ID, Version: 1, Data: mustJSON(t, r)}}}
		if _, err := s.ApplyBatch(ctx, dev, b, 0); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.MatchAll(ctx); err != nil || rep.New != 1 {
			t.Fatalf("matching after the switch: %+v %v, want one new person", rep, err)
		}
	})
	db := testdb.OpenSQL(t, to)
	var n, first, last int64
	if err := db.QueryRow(`SELECT COUNT(*), MIN(seq), MAX(seq) FROM events`).Scan(&n, &first, &last); err != nil {
		t.Fatal(err)
	}
	if n <= rows["events"] || first != 1 || last != n {
		t.Errorf("events after new writes: %d rows, seq %d..%d (copied %d), want 1..n with no gap", n, first, last, rows["events"])
	}
	var links int64
	if err := db.QueryRow(`SELECT COUNT(*) FROM person_links WHERE undone_by IS NOT NULL`).Scan(&links); err != nil || links != 1 {
		t.Errorf("undone merges after the copy: %d (%v), want 1", links, err)
	}

	r = pilot.run(t, "", "migrate-store", "--from", "sqlite:"+pilot.env["SYNCSERVER_DB"], "--to", to)
	if r.code != 1 || !strings.Contains(r.err, "already holds a registry") {
		t.Errorf("second copy into the same database: %+v", r)
	}
	r = pilot.run(t, "", "migrate-store", "--from", pilot.env["SYNCSERVER_DB"], "--to", filepath.Join(dir, "other.db"))
	if r.code != 2 || !strings.Contains(r.err, "--to must be a postgres:// URL") {
		t.Errorf("--to a file: %+v", r)
	}
}
