package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/internal/pgdb"
	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
)

// Reader is who reads a person's data, for the audit log: the token's
// principal and the client address the request came from.
type Reader struct {
	Principal
	Client string
}

// AuditRecord is one read of a person's data.
type AuditRecord struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	TokenName string    `json:"token_name"`
	Role      string    `json:"role"`
	Action    string    `json:"action"`
	HealthID  string    `json:"health_id"`
	Client    string    `json:"client"`
	Detail    string    `json:"detail,omitempty"`
}

// appendAudit records that by read person's data, in the transaction that
// builds what was read. An empty healthID is looked up.
func appendAudit(ctx context.Context, tx *txn, by Reader, action, person, healthID, detail, now string) error {
	if by.TokenID == "" {
		// Every read comes through an authenticated token; a read without
		// one is a bug that must not pass unaudited.
		return errors.New("audit: read without a token")
	}
	if healthID == "" {
		if err := tx.QueryRowContext(ctx, `SELECT health_id FROM health_ids WHERE person_id = ?`, person).Scan(&healthID); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("audit %s: %w", action, err)
		}
	}
	row := []any{now, by.TokenID, by.Name, by.Role, action, person, digitsOf(healthID), by.Client, detail}
	if tx.audit != nil {
		// Inside an audited read: kept until the read has succeeded.
		tx.audit.rows = append(tx.audit.rows, row)
		return nil
	}
	return insertAudit(ctx, tx, row)
}

func insertAudit(ctx context.Context, tx *txn, row []any) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, token_id, token_name, role, action, person_id, health_id, client, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, row...); err != nil {
		return fmt.Errorf("audit %s: %w", row[4], err)
	}
	return nil
}

// digitsOf strips a dashed health ID to the digits it is stored as.
func digitsOf(healthID string) string {
	b := make([]byte, 0, len(healthID))
	for i := 0; i < len(healthID); i++ {
		if healthID[i] != '-' {
			b = append(b, healthID[i])
		}
	}
	return string(b)
}

