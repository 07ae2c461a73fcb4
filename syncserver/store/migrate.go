package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/doorstep-health/doorstep/internal/pgdb"
	"github.com/doorstep-health/doorstep/internal/sqlitedb"
)

// registryTables are the tables a registry is, in an order that copies
// each after the tables it refers to. schema_migrations is each engine's
// own; store_generation is PostgreSQL's only.
var registryTables = []string{
	"devices", "tokens", "households", "persons", "residents", "batches", "changes",
	"match_keys", "match_terms", "review_tasks", "person_links", "match_models", "person_terms",
	"health_ids", "print_jobs", "cards", "events", "audit_log",
}

// laterColumns refer to rows of their own table that may come later in
// the copy: they are copied as NULL and set once the table is in.
var laterColumns = map[string]struct{ key, column string }{
	"persons":      {"id", "merged_into"},
	"person_links": {"id", "undone_by"},
}

// TableCopy is what migrate-store reports of one table: rows and a
// checksum on each side. The checksum is order-independent (a sum of
// per-row SHA-256 digests), so the engines' row orders need not agree.
type TableCopy struct {
	Table      string `json:"table"`
	FromRows   int64  `json:"from_rows"`
	ToRows     int64  `json:"to_rows"`
	FromSum    string `json:"from_checksum"`
	ToSum      string `json:"to_checksum"`
	Consistent bool   `json:"consistent"`
}

// ErrTargetNotEmpty is returned when the PostgreSQL database to copy into
// already holds a registry: migrate-store never merges two.
var ErrTargetNotEmpty = errors.New("the target database already holds a registry")

// ErrCopyDiffers is returned when a table's copy does not count or sum as
// its original; nothing is committed.
var ErrCopyDiffers = errors.New("the copy differs from the original; nothing was committed")

