#!/usr/bin/env bash
# Makes sure a MySQL/MariaDB server answers on DB_HOST:DB_PORT and lets DB_USER log in over TCP.
# Where no server answers on this machine, installs Debian's mariadb-server and starts it.
# A server that already answers and accepts the login is left exactly as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

# Values from the environment win over .env, as in dbsync itself.
env_value() {
  local name=$1 default=$2 value
  value=${!name-}
  if [ -z "$value" ] && [ -f .env ]; then
    value=$(sed -n "s/^[[:space:]]*$name[[:space:]]*=[[:space:]]*//p" .env | tail -n 1 | sed 's/^"\(.*\)"$/\1/')
  fi
  printf '%s' "${value:-$default}"
}
host=$(env_value DB_HOST 127.0.0.1)
port=$(env_value DB_PORT 3306)
user=$(env_value DB_USER root)
password=$(env_value DB_PASSWORD "")

say() { echo "ensure-db: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
client() { command -v mariadb || command -v mysql || true; }
port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
tcp_login() {
  local c; c=$(client)
  [ -n "$c" ] || return 0 # no client to check with: the port answering has to do
  MYSQL_PWD="$password" "$c" --protocol=TCP -h "$host" -P "$port" -u "$user" -e 'SELECT 1' >/dev/null 2>&1
}

if port_open && tcp_login; then
  exit 0
fi

case "$host" in
  127.0.0.1|localhost|::1) ;;
  *) say "no database server accepts $user at $host:$port; start it or fix DB_* in .env"; exit 1 ;;
esac

if ! port_open; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    say "no database server here; installing mariadb-server (Debian package)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  fi
  say "starting MariaDB (runs as the mysql user)"
  as_root install -d -o mysql -g mysql /run/mysqld
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --port="$port"
  for _ in $(seq 1 60); do
    port_open && break
    sleep 0.5
  done
  port_open || { say "MariaDB did not start listening on port $port"; exit 1; }
fi

if ! tcp_login; then
  # Debian lets root in through the unix socket only; allow the configured user over TCP too.
  say "allowing $user to log in over TCP with the configured password"
  c=$(client)
  sql_password=${password//\'/\'\'}
  if [ "$user" = root ]; then
    as_root "$c" -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$sql_password');"
  else
    as_root "$c" -u root -e "
      CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$sql_password';
      CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$sql_password';
      GRANT ALL PRIVILEGES ON *.* TO '$user'@'localhost';
      GRANT ALL PRIVILEGES ON *.* TO '$user'@'127.0.0.1';"
  fi
  tcp_login || { say "$user still cannot log in at $host:$port"; exit 1; }
fi
say "database server ready at $host:$port"
