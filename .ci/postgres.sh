# A throwaway PostgreSQL server for the tests: `source .ci/postgres.sh; start_postgres` installs
# Debian's postgresql package if no server binaries are found, starts a server in a temporary
# directory on a free port of 127.0.0.1 (as the postgres user when run as root), and exports
# TEST_POSTGRESQL_URL for the tests; `stop_postgres` stops it and removes the directory.

_pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v pg_ctl)"; return 0
  fi
  return 1
}

_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  local bindir port
  if ! bindir=$(_pg_bindir); then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "Installing PostgreSQL (Debian package) for the SQL target tests..." >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; } \
        || return 1
      bindir=$(_pg_bindir) || return 1
    else
      echo "error: no PostgreSQL server binaries and no way to install them" >&2
      return 1
    fi
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql postgres || return 1
  fi
  PG_TMP=$(mktemp -d /tmp/modelcrate-pg.XXXXXX)
  chmod 755 "$PG_TMP"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_TMP"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  _pg_as_owner "$bindir/initdb" -D "$PG_TMP/data" -U postgres -A trust -E UTF8 >"$PG_TMP/initdb.log" 2>&1 \
    || { cat "$PG_TMP/initdb.log" >&2; return 1; }
  _pg_as_owner "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TMP -c fsync=off" start >/dev/null \
    || { cat "$PG_TMP/server.log" >&2; return 1; }
  PG_BINDIR=$bindir
  export TEST_POSTGRESQL_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port for the tests" >&2
}

stop_postgres() {
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP/data" ]; then
    _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m fast -w stop >/dev/null 2>&1
    rm -rf "$PG_TMP"
  fi
}
