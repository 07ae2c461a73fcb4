// Package storetest opens a fresh server store for a test on the engine
// the run is for (see internal/testdb): SQLite by default, PostgreSQL
// under make test-postgres. Every package's server tests open stores
// through it, so one set of tests covers both backends.
package storetest

import (
	"context"
	"testing"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// Open opens a new, empty store and closes it when tb ends.
func Open(tb testing.TB, opts ...store.Option) *store.Store {
	tb.Helper()
	db, keys := testdb.Registry(tb)
	s, err := store.Open(context.Background(), db, append([]store.Option{store.WithKeysDir(keys)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
