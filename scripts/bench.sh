#!/usr/bin/env bash
# Runs the benchmarks each issue asks for and prints one table of figures
# against their targets.
set -euo pipefail
cd "$(dirname "$0")/.."
{
	go test -run '^$' -bench 'BenchmarkImport$' -benchtime 1x -count 1 ./surveyor/ 2>&1
	# The registry is seeded with 1M residents before the timer starts.
	go test -run '^$' -bench 'BenchmarkPushBatch$' -benchtime 300x -count 1 -timeout 60m ./syncserver/http/ -seed-residents 1000000 2>&1
} | go run ./internal/benchtable
