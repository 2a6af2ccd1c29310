#!/bin/bash
# The built-in demo (README, first command):
#   sudo contrib/demo.sh
# Installs what is needed, builds vbmc and the tiny test guest, boots two
# guests that announce BMC addresses on loopback (127.0.10.10 and .11),
# runs a private vbmc-supervisor for them, drives one node's power with the
# real CLI and the other's with ipmitool over IPMI v2.0.  Everything it
# starts is stopped again on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (apt-get, binding 623/443)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${VBMC_SKIP_DEPS:-0}" != 1 ]; then
	say "installing dependencies (Debian packages)"
	contrib/install-deps.sh demo >/dev/null
fi
say "building"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
say "building the tiny test guest"
contrib/mkguest.sh build/guest >/dev/null
kernel=build/guest/$(cat build/guest/KERNEL)

DEMO=$(mktemp -d /tmp/vbmc-demo.XXXXXX)
SUP="$ROOT/build/supervisor/vbmc-supervisor"
pids=()
cleanup() {
	[ -n "${suppid:-}" ] && kill "$suppid" 2>/dev/null && wait "$suppid" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$DEMO"
}
trap cleanup EXIT

accel=tcg
if grep -qw -e vmx -e svm /proc/cpuinfo && [ ! -e /sys/module/kvm_pvm ]; then accel=kvm; fi

printf 'demo-password\n' >"$DEMO/admin.pass"
chmod 600 "$DEMO/admin.pass"
cat >"$DEMO/vbmc.yml" <<YAML
networks: [127.0.10.0/24]
state-dir: $DEMO/state
run-dir: $DEMO/run
users:
  - {name: admin, password-file: admin.pass, role: administrator}
nodes:
  - {name: demo-0, qmp: $DEMO/demo-0.qmp, announce: $DEMO/demo-0.guest}
  - {name: demo-1, qmp: $DEMO/demo-1.qmp, announce: $DEMO/demo-1.guest}
YAML

say "the configuration, as vbmc-supervisor check understands it"
"$SUP" check -c "$DEMO/vbmc.yml"

say "booting two tiny guests (QEMU, $accel); each announces its BMC address"
i=10
for n in demo-0 demo-1; do
	qemu-system-x86_64 -name "$n" -accel "$accel" -machine q35 -m 128 -nodefaults \
		-display none -no-shutdown -kernel "$kernel" -initrd build/guest/initrd.gz \
		-append "console=ttyS0 quiet no_timer_check vbmc_ip=127.0.10.$i" -serial "file:$DEMO/$n.serial" \
		-device virtio-serial \
		-chardev "socket,id=pm,path=$DEMO/$n.guest,server=on,wait=off" \
		-device virtserialport,chardev=pm,name=placemat \
		-qmp "unix:$DEMO/$n.qmp,server=on,wait=off" &
	pids+=($!)
	i=$((i + 1))
done

say "starting vbmc-supervisor (log: $DEMO/supervisor.log)"
VBMC_LOG=stderr "$SUP" run -c "$DEMO/vbmc.yml" >"$DEMO/supervisor.log" 2>&1 &
suppid=$!

wait_for() { # wait_for NODE WORDS... (grep -w on that node's status line)
	local node=$1 deadline=$((SECONDS + 60))
	shift
	while [ $SECONDS -lt $deadline ]; do
		line=$("$SUP" status -c "$DEMO/vbmc.yml" "$node" 2>/dev/null || true)
		ok=1
		for w in "$@"; do grep -qw -- "$w" <<<"$line" || ok=0; done
		[ $ok -eq 1 ] && return 0
		sleep 0.2
	done
	echo "demo: timed out waiting for $node: $*" >&2
	cat "$DEMO/supervisor.log" >&2
	exit 1
}
wait_for demo-0 serving on
wait_for demo-1 serving on

say "vbmc-supervisor status"
"$SUP" status -c "$DEMO/vbmc.yml"

say "vbmc-supervisor power demo-0 off"
"$SUP" power -c "$DEMO/vbmc.yml" demo-0 off
wait_for demo-0 off
"$SUP" status -c "$DEMO/vbmc.yml"

say "vbmc-supervisor power demo-0 on"
"$SUP" power -c "$DEMO/vbmc.yml" demo-0 on
wait_for demo-0 on
"$SUP" status -c "$DEMO/vbmc.yml"

# The same over the network, as a provisioning tool would: IPMI v2.0
# (RMCP+, cipher suite 17 picked by ipmitool itself) to demo-1's BMC.
IPMI=(ipmitool -I lanplus -H 127.0.10.11 -U admin -P demo-password)
say "ipmitool -I lanplus -H 127.0.10.11 mc info"
"${IPMI[@]}" mc info | head -6
say "ipmitool ... chassis power status / off / status / on / status"
"${IPMI[@]}" chassis power status
"${IPMI[@]}" chassis power off
"${IPMI[@]}" chassis power status
"${IPMI[@]}" chassis power on
"${IPMI[@]}" chassis power status
wait_for demo-1 on
"$SUP" status -c "$DEMO/vbmc.yml"

say "supervisor log"
cat "$DEMO/supervisor.log"
say "demo done: both nodes are powered on"
