#!/usr/bin/env bash
# Runs dbsync with sample data: a database server, .env, a release build, `init --seed`, `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .env ]; then
  cp .env.example .env
  echo "run: created .env from .env.example" >&2
fi
scripts/ensure-db.sh
echo "run: building the release binary (the first build takes a few minutes)" >&2
cargo build --release --bin dbsync
./target/release/dbsync init --seed
echo "run: starting dbsync; open the status page at the URL in the first log line" >&2
exec ./target/release/dbsync serve
