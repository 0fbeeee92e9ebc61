#!/usr/bin/env bash
# Runs the whole test suite from a fresh Debian machine: installs packages,
# builds with AddressSanitizer and UBSan, and runs every test under CTest
# (which starts its own throwaway PostgreSQL). .ci/run calls this.
#
#   scripts/test.sh               # everything
#   scripts/test.sh -R unit       # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build runtime test
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DBACKFILLD_SANITIZE=ON -DCMAKE_CXX_FLAGS=-O1 >/dev/null
cmake --build build-test
cd build-test
ctest --output-on-failure --timeout 600 -j2 "$@"
