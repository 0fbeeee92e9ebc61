#!/usr/bin/env bash
# Runs a test against the test run's PostgreSQL cluster (started by CTest's
# pg.start fixture): exports its URL as BACKFILLD_TEST_PG_URL, then execs.
#   tests/with-pg.sh PGDIR COMMAND [ARGS...]
set -euo pipefail
dir=$1
shift
if [[ ! -s "$dir/url" ]]; then
  echo "with-pg: no cluster in $dir (run the tests through ctest)" >&2
  exit 1
fi
BACKFILLD_TEST_PG_URL=$(cat "$dir/url")
export BACKFILLD_TEST_PG_URL
exec "$@"
