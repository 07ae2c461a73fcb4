// Package testdb gives each test a registry of its own on the engine the
// run is for: a SQLite file in the test's temporary folder, or, when
// DOORSTEP_TEST_POSTGRES names a PostgreSQL server (make test-postgres sets
// it), a new database there, dropped when the test ends. One set of server
// tests thus runs against both backends.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/doorstep-health/doorstep/internal/pgdb"
	"github.com/doorstep-health/doorstep/internal/sqlitedb"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating and dropping databases
)

// EnvPostgres names the PostgreSQL server (a postgres:// URL of a database
// the user may create databases from) the tests run against.
const EnvPostgres = "DOORSTEP_TEST_POSTGRES"

// Postgres reports whether this run's registries are on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvPostgres) != "" }

// Registry returns a new, empty registry for tb — a SQLite path or a
// postgres:// URL, as store.Open and --db take — and a keys folder for it.
func Registry(tb testing.TB) (db, keysDir string) {
	tb.Helper()
	dir := tb.TempDir()
	keysDir = filepath.Join(dir, "keys")
	if !Postgres() {
		return filepath.Join(dir, "server.db"), keysDir
	}
	return NewDatabase(tb), keysDir
}

// Engine names this run's backend, for test and benchmark names.
func Engine() string {
	if Postgres() {
		return "postgres"
	}
	return "sqlite"
}

var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

func adminDB() (*sql.DB, error) {
	admin.once.Do(func() {
		admin.db, admin.err = sql.Open("pgx", os.Getenv(EnvPostgres))
		if admin.err == nil {
			admin.db.SetMaxOpenConns(2)
		}
	})
	return admin.db, admin.err
}

// NewDatabase creates an empty PostgreSQL database for tb on the server
// DOORSTEP_TEST_POSTGRES names and returns its URL. It is dropped, with
// any connection still open to it, when tb ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return CopyDatabase(tb, "")
}

// CopyDatabase is NewDatabase starting as a copy of the database at from
// (made by CreateDatabase, with no connection open to it), or empty when
// from is "". Copying a populated registry is quicker than filling it.
func CopyDatabase(tb testing.TB, from string) string {
	tb.Helper()
	dsn, drop, err := createDatabase(from)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	tb.Cleanup(drop)
	return dsn
}

// CreateDatabase creates an empty PostgreSQL database that outlives any
// one test; drop removes it.
func CreateDatabase() (dsn string, drop func(), err error) { return createDatabase("") }

func createDatabase(from string) (string, func(), error) {
	db, err := adminDB()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", EnvPostgres, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "doorstep_test_" + hex.EncodeToString(b[:])
	stmt := `CREATE DATABASE ` + name
	if from != "" {
		u, err := url.Parse(from)
		if err != nil {
			return "", nil, err
		}
		stmt += ` TEMPLATE ` + strings.TrimPrefix(u.Path, "/")
	}
	if _, err := db.ExecContext(context.Background(), stmt); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	}
	u, err := url.Parse(os.Getenv(EnvPostgres))
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("%s: %w", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// OpenSQL opens db (as Registry returns it) for a test to look inside
// with plain queries written in the store's dialect.
func OpenSQL(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	ctx := context.Background()
	var (
		conn *sql.DB
		err  error
	)
	if pgdb.IsDSN(db) {
		conn, err = pgdb.Open(ctx, db, 2)
	} else {
		conn, err = sqlitedb.Open(ctx, db)
	}
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}
