package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

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

// auditedRead is one read waiting for a shared transaction.
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
	s.auditOnce.Do(func() { go s.runAuditedReads() })
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

// runAuditedReads is the one goroutine that runs audited reads, in
// batches of whatever has queued while the last batch committed.
func (s *Store) runAuditedReads() {
	for {
		var batch []auditedRead
		select {
		case r := <-s.auditQueue:
			batch = append(batch, r)
		case <-s.closing:
			return
		}
	drain:
		for len(batch) < maxAuditedBatch {
			select {
			case r := <-s.auditQueue:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.runAuditedBatch(batch)
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

// pendingAudit holds the audit records of the read running in a shared
// transaction. While it is set the read may not write (txn.ExecContext
// refuses), so a read that fails has written nothing, and its records
// are simply dropped: no savepoint needed.
type pendingAudit struct {
	rows [][]any
}

func (s *Store) runAuditedBatch(batch []auditedRead) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	tx, err := s.begin(ctx)
	if err != nil {
		fail(fmt.Errorf("audited read: %w", err))
		return
	}
	defer tx.Rollback()
	now := formatTime(s.now())
	for i, r := range batch {
		var rows [][]any
		if rows, errs[i] = runAuditedRead(r, tx, now); errs[i] != nil {
			continue
		}
		for _, row := range rows {
			if err := insertAudit(ctx, tx, row); err != nil {
				fail(fmt.Errorf("audited read: %w", err))
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("audited read: commit: %w", err))
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
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
