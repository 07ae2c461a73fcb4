// Package pgdb opens the PostgreSQL database a server fleet shares and
// applies the embedded, numbered migrations once, under an advisory lock,
// so that servers starting together do not race. The store's queries are
// written once for both engines: this package rewrites the few SQLite
// forms PostgreSQL spells differently as each statement is prepared.
package pgdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/internal/dbmigrate"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsDSN reports whether db names a PostgreSQL database rather than a file.
func IsDSN(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open opens a pool of at most conns connections to the database at dsn.
func Open(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// A server that dies inside a transaction (its machine gone, not just
	// its process) would hold the writer lock until TCP gave up, hours
	// later, and every other server's writes would wait. No transaction
	// of ours sits idle for more than milliseconds, so PostgreSQL may end
	// one idle this long. A value in the URL wins.
	if _, ok := cfg.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = idleInTransaction
	}
	db := sql.OpenDB(connector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres %s: %w", Redact(dsn), err)
	}
	return db, nil
}

// idleInTransaction is how long PostgreSQL lets a session of ours sit
// idle inside a transaction before it ends it (and its locks).
const idleInTransaction = "30s"

// Redact hides a password in dsn, for messages and logs.
func Redact(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "postgres://…"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// migrationLock is the advisory lock key servers hold while migrating.
const migrationLock = 0x646f6f72 // "door"

// Migrate applies, in order, each NNNN_name.sql of migrations the database
// has not recorded, each in one transaction with its schema_migrations
// row. It holds a session advisory lock throughout, so of several servers
// starting at once one migrates and the others wait, then find it done.
func Migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)

	// Each body goes as one simple-protocol message, which may hold many
	// statements; Rewrite is for the store's queries, not DDL.
	return dbmigrate.Apply(ctx, conn, migrations, rawPrefix)
}

// rawPrefix marks a statement to pass through unrewritten, as several
// statements in one simple-protocol message.
const rawPrefix = "-- pgdb:raw\n"

// connector hands database/sql connections that rewrite each statement.
type connector struct{ base driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: cn.(*stdlib.Conn)}, nil
}

func (c connector) Driver() driver.Driver { return c.base.Driver() }

// conn is pgx's connection with the store's queries rewritten on the way
// in. Every other method is pgx's own.
type conn struct{ *stdlib.Conn }

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(context.Background(), Rewrite(query))
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, Rewrite(query))
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if strings.HasPrefix(query, rawPrefix) && len(args) == 0 {
		_, err := c.Conn.Conn().PgConn().Exec(ctx, query).ReadAll()
		return driver.RowsAffected(0), err
	}
	return c.Conn.ExecContext(ctx, Rewrite(query), args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, Rewrite(query), args)
}

var rewritten sync.Map // query -> its PostgreSQL form

// jsonField is SQLite's json_extract of one top-level field, which the
// store uses on its JSON text columns.
var jsonField = regexp.MustCompile(`json_extract\(([a-z_.]+), '\$\.([a-z_]+)'\)`)

// Rewrite turns a store query into PostgreSQL's dialect: ? placeholders
// become $1, $2, ... and ?N becomes $N (outside quoted text), and json_extract(col, '$.f')
// becomes (col::jsonb ->> 'f'). Other SQLite-only forms are not written
// in the store's queries at all.
func Rewrite(query string) string {
	if q, ok := rewritten.Load(query); ok {
		return q.(string)
	}
	q := jsonField.ReplaceAllString(query, `(($1)::jsonb ->> '$2')`)
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '?':
			// ?NNN (SQLite's numbered parameter) is $NNN as it is.
			b.WriteByte('$')
			if i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
				continue
			}
			n++
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(ch)
	}
	out := b.String()
	rewritten.Store(query, out)
	return out
}

// Raw runs fn on one connection of db as pgx's own, for what database/sql
// cannot say: COPY, and a transaction spanning it.
func Raw(ctx context.Context, db *sql.DB, fn func(*pgx.Conn) error) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		cn, ok := dc.(*conn)
		if !ok {
			return fmt.Errorf("pgdb: not a pgdb connection: %T", dc)
		}
		return fn(cn.Conn.Conn())
	})
}

// ServerError reports whether err carries an error PostgreSQL raised: a
// statement it refused, which ends the transaction it ran in.
func ServerError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}
