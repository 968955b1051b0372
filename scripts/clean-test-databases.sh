#!/usr/bin/env bash
# Drops the PostgreSQL databases earlier test runs created (api_*, e2e_*, outpost_test_*,
# outpost_bench_*) so repeated runs on one machine do not pile them up. Run before the tests,
# never during them.
set -euo pipefail
server="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
command -v psql >/dev/null || { echo "clean-test-databases: psql not found, skipping"; exit 0; }
dbs="$(psql "$server" -Atc "SELECT datname FROM pg_database WHERE datname ~ '^(api|e2e|outpost_test|outpost_bench)_'" 2>/dev/null || true)"
n=0
for db in $dbs; do
  psql "$server" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null && n=$((n + 1))
done
echo "clean-test-databases: dropped $n leftover test database(s)"