// CopyToPostgres copies the SQLite registry at from into the empty
// PostgreSQL database at to, all in one transaction there, from one
// consistent snapshot here (the pilot's server may keep running; what it
// writes after the snapshot is not copied). Every row keeps its keys,
// including SQLite's rowids, so arrival order, feed sequence numbers and
// audit ids are as they were. Before committing it counts and checksums
// every table on both sides, and commits only if all agree: otherwise it
// returns the report and ErrCopyDiffers, and the target stays empty. The
// target gets its schema from Open, run first with the same keys, so the
// caller opens it before.
func CopyToPostgres(ctx context.Context, from, to string, progress func(table string, rows int64)) ([]TableCopy, error) {
	if !pgdb.IsDSN(to) {
		return nil, fmt.Errorf("copy registry: --to must be a postgres:// URL, not %q", to)
	}
	from = strings.TrimPrefix(from, sqlitePrefix)
	src, err := sqlitedb.OpenReader(ctx, from, 1)
	if err != nil {
		return nil, fmt.Errorf("copy registry: %w", err)
	}
	defer src.Close()
	// One read transaction: every table from the same moment.
	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("copy registry: %w", err)
	}
	defer stx.Rollback()

	dst, err := pgdb.Open(ctx, to, 2)
	if err != nil {
		return nil, fmt.Errorf("copy registry: %w", err)
	}
	defer dst.Close()
	columns := make(map[string][]string, len(registryTables))
	for _, t := range registryTables {
		if columns[t], err = tableColumns(ctx, dst, t); err != nil {
			return nil, fmt.Errorf("copy registry: %s: %w", t, err)
		}
	}

	var report []TableCopy
	err = pgdb.Raw(ctx, dst, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		// The writer lock (see beginTx), lest a server started early write.
		if _, err := tx.Exec(ctx, `UPDATE store_generation SET n = n + 1 WHERE id = 1`); err != nil {
			return err
		}
		var held int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM devices) + (SELECT COUNT(*) FROM tokens)
			+ (SELECT COUNT(*) FROM households) + (SELECT COUNT(*) FROM persons) + (SELECT COUNT(*) FROM events)
			+ (SELECT COUNT(*) FROM audit_log)`).Scan(&held); err != nil {
			return err
		}
		if held > 0 {
			return ErrTargetNotEmpty
		}
		// The migration seeds the persons counter; the copy brings its own.
		if _, err := tx.Exec(ctx, `DELETE FROM match_terms`); err != nil {
			return err
		}
		for _, t := range registryTables {
			n, err := copyTable(ctx, stx, tx, t, columns[t])
			if err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
			if progress != nil {
				progress(t, n)
			}
		}
		// Identity columns go on from the highest copied value.
		for _, t := range registryTables {
			for _, col := range []string{"id", "seq", "rowid"} {
				if !slices.Contains(columns[t], col) {
					continue
				}
				var seq *string
				if err := tx.QueryRow(ctx, `SELECT pg_get_serial_sequence($1, $2)`, t, col).Scan(&seq); err != nil {
					return fmt.Errorf("%s.%s: %w", t, col, err)
				}
				if seq == nil {
					continue // a key the rows bring, not an identity
				}
				if _, err := tx.Exec(ctx, `SELECT setval($1, (SELECT COALESCE(MAX(`+col+`), 0) + 1 FROM `+t+`), false)`, *seq); err != nil {
					return fmt.Errorf("%s.%s: %w", t, col, err)
				}
			}
		}
		// Checked before the commit, inside the transaction: what is
		// compared is what would be committed, and a difference leaves
		// the target as it was, to run again.
		same := true
		for _, t := range registryTables {
			r := TableCopy{Table: t}
			query := `SELECT ` + strings.Join(columns[t], ", ") + ` FROM ` + t
			from, err := stx.QueryContext(ctx, query)
			if err != nil {
				return fmt.Errorf("checksum %s: %w", t, err)
			}
			r.FromRows, r.FromSum, err = tableChecksum(from, len(columns[t]))
			from.Close()
			if err != nil {
				return fmt.Errorf("checksum %s: %w", t, err)
			}
			to, err := tx.Query(ctx, query)
			if err != nil {
				return fmt.Errorf("checksum %s: %w", t, err)
			}
			r.ToRows, r.ToSum, err = tableChecksum(to, len(columns[t]))
			to.Close()
			if err != nil {
				return fmt.Errorf("checksum %s: %w", t, err)
			}
			r.Consistent = r.FromRows == r.ToRows && r.FromSum == r.ToSum
			same = same && r.Consistent
			report = append(report, r)
		}
		if !same {
			return ErrCopyDiffers
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return report, fmt.Errorf("copy registry: %w", err)
	}
	return report, nil
}

// copyTable streams one table from SQLite into PostgreSQL with COPY.
func copyTable(ctx context.Context, src *sql.Tx, dst pgx.Tx, table string, cols []string) (int64, error) {
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	later, hasLater := laterColumns[table]
	var laterAt, keyAt int
	if hasLater {
		laterAt, keyAt = slices.Index(cols, later.column), slices.Index(cols, later.key)
	}
	var keys, refs []any
	source := &rowSource{rows: rows, values: make([]any, len(cols)), hold: func(v []any) {
		if hasLater && v[laterAt] != nil {
			keys, refs = append(keys, v[keyAt]), append(refs, v[laterAt])
			v[laterAt] = nil
		}
	}}
	n, err := dst.CopyFrom(ctx, pgx.Identifier{table}, cols, source)
	if err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for i := range keys {
		if _, err := dst.Exec(ctx, `UPDATE `+table+` SET `+later.column+` = $1 WHERE `+later.key+` = $2`, refs[i], keys[i]); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// rowSource feeds database/sql rows to pgx's COPY.
type rowSource struct {
	rows   *sql.Rows
	values []any
	hold   func([]any)
	err    error
}

func (r *rowSource) Next() bool {
	if !r.rows.Next() {
		return false
	}
	ptrs := make([]any, len(r.values))
	for i := range r.values {
		ptrs[i] = &r.values[i]
	}
	if r.err = r.rows.Scan(ptrs...); r.err != nil {
		return false
	}
	r.hold(r.values)
	return true
}

func (r *rowSource) Values() ([]any, error) { return r.values, nil }
func (r *rowSource) Err() error             { return r.err }

// tableColumns lists a PostgreSQL table's columns in their order.
func tableColumns(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	cols, err := sqlitedb.Collect(rows, func(r *sql.Rows) (string, error) {
		var c string
		return c, r.Scan(&c)
	})
	if err == nil && len(cols) == 0 {
		err = fmt.Errorf("no such table; was the target migrated?")
	}
	return cols, err
}

// rowScanner is what tableChecksum reads: database/sql's rows and pgx's
// alike.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// tableChecksum counts rows of cols columns and sums their SHA-256
// digests, each over the row's values in one text form, NULL apart from
// any text. The caller closes rows.
func tableChecksum(rows rowScanner, cols int) (int64, string, error) {
	values := make([]any, cols)
	ptrs := make([]any, cols)
	for i := range values {
		ptrs[i] = &values[i]
	}
	var n int64
	var sum [4]uint64
	var b strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, "", err
		}
		b.Reset()
		for _, v := range values {
			switch v := v.(type) {
			case nil:
				b.WriteString("\x00NULL")
			case []byte:
				b.Write(v)
			default:
				fmt.Fprint(&b, v)
			}
			b.WriteByte(0x1f)
		}
		d := sha256.Sum256([]byte(b.String()))
		for i := range sum {
			sum[i] += binary.BigEndian.Uint64(d[i*8:])
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	var out [32]byte
	for i := range sum {
		binary.BigEndian.PutUint64(out[i*8:], sum[i])
	}
	// The first 64 bits are plenty to tell a difference, and fit a table.
	return n, hex.EncodeToString(out[:8]), nil
}
