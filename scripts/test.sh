#!/usr/bin/env bash
# Runs the whole test suite from a fresh Debian machine: installs packages,
# builds with AddressSanitizer and UBSan, and runs every test under CTest
# (which starts its own throwaway PostgreSQL). Then, for a full run, the
# package step: builds the .deb from a release build, installs it with
# dpkg -i, checks it and purges it. .ci/run calls this.
#
#   scripts/test.sh               # everything, the package step included
#   scripts/test.sh -R unit       # extra arguments go to ctest (no package step)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build runtime test package
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DBACKFILLD_SANITIZE=ON -DCMAKE_CXX_FLAGS=-O1 >/dev/null
cmake --build build-test
(cd build-test && ctest --output-on-failure --timeout 600 -j2 "$@")

if [[ $# -eq 0 ]]; then
  echo "== package: build the .deb, dpkg -i it, check the installed files, purge"
  deb=$(scripts/package.sh)
  tests/packaging/installed_deb.sh "$deb"
fi
