#!/bin/sh
# Install everything vbmc needs on Debian 12, from Debian's packages only.
# Usage: contrib/install-deps.sh [build|demo|test|bench]
#   build: compile vbmc;  demo: + QEMU and the tiny guest's parts;
#   test (default): + every client and tool the test suite drives.
#   bench: test + the peers and tools of tests/bench/run.sh.
# Why each package is here: docs/DEPENDENCIES.md.
set -eu
what=${1:-test}

build_pkgs="build-essential meson ninja-build pkg-config
 libuv1-dev libh2o-dev libssl-dev libyaml-dev libgnutls28-dev libjansson-dev
 libsystemd-dev libseccomp-dev libmnl-dev systemd"

# Real parts the tests and the demo drive: QEMU, the tiny guest's kernel and
# busybox, the IPMI/Redfish clients, journald, iproute2 for namespaces,
# clang for libFuzzer, gdb to make a serving worker try forbidden syscalls.
test_pkgs="qemu-system-x86 busybox-static lz4 cpio python3 python3-pytest
 iproute2 curl ipmitool freeipmi-tools python3-pyghmi redfishtool python3-sushy
 clang libclang-rt-14-dev socat procps python3-cryptography gdb"

demo_pkgs="qemu-system-x86 busybox-static lz4 cpio ipmitool curl"

# tests/bench: ipmi_sim and nginx as peers, h2load, the plot.
bench_pkgs="openipmi nghttp2-client nginx-light python3-matplotlib"

case "$what" in
build) pkgs=$build_pkgs ;;
demo) pkgs="$build_pkgs $demo_pkgs" ;;
test) pkgs="$build_pkgs $test_pkgs" ;;
bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
*) echo "usage: $0 [build|demo|test|bench]" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -q -y --no-install-recommends $pkgs

# The unprivileged user the workers run as (config key `user:`).
if ! getent passwd vbmc >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin vbmc
fi
