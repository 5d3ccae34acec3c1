#!/bin/sh
# bench.sh runs the benchmarks recorded in docs/BENCHMARKS.md, with a
# throwaway PostgreSQL for the store benchmarks.
set -eu
cd "$(dirname "$0")/.."
scripts/test-deps.sh bench
eval "$(scripts/pg-test-server.sh start)"
trap 'scripts/pg-test-server.sh stop || true' EXIT INT TERM
go test -run '^$' -bench . -benchtime 2s ./server/ ./seal/ ./fingerprint/ ./detect/
