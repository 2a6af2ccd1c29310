#!/bin/sh
# Run every vbmc benchmark and write docs/BENCHMARKS.md (+ the plot).
# Usage (as root, after `contrib/install-deps.sh bench`):
#   tests/bench/run.sh [bench.py options, e.g. --sections ipmi --duration 3]
# Builds into build-bench/ (meson -Dbench=true), starts every server on
# 127.0.0.0/8 only, stops them afterwards.  Not part of tests/run.sh;
# it measures and reports, it never asserts timings.
set -eu
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: must run as root (the supervisor binds and spawns workers)" >&2
	exit 1
fi
build=${VBMC_BENCH_BUILD:-build-bench}
[ -d "$build" ] || meson setup "$build" -Dbench=true >/dev/null
meson configure "$build" -Dbench=true >/dev/null
ninja -C "$build" >/dev/null
# 1000 nodes: the supervisor holds a few fds per node, fakenode.py three.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "open files limit: $(ulimit -n)"
out=$build/bench-results.json
/usr/bin/python3 tests/bench/bench.py --build "$build" --out "$out" "$@"
/usr/bin/python3 tests/bench/report.py "$out" docs/BENCHMARKS.md docs/BENCHMARKS-scale.png
echo "wrote docs/BENCHMARKS.md and docs/BENCHMARKS-scale.png"