// AuditLog lists the reads of a person's data (by health ID; a merged ID
// answers for its survivor, and the survivor's log includes the reads made
// under every ID merged into it), oldest first.
func (s *Store) AuditLog(ctx context.Context, who string) ([]AuditRecord, error) {
	person, err := s.personOf(ctx, s.rdb, who)
	if err != nil {
		return nil, fmt.Errorf("audit log of %s: %w", who, err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT a.id, a.at, a.token_name, a.role, a.action, a.health_id, a.client, a.detail
		FROM audit_log a WHERE a.person_id = ? OR a.person_id IN (SELECT id FROM persons WHERE merged_into = ?)
		ORDER BY a.id`, person, person)
	if err != nil {
		return nil, fmt.Errorf("audit log of %s: %w", who, err)
	}
	return sqlitedb.Collect(rows, func(rows *sql.Rows) (AuditRecord, error) {
		var r AuditRecord
		var at string
		err := rows.Scan(&r.ID, &at, &r.TokenName, &r.Role, &r.Action, &r.HealthID, &r.Client, &r.Detail)
		r.At, _ = time.Parse(timeFormat, at)
		r.HealthID = dashed(r.HealthID)
		return r, err
	})
}

// auditedRead is one read waiting for a shared transaction. One without
// fn is runCheckpoints asking the writer to checkpoint between batches.
type auditedRead struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *txn, now string) error
	done chan error
}

// maxAuditedBatch bounds how many reads share one transaction.
const maxAuditedBatch = 256

// audited runs fn, which reads a person's data and appends its audit
// records, in a write transaction, so the response and its audit record
// commit together or not at all. Concurrent reads share one transaction
// (group commit): a commit waits for the disk, and one per read would cap
// verifications at the disk's sync rate. A read writes nothing itself; its
// audit records are written once it has succeeded, so one that fails (a
// health ID not found) leaves nothing behind.
func (s *Store) audited(ctx context.Context, fn func(ctx context.Context, tx *txn, now string) error) error {
	req := auditedRead{ctx: ctx, fn: fn, done: make(chan error, 1)}
	// Counted first: the first read of all starts the runner, which needs
	// the writer for a moment, and a matcher holding it must see that a
	// read waits.
	s.readsWaiting.Add(1)
	defer s.readsWaiting.Add(-1)
	s.auditOnce.Do(s.startAuditedReads)
	select {
	case s.auditQueue <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return schema.Errorf(schema.EUNAVAILABLE, "the server is shutting down")
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return schema.Errorf(schema.EUNAVAILABLE, "the server is shutting down")
	}
}

// startAuditedReads starts the goroutine that runs audited reads and the
// one that checkpoints the WAL for it.
//
// By default SQLite checkpoints inside the commit that takes the WAL past
// 1000 pages: that commit copies the pages into the database file and
// syncs it before it returns, while every read queued behind it waits. At
// a hospital's rate of verifications (each commit writes an audit_log page
// and an index page per read) that was ten times a second, and those
// commits were the slowest in the log. So the writer connection stops
// checkpointing and runCheckpoints does it from a reader connection,
// beside the writer. Durability is unchanged: a commit still syncs the WAL
// before it returns, and a checkpoint syncs the WAL before copying from it.
// Should the pragma fail, the writer keeps checkpointing as before.
func (s *Store) startAuditedReads() {
	go s.runAuditedReads()
	if s.pg {
		return // PostgreSQL checkpoints by itself, off the commit path
	}
	if _, err := s.db.ExecContext(context.Background(), `PRAGMA wal_autocheckpoint = 0`); err == nil {
		go s.runCheckpoints()
	}
}

// checkpointEvery is how often runCheckpoints copies the WAL into the
// database file: often enough that each pass is short, seldom enough
// that a page written by every commit (the audit log's last) is copied
// once for many commits.
const checkpointEvery = 100 * time.Millisecond

// walRestartFrames is the WAL length (in pages) from which runCheckpoints
// has the writer start the WAL over: 32 MiB of 4 KiB pages.
const walRestartFrames = 8192

// runCheckpoints checkpoints the WAL in the background until the store
// closes. A passive checkpoint waits for no one, but under steady writes
// it never lets the WAL start over: SQLite rewinds it only when a write
// begins with every frame copied, and frames keep arriving while the
// checkpoint copies. So when the WAL has grown long, it asks the writer
// for a checkpoint of its own between two batches, of the few frames
// written since this one's last pass; the writer's next transaction then
// writes the WAL from its start. A checkpoint that fails loses nothing
// (every commit stays in the WAL) and is tried again on the next tick.
func (s *Store) runCheckpoints() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.closing
		cancel()
	}()
	passive := func() (frames int, err error) {
		var busy, done int
		err = s.rdb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done)
		return frames, err
	}
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-s.closing:
			return
		}
		frames, err := passive()
		if err != nil || frames < walRestartFrames {
			continue
		}
		// Once more, to copy what came in during the long pass, so the
		// writer's own checkpoint is short.
		if _, err := passive(); err != nil {
			continue
		}
		select {
		case s.auditQueue <- auditedRead{}:
		case <-s.closing:
			return
		}
	}
}

// auditLinger is how long a transaction of audited reads stays open for
// more reads once the one before it shared its commit with others.
//
// A commit costs about the same for one read as for fifty: a WAL sync
// (which takes the writer off the CPU, and then it waits its turn behind
// the requests it is holding up) and the pages every commit rewrites (the
// audit log's last page, its sequence number). Committing only what had
// queued during the last commit gave transactions of three or four reads
// at 5,000 verifications a second, and the writer spent two thirds of its
// time committing. Keeping the transaction open this long, running each
// read as it arrives, gave transactions of about eighteen and cut the CPU
// of a verification by a sixth, for a wait shorter than one slow commit.
// A read that comes alone (the previous transaction had one read too)
// does not wait: a quiet server answers at once.
const auditLinger = 2 * time.Millisecond

// runAuditedReads is the one goroutine that runs audited reads, in
// transactions that take whatever has queued and, under load, whatever
// comes within auditLinger.
func (s *Store) runAuditedReads() {
	linger := false
	for {
		var first auditedRead
		select {
		case first = <-s.auditQueue:
		case <-s.closing:
			return
		}
		n, checkpoint := 0, first.fn == nil
		if !checkpoint {
			n, checkpoint = s.runAuditedBatch(first, linger)
		}
		linger = n > 1
		if checkpoint {
			// On the writer's connection, between transactions: see
			// runCheckpoints. Failing, it is asked for again.
			var busy, frames, done int
			_ = s.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done)
		}
	}
}

// runAuditedRead runs one read of a shared transaction. A read whose
// client has gone is skipped; one that is running is not interrupted
// (SQLite would abandon the whole transaction), and a panic fails only
// that read.
func runAuditedRead(r auditedRead, tx *txn, now string) (rows [][]any, err error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	tx.audit = &pendingAudit{}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("audited read panicked: %v", p)
		}
		rows = tx.audit.rows
		tx.audit = nil
	}()
	return nil, r.fn(context.WithoutCancel(r.ctx), tx, now)
}

// runAuditedReadAlone runs one read so that its failure is its own even
// on PostgreSQL, where any failed statement aborts the whole transaction
// and with it every other read sharing it: there, with savepoint, the read
// runs inside a savepoint, rolled back to if the read fails and released
// before its audit records are written (so those, in the transaction
// itself, cost no subtransaction id). On SQLite a failed statement leaves
// the transaction usable, and savepoint changes nothing.
func (s *Store) runAuditedReadAlone(ctx context.Context, r auditedRead, tx *txn, now string, savepoint bool) ([][]any, error) {
	if !s.pg || !savepoint {
		return runAuditedRead(r, tx, now)
	}
	if _, err := tx.Tx.ExecContext(ctx, `SAVEPOINT audited_read`); err != nil {
		return nil, err
	}
	rows, err := runAuditedRead(r, tx, now)
	if err == nil {
		if _, err = tx.Tx.ExecContext(ctx, `RELEASE SAVEPOINT audited_read`); err == nil {
			return rows, nil
		}
		// The read swallowed a failed statement of its own.
	}
	if _, rerr := tx.Tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT audited_read`); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	if _, rerr := tx.Tx.ExecContext(ctx, `RELEASE SAVEPOINT audited_read`); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return nil, err
}

// failedAlone reports whether a read that failed with err left its
// transaction as it found it: the read answered "no" itself (not found,
// refused, not allowed to write) and no statement failed. On PostgreSQL
// anything else may have aborted the transaction.
func failedAlone(err error) bool {
	if pgdb.ServerError(err) {
		return false
	}
	var se *schema.Error
	return errors.As(err, &se) || errors.Is(err, sql.ErrNoRows) || errors.Is(err, errReadOnly) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// pendingAudit holds the audit records of the read running in a shared
// transaction. While it is set the read may not write (txn.ExecContext
// refuses), so a read that fails has written nothing, and its records
// are simply dropped: no savepoint needed.
type pendingAudit struct {
	rows [][]any
}

// runAuditedBatch runs first and the reads queued behind it in one
// transaction, each read followed by its audit records, and answers them
// all once it has committed. With linger it also takes reads that arrive
// within auditLinger of its start. It returns how many reads it ran and
// whether runCheckpoints asked for a checkpoint meanwhile.
func (s *Store) runAuditedBatch(first auditedRead, linger bool) (n int, checkpoint bool) {
	ctx := context.Background()
	batch := []auditedRead{first}
	var errs []error
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	tx, err := s.beginAudited(ctx)
	if err != nil {
		fail(fmt.Errorf("audited read: %w", err))
		return len(batch), false
	}
	defer func() { tx.Rollback() }()
	// On PostgreSQL reads first run without savepoints (two round trips
	// each): nearly every read succeeds or fails alone. One that fails
	// otherwise may have aborted the transaction; then the batch starts
	// over in a new one, every read in a savepoint. Reads write nothing,
	// and the audit records of the first attempt go with its rollback, so
	// running a read twice shows nothing twice.
	savepoints := false
	now := formatTime(s.now())
	var window <-chan time.Time
	if linger {
		t := time.NewTimer(auditLinger)
		defer t.Stop()
		window = t.C
	}
	// next is the read to run after those taken: one already queued or,
	// lingering, the next to come before the window closes.
	next := func() (auditedRead, bool) {
		for {
			var r auditedRead
			select {
			case r = <-s.auditQueue:
			default:
				if window == nil {
					return auditedRead{}, false
				}
				select {
				case r = <-s.auditQueue:
				case <-window:
					window = nil
					return auditedRead{}, false
				}
			}
			if r.fn != nil {
				return r, true
			}
			checkpoint = true
		}
	}
	// restart rolls back and begins the batch again in a new transaction,
	// every read in a savepoint: the first one may have been aborted by a
	// statement PostgreSQL refused (an insert failing, or the commit
	// rolling back, says a read swallowed its failed statement).
	restart := func() bool {
		tx.Rollback()
		fresh, err := s.beginAudited(ctx)
		if err != nil {
			fail(fmt.Errorf("audited read: %w", err))
			return false
		}
		tx, savepoints, errs = fresh, true, errs[:0]
		return true
	}
run:
	for {
		for i := 0; i < len(batch); i++ {
			rows, err := s.runAuditedReadAlone(ctx, batch[i], tx, now, savepoints)
			var ierr error
			for j := 0; err == nil && j < len(rows) && ierr == nil; j++ {
				ierr = insertAudit(ctx, tx, rows[j])
			}
			if s.pg && !savepoints && (ierr != nil || err != nil && !failedAlone(err)) {
				if !restart() {
					return len(batch), checkpoint
				}
				continue run
			}
			if ierr != nil {
				fail(fmt.Errorf("audited read: %w", ierr))
				return len(batch), checkpoint
			}
			errs = append(errs, err)
			if len(batch) < maxAuditedBatch {
				if r, ok := next(); ok {
					batch = append(batch, r)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			if s.pg && !savepoints {
				if !restart() {
					return len(batch), checkpoint
				}
				continue run
			}
			fail(fmt.Errorf("audited read: commit: %w", err))
			return len(batch), checkpoint
		}
		break
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
	return len(batch), checkpoint
}

// readerKey carries the Reader of an API request in its context.
type readerKey struct{}

// WithReader marks ctx as a read on behalf of by: the store's read methods
// that return a person's data (review tasks, print sheets, card PDFs) then
// audit the read. The API sets it for every request that reads such data;
// the command line, run by an operator on the server itself, does not.
func WithReader(ctx context.Context, by Reader) context.Context {
	return context.WithValue(ctx, readerKey{}, by)
}

func readerFrom(ctx context.Context) (Reader, bool) {
	by, ok := ctx.Value(readerKey{}).(Reader)
	return by, ok
}

// auditFunc records that a read showed person's data.
type auditFunc func(action, person, detail string) error

// readAs runs fn, a read returning persons' data, through q. With a Reader
// in ctx, q is an audited transaction and audit appends to the log in it;
// otherwise q is the read pool and audit does nothing.
func (s *Store) readAs(ctx context.Context, fn func(q querier, audit auditFunc) error) error {
	by, ok := readerFrom(ctx)
	if !ok {
		return fn(s.rdb, func(string, string, string) error { return nil })
	}
	return s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
		return fn(tx, func(action, person, detail string) error {
			return appendAudit(ctx, tx, by, action, person, "", detail, now)
		})
	})
}

// centreScope refuses a printer token limited to one printing centre
// (token create --centre) anything of another centre: its jobs, their
// sheets, its cards. The one place the rule is checked, inside the read or
// change, before anything is returned, audited or written; the API and
// the console mark the request's context with its reader (WithReader).
func centreScope(ctx context.Context, centre string) error {
	by, ok := readerFrom(ctx)
	if !ok || by.Role != schema.RolePrinter || by.Centre == "" || strings.EqualFold(by.Centre, centre) {
		return nil
	}
	return &schema.Error{Code: schema.EFORBIDDEN, Field: "centre",
		Message: fmt.Sprintf("this token prints for centre %s only, not %s", by.Centre, centre)}
}

// CheckCentre applies the centre rule of centreScope to the reader of ctx,
// for a caller that must refuse before doing anything else.
func CheckCentre(ctx context.Context, centre string) error { return centreScope(ctx, centre) }
