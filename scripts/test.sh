#!/usr/bin/env bash
# Runs every test against a real database server (DBSYNC_TEST_DB_HOST/PORT/USER/PASSWORD,
# default 127.0.0.1:3306 root with no password); starts one where none answers. The Galera
# tests start a 3-node cluster on loopback (scripts/galera.sh, ports 4401-4403) and this
# script stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DB_HOST=${DBSYNC_TEST_DB_HOST:-127.0.0.1} DB_PORT=${DBSYNC_TEST_DB_PORT:-3306} \
DB_USER=${DBSYNC_TEST_DB_USER:-root} DB_PASSWORD=${DBSYNC_TEST_DB_PASSWORD:-} \
  scripts/ensure-db.sh
# Chromium and playwright-core for the status page's browser test.
scripts/browser-setup.sh
# Generated requests against a live server first, so cargo's summary is the last word.
scripts/api-fuzz.sh
trap 'scripts/galera.sh down >/dev/null 2>&1 || true' EXIT
echo "test: starting the 3-node Galera cluster for the cluster tests" >&2
scripts/galera.sh up
# The tests wait on the database far more than on the CPU: run more of them than cores.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-6}
cargo test --all-targets "$@"
