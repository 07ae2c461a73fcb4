// Package sqlitedb opens the SQLite files both binaries keep their data in,
// with the settings that make a save durable on a laptop that loses power,
// and applies the embedded, numbered migrations once each.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"time"

	"github.com/doorstep-health/doorstep/internal/dbmigrate"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Open opens the SQLite file at path for writing through one connection:
// SQLite allows one writer at a time, and a single connection turns lock
// contention into a queue in Go instead of SQLITE_BUSY errors.
// WAL with synchronous=FULL means a committed transaction survives a pulled
// plug; foreign keys are on; transactions take the write lock at BEGIN so
// two writers never deadlock on an upgrade.
func Open(ctx context.Context, path string) (*sql.DB, error) {
	db, err := open(ctx, path, "immediate", false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// OpenReader opens a pool of read-only connections on a file that a writer
// from Open keeps. WAL lets them read while the writer commits.
func OpenReader(ctx context.Context, path string, conns int) (*sql.DB, error) {
	db, err := open(ctx, path, "deferred", true)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

func open(ctx context.Context, path, txlock string, readOnly bool) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	q.Set("_txlock", txlock)
	dsn := "file:" + abs + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// Migrate applies, in order, each NNNN_name.sql file of migrations that the
// database has not recorded yet, each in its own transaction together with
// its row in schema_migrations, so a crash leaves either all of a migration
// or none of it.
func Migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	steps, err := dbmigrate.Steps(migrations)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if err := applyMigration(ctx, db, migrations, s.Version, s.Name); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, migrations fs.FS, version int, name string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		version, name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	return tx.Commit()
}

// Collect reads every row of rows with scan and closes rows. The result
// is never nil, so an empty listing encodes as [] rather than null.
func Collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
