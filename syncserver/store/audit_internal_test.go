package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reads sharing one audited transaction stand or fall alone: a read that
// fails after appending its audit record (its own error, or a failed
// statement) leaves no record, a client that hung up before its turn
// costs the others nothing, a client that hangs up midway does not stop
// its read's statements, and every read that succeeded has exactly its
// record. On PostgreSQL, where a failed statement aborts the transaction,
// this takes the path that starts a batch over with savepoints: a read
// that swallows its failed statement fails there (whether or not an
// audit insert or only the commit notices), and succeeds on SQLite.
func TestAuditedReadsShareATransactionButFailAlone(t *testing.T) {
	s := openTest(t)
	by := Reader{Principal: Principal{TokenID: "t", Name: "desk", Role: "hospital"}, Client: "10.0.0.1"}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	const kinds = 7
	const n = 60 * kinds
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, hangUp := context.WithCancel(context.Background())
			defer hangUp()
			if i%kinds == 4 {
				ctx = gone // the client hung up before the read ran
			}
			person := fmt.Sprintf("p%d", i)
			errs[i] = s.audited(ctx, func(readCtx context.Context, tx *txn, now string) error {
				var x int
				switch i % kinds {
				case 3:
					// The client hangs up midway; the read's statements,
					// on the request's context as readAs's callers
					// write them, still run to their end.
					hangUp()
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM persons`).Scan(&x); err != nil {
						return err
					}
					rows, err := tx.QueryContext(ctx, `SELECT id FROM persons`)
					if err != nil {
						return err
					}
					rows.Close()
				case 6:
					// A failed statement swallowed, by a read that has no
					// record to append: only the commit can notice.
					tx.QueryRowContext(readCtx, `SELECT no_such_column FROM persons`).Scan(&x)
					return nil
				}
				if err := appendAudit(readCtx, tx, by, "test.read", person, "00000000000000", "", now); err != nil {
					return err
				}
				switch i % kinds {
				case 1:
					return errors.New("fails after appending")
				case 2:
					// A failing statement: on PostgreSQL it aborts the
					// transaction, which must not take the others along.
					return tx.QueryRowContext(readCtx, `SELECT no_such_column FROM persons`).Scan(&x)
				case 5:
					// The same, swallowed.
					tx.QueryRowContext(readCtx, `SELECT no_such_column FROM persons`).Scan(&x)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	want, maybe := map[string]bool{}, map[string]bool{}
	for i, err := range errs {
		person := fmt.Sprintf("p%d", i)
		switch i % kinds {
		case 1, 2:
			if err == nil || i%kinds == 2 && !strings.Contains(err.Error(), "no_such_column") {
				t.Errorf("read %d: %v, want its own failure", i, err)
			}
		case 3:
			// Its caller may hear of the hang-up first. The read ran to
			// its end; on PostgreSQL a batch that starts over skips it
			// then, its client being gone.
			switch {
			case err == nil:
				want[person] = true
			case errors.Is(err, context.Canceled):
				maybe[person] = true
			default:
				t.Errorf("read %d, whose client hung up midway: %v", i, err)
			}
		case 4:
			if err == nil {
				want[person] = true // it may have run before the hang-up was seen
			}
		case 5, 6:
			if (err == nil) != !s.pg {
				t.Errorf("read %d swallowing a failed statement: %v", i, err)
			}
			if err == nil && i%kinds == 5 {
				want[person] = true
			}
		default:
			if err != nil {
				t.Errorf("read %d failed with its neighbours: %v", i, err)
			}
			want[person] = true
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
		if !want[p] && !maybe[p] {
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

// A read last in its batch that swallows a failed statement and appends
// nothing: on PostgreSQL only the commit can tell (it rolls back), and
// then the batch starts over and the read fails alone; the read before
// it keeps its answer and its record. On SQLite, where a failed statement
// leaves the transaction usable, both succeed.
func TestAuditedReadSwallowingAFailedStatementLast(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	by := Reader{Principal: Principal{TokenID: "t", Name: "desk", Role: "hospital"}, Client: "10.0.0.1"}
	first, running := make(chan error, 1), make(chan struct{})
	var once sync.Once
	go func() {
		first <- s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
			// Hold the batch open until the second read has queued, so
			// that it runs next, in this transaction, and last. (When
			// the batch starts over, it is in the batch already.)
			once.Do(func() {
				close(running)
				for deadline := time.Now().Add(10 * time.Second); len(s.auditQueue) < 1 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			})
			return appendAudit(ctx, tx, by, "test.read", "p1", "00000000000000", "", now)
		})
	}()
	<-running
	err := s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
		var x int
		tx.QueryRowContext(ctx, `SELECT no_such_column FROM persons`).Scan(&x)
		return nil
	})
	if (err == nil) != !s.pg {
		t.Errorf("read swallowing a failed statement: %v", err)
	}
	if err := <-first; err != nil {
		t.Errorf("the read before it, in its batch: %v", err)
	}
	var n int
	if err := s.rdb.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE person_id = 'p1'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d records of the read before it (%v), want 1", n, err)
	}
}
