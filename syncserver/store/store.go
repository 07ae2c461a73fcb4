// Package store is the sync server's SQLite store: registered devices, API
// tokens, the households and residents laptops push, and the change log they
// pull. The HTTP API and the command line both call its methods.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/internal/pgdb"
	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
)

// readerConns is the size of the read pool: enough for concurrent token
// checks and stats while the single writer applies batches.
const readerConns = 4

// Store is the server's database and its deployment secrets.
type Store struct {
	db  *sql.DB // the one writer connection (on PostgreSQL, a pool of writers that take turns)
	rdb *sql.DB // read-only pool

	// pg is set for a PostgreSQL store, shared with other servers.
	pg      bool
	pgWrite pgWriter
	adb     *sql.DB // PostgreSQL: the audited reads' own small pool (see beginAudited)

	authenticate *sql.Stmt // authenticateQuery on rdb
	auth         authCache

	keysDir    string
	aadhaarKey []byte

	now        func() time.Time
	maxRecords int

	keyMu        sync.RWMutex
	keyRing      *cards.KeyRing
	keyRingStamp time.Time // keys.json's modification time when loaded
	cardSettings CardSettings

	stmts    stmtCache
	match    matcher
	ingested chan struct{} // wakes RunMatcher

	feed       feedSignal       // wakes feed readers when events commit
	auditOnce  sync.Once        // starts runAuditedReads
	auditQueue chan auditedRead // reads waiting for a shared transaction
	// readsWaiting counts audited reads not yet answered: a long write
	// (the matcher's) ends its transaction early for them on SQLite,
	// where they wait for the one writer.
	readsWaiting atomic.Int64
	auditTxns    atomic.Int64  // audited transactions begun on SQLite, for letReadsIn
	closing      chan struct{} // closed by Close
	closeOnce    sync.Once
	verifySet    verifyKeySet // public keys for VerifyCard
}

// Option changes how Open sets up a Store.
type Option func(*Store)

// WithKeysDir keeps the deployment's secret keys in dir instead of the
// default <db path minus extension>-keys beside the database.
func WithKeysDir(dir string) Option {
	return func(s *Store) {
		if dir != "" {
			s.keysDir = dir
		}
	}
}

// WithClock replaces the wall clock, for tests of expiry.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithMaxBatchRecords changes how many records ApplyBatch accepts in one
// batch; n <= 0 means no limit. The default is schema.MaxRecordsPerBatch,
// the network limit; benchmarks seed large databases with bigger batches.
func WithMaxBatchRecords(n int) Option {
	return func(s *Store) { s.maxRecords = n }
}

// DefaultKeysDir is where the keys of the database at dbPath live unless
// told otherwise: syncserver.db keeps them in syncserver-keys. A
// PostgreSQL database has no default: its servers must share one folder.
func DefaultKeysDir(dbPath string) string {
	if pgdb.IsDSN(dbPath) {
		return ""
	}
	dbPath = strings.TrimPrefix(dbPath, sqlitePrefix)
	return strings.TrimSuffix(dbPath, filepath.Ext(dbPath)) + "-keys"
}

// sqlitePrefix may start a file path, to say which engine as migrate-store's
// --from does; a bare path means SQLite too.
const sqlitePrefix = "sqlite:"

// pgConns bounds the writer and the reader pool of one server process on
// PostgreSQL, and pgAuditConns the audited reads' pool: up to 18
// connections a server (README: PostgreSQL's max_connections).
const (
	pgConns      = 8
	pgAuditConns = 2
)

