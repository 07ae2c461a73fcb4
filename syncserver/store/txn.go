package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// txn is a write transaction whose statements are parsed once per store
// and then reused: matching runs a dozen small statements per resident, and
// parsing SQL would otherwise cost more than running it.
//
// The store has one writer connection. A statement cannot be prepared on
// the pool while a transaction holds that connection, so a statement new to
// the store is prepared inside the transaction for its duration, and
// prepared on the pool after the commit, when the connection is free; later
// transactions bind the pool's statement to themselves, which on the same
// connection reuses it without parsing.
type txn struct {
	*sql.Tx
	db     *sql.DB
	cache  *stmtCache
	local  map[string]*sql.Stmt
	missed []string
	// terms caches match_terms rows read in this transaction; bumpTerm
	// keeps it current.
	terms map[string]int
	// wroteEvents is set by appendEvent; the commit then wakes feed readers.
	wroteEvents bool
	feed        *feedSignal
	// audit is set while an audited read runs: see pendingAudit.
	audit *pendingAudit
	// pg is set on a PostgreSQL store.
	pg bool
	// failed is an error a caller could not return (sqlFrequencies);
	// Commit reports it instead of committing.
	failed error
}

// stmtCache holds statements prepared on the writer pool.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// promote prepares queries on the pool. Called with no transaction open.
func (c *stmtCache) promote(ctx context.Context, db *sql.DB, queries []string) {
	for _, q := range queries {
		if c.lookup(q) != nil {
			continue
		}
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return // the transaction path prepares them again next time
		}
		c.mu.Lock()
		if c.stmts == nil {
			c.stmts = make(map[string]*sql.Stmt)
		}
		if _, ok := c.stmts[q]; ok {
			st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

// begin starts a write transaction that reuses prepared statements.
func (s *Store) begin(ctx context.Context) (*txn, error) {
	tx, err := s.beginTx(ctx)
	if err != nil {
		return nil, err
	}
	return &txn{Tx: tx, db: s.db, cache: &s.stmts, feed: &s.feed, pg: s.pg}, nil
}

// beginAudited starts the transaction of a group of audited reads. They
// write only their audit records, which no other writer's invariant
// depends on (their ids may interleave between servers), so on
// PostgreSQL they do not take the writer lock: the servers' reads do not
// wait for each other's commits, nor for a batch being ingested. Nor for
// a connection: they have their own pool, which writers queued on the
// lock cannot take.
func (s *Store) beginAudited(ctx context.Context) (*txn, error) {
	if !s.pg {
		tx, err := s.begin(ctx)
		if err == nil {
			s.auditTxns.Add(1) // the writer is the reads' now: see letReadsIn
		}
		return tx, err
	}
	// One snapshot for each read, as on SQLite: a person's status and its
	// residents as of one moment. Audit inserts never conflict under it.
	tx, err := s.adb.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, err
	}
	return &txn{Tx: tx, db: s.db, cache: &s.stmts, feed: &s.feed, pg: s.pg}, nil
}

// pgWriter is what a PostgreSQL store knows of the writers before it.
type pgWriter struct {
	id      string // this store's name in store_generation.writer, new at each Open
	mu      sync.Mutex
	foreign bool // another server wrote since; cleared by takeForeign
}

// takeForeign reports, once, that another server has written since this
// one last looked.
func (w *pgWriter) takeForeign() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.foreign
	w.foreign = false
	return f
}

// beginTx starts a write transaction. SQLite has one writer at a time by
// its nature. On PostgreSQL, where several servers share the registry,
// every write transaction first updates the one row of store_generation,
// whose row lock it holds to its commit: writers take turns as they do on
// SQLite, so health IDs, feed sequence numbers and matching decisions are
// made one transaction at a time across all servers, in commit order.
// Reads never take it. A row lock, not an advisory lock, so that the same
// holds on CockroachDB and YugabyteDB.
func (s *Store) beginTx(ctx context.Context) (*sql.Tx, error) {
	if !s.pg {
		return s.db.BeginTx(ctx, nil)
	}
	// READ COMMITTED whatever the database's default: a writer that
	// waited for the lock then sees every commit before its own; under
	// REPEATABLE READ it would fail to serialise instead of waiting.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, err
	}
	// One round trip: the CTE locks the row (waiting for the writer before
	// and then reading its commit) and the update names this server.
	var last string
	if err := tx.QueryRowContext(ctx, `WITH last AS (SELECT writer FROM store_generation WHERE id = 1 FOR UPDATE)
		UPDATE store_generation SET n = n + 1, writer = ? FROM last WHERE id = 1 RETURNING last.writer`, s.pgWrite.id).Scan(&last); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("writer lock: %w", err)
	}
	// The last committed writer; a rollback leaves the one before it.
	if last != s.pgWrite.id {
		s.pgWrite.mu.Lock()
		s.pgWrite.foreign = true
		s.pgWrite.mu.Unlock()
	}
	return tx, nil
}

