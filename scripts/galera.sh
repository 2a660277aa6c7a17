#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on loopback, for dbsync's tests and benchmark.
#
# Usage: scripts/galera.sh up | down | status | env | kill N | start N      (N = 1..3)
#   up       start whatever is missing and wait until all 3 nodes are Synced in one cluster
#            (bootstraps a fresh cluster, restarts after `down`, recovers after a kill of all)
#   down     stop every node (SIGTERM, SIGKILL after ~15 s); exit 0 when nothing runs
#   status   one line per node; exit 0 when all 3 are Synced in a 3-node cluster, 1 otherwise
#   env      shell lines for the tests: GALERA_NODE1..3=127.0.0.1:PORT, GALERA_HOSTS=...
#   kill N   SIGKILL node N (and its SST helpers), as a crash would
#   start N  start node N alone; it joins the nodes that run and waits until it is Synced
#
# Ports, from GALERA_BASE_PORT (B, default 4400), node i = 1..3:
#   client  B+i              4401 4402 4403
#   group   B+101+10*i       4511 4521 4531   (gmcast.listen_addr, wsrep_node_address)
#   IST     group+1          4512 4522 4532   (ist.recv_addr)
#   SST     group+2          4513 4523 4533   (wsrep_sst_receive_address, rsync)
# The standalone server on 3306 is never touched: every node runs
# `mariadbd --defaults-file=target/galera/nodeI.cnf`, so /etc/mysql/my.cnf is not read.
#
# Files: target/galera/ of the repository: nodeI.cnf, nodeI/ (datadir), nodeI.sock, nodeI.pid,
# nodeI.err (error log). Root logs in over TCP from 127.0.0.1 with an empty password.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$REPO/target/galera
BASE=${GALERA_BASE_PORT:-4400}
PROVIDER=/usr/lib/galera/libgalera_smm.so
MARIADBD=/usr/sbin/mariadbd
START_TIMEOUT=60 # seconds a node may take to reach Synced
STOP_TIMEOUT=15  # seconds after SIGTERM before SIGKILL
NODES=(1 2 3)

say() { echo "galera: $*" >&2; }
die() { say "$*"; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

case "$BASE" in '' | *[!0-9]*) die "GALERA_BASE_PORT must be a number, not '$BASE'" ;; esac
[ "$BASE" -ge 1024 ] && [ "$BASE" -le 65000 ] || die "GALERA_BASE_PORT must be in 1024..65000"

client_port() { echo $((BASE + $1)); }
group_port() { echo $((BASE + 101 + 10 * $1)); }
ist_port() { echo $(($(group_port "$1") + 1)); }
sst_port() { echo $(($(group_port "$1") + 2)); }
cnf() { echo "$DIR/node$1.cnf"; }
datadir() { echo "$DIR/node$1"; }
sock() { echo "$DIR/node$1.sock"; }
errlog() { echo "$DIR/node$1.err"; }

check_node_arg() {
  case "${1-}" in 1 | 2 | 3) ;; *) die "node must be 1, 2 or 3 (got '${1-}')" ;; esac
}