// Open opens (creating if needed) the registry at db, applies the server
// migrations and loads or creates the deployment's keys. db is a SQLite
// file path (optionally prefixed sqlite:) or a postgres:// URL; a
// PostgreSQL store needs WithKeysDir, since every server sharing the
// database must sign and hash with the same keys.
func Open(ctx context.Context, db string, opts ...Option) (*Store, error) {
	s := &Store{
		keysDir:    DefaultKeysDir(db),
		now:        time.Now,
		maxRecords: schema.MaxRecordsPerBatch,
		ingested:   make(chan struct{}, 1),
		auditQueue: make(chan auditedRead, maxAuditedBatch),
		closing:    make(chan struct{}),
		pg:         pgdb.IsDSN(db),
		pgWrite:    pgWriter{id: randomWriterID()},
		match:      matcher{yieldAfter: matchYieldAfter},

		cardSettings: DefaultCardSettings,
	}
	for _, o := range opts {
		o(s)
	}
	if s.keysDir == "" {
		return nil, fmt.Errorf("open store %s: a PostgreSQL registry needs --keys DIR (SYNCSERVER_KEYS): every server on it must share the same keys", pgdb.Redact(db))
	}
	key, err := loadOrCreateKey(s.keysDir, aadhaarKeyFile)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.aadhaarKey = key
	if err := s.openKeyRing(); err != nil {
		return nil, fmt.Errorf("open store: card signing keys: %w", err)
	}
	if s.pg {
		err = s.openPostgres(ctx, db)
	} else {
		err = s.openSQLite(ctx, strings.TrimPrefix(db, sqlitePrefix))
	}
	if err != nil {
		return nil, err
	}
	if s.authenticate, err = s.rdb.PrepareContext(ctx, authenticateQuery); err != nil {
		s.rdb.Close()
		s.db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.loadModel(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	var err error
	if s.db, err = sqlitedb.Open(ctx, path); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if err := sqlitedb.Migrate(ctx, s.db, schema.ServerMigrations()); err != nil {
		s.db.Close()
		return fmt.Errorf("open store %s: %w", path, err)
	}
	// A bigger page cache keeps the upper levels of the primary-key indexes
	// of a million-row table in memory, so a batch's lookups rarely read
	// the disk. Only the writer needs it: it does the lookups that matter.
	if _, err := s.db.ExecContext(ctx, `PRAGMA cache_size = -65536`); err != nil {
		s.db.Close()
		return fmt.Errorf("open store %s: %w", path, err)
	}
	if s.rdb, err = sqlitedb.OpenReader(ctx, path, readerConns); err != nil {
		s.db.Close()
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

// openPostgres opens two pools on the database: writers, which take turns
// through the writer lock (see beginTx), and readers, which never wait for
// it. Apart, a writer holding the lock can always get a reader.
func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	var err error
	if s.db, err = pgdb.Open(ctx, dsn, pgConns); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if err := pgdb.Migrate(ctx, s.db, schema.PostgresMigrations()); err != nil {
		s.db.Close()
		return fmt.Errorf("open store %s: %w", pgdb.Redact(dsn), err)
	}
	if s.rdb, err = pgdb.Open(ctx, dsn, pgConns); err != nil {
		s.db.Close()
		return fmt.Errorf("open store: %w", err)
	}
	if s.adb, err = pgdb.Open(ctx, dsn, pgAuditConns); err != nil {
		s.rdb.Close()
		s.db.Close()
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.stmts.close()
	if s.authenticate != nil {
		s.authenticate.Close()
	}
	rerr := s.rdb.Close()
	if s.adb != nil {
		rerr = errors.Join(rerr, s.adb.Close())
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("close store: %w", rerr)
	}
	return nil
}

// KeysDir is the directory holding the deployment's secret keys.
func (s *Store) KeysDir() string { return s.keysDir }

// timeFormat is fixed-width so stored times sort as text.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// parseTime reads a stored time; a NULL column gives nil. Every stored time
// is written by formatTime, so an unparsable one can only come from a hand
// edit of the file, and shows as absent rather than failing a listing.
func parseTime(v sql.NullString) *time.Time {
	if !v.Valid {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v.String)
	if err != nil {
		return nil
	}
	return &t
}

// randomWriterID names one opening of a store among the servers sharing
// a PostgreSQL registry.
func randomWriterID() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return hex.EncodeToString(b)
}
