#!/bin/bash
# The whole test suite, as CI runs it (.ci/run) and as the README says:
#   sudo tests/run.sh
# 1. install every dependency from Debian's packages (contrib/install-deps.sh)
# 2. build (meson/ninja, warnings on)
# 3. unit tests (meson test --suite unit)
# 4. libFuzzer targets, each for a bounded time (tests/fuzz/run.sh)
# 5. the tiny test guest (contrib/mkguest.sh) and the integration tests:
#    real QEMU, real clients, a real journald in a private mount namespace;
#    then the README demo (contrib/demo.sh), which checks its own outputs.
# 6. sanitizers: a second tree build-asan (-Dsanitize_all=true: ASan+UBSan),
#    its unit tests, the unit tests of build/ under valgrind, and the whole
#    integration suite again against build-asan; any sanitizer report in a
#    supervisor's or worker's output is a failure (docs/RELIABILITY.md).
# Environment: VBMC_SKIP_DEPS=1 skips step 1; VBMC_FUZZ_SECONDS (default 30);
# VBMC_PYTEST_ARGS adds pytest arguments (e.g. "-k lifecycle");
# VBMC_SKIP_SANITIZE=1 skips step 6.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
pass=0
fail=0
step() { printf '\n=== %s ===\n' "$*"; }
count() { # count NAME STATUS
	if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAILED: $1"
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: run as root (QEMU, namespaces, binding BMC ports, apt-get)" >&2
	exit 1
fi

if [ "${VBMC_SKIP_DEPS:-0}" != 1 ]; then
	step "dependencies"
	contrib/install-deps.sh test || exit 1
fi

step "build"
if [ ! -f build/build.ninja ]; then
	meson setup build || exit 1
fi
ninja -C build 2>&1 | tee build/ninja.log || exit 1
if grep -q 'warning:' build/ninja.log; then
	echo "build has warnings (see above)"
	count "warning-free build" 1
fi

# meson_counts RC LOGFILE: meson's summary, each test program is one test.
# (grep -c prints 0 itself when nothing matches.)
meson_counts() {
	local ok bad
	ok=$(grep -c '"result": "OK"' "$2" 2>/dev/null)
	bad=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$2" 2>/dev/null)
	pass=$((pass + ${ok:-0}))
	fail=$((fail + ${bad:-0}))
	[ "$1" -eq 0 ] || [ "${bad:-0}" -gt 0 ] || count "$2" 1
}

step "unit tests"
rm -f build/meson-logs/testlog.json
meson test -C build --suite unit --print-errorlogs --num-processes 2
meson_counts $? build/meson-logs/testlog.json

step "fuzz targets (${VBMC_FUZZ_SECONDS:-30}s each)"
tests/fuzz/run.sh "${VBMC_FUZZ_SECONDS:-30}"
count "fuzz targets" $?

step "test guest"
contrib/mkguest.sh build/guest
count "test guest build" $?

# integration NAME XML [ENV...]: the pytest suite, its junit counts added
integration() {
	local name=$1 xml=$2 py_rc t f e s
	shift 2
	rm -f "$xml"
	# shellcheck disable=SC2086
	env "$@" tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v -p no:cacheprovider \
		--junitxml="$xml" ${VBMC_PYTEST_ARGS:-} tests/integration
	py_rc=$?
	if [ -f "$xml" ]; then
		read -r t f e s < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
tot = sum(int(s.get("tests", 0)) for s in suites)
fl = sum(int(s.get("failures", 0)) for s in suites)
er = sum(int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(tot, fl, er, sk)
PY
)
		pass=$((pass + t - f - e - s))
		fail=$((fail + f + e))
		echo "$name: $((t - f - e - s)) passed, $((f + e)) failed, $s skipped"
		[ "$py_rc" -eq 0 ] || [ $((f + e)) -gt 0 ] || count "$name (pytest)" 1
	else
		count "$name" 1
	fi
}

step "integration tests"
integration "integration" "$ROOT/build/integration.xml"

# The README's first command, as a user runs it (its dependencies are a
# subset of step 1's): two guests, the CLI, ipmitool and curl, every output
# and power state checked by the script itself (it exits non-zero on any).
step "README demo (contrib/demo.sh)"
VBMC_SKIP_DEPS=1 contrib/demo.sh >build/demo.log 2>&1
demo_rc=$?
tail -n 4 build/demo.log
[ "$demo_rc" -eq 0 ] || cat build/demo.log
count "README demo" $demo_rc

if [ "${VBMC_SKIP_SANITIZE:-0}" != 1 ]; then
	san_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
	step "sanitizers: build-asan (ASan+UBSan)"
	san_ok=1
	if [ ! -f build-asan/build.ninja ]; then
		meson setup build-asan -Dsanitize_all=true >/dev/null || san_ok=0
	fi
	[ "$san_ok" -eq 0 ] || ninja -C build-asan >/dev/null || san_ok=0
	count "sanitizer build" $((1 - san_ok))

	if [ "$san_ok" -eq 1 ]; then
		step "sanitizers: unit tests under ASan+UBSan"
		rm -f build-asan/meson-logs/testlog-asan.json
		env "${san_env[@]}" meson test -C build-asan --suite unit --print-errorlogs \
			--num-processes 2 --logbase testlog-asan
		meson_counts $? build-asan/meson-logs/testlog-asan.json

		step "sanitizers: unit tests under valgrind"
		# meson names the log after the wrapper too: testlog-vg-valgrind.json
		rm -f build/meson-logs/testlog-vg-valgrind.json
		VBMC_TEST_SHALLOW=1 meson test -C build --suite unit --num-processes 2 \
			--timeout-multiplier 10 --logbase testlog-vg --print-errorlogs \
			--wrapper 'valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1'
		meson_counts $? build/meson-logs/testlog-vg-valgrind.json

		step "sanitizers: integration tests against build-asan"
		# Every supervisor's and worker's stderr ends up in a log under
		# TMPDIR (cluster.Supervisor.log, pytest's tmp_path): scan it after.
		san_tmp=$(mktemp -d /tmp/vbmc-asan.XXXXXX)
		chmod 755 "$san_tmp" # tests reach sockets under it as an unprivileged uid
		fail_before=$fail
		integration "integration (ASan+UBSan)" "$ROOT/build-asan/integration.xml" \
			"${san_env[@]}" VBMC_BUILD_DIR="$ROOT/build-asan" TMPDIR="$san_tmp"
		reports=$(grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer' \
			"$san_tmp" 2>/dev/null)
		if [ -n "$reports" ]; then
			for r in $reports; do
				echo "sanitizer report in $r:"
				grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$r" | head -60
			done
		fi
		count "no sanitizer report in the integration logs" "$(printf '%s' "$reports" | grep -c .)"
		if [ "$fail" -eq "$fail_before" ]; then
			rm -rf "$san_tmp"
		else
			echo "logs of the sanitizer run kept in $san_tmp"
		fi
	fi
fi

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
