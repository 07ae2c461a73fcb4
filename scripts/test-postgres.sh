#!/usr/bin/env bash
# The server's tests on PostgreSQL: starts a throwaway cluster in a
# temporary folder on 127.0.0.1 (installing PostgreSQL from Debian's
# packages where it is missing), runs the server suite against it through
# DOORSTEP_TEST_POSTGRES, and stops it, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-pg.XXXXXX")
cleanup() {
	bash scripts/pg-cluster.sh stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
dsn=$(bash scripts/pg-cluster.sh start "$dir")
echo "test-postgres: cluster at ${dsn%%\?*}" >&2

export DOORSTEP_TEST_POSTGRES="$dsn"
# The server's packages: every test that opens a registry does so on
# PostgreSQL here. In e2e, the tests of several servers on one database.
go test -count=1 -timeout 15m ./syncserver/... ./internal/pgdb/... ./internal/testdb/...
go test -count=1 -timeout 15m -run 'Postgres' ./e2e/
