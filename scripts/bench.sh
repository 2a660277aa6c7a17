#!/usr/bin/env bash
# Builds the release binaries and runs dbsync-bench against the configured server
# (DB_HOST/DB_PORT/DB_USER/DB_PASSWORD, default 127.0.0.1:3306 root). Extra arguments go to
# dbsync-bench, e.g. `scripts/bench.sh --quick` or `--only drain,capture --reps 5`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-db.sh
cargo build --release --quiet
exec target/release/dbsync-bench "$@"
