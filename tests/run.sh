#!/bin/bash
# The whole test suite, as CI runs it (.ci/run) and as the README says:
#   sudo tests/run.sh
# 1. install every dependency from Debian's packages (contrib/install-deps.sh)
# 2. build (meson/ninja, warnings on)
# 3. unit tests (meson test --suite unit)
# 4. libFuzzer targets, each for a bounded time (tests/fuzz/run.sh)
# 5. the tiny test guest (contrib/mkguest.sh) and the integration tests:
#    real QEMU, real clients, a real journald in a private mount namespace.
# Environment: VBMC_SKIP_DEPS=1 skips step 1; VBMC_FUZZ_SECONDS (default 30);
# VBMC_PYTEST_ARGS adds pytest arguments (e.g. "-k lifecycle").
set -uo pipefail
cd "$(dirname "$0")/.."
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

step "unit tests"
meson test -C build --suite unit --print-errorlogs --num-processes 2
unit_rc=$?
# meson's summary: each test program is one unit here
ok=$(grep -c '"result": "OK"' build/meson-logs/testlog.json 2>/dev/null || echo 0)
bad=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' build/meson-logs/testlog.json 2>/dev/null || echo 0)
pass=$((pass + ok))
fail=$((fail + bad))
[ "$unit_rc" -eq 0 ] || [ "$bad" -gt 0 ] || count "unit tests" 1

step "fuzz targets (${VBMC_FUZZ_SECONDS:-30}s each)"
tests/fuzz/run.sh "${VBMC_FUZZ_SECONDS:-30}"
count "fuzz targets" $?

step "test guest"
contrib/mkguest.sh build/guest
count "test guest build" $?

step "integration tests"
# shellcheck disable=SC2086
tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v -p no:cacheprovider \
	--junitxml="$ROOT/build/integration.xml" ${VBMC_PYTEST_ARGS:-} tests/integration
py_rc=$?
if [ -f build/integration.xml ]; then
	read -r t f e s < <(/usr/bin/python3 - "$ROOT/build/integration.xml" <<'PY'
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
	[ "$py_rc" -eq 0 ] || [ $((f + e)) -gt 0 ] || count "pytest" 1
else
	count "integration tests" 1
fi

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