// readTxOptions are a multi-statement read's: one snapshot for all its
// statements. SQLite's read transactions are that already; PostgreSQL's
// default, READ COMMITTED, takes a new one per statement.
func (s *Store) readTxOptions() *sql.TxOptions {
	if s.pg {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// Commit commits, then prepares on the pool the statements this
// transaction was the first to use.
func (t *txn) Commit() error {
	if t.failed != nil {
		t.Tx.Rollback()
		return t.failed
	}
	if err := t.Tx.Commit(); err != nil {
		return err
	}
	if t.wroteEvents && t.feed != nil {
		t.feed.broadcast()
	}
	if len(t.missed) > 0 {
		// Bounded: if another transaction holds the connection, the
		// statements are simply prepared again next time, never waited for.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		t.cache.promote(ctx, t.db, t.missed)
	}
	return nil
}

// errReadOnly refuses a write inside an audited read.
var errReadOnly = errors.New("an audited read may not write")

// errUnprepared sends a statement the plain way: see prepared.
var errUnprepared = errors.New("not prepared here")

// inRead readies a statement of an audited read (t.audit set): it may
// only read, since a batch that starts over runs its reads again and
// nothing may happen twice; and it runs to its end whatever the client
// does, since on PostgreSQL a statement cancelled midway ends the
// transaction and every read sharing it. QueryRowContext, which cannot
// return an error of its own, is not checked for writes; no read uses
// INSERT … RETURNING.
func (t *txn) inRead(ctx context.Context, query string) (context.Context, error) {
	if t.audit == nil {
		return ctx, nil
	}
	if !isSelect(query) {
		return ctx, errReadOnly
	}
	return context.WithoutCancel(ctx), nil
}

// isSelect reports whether query is a SELECT (or a WITH … SELECT).
func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && (strings.EqualFold(q[:6], "select") || strings.EqualFold(q[:4], "with"))
}

// ExecContext runs query through a reused statement.
func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.audit != nil {
		return nil, errReadOnly
	}
	st, err := t.prepared(ctx, query)
	if err == errUnprepared {
		return t.Tx.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs query through a reused statement.
func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, err := t.inRead(ctx, query)
	if err != nil {
		return nil, err
	}
	st, err := t.prepared(ctx, query)
	if err == errUnprepared {
		return t.Tx.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs query through a reused statement.
func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if t.audit != nil {
		ctx = context.WithoutCancel(ctx)
	}
	st, err := t.prepared(ctx, query)
	if err != nil {
		// A Row cannot carry a prepare error; the plain path reports it.
		return t.Tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (t *txn) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.local[query]; ok {
		return st, nil
	}
	if t.pg {
		// pgx prepares and caches each statement per connection itself.
		// And on PostgreSQL a failed prepare aborts the transaction, so
		// the plain path's second try would report that, not the cause.
		return nil, errUnprepared
	}
	// The statement outlives this call: it is kept for the transaction's
	// later statements, which may run for other requests (audited reads
	// share a transaction). Binding it under a request's context that is
	// already cancelled would keep that error for all of them.
	ctx = context.WithoutCancel(ctx)
	var st *sql.Stmt
	if shared := t.cache.lookup(query); shared != nil {
		st = t.Tx.StmtContext(ctx, shared)
	} else {
		var err error
		if st, err = t.Tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		t.missed = append(t.missed, query)
	}
	if t.local == nil {
		t.local = make(map[string]*sql.Stmt)
	}
	t.local[query] = st
	return st, nil
}
