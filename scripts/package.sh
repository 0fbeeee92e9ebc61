#!/usr/bin/env bash
# Builds the Debian package (cpack -G DEB, see cmake/Packaging.cmake) from a
# release build in build-pkg/ and prints its path. scripts/test.sh runs it,
# then tests/packaging/installed_deb.sh installs and checks what it made.
#
#   scripts/package.sh            # -> build-pkg/backfilld_X.Y.Z_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."

# Only the package's path goes to stdout; the build's progress to stderr.
# dpkg-dev: dpkg-shlibdeps finds the packages of the binary's libraries.
scripts/install-deps.sh build package >&2
cmake -S . -B build-pkg -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DBACKFILLD_TESTS=OFF >/dev/null
cmake --build build-pkg --target backfilld >&2
rm -f build-pkg/backfilld_*.deb
(cd build-pkg && cpack -G DEB >&2)
debs=(build-pkg/backfilld_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || {
  echo "package.sh: cpack made no single backfilld_*.deb" >&2
  exit 1
}
echo "${debs[0]}"
