#!/usr/bin/env bash
# Installs backfilld's Debian packages. One list for the README, CI and the
# Dockerfile, so that what works in one works in all.
#
#   scripts/install-deps.sh build     # compiler, CMake, the -dev libraries
#   scripts/install-deps.sh runtime   # shared libraries, CA certificates, tzdata
#   scripts/install-deps.sh local     # a PostgreSQL server and the demo provider
#   scripts/install-deps.sh test      # everything the test suite needs
#   scripts/install-deps.sh package   # what cpack -G DEB needs (dpkg-shlibdeps)
#   scripts/install-deps.sh bench     # bench/run.sh: Google Benchmark, gnuplot
#
# Several groups may be given at once. Runs as root (or through sudo).
set -euo pipefail

declare -A groups=(
  [build]="ca-certificates cmake ninja-build g++ pkg-config libcaf-dev
           libpqxx-dev libcurl4-openssl-dev rapidjson-dev libspdlog-dev
           libhowardhinnant-date-dev libcpp-httplib-dev"
  [runtime]="ca-certificates tzdata libcaf-core0.17 libcaf-io0.17
             libcaf-openssl0.17 libpqxx-6.4
             libcurl4 libspdlog1.10 libdate-tz3 libcpp-httplib0.11"
  [local]="postgresql python3 procps"
  [test]="postgresql python3 python3-psycopg2 openssl procps tzdata
          clang libclang-rt-14-dev prometheus python3-prometheus-client
          docker-compose python3-yaml systemd"
  [package]="dpkg-dev"
  [bench]="libbenchmark-dev gnuplot-nox postgresql python3-psycopg2 procps"
)

if [[ $# -eq 0 ]]; then
  echo "usage: install-deps.sh build|runtime|local|test|package|bench ..." >&2
  exit 2
fi

wanted=()
for group in "$@"; do
  if [[ -z "${groups[$group]:-}" ]]; then
    echo "install-deps: unknown group '$group'" >&2
    exit 2
  fi
  # shellcheck disable=SC2206
  wanted+=(${groups[$group]})
done

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
