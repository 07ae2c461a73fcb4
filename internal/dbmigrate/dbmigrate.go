// Package dbmigrate reads a folder of numbered SQL migrations, the one
// convention the SQLite and the PostgreSQL stores share: NNNN_name.sql,
// applied in order of NNNN, each once.
package dbmigrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Step is one migration file.
type Step struct {
	Version int
	Name    string // the file name
}

// Steps lists the migrations of dir in the order to apply them.
func Steps(dir fs.FS) ([]Step, error) {
	names, err := fs.Glob(dir, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	steps := make([]Step, 0, len(names))
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migrate: %s: name must start with a number and _", n)
		}
		steps = append(steps, Step{v, n})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Version < steps[j].Version })
	return steps, nil
}

// DB is where migrations are applied: a *sql.DB or one *sql.Conn of it.
// Its statements are written with ? placeholders (PostgreSQL's pgdb
// rewrites them).
type DB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// Apply applies, in order, each migration of dir that db has not
// recorded yet, each in its own transaction together with its row in
// schema_migrations, so a crash leaves either all of a migration or none
// of it. bodyPrefix goes before each migration's text (pgdb's mark for
// text of several statements).
func Apply(ctx context.Context, db DB, dir fs.FS, bodyPrefix string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	steps, err := Steps(dir)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if err := apply(ctx, db, dir, s, bodyPrefix); err != nil {
			return fmt.Errorf("migrate %s: %w", s.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db DB, dir fs.FS, s Step, bodyPrefix string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, s.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(dir, s.Name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, bodyPrefix+string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		s.Version, s.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	return tx.Commit()
}
