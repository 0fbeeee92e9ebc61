#!/usr/bin/env bash
# Builds a libFuzzer target with clang (ASan + UBSan) and fuzzes it for a
# bounded time, starting from the corpus kept in the repository.
#
#   fuzz/run.sh chart|notification|frankfurter|coingecko|tiingo SECONDS [BUILD_DIR]
#
# The targets link only pure code (no CAF, no database), so they build in
# seconds. New interesting inputs go to a scratch copy of the corpus; copy
# them into fuzz/corpus/NAME by hand when they are worth keeping. A crash
# fails the run and leaves the input in BUILD_DIR/artifacts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: run.sh chart|notification SECONDS [BUILD_DIR]}
seconds=${2:?usage: run.sh chart|notification SECONDS [BUILD_DIR]}
out=${3:-$root/build-fuzz}
mkdir -p "$out/artifacts"

case "$name" in
  chart)
    sources=(provider/yahoo_chart.cpp provider/wire.cpp provider/trading_day.cpp
             policy/outliers.cpp policy/schedule.cpp messages/ec.cpp
             messages/types.cpp)
    libs=(-ldate-tz -lcurl)
    max_len=16384
    ;;
  frankfurter|coingecko|tiingo)
    sources=("provider/$name.cpp" provider/wire.cpp provider/trading_day.cpp
             messages/ec.cpp messages/types.cpp)
    libs=(-ldate-tz -lcurl)
    max_len=16384
    ;;
  notification)
    sources=(notify/notification.cpp messages/ec.cpp messages/types.cpp)
    libs=()
    # PostgreSQL refuses payloads of 8000 bytes or more.
    max_len=9000
    ;;
  *)
    echo "unknown fuzz target '$name'" >&2
    exit 2
    ;;
esac

cd "$root"
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -fsanitize-ignorelist=fuzz/ubsan.ignorelist \
  -DUSE_OS_TZDB=1 -DHAS_STRING_VIEW=1 \
  -DONLY_C_LOCALE=1 -I"$root" "fuzz/fuzz_$name.cpp" "${sources[@]}" \
  "${libs[@]}" -o "$out/fuzz_$name"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "fuzz/corpus/$name/." "$scratch/"
if [[ "$name" == chart ]]; then
  cp tests/data/yahoo/*.json "$scratch/"
fi
if [[ -d "tests/data/$name" ]]; then
  cp "tests/data/$name/"*.json "$scratch/"
fi
"$out/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=$max_len -artifact_prefix="$out/artifacts/$name-" \
  -print_final_stats=1 "$scratch" 2>&1 | tail -n 25
