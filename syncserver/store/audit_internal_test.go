package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Reads sharing one audited transaction stand or fall alone: a read that
// fails after appending its audit record (its own error, or a failed
// statement) leaves no record, a client that hung up before its turn
// costs the others nothing, and every read that succeeded has exactly its
// record. On PostgreSQL, where a failed statement aborts the transaction,
// this takes the path that starts a batch over with savepoints; a read
// that swallows its failed statement fails there, and succeeds on SQLite.
func TestAuditedReadsShareATransactionButFailAlone(t *testing.T) {
	s := openTest(t)
	by := Reader{Principal: Principal{TokenID: "t", Name: "desk", Role: "hospital"}, Client: "10.0.0.1"}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	const n = 360
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%6 == 4 {
				ctx = gone // the client hung up before the read ran
			}
			errs[i] = s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
				if err := appendAudit(ctx, tx, by, "test.read", fmt.Sprintf("p%d", i), "00000000000000", "", now); err != nil {
					return err
				}
				var x int
				switch i % 6 {
				case 1:
					return errors.New("fails after appending")
				case 2:
					// A failing statement: on PostgreSQL it aborts the
					// transaction, which must not take the others along.
					return tx.QueryRowContext(ctx, `SELECT no_such_column FROM persons`).Scan(&x)
				case 5:
					// The same, swallowed.
					tx.QueryRowContext(ctx, `SELECT no_such_column FROM persons`).Scan(&x)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	want := map[string]bool{}
	for i, err := range errs {
		switch {
		case i%6 == 1, i%6 == 2:
			if err == nil || i%6 == 2 && !strings.Contains(err.Error(), "no_such_column") {
				t.Errorf("read %d: %v, want its own failure", i, err)
			}
		case i%6 == 4:
			if err == nil {
				want[fmt.Sprintf("p%d", i)] = true // it may have run before the hang-up was seen
			}
		case i%6 == 5:
			if (err == nil) != !s.pg {
				t.Errorf("read %d swallowing a failed statement: %v", i, err)
			}
			if err == nil {
				want[fmt.Sprintf("p%d", i)] = true
			}
		default:
			if err != nil {
				t.Errorf("read %d failed with its neighbours: %v", i, err)
			}
			want[fmt.Sprintf("p%d", i)] = true
		}
	}
	rows, err := s.rdb.Query(`SELECT person_id FROM audit_log`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var p string
		rows.Scan(&p)
		if got[p] {
			t.Errorf("two records for %s", p)
		}
		got[p] = true
	}
	for p := range got {
		if !want[p] {
			t.Errorf("record for %s, whose read failed", p)
		}
	}
	for p := range want {
		if !got[p] {
			t.Errorf("no record for %s, whose read succeeded", p)
		}
	}
}

// An audited read may only read: a write inside one is refused, so a read
// that fails can never leave half its work behind in the shared
// transaction.
func TestAuditedReadMayNotWrite(t *testing.T) {
	s := openTest(t)
	err := s.audited(context.Background(), func(ctx context.Context, tx *txn, now string) error {
		_, err := tx.ExecContext(ctx, `UPDATE persons SET status = 'deceased'`)
		return err
	})
	if !errors.Is(err, errReadOnly) {
		t.Fatalf("write inside an audited read: %v, want refused", err)
	}
}

// Audited reads commit without checkpointing: the writer's automatic
// checkpoint is off once they start, the WAL is checkpointed beside the
// writer, and a checkpoint request in the queue (runCheckpoints' way of
// asking the writer for one between transactions) answers no one and
// disturbs no read, after which the WAL starts over rather than growing
// without end. Every record stays readable throughout.
func TestAuditedReadsCheckpointBetweenTransactions(t *testing.T) {
	s := openTest(t)
	if s.pg {
		t.Skip("SQLite's WAL checkpoints; PostgreSQL checkpoints by itself")
	}
	ctx := context.Background()
	by := Reader{Principal: Principal{TokenID: "t", Name: "desk", Role: "hospital"}, Client: "10.0.0.1"}
	read := func(i int) {
		t.Helper()
		err := s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
			return appendAudit(ctx, tx, by, "test.read", fmt.Sprintf("p%d", i), "00000000000000", "", now)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walFrames := func() int {
		t.Helper()
		var busy, frames, done int
		if err := s.rdb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
			t.Fatal(err)
		}
		return frames
	}
	const reads = 200
	for i := range reads {
		read(i)
	}
	var auto int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Errorf("writer's wal_autocheckpoint = %d, want 0 once audited reads run", auto)
	}
	long := walFrames()
	if long < reads {
		t.Fatalf("WAL of %d frames after %d commits: want one or more a commit", long, reads)
	}
	// A reader may hold the WAL at the moment the writer would start it
	// over; the next checkpoint then tries again, as runCheckpoints does.
	restarted := false
	for i := 0; i < 50 && !restarted; i++ {
		s.auditQueue <- auditedRead{}
		read(reads + i)
		restarted = walFrames() < long
	}
	if !restarted {
		t.Errorf("WAL still %d frames or more after the writer's checkpoints", long)
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'test.read'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < reads+1 {
		t.Errorf("%d audit records, want at least %d", n, reads+1)
	}
}
