# A throwaway MariaDB server for the tests: `source .ci/mariadb.sh; start_mariadb` installs
# Debian's mariadb-server package if no server binaries are found, starts a server in a temporary
# directory on a free port of 127.0.0.1 (no system service; as the mysql user when run as root),
# creates a database and a user with a password, and exports TEST_MARIADB_URL for the tests;
# `stop_mariadb` stops it and removes the directory.

_mariadb_server() {
  local name
  for name in mariadbd mysqld; do
    if command -v "$name" >/dev/null; then command -v "$name"; return 0; fi
    if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return 0; fi
  done
  return 1
}

_mariadb_install_db() {
  local name
  for name in mariadb-install-db mysql_install_db; do
    if command -v "$name" >/dev/null; then command -v "$name"; return 0; fi
  done
  return 1
}

_mariadb_client() {
  local name
  for name in mariadb mysql; do
    if command -v "$name" >/dev/null; then command -v "$name"; return 0; fi
  done
  return 1
}

start_mariadb() {
  local server install client port user=() password ready
  if ! server=$(_mariadb_server) || ! install=$(_mariadb_install_db); then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "Installing MariaDB (Debian package) for the registry tests..." >&2
      # The package's own service is not started (no init system here) and not needed.
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server >/dev/null; } \
        || return 1
      server=$(_mariadb_server) && install=$(_mariadb_install_db) || return 1
    else
      echo "error: no MariaDB server binaries and no way to install them" >&2
      return 1
    fi
  fi
  client=$(_mariadb_client) || { echo "error: no MariaDB client (mariadb or mysql)" >&2; return 1; }
  if [ "$(id -u)" -eq 0 ]; then
    id mysql >/dev/null 2>&1 || useradd --system --home-dir /nonexistent mysql || return 1
    user=(--user=mysql)
  fi
  MARIADB_TMP=$(mktemp -d /tmp/modelcrate-mariadb.XXXXXX)
  chmod 755 "$MARIADB_TMP"
  [ "$(id -u)" -eq 0 ] && chown mysql "$MARIADB_TMP"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$install" --no-defaults "${user[@]}" --datadir="$MARIADB_TMP/data" \
    --auth-root-authentication-method=socket --skip-test-db >"$MARIADB_TMP/install.log" 2>&1 \
    || { cat "$MARIADB_TMP/install.log" >&2; return 1; }
  "$server" --no-defaults "${user[@]}" --datadir="$MARIADB_TMP/data" \
    --socket="$MARIADB_TMP/mysqld.sock" --pid-file="$MARIADB_TMP/mysqld.pid" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M \
    --log-error="$MARIADB_TMP/server.log" >/dev/null 2>&1 &
  MARIADB_PID=$!
  ready=no
  for _ in $(seq 1 120); do
    if "$client" --no-defaults --socket="$MARIADB_TMP/mysqld.sock" -u root -e 'SELECT 1' >/dev/null 2>&1; then
      ready=yes; break
    fi
    if ! kill -0 "$MARIADB_PID" 2>/dev/null; then
      cat "$MARIADB_TMP/server.log" >&2; return 1
    fi
    sleep 0.5
  done
  [ "$ready" = yes ] || { echo "error: MariaDB did not start in 60 s" >&2; cat "$MARIADB_TMP/server.log" >&2; return 1; }
  password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
  # The tests make and drop a database of their own per test, so the user may do that.
  "$client" --no-defaults --socket="$MARIADB_TMP/mysqld.sock" -u root <<SQL || return 1
CREATE DATABASE modelcrate_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER 'modelcrate'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'modelcrate'@'127.0.0.1';
SQL
  export TEST_MARIADB_URL="mysql+pymysql://modelcrate:$password@127.0.0.1:$port/modelcrate_test"
  echo "MariaDB $("$server" --version | awk '{print $3}') on 127.0.0.1:$port for the tests" >&2
}

stop_mariadb() {
  if [ -n "${MARIADB_PID:-}" ] && kill -0 "$MARIADB_PID" 2>/dev/null; then
    kill -TERM "$MARIADB_PID"
    local i
    for i in $(seq 1 60); do kill -0 "$MARIADB_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$MARIADB_PID" 2>/dev/null
  fi
  if [ -n "${MARIADB_TMP:-}" ] && [ -d "$MARIADB_TMP" ]; then
    rm -rf "$MARIADB_TMP"
  fi
  unset MARIADB_PID MARIADB_TMP
}