# ---------------------------------------------------------------- installation and config files
ensure_packages() {
  local need=()
  { [ -x "$MARIADBD" ] && command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null; } ||
    need+=(mariadb-server)
  [ -f "$PROVIDER" ] || need+=(galera-4)
  command -v rsync >/dev/null || need+=(rsync)
  [ ${#need[@]} -eq 0 ] && return 0
  say "installing ${need[*]}"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

write_cnfs() {
  as_root mkdir -p "$DIR"
  local i gaddr=""
  for i in "${NODES[@]}"; do gaddr+="${gaddr:+,}127.0.0.1:$(group_port "$i")"; done
  for i in "${NODES[@]}"; do
    as_root mkdir -p "$(datadir "$i")"
    as_root tee "$(cnf "$i").tmp" >/dev/null <<EOF
# Written by scripts/galera.sh; rewritten on every run.
[mysqld]
user=mysql
datadir=$(datadir "$i")
socket=$(sock "$i")
pid-file=$DIR/node$i.pid
log-error=$(errlog "$i")
port=$(client_port "$i")
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
innodb_buffer_pool_size=64M
max_connections=300
binlog_format=ROW
innodb_autoinc_lock_mode=2
default_storage_engine=InnoDB
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=dbsync_test
wsrep_cluster_address=gcomm://$gaddr
wsrep_node_address=127.0.0.1:$(group_port "$i")
wsrep_node_name=node$i
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$(group_port "$i");ist.recv_addr=127.0.0.1:$(ist_port "$i");gcache.size=64M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$(sst_port "$i")

[client]
socket=$(sock "$i")
port=$(client_port "$i")
EOF
    as_root mv -f "$(cnf "$i").tmp" "$(cnf "$i")"
  done
  as_root chown -R mysql:mysql "$DIR"
}

# ---------------------------------------------------------------- processes
# The pid of node i's mariadbd, or nothing. Only a mariadbd started with this node's
# --defaults-file counts, so a stale pid file can never point at another server.
is_node_process() {
  local pid=$1 i=$2 args
  [ -r "/proc/$pid/cmdline" ] || return 1
  args=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  grep -qxF -- "--defaults-file=$(cnf "$i")" <<<"$args" || return 1
  case "$(head -n 1 <<<"$args")" in
    */mariadbd | mariadbd) return 0 ;;
    # the launcher in the instant before it execs (setsid) or while it waits (sudo)
    */setsid | setsid | */sudo | sudo) grep -qxF -- "$MARIADBD" <<<"$args" ;;
    *) return 1 ;;
  esac
}
# Looks at the pid file, then at every process's command line, then at the launcher's pid.
node_pid() {
  local i=$1 pid f
  pid=$(as_root cat "$DIR/node$i.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && is_node_process "$pid" "$i"; then echo "$pid"; return 0; fi
  for f in $(grep -lzxF -- "--defaults-file=$(cnf "$i")" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    if is_node_process "$pid" "$i" && [ "$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null || echo x)")" = mariadbd ]; then
      echo "$pid"
      return 0
    fi
  done
  pid=$(cat "$DIR/node$i.launch" 2>/dev/null || true)
  if [ -n "$pid" ] && is_node_process "$pid" "$i"; then echo "$pid"; fi
  return 0
}
# All descendants of a pid (SST scripts, rsync daemons), deepest last.
descendants() {
  local parent=$1 child
  for child in $(ps -o pid= --ppid "$parent" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# ---------------------------------------------------------------- queries through the socket
q() { # q NODE SQL: tab-separated rows; fails when the node does not answer
  as_root mariadb --no-defaults --socket="$(sock "$1")" -uroot --connect-timeout=2 -N -B -e "$2" 2>/dev/null
}
# Prints "size ready state comment cluster_status last_committed", or nothing.
wsrep_state() {
  q "$1" "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size','wsrep_ready','wsrep_local_state','wsrep_local_state_comment','wsrep_cluster_status','wsrep_last_committed')" |
    awk -F'\t' '{ v[tolower($1)] = $2; n++ }
      END { if (n == 0) exit
            printf "%s %s %s %s %s %s\n", v["wsrep_cluster_size"], v["wsrep_ready"], v["wsrep_local_state"],
              v["wsrep_local_state_comment"], v["wsrep_cluster_status"], v["wsrep_last_committed"] }' || true
}
# synced NODE [SIZE]: node is ready, Synced, in a Primary component (of SIZE nodes if given)
synced() {
  local s size ready state comment status
  s=$(wsrep_state "$1")
  [ -n "$s" ] || return 1
  read -r size ready state comment status _ <<<"$s"
  [ "$ready" = ON ] && [ "$state" = 4 ] && [ "$status" = Primary ] && { [ -z "${2-}" ] || [ "$size" = "$2" ]; }
}

node_line() {
  local i=$1 pid s size="-" ready="-" comment="-" status="-" run=down
  pid=$(node_pid "$i")
  if [ -n "$pid" ]; then
    run=running
    s=$(wsrep_state "$i")
    if [ -n "$s" ]; then read -r size ready _ comment status _ <<<"$s"; else comment=starting; fi
  fi
  printf 'node%s port=%s pid=%s %s wsrep_cluster_size=%s wsrep_ready=%s wsrep_local_state_comment=%s wsrep_cluster_status=%s\n' \
    "$i" "$(client_port "$i")" "${pid:--}" "$run" "$size" "$ready" "$comment" "$status"
}

fail_node() {
  local i=$1
  say "node$i: $2; last lines of $(errlog "$i"):"
  as_root tail -n 25 "$(errlog "$i")" >&2 2>/dev/null || true
  exit 1
}

# ---------------------------------------------------------------- grastate.dat and recovery
grastate() { # grastate NODE KEY
  as_root sed -n "s/^$2:[[:space:]]*//p" "$(datadir "$1")/grastate.dat" 2>/dev/null | head -n 1
}
has_data() { as_root test -d "$(datadir "$1")/mysql"; }

# The position (uuid:seqno) InnoDB recovers for a node that was killed while running, whose
# grastate.dat then says seqno -1. Takes ~0.2 s; without it a restarted node would need a full
# SST (the rsync donor blocks its writes meanwhile) instead of an IST.
recover_pos() {
  local i=$1 log="$DIR/node$1.recover.log"
  as_root rm -f "$log"
  as_root "$MARIADBD" --defaults-file="$(cnf "$i")" --wsrep-recover --log-error="$log" >/dev/null 2>&1 || true
  as_root sed -n 's/.*WSREP: Recovered position: *\([0-9a-f-]*:-\{0,1\}[0-9]*\).*/\1/p' "$log" 2>/dev/null | tail -n 1
  as_root rm -f "$log"
}

set_safe_to_bootstrap() {
  local f
  f="$(datadir "$1")/grastate.dat"
  as_root test -f "$f" || return 0
  as_root sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$f"
  as_root chown mysql:mysql "$f"
}

# Which node to bootstrap when none runs: the one with safe_to_bootstrap: 1, else the highest
# seqno, taken from grastate.dat or, for nodes that were killed (seqno -1 there), recovered from
# InnoDB; ties go to the lowest node number. Prints nothing when no node has data.
pick_bootstrap_node() {
  local i best="" best_seq=-2 seq cand=() crashed=() tmp
  for i in "${NODES[@]}"; do
    has_data "$i" || continue
    cand+=("$i")
    if [ "$(grastate "$i" safe_to_bootstrap)" = 1 ]; then echo "$i"; return 0; fi
  done
  [ ${#cand[@]} -gt 0 ] || return 0
  tmp=$(mktemp -d)
  for i in "${cand[@]}"; do
    seq=$(grastate "$i" seqno)
    if [ "${seq:--1}" = -1 ]; then crashed+=("$i"); else echo "$seq" >"$tmp/$i"; fi
  done
  if [ ${#crashed[@]} -gt 0 ]; then
    say "node(s) ${crashed[*]} were not stopped cleanly; recovering their positions from InnoDB"
    for i in "${crashed[@]}"; do recover_pos "$i" >"$tmp/$i" & done
    wait
  fi
  for i in "${cand[@]}"; do
    seq=$(cat "$tmp/$i" 2>/dev/null || true)
    seq=${seq##*:}
    case "$seq" in '' | *[!0-9-]*) continue ;; esac
    if [ "$seq" -gt "$best_seq" ]; then best=$i; best_seq=$seq; fi
  done
  rm -rf "$tmp"
  echo "${best:-${cand[0]}}"
}

# ---------------------------------------------------------------- start and stop
launch() { # launch NODE [extra mariadbd args...]
  local i=$1 pid pos port
  shift
  for port in $(client_port "$i") $(group_port "$i") $(ist_port "$i") $(sst_port "$i"); do
    if [ -n "$(ss -ltnH "sport = :$port" 2>/dev/null)" ]; then
      die "node$i: port $port is already in use ($(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'users:.*' | head -n 1)); set GALERA_BASE_PORT"
    fi
  done
  as_root rm -f "$DIR/node$i.pid"
  as_root chown -R mysql:mysql "$(datadir "$i")"
  # A joiner forgets its saved group view (gvwstate.dat, written by pc.recovery): with it, a node
  # restarted right after a kill reuses its old member id, and the others ignore it for ~20 s
  # until they have evicted that old member.
  case " $* " in *" --wsrep-new-cluster "*) ;; *) as_root rm -f "$(datadir "$i")/gvwstate.dat" ;; esac
  if has_data "$i" && [ "$(grastate "$i" seqno)" = -1 ]; then
    pos=$(recover_pos "$i")
    case "$pos" in *:-1 | "") ;; *) set -- "$@" --wsrep-start-position="$pos" ;; esac
  fi
  # setsid: the node outlives this script and the caller's process group.
  local run=()
  [ "$(id -u)" -eq 0 ] || run=(sudo)
  "${run[@]}" setsid "$MARIADBD" --defaults-file="$(cnf "$i")" "$@" </dev/null >>"$DIR/node$i.out" 2>&1 &
  pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid" | as_root tee "$DIR/node$i.launch" >/dev/null
}

# wait_synced SIZE NODE...: until every node is Synced in a Primary component of SIZE nodes
wait_synced() {
  local size=$1 deadline i pending
  shift
  deadline=$(($(date +%s) + START_TIMEOUT))
  while :; do
    pending=()
    for i in "$@"; do
      [ -n "$(node_pid "$i")" ] || fail_node "$i" "mariadbd exited while starting"
      synced "$i" "$size" || pending+=("$i")
    done
    [ ${#pending[@]} -eq 0 ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail_node "${pending[0]}" "not Synced in a $size-node cluster after ${START_TIMEOUT}s ($(wsrep_state "${pending[0]}"))"
    sleep 0.2
  done
}

# wait_members N JOINER NODE...: until one of NODE... sees a component of at least N members.
wait_members() {
  local n=$1 joiner=$2 deadline i size
  shift 2
  deadline=$(($(date +%s) + START_TIMEOUT))
  while :; do
    for i in "$@"; do
      read -r size _ <<<"$(wsrep_state "$i")"
      [ -n "$size" ] && [ "$size" -ge "$n" ] && return 0
    done
    [ -n "$(node_pid "$joiner")" ] || fail_node "$joiner" "mariadbd exited while starting"
    [ "$(date +%s)" -lt "$deadline" ] || fail_node "$joiner" "did not join the group within ${START_TIMEOUT}s"
    sleep 0.1
  done
}

# Running nodes that answer; waits (bounded) for nodes that are still starting.
running_nodes() {
  local i
  for i in "${NODES[@]}"; do [ -n "$(node_pid "$i")" ] && echo "$i"; done
  return 0
}

# Make sure the running nodes form a Primary component; when all of them lost quorum (for example
# two of three were killed), promote the one with the highest last_committed with pc.bootstrap.
ensure_primary() {
  local running=("$@") i s deadline best="" best_seq=-2 seq status
  deadline=$(($(date +%s) + START_TIMEOUT))
  while :; do
    local answering=0 primary=""
    for i in "${running[@]}"; do
      s=$(wsrep_state "$i")
      [ -n "$s" ] || continue
      answering=$((answering + 1))
      read -r _ _ _ _ status _ <<<"$s"
      [ "$status" = Primary ] && primary=$i
    done
    [ -n "$primary" ] && return 0
    [ "$answering" -eq ${#running[@]} ] && break
    [ "$(date +%s)" -lt "$deadline" ] || die "running nodes (${running[*]}) do not answer on their sockets"
    sleep 0.2
  done
  # Give a component that is forming right now a moment before forcing one.
  sleep 1
  for i in "${running[@]}"; do
    s=$(wsrep_state "$i")
    read -r _ _ _ _ status seq <<<"$s"
    [ "$status" = Primary ] && return 0
    if [ -n "$seq" ] && [ "$seq" -gt "$best_seq" ]; then best=$i; best_seq=$seq; fi
  done
  say "no running node is in a Primary component; forcing pc.bootstrap on node$best"
  q "$best" "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'" >/dev/null ||
    die "could not set pc.bootstrap on node$best"
  wait_synced "" "$best"
}

setup_users() {
  local i=$1
  q "$i" "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
    CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
    CREATE USER IF NOT EXISTS root@'%' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO root@'%' WITH GRANT OPTION;" >/dev/null ||
    die "node$i: could not create the root users for TCP logins"
}
tcp_login() {
  mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P "$(client_port "$1")" -uroot --connect-timeout=3 \
    -N -B -e 'SELECT 1' >/dev/null 2>&1
}
ensure_tcp_logins() {
  local i tries
  tcp_login 1 || setup_users 1
  for i in "${NODES[@]}"; do
    for tries in $(seq 1 25); do tcp_login "$i" && break; sleep 0.2; done
    tcp_login "$i" || die "node$i: root cannot log in over TCP on port $(client_port "$i")"
  done
}

# ---------------------------------------------------------------- commands
cmd_up() {
  local t0 i boot="" missing=() running
  t0=$(now)
  ensure_packages
  write_cnfs
  mapfile -t running < <(running_nodes)

  if [ ${#running[@]} -eq 3 ] && synced 1 3 && synced 2 3 && synced 3 3; then
    ensure_tcp_logins
    for i in "${NODES[@]}"; do node_line "$i"; done
    say "cluster already up and Synced (3 nodes)"
    return 0
  fi

  if [ ${#running[@]} -eq 0 ]; then
    boot=$(pick_bootstrap_node)
    if [ -z "$boot" ]; then
      say "initialising a new cluster in $DIR"
      for i in "${NODES[@]}"; do as_root rm -rf "$(datadir "$i")" && as_root mkdir -p "$(datadir "$i")"; done
      as_root chown -R mysql:mysql "$DIR"
      as_root mariadb-install-db --defaults-file="$(cnf 1)" --skip-test-db >"$DIR/install-db.log" 2>&1 || {
        as_root tail -n 25 "$DIR/install-db.log" >&2
        die "mariadb-install-db failed for node1"
      }
      boot=1
    fi
    set_safe_to_bootstrap "$boot"
    launch "$boot" --wsrep-new-cluster
    wait_synced "" "$boot"
    tcp_login "$boot" || setup_users "$boot"
    running=("$boot")
  else
    ensure_primary "${running[@]}"
  fi

  for i in "${NODES[@]}"; do
    [ -n "$(node_pid "$i")" ] || missing+=("$i")
  done
  # Joiners enter the group one at a time (each as soon as the others see it): two nodes
  # joining at once make gcomm reconnect for seconds. Their state transfers still overlap.
  local members=${#running[@]}
  for i in "${missing[@]}"; do
    launch "$i"
    members=$((members + 1))
    wait_members "$members" "$i" "${running[@]}"
  done
  wait_synced 3 "${NODES[@]}"
  ensure_tcp_logins
  for i in "${NODES[@]}"; do node_line "$i"; done
  say "cluster up: 3 nodes Synced in $(since "$t0") s"
}

stop_nodes() { # stop_nodes NODE...: SIGTERM, wait, SIGKILL after STOP_TIMEOUT
  local i pid pids=() nodes=() deadline alive
  for i in "$@"; do
    pid=$(node_pid "$i")
    [ -n "$pid" ] || continue
    as_root kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid") nodes+=("$i")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  deadline=$(($(date +%s) + STOP_TIMEOUT))
  while :; do
    alive=0
    for i in "${!pids[@]}"; do is_node_process "${pids[$i]}" "${nodes[$i]}" && alive=1; done
    [ "$alive" -eq 0 ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      for i in "${!pids[@]}"; do
        if is_node_process "${pids[$i]}" "${nodes[$i]}"; then
          say "node${nodes[$i]} did not stop in ${STOP_TIMEOUT}s; SIGKILL"
          kill_node "${nodes[$i]}"
        fi
      done
      return 0
    fi
    sleep 0.1
  done
}

cmd_down() {
  local t0
  t0=$(now)
  [ -d "$DIR" ] || { say "nothing runs"; return 0; }
  # Nodes 3 and 2 leave first so node 1 stops last and is marked safe_to_bootstrap.
  stop_nodes 3 2
  stop_nodes 1
  say "all nodes stopped in $(since "$t0") s"
}

kill_node() {
  local i=$1 pid kids
  pid=$(node_pid "$i")
  if [ -z "$pid" ]; then say "node$i is not running"; return 0; fi
  kids=$(descendants "$pid")
  as_root kill -KILL "$pid" 2>/dev/null || true
  # shellcheck disable=SC2086
  [ -z "$kids" ] || as_root kill -KILL $kids 2>/dev/null || true
  for _ in $(seq 1 50); do is_node_process "$pid" "$i" || break; sleep 0.1; done
  as_root rm -f "$DIR/node$i.pid" "$DIR/node$i.launch"
}

cmd_kill() {
  check_node_arg "${1-}"
  kill_node "$1"
  say "node$1 killed"
}

cmd_start() {
  local i=${1-} t0 others=() j
  check_node_arg "$i"
  t0=$(now)
  write_cnfs
  if [ -n "$(node_pid "$i")" ]; then
    wait_synced "" "$i"
    node_line "$i"
    say "node$i already running"
    return 0
  fi
  for j in $(running_nodes); do others+=("$j"); done
  [ ${#others[@]} -gt 0 ] || die "no other node runs for node$i to join; use: $0 up"
  ensure_primary "${others[@]}"
  launch "$i"
  wait_synced "" "$i"
  node_line "$i"
  say "node$i joined in $(since "$t0") s"
}

cmd_status() {
  local i ok=0
  for i in "${NODES[@]}"; do
    node_line "$i"
    { [ -n "$(node_pid "$i")" ] && synced "$i" 3; } || ok=1
  done
  return $ok
}

cmd_env() {
  local i hosts=""
  echo "GALERA_BASE_PORT=$BASE"
  for i in "${NODES[@]}"; do
    echo "GALERA_NODE$i=127.0.0.1:$(client_port "$i")"
    hosts+="${hosts:+,}127.0.0.1:$(client_port "$i")"
  done
  echo "GALERA_HOSTS=$hosts"
  echo "GALERA_USER=root"
  echo "GALERA_PASSWORD="
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

case "${1-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  kill) cmd_kill "${2-}" ;;
  start) cmd_start "${2-}" ;;
  *) usage ;;
esac
