package pgdb_test

import (
	"context"
	"testing"

	"github.com/doorstep-health/doorstep/internal/pgdb"
	"github.com/doorstep-health/doorstep/internal/testdb"
)

func TestRewrite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`UPDATE t SET v = ?3 WHERE id = ?1 AND d = ?2`, `UPDATE t SET v = $3 WHERE id = $1 AND d = $2`},
		{`SELECT '?' || x FROM t WHERE y = ?`, `SELECT '?' || x FROM t WHERE y = $1`},
		{`SELECT "a?b" FROM t WHERE y LIKE ? ESCAPE '\'`, `SELECT "a?b" FROM t WHERE y LIKE $1 ESCAPE '\'`},
		{`SELECT json_extract(r.data, '$.name') FROM residents r`, `SELECT ((r.data)::jsonb ->> 'name') FROM residents r`},
	} {
		if got := pgdb.Rewrite(tc.in); got != tc.want {
			t.Errorf("Rewrite(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestIsDSN(t *testing.T) {
	for in, want := range map[string]bool{
		"postgres://u@h/db": true, "postgresql://u@h/db": true,
		"registry.db": false, "sqlite:registry.db": false, "/var/lib/postgres.db": false,
	} {
		if got := pgdb.IsDSN(in); got != want {
			t.Errorf("IsDSN(%q) = %v", in, got)
		}
	}
}

func TestRedactHidesPassword(t *testing.T) {
	got := pgdb.Redact("postgres://doorstep:s3cret@db.internal:5433/registry?sslmode=require")
	if got != "postgres://doorstep@db.internal:5433/registry" {
		t.Errorf("Redact: %q", got)
	}
}

// Each connection asks PostgreSQL to end a transaction left idle, so a
// server that vanishes mid-transaction cannot hold the writer lock for
// hours; a value in the URL wins.
func TestIdleTransactionsEnd(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("needs DOORSTEP_TEST_POSTGRES; make test-postgres sets it")
	}
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	for _, tc := range []struct{ dsn, want string }{
		{dsn, "30s"},
		{dsn + "&idle_in_transaction_session_timeout=5000", "5s"},
	} {
		db, err := pgdb.Open(ctx, tc.dsn, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := db.QueryRowContext(ctx, `SHOW idle_in_transaction_session_timeout`).Scan(&got); err != nil || got != tc.want {
			t.Errorf("%s: idle_in_transaction_session_timeout %q (%v), want %q", tc.dsn, got, err, tc.want)
		}
		db.Close()
	}
}
