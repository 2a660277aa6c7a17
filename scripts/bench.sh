#!/usr/bin/env bash
# Builds the release binaries (dbsync and dbsync-bench) and runs target/release/dbsync-bench
# against the configured server (DB_HOST/DB_PORT/DB_USER/DB_PASSWORD, default 127.0.0.1:3306
# root). Extra arguments go to dbsync-bench, e.g. `scripts/bench.sh --quick`,
# `--only drain,capture --reps 5`, or `--galera` (then the 3-node cluster of
# scripts/galera.sh is started first when it is not up). Engine settings pass through:
# `SYNC_BATCH_SIZE=1000 scripts/bench.sh --only drain`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-db.sh
cargo build --release --quiet -p dbsync -p dbsync-bench
for arg in "$@"; do
  if [ "$arg" = --galera ]; then
    scripts/galera.sh up
    set -a
    eval "$(scripts/galera.sh env)"
    set +a
  fi
done
exec target/release/dbsync-bench "$@"
