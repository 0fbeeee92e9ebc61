#!/usr/bin/env bash
# One command for issue 11's figures: builds the Release daemon and the
# writer bench (build-release, ccache if present), runs bench/e2e.py (its
# own PostgreSQL and cached fake Yahoo) and plots the results with gnuplot.
#
#   bench/run.sh [--full] [--out DIR] [e2e.py options...]
#
# --full adds N = 10,000 (several minutes more). Results go to
# bench/results/ unless --out says otherwise: results.md, results.json,
# throughput.png, latency.png. Needs scripts/install-deps.sh build bench.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/results"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ "${args[$i]}" == --out ]] && out="${args[$((i + 1))]}"
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$root/build-release" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build "$root/build-release" -j2 --target backfilld bench_writer_methods \
  bench_library_floor

/usr/bin/python3 "$root/bench/e2e.py" --out "$out" "$@"
if command -v gnuplot >/dev/null; then
  (cd "$out" && gnuplot "$root/bench/plot.gp")
else
  echo "run.sh: gnuplot not found, no plots (scripts/install-deps.sh bench)" >&2
fi
