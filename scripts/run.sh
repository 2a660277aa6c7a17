#!/usr/bin/env bash
# Runs dbsync with sample data: a database server, .env, a release build, `init --seed`, `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .env ]; then
  cp .env.example .env
  echo "run: created .env from .env.example" >&2
fi
scripts/ensure-db.sh
cargo build --release --quiet
./target/release/dbsync init --seed
exec ./target/release/dbsync serve
