package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	db, keys := testdb.Registry(t)
	s, err := Open(context.Background(), db, WithKeysDir(keys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addDevice(t *testing.T, s *Store) string {
	t.Helper()
	id, code, err := s.AddDevice(context.Background(), "team", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterDevice(context.Background(), code, ""); err != nil {
		t.Fatal(err)
	}
	return id
}

// A failure of the database halfway through a batch must leave nothing of
// the batch behind: not the records before it, not the batch log, not the
// device's last sync.
func TestApplyBatchFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	dev := addDevice(t, s)
	trigger := `CREATE TRIGGER fail_on_boom BEFORE INSERT ON residents
		WHEN NEW.id = 'BOOM' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`
	if s.pg {
		trigger = "-- pgdb:raw\n" + `CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
		CREATE TRIGGER fail_on_boom BEFORE INSERT ON residents
			FOR EACH ROW WHEN (NEW.id = 'BOOM') EXECUTE FUNCTION boom();`
	}
	if _, err := s.db.ExecContext(ctx, trigger); err != nil {
		t.Fatal(err)
	}
	hh, _ := json.Marshal(schema.Household{Area: "DL-NW-W05", Address: schema.Address{Line1: "1", Locality: "L", City: "Delhi", Pincode: "110085"},
		VisitedAt: "2025-11-27T10:30:00+05:30", Outcome: schema.OutcomeRevisit})
	res := func(id string) schema.Record {
		b, _ := json.Marshal(schema.Resident{HouseholdID: "H1", Name: "Asha", Sex: "F", DOB: "1990", DOBPrecision: "year", Relation: "head"})
		return schema.Record{Kind: schema.KindResident, ID: id, Version: 1, Data: b}
	}
	b := schema.Batch{BatchID: "B1", DeviceID: dev, SchemaVersion: 1, Records: []schema.Record{
		{Kind: schema.KindHousehold, ID: "H1", Version: 1, Data: hh}, res("R1"), res("BOOM"), res("R3"),
	}}
	if _, err := s.ApplyBatch(ctx, dev, b, 1); err == nil || schema.ErrorCode(err) != schema.EINTERNAL {
		t.Fatalf("ApplyBatch: %v, want an internal error", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM households) + (SELECT COUNT(*) FROM residents)
		+ (SELECT COUNT(*) FROM batches) + (SELECT COUNT(*) FROM devices WHERE last_sync_at IS NOT NULL)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows written by a failed batch", n)
	}
}

func TestChangesPages(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	dev, other := addDevice(t, s), addDevice(t, s)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, d := range []string{dev, other, dev, dev, other, dev} {
		c := schema.Change{Kind: "health_id", RecordID: "R" + string(rune('0'+i)), HealthID: "12-3456-7890-1234"}
		if _, err := recordChange(ctx, tx, d, c, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	var got []string
	cursor := int64(0)
	for page := 0; ; page++ {
		ch, err := s.Changes(ctx, dev, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ch.Changes {
			if c.Seq <= cursor || c.HealthID == "" || c.At == "" {
				t.Errorf("change %+v after cursor %d", c, cursor)
			}
			got = append(got, c.RecordID)
		}
		cursor = ch.Cursor
		if !ch.More {
			break
		}
		if page > 3 {
			t.Fatal("more pages than changes")
		}
	}
	if want := []string{"R0", "R2", "R3", "R5"}; len(got) != len(want) || got[0] != want[0] || got[3] != want[3] {
		t.Errorf("changes %v, want %v", got, want)
	}
	ch, err := s.Changes(ctx, dev, cursor, 0)
	if err != nil || len(ch.Changes) != 0 || ch.Cursor != cursor || ch.More || ch.Changes == nil {
		t.Errorf("after the last change: %+v, %v", ch, err)
	}
	if _, err := s.Changes(ctx, dev, -1, 0); schema.ErrorCode(err) != schema.EINVALID {
		t.Errorf("negative cursor: %v", err)
	}
}

// Stats must count from the narrow covering indexes, never by reading
// every row's JSON.
func TestStatsUseCoveringIndexes(t *testing.T) {
	s := openTest(t)
	if s.pg {
		t.Skip("reads SQLite's query plans; PostgreSQL chooses its own")
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM households WHERE deleted = 0`,
		`SELECT COUNT(*) FROM residents WHERE deleted = 0`,
	} {
		rows, err := s.db.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan += detail + "; "
		}
		rows.Close()
		if !strings.Contains(plan, "COVERING INDEX") {
			t.Errorf("%s: plan %q reads the table", q, plan)
		}
	}
}

// A server notices that another wrote since its own last transaction,
// so that it drops what it remembers of the blocking index, even when its
// own last transaction rolled back (which leaves the counter as it was).
func TestForeignWriteNoticedAfterRollback(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("several servers share a registry only on PostgreSQL; needs DOORSTEP_TEST_POSTGRES")
	}
	ctx := context.Background()
	db, keys := testdb.Registry(t)
	open := func() *Store {
		s, err := Open(ctx, db, WithKeysDir(keys))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s1, s2 := open(), open()
	write := func(s *Store, commit bool) {
		t.Helper()
		tx, err := s.beginTx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	write(s1, true)
	s1.pgWrite.takeForeign() // the first write after opening always counts
	write(s1, true)
	if s1.pgWrite.takeForeign() {
		t.Error("its own write taken for another server's")
	}
	write(s1, false)
	write(s2, true)
	write(s1, true)
	if !s1.pgWrite.takeForeign() {
		t.Error("another server's write after a rollback went unnoticed")
	}
}

// On SQLite a hospital's verification waits for the one writer. When one
// arrives while the matcher works through its backlog, the matcher
// commits after the household it is on (once it has run yieldAfter, here
// at once) and the verification runs before the rest is decided, which
// stays pending for the next round. On PostgreSQL the verification never
// waits for the writer, and the round takes everything.
func TestMatcherLetsWaitingReadsIn(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	dev := addDevice(t, s)
	var recs []schema.Record
	for h := range 5 {
		hid := fmt.Sprintf("H%d", h)
		hh, _ := json.Marshal(schema.Household{Area: "DL-NW-W05", Address: schema.Address{Line1: hid, Locality: "L", City: "Delhi", Pincode: "110085"},
			VisitedAt: "2025-11-27T10:30:00+05:30", Outcome: schema.OutcomeEnrolled, Consent: schema.Consent{Given: true, At: "2025-11-27T10:30:00+05:30"}})
		recs = append(recs, schema.Record{Kind: schema.KindHousehold, ID: hid, Version: 1, Data: hh})
		for m, name := range []string{"Asha Rani", "Vikram Singh"} {
			r, _ := json.Marshal(schema.Resident{HouseholdID: hid, Name: fmt.Sprintf("%s %c", name, 'A'+h), Sex: "F", DOB: fmt.Sprintf("19%d0", 5+h),
				DOBPrecision: "year", Relation: []string{"head", "spouse"}[m]})
			recs = append(recs, schema.Record{Kind: schema.KindResident, ID: fmt.Sprintf("R%d%d", h, m), Version: 1, Data: r})
		}
	}
	res, err := s.ApplyBatch(ctx, dev, schema.Batch{BatchID: "B1", DeviceID: dev, SchemaVersion: 1, Records: recs}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Results {
		if r.Status == "rejected" {
			t.Fatalf("%s %s rejected: %s %s", r.Kind, r.ID, r.Field, r.Message)
		}
	}

	// A verification arrives while the matcher decides the first
	// household; it reports how many residents were still pending when
	// it ran.
	by := Reader{Principal: Principal{TokenID: "t", Name: "desk", Role: "hospital"}, Client: "10.0.0.1"}
	s.match.yieldAfter = 0
	read := make(chan error, 1)
	var pendingSeen int
	var once sync.Once
	s.match.observe = func(time.Duration, int) {
		once.Do(func() {
			go func() {
				read <- s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE match_state = 'pending'`).Scan(&pendingSeen); err != nil {
						return err
					}
					return appendAudit(ctx, tx, by, "test.read", "p1", "00000000000000", "", now)
				})
			}()
			for deadline := time.Now().Add(10 * time.Second); s.readsWaiting.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		})
	}
	rep, err := s.MatchAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if rep.Residents != 10 {
		t.Errorf("the matcher decided %d residents, want all 10", rep.Residents)
	}
	if !s.pg && pendingSeen != 8 {
		t.Errorf("the verification ran with %d residents pending, want 8: after the first household, not after the round", pendingSeen)
	}
}
