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
# The fuzz-ipmi seeds are real client exchanges that replay the engine's
# RNG draws (tests/fuzz/make-ipmi-corpus.py): if that order changes they
# stop logging in and the fuzzer silently loses the in-session code.  Each
# login seed must still make the fake power core act; the read-only one
# must not (its Chassis Control is refused).
seed_check() { # seed_check SEED WANT(yes|no)
	local out acts
	out=$(FUZZ_IPMI_TRACE=1 build-fuzz/tests/fuzz/fuzz-ipmi "tests/fuzz/corpus/fuzz-ipmi/$1" 2>&1)
	acts=$(sed -n 's/^fuzz-ipmi: answers [0-9]* power-actions \([0-9]*\)$/\1/p' <<<"$out" | head -n 1)
	if [ -z "$acts" ] || { [ "$2" = yes ] && [ "$acts" -eq 0 ]; } ||
		{ [ "$2" = no ] && [ "$acts" -ne 0 ]; }; then
		echo "fuzz-ipmi seed $1: power actions '${acts:-none}', expected $2" \
			"(regenerate with tests/fuzz/make-ipmi-corpus.py)"
		return 1
	fi
}
seeds_ok=0
for s in rmcpp-suite1 rmcpp-suite2 rmcpp-suite3-admin rmcpp-suite15 rmcpp-suite16 \
	rmcpp-suite17-admin rmcpp-retries-replays v15-md5-admin mixed-v15-rmcpp; do
	seed_check "$s" yes || seeds_ok=1
done
seed_check rmcpp-readonly no || seeds_ok=1
if [ "$seeds_ok" -eq 0 ]; then
	echo "fuzz fuzz-ipmi seeds: ok (log in and act as recorded)"
	pass=$((pass + 1))
else
	fail=$((fail + 1))
fi
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
