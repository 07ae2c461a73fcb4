#!/usr/bin/env bash
# Runs the benchmarks each issue asks for and prints one table of figures
# against their targets. REGISTRY sets the size of the server registry the
# ingest and incremental-matching figures, and card verification under
# load, are measured against.
set -euo pipefail
cd "$(dirname "$0")/.."
REGISTRY=${REGISTRY:-1000000}
# Matching a registry into the server's SQLite store runs at about 1,000
# residents/s on 2 cores, so the store figure is taken at 100k by default;
# the in-memory reference matcher is measured at 1M.
MATCH_REGISTRY=${MATCH_REGISTRY:-100000}
PG_MATCH_REGISTRY=${PG_MATCH_REGISTRY:-20000}
# The hospital feed is read from zero over a registry of this size: two
# events a person, so 2M events at the default.
FEED_REGISTRY=${FEED_REGISTRY:-$REGISTRY}
work=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-bench.XXXXXX")
# The PostgreSQL cluster's folder stands apart: run as root, the cluster
# runs as the postgres user, who may not enter $work (mode 0700).
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-bench-pg.XXXXXX")
trap 'bash scripts/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work" "$pgdir"' EXIT
go build -o "$work/" ./cmd/syncserver ./cmd/surveygen
{
	# issue 2
	go test -run '^$' -bench 'BenchmarkImport$' -benchtime 1x -count 1 ./surveyor/ 2>&1
	go test -run '^$' -bench 'BenchmarkPushBatch$' -benchtime 300x -count 1 -timeout 60m ./syncserver/http/ -seed-residents "$REGISTRY" 2>&1
	# issue 3: quality on surveygen data (~50k residents, 10% duplicates) and the FEBRL sets
	"$work/surveygen" --households 14000 --dup-rate 0.1 --seed 2026 --out "$work/surveygen.jsonl"
	echo "EVAL EvalSurveygen $("$work/syncserver" --db "$work/eval.db" match eval --in "$work/surveygen.jsonl" --json)"
	for n in 1 2; do
		f=../shared/data/febrl/febrl$n.jsonl
		if [ -f "$f" ]; then
			echo "EVAL EvalFebrl$n $("$work/syncserver" --db "$work/eval.db" match eval --in "$f" --json)"
		else
			echo "skipping FEBRL $n: $f is absent" >&2
		fi
	done
	go test -run '^$' -bench 'BenchmarkMatchIncremental$' -benchtime 20000x -count 1 -timeout 30m ./syncserver/match/ 2>&1
	go test -run '^$' -bench 'BenchmarkStoreMatchIncremental$' -benchtime 2000x -count 1 -timeout 90m ./syncserver/store/ -registry-residents "$MATCH_REGISTRY" 2>&1
	# issue 4 (one core)
	go test -run '^$' -bench 'BenchmarkRenderSheet$|BenchmarkVerify$|BenchmarkPayloadSize$' -cpu 1 -count 1 ./cards/ 2>&1
	# issue 5: card verification under load from 64 connections, then the
	# feed caught up from zero, over one registry seeded once (in $work).
	go test -run '^$' -bench 'BenchmarkVerifyCardLoad$' -benchtime 30000x -cpu 2 -count 1 -timeout 60m \
		./syncserver/http/ -registry-cache "$work/registry" -registry-persons "$REGISTRY" 2>&1
	go test -run '^$' -bench 'BenchmarkFeedCatchUp$' -benchtime 1x -cpu 2 -count 1 -timeout 60m \
		./syncserver/http/ -registry-cache "$work/registry" -feed-persons "$FEED_REGISTRY" 2>&1
	# and verification while laptops sync and the matcher runs (500/s
	# offered during 2,000 residents/s of sync, for 20 s)
	go test -run '^$' -bench 'BenchmarkVerifyDuringSync$' -benchtime 10000x -cpu 2 -count 1 -timeout 60m \
		./syncserver/http/ -registry-cache "$work/registry" -registry-persons "$REGISTRY" 2>&1
	# issue 7: one and two server processes on one PostgreSQL (a throwaway
	# cluster), next to one on SQLite; then verification on two processes
	# over the issue 5 registry, copied into PostgreSQL.
	if dsn=$(bash scripts/pg-cluster.sh start "$pgdir"); then
		DOORSTEP_TEST_POSTGRES="$dsn" go test -run '^$' -bench 'BenchmarkIngestServers' -benchtime 1x -count 1 -timeout 60m \
			./e2e/ -ingest-registry "$REGISTRY" 2>&1
		DOORSTEP_TEST_POSTGRES="$dsn" go test -run '^$' -bench 'BenchmarkVerifyServers' -benchtime 30000x -cpu 2 -count 1 -timeout 60m \
			./syncserver/http/ -registry-cache "$work/registry" -registry-persons "$REGISTRY" 2>&1
		# the matcher on PostgreSQL, over a smaller registry: it matches a
		# few hundred residents a second there
		DOORSTEP_TEST_POSTGRES="$dsn" go test -run '^$' -bench 'BenchmarkStoreMatchIncremental$' -benchtime 500x -count 1 -timeout 60m \
			./syncserver/store/ -registry-residents "$PG_MATCH_REGISTRY" 2>&1
		bash scripts/pg-cluster.sh stop "$pgdir"
	else
		echo "skipping issue 7: no PostgreSQL cluster could be started" >&2
	fi
	# issue 8, store side: a laptop holding 5,000 surveygen households
	# (~18,000 residents); 500 saves of a household of four.
	go test -run '^$' -bench 'BenchmarkSaveHousehold$|BenchmarkLookalikes$|BenchmarkPlaces$' -benchtime 500x -count 1 ./surveyor/ 2>&1
	go test -run '^$' -bench 'BenchmarkListHouseholds$' -benchtime 100x -count 1 ./surveyor/ 2>&1
	# issue 8, the form: list page and Save over HTTP on 127.0.0.1, 5,000 households on the laptop
	go test -run '^$' -bench 'BenchmarkUIListPage$|BenchmarkUISave$' -benchtime 200x -count 1 ./surveyor/ui/ 2>&1
} | go run ./internal/benchtable
