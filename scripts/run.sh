#!/usr/bin/env bash
# Sets up and runs backfilld in the foreground, from a fresh Debian machine:
# installs packages, builds, starts a local PostgreSQL when BACKFILL_DB_URL
# is not set, applies the schema and runs the daemon.
#
#   scripts/run.sh                 # against Yahoo Finance
#   scripts/run.sh --demo          # offline: against the bundled fake provider
#   scripts/run.sh --log.level=debug ...   # any backfilld option
#
# The local database lives in .run/pg and is stopped again on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

demo=0
args=()
for arg in "$@"; do
  if [[ "$arg" == "--demo" ]]; then
    demo=1
  else
    args+=("$arg")
  fi
done

scripts/install-deps.sh build runtime local
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DBACKFILLD_TESTS=OFF >/dev/null
cmake --build build-release --target backfilld

cleanup=()
on_exit() {
  for step in "${cleanup[@]}"; do
    eval "$step" || true
  done
}
trap on_exit EXIT

if [[ -z "${BACKFILL_DB_URL:-}" ]]; then
  scripts/pg-cluster.sh start "$root/.run/pg" portfolio_tracker
  cleanup+=("scripts/pg-cluster.sh stop '$root/.run/pg'")
  BACKFILL_DB_URL=$(cat "$root/.run/pg/url")
  export BACKFILL_DB_URL
  echo "Local PostgreSQL: psql $BACKFILL_DB_URL"
fi

if [[ $demo -eq 1 ]]; then
  rm -f "$root/.run/fake-yahoo.port"
  # Debian's interpreter directly: a version manager's shim would make $!
  # the shim, not the server.
  python=$(command -v /usr/bin/python3 || command -v python3)
  "$python" tests/fake_provider/fake_yahoo.py --port 0 \
    --port-file "$root/.run/fake-yahoo.port" --quiet &
  cleanup+=("kill $!")
  for _ in $(seq 50); do
    [[ -s "$root/.run/fake-yahoo.port" ]] && break
    sleep 0.1
  done
  export BACKFILL_YAHOO_BASE_URL="http://127.0.0.1:$(cat "$root/.run/fake-yahoo.port")"
  echo "Demo mode: fake provider at $BACKFILL_YAHOO_BASE_URL"
  echo "Try:  psql $BACKFILL_DB_URL -c \"INSERT INTO assets (id, symbol) VALUES (12, 'AMD') ON CONFLICT DO NOTHING\""
  echo "      psql $BACKFILL_DB_URL -c \"INSERT INTO transactions (portfolio_id, asset_id, quantity, price, timestamp) VALUES (1, 12, 20, 150, now())\""
fi

# GnuTLS initialises itself when loaded (libpq's LDAP and libcurl's RTMP
# support pull it in; backfilld's TLS is OpenSSL), ~0.7 MB that nothing uses.
# The libraries that do use it call gnutls_global_init() themselves.
export GNUTLS_NO_IMPLICIT_INIT=1
# Not exec: the traps above stop what this script started.
build-release/backfilld --config-file=configs/backfilld.ini "${args[@]}" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null' INT TERM
wait $daemon || status=$?
wait $daemon 2>/dev/null || true
exit "${status:-0}"
