#!/usr/bin/env bash
# Generated-input test of the HTTP API: schemathesis (PyPI) sends ~1500 generated requests,
# valid and malformed, to a live `dbsync serve` on throwaway databases, and fails on any 5xx
# or any answer that does not match /openapi.json.
#
# positive_data_acceptance is left out on purpose: a schema-valid body can still be refused
# with 409/422 for reasons a schema cannot express (an email already taken, a user_id that
# does not exist, a name of control characters).
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${API_FUZZ_EXAMPLES:-60}

venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q 'schemathesis>=4.3,<5'
fi
cargo build -q
bin=$PWD/target/debug/dbsync

tag="fuzz_$$_$RANDOM"
export DB_HOST=${DBSYNC_TEST_DB_HOST:-127.0.0.1} DB_PORT=${DBSYNC_TEST_DB_PORT:-3306}
export DB_USER=${DBSYNC_TEST_DB_USER:-root} DB_PASSWORD=${DBSYNC_TEST_DB_PASSWORD:-}
export DB_OFFLINE_DB="dbsync_${tag}_a" DB_CENTRAL_DB="dbsync_${tag}_b" IS_ONLINE=true RUST_LOG=warn
export PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
workdir=$(mktemp -d) # no .env is read from here

cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  client=$(command -v mariadb || command -v mysql || true)
  if [ -n "$client" ]; then
    MYSQL_PWD="$DB_PASSWORD" "$client" --protocol=TCP -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" \
      -e "DROP DATABASE IF EXISTS $DB_OFFLINE_DB; DROP DATABASE IF EXISTS $DB_CENTRAL_DB" || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

cd "$workdir"
"$bin" init --seed >/dev/null
"$bin" serve 2>serve.log &
server=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

"$OLDPWD/$venv/bin/st" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "$examples" --seed 20261121 --no-color
