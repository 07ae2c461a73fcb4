package sqlitedb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/doorstep-health/doorstep/internal/sqlitedb"
)

func TestMigrateAppliesEachMigrationOnceAndAtomically(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	good := fstest.MapFS{
		"0001_init.sql":  {Data: []byte(`CREATE TABLE households (id TEXT PRIMARY KEY);`)},
		"0002_more.sql":  {Data: []byte(`ALTER TABLE households ADD COLUMN area TEXT;`)},
		"0010_later.sql": {Data: []byte(`CREATE TABLE cards (serial TEXT PRIMARY KEY);`)},
	}
	for range 2 { // the second run finds everything applied
		if err := sqlitedb.Migrate(ctx, db, good); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("schema_migrations has %d rows (%v), want 3", n, err)
	}

	// A migration that fails half-way leaves neither its first statement
	// nor its version row.
	bad := fstest.MapFS{
		"0011_broken.sql": {Data: []byte(`CREATE TABLE print_jobs (id INTEGER); INSERT INTO no_such_table VALUES (1);`)},
	}
	if err := sqlitedb.Migrate(ctx, db, bad); err == nil {
		t.Fatal("a broken migration applied")
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'print_jobs'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("half of a failed migration stayed (%d, %v)", n, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = 11`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a failed migration was recorded (%d, %v)", n, err)
	}

	if err := sqlitedb.Migrate(ctx, db, fstest.MapFS{"init.sql": {Data: []byte(`SELECT 1;`)}}); err == nil {
		t.Fatal("a migration without a number was accepted")
	}
}

// Collect reads every row in order, and an empty result is an empty list,
// not nil (a JSON listing shows [] rather than null).
func TestCollect(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scan := func(rows *sql.Rows) (n int, err error) { err = rows.Scan(&n); return n, err }
	for _, tc := range []struct {
		query string
		want  []int
	}{
		{`SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3`, []int{1, 2, 3}},
		{`SELECT 1 WHERE 0`, []int{}},
	} {
		rows, err := db.QueryContext(ctx, tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sqlitedb.Collect(rows, scan)
		if err != nil || got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.query, got, err, tc.want)
		}
	}
}
