#!/usr/bin/env bash
# Runs the benchmarks each issue asks for and prints one table of figures
# against their targets. Large fixtures (a registry of 1M residents) are
# built once into .bench-cache/ and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bench-cache
export DOORSTEP_BENCH_CACHE="$PWD/.bench-cache"
{
	go test -run '^$' -bench 'BenchmarkSurveyorImport$' -benchtime 1x -count 1 ./surveyor/ 2>&1
	go test -run '^$' -bench 'BenchmarkIngestHTTP$' -benchtime 1x -count 1 -timeout 60m ./e2e/ 2>&1
} | go run ./internal/benchtable
