#!/bin/bash
# Build the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and run each
# over its seed corpus for a bounded time.  Usage: tests/fuzz/run.sh [SECONDS]
# A crash leaves its input in build-fuzz/crashes/; keep it in the corpus
# once fixed, as a regression input.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
if [ ! -d build-fuzz ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz >/dev/null
mkdir -p build-fuzz/crashes build-fuzz/corpus
pass=0 fail=0
for src in tests/fuzz/fuzz-*.c; do
	name=$(basename "$src" .c)
	seeds=tests/fuzz/corpus/$name
	work=build-fuzz/corpus/$name
	mkdir -p "$work" "$seeds"
	# new inputs go to the scratch corpus; the seeds in the repo stay as they are
	if ASAN_OPTIONS=detect_leaks=1 build-fuzz/tests/fuzz/"$name" -max_total_time="$secs" \
		-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=build-fuzz/crashes/"$name"- "$work" "$seeds" \
		>build-fuzz/"$name".log 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' build-fuzz/"$name".log)
		echo "fuzz $name: ok (${execs:-?} execs in ${secs}s)"
		pass=$((pass + 1))
	else
		echo "fuzz $name: FAILED (see build-fuzz/$name.log)"
		tail -30 build-fuzz/"$name".log
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
