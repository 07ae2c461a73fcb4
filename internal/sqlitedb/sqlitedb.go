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

// Migrate applies the NNNN_name.sql files of migrations the database has
// not recorded yet, each in one transaction (see dbmigrate.Apply).
func Migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	return dbmigrate.Apply(ctx, db, migrations, "")
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
