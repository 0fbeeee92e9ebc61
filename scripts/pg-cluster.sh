#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster on a free loopback port.
#
#   scripts/pg-cluster.sh start DIR [DBNAME]   # writes DIR/url, DIR/port
#   scripts/pg-cluster.sh stop DIR
#   scripts/pg-cluster.sh restart DIR          # same port (for outage tests)
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# `postgres` user (created by Debian's postgresql package). The cluster trusts
# local connections and skips fsync: it is for tests and demos, not data.
# PG_CLUSTER_OPTIONS adds server options (the benchmark's
# `-c shared_preload_libraries=pg_stat_statements`).
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh start|stop|restart DIR [DBNAME]}
dir=${2:?usage: pg-cluster.sh start|stop|restart DIR [DBNAME]}
dbname=${3:-postgres}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z "$bindir" ]]; then
  echo "pg-cluster: PostgreSQL server binaries not found (install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# The cluster's files live in $dir, unless the postgres user cannot reach
# it (a checkout under /root, which is 0700): then in a directory of their
# own under /tmp, remembered in $dir/data_root. url and port stay in $dir.
data_root() {
  if [[ -s "$dir/data_root" ]]; then
    cat "$dir/data_root"
  elif [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$dir"; then
    local root
    root=$(mktemp -d /tmp/backfilld-pg.XXXXXX)
    echo "$root" >"$dir/data_root"
    echo "$root"
  else
    echo "$dir"
  fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    home=$(data_root)
    if [[ $(id -u) -eq 0 ]]; then
      chown postgres:postgres "$home"
    fi
    if [[ ! -f "$home/data/PG_VERSION" ]]; then
      as_owner "$bindir/initdb" -D "$home/data" -U postgres -A trust \
        -E UTF8 --locale=C --no-sync >"$home/initdb.log" 2>&1 || {
        cat "$home/initdb.log" >&2
        exit 1
      }
    fi
    if [[ -f "$home/data/postmaster.pid" ]] &&
      as_owner "$bindir/pg_ctl" -D "$home/data" status >/dev/null 2>&1; then
      echo "pg-cluster: already running: $(cat "$dir/url")"
      exit 0
    fi
    if [[ "${PG_CLUSTER_REUSE_PORT:-0}" == 1 && -s "$dir/port" ]]; then
      port=$(cat "$dir/port")
    else
      port=$(free_port)
    fi
    as_owner "$bindir/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $home -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off \
          -c max_connections=300 -c log_min_messages=warning \
          ${PG_CLUSTER_OPTIONS:-}" \
      start >/dev/null
    if [[ "$dbname" != postgres ]]; then
      as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -qtAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" |
        grep -q 1 ||
        as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$dbname"
    fi
    echo "$port" >"$dir/port"
    echo "postgresql://postgres@127.0.0.1:$port/$dbname" >"$dir/url"
    echo "pg-cluster: running: $(cat "$dir/url")"
    ;;
  stop)
    [[ -d "$dir" ]] || exit 0
    home=$(data_root)
    if [[ -f "$home/data/postmaster.pid" ]]; then
      as_owner "$bindir/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null || true
    fi
    ;;
  restart)
    "$0" stop "$dir"
    PG_CLUSTER_REUSE_PORT=1 "$0" start "$dir" "$dbname"
    ;;
  *)
    echo "usage: pg-cluster.sh start|stop|restart DIR [DBNAME]" >&2
    exit 2
    ;;
esac
