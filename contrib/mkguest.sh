#!/bin/sh
# mkguest.sh OUTDIR — build the tiny test guest the integration tests boot.
#
# The guest is Debian's cloud kernel plus a busybox initramfs whose /init
# does exactly what a real node does for vbmc: it announces an address (taken
# from the kernel argument vbmc_ip=ADDR) on the virtio-serial port
# "placemat", and it powers off when the ACPI power button is pressed.
# See docs/TESTING.md ("The tiny test guest") for the measured facts this
# script relies on.
#
# Outputs: OUTDIR/vmlinux (or OUTDIR/bzImage), OUTDIR/initrd.gz, OUTDIR/config
# and OUTDIR/KERNEL, which holds the file name of the kernel to boot.
# Needs: apt-get (with package lists), dpkg-deb, tar, busybox-static, lz4, gzip.
set -eu

usage() {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
outdir=$1
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

# The cache is keyed on this script: a change to it must rebuild the guest,
# anything else (a re-run from every test session) must be a cheap no-op.
self=$0
[ -e "$self" ] || self=$(command -v -- "$0")

up_to_date() {
	[ -s "$outdir/KERNEL" ] || return 1
	kernel=$(cat "$outdir/KERNEL")
	for f in "$outdir/KERNEL" "$outdir/$kernel" "$outdir/initrd.gz"; do
		# find -newer: test -nt is not POSIX.
		[ -s "$f" ] && [ -n "$(find "$f" -prune -newer "$self")" ] || return 1
	done
	return 0
}

# Parallel test runs may call us at the same time: serialise them on a lock
# in OUTDIR, so the second one waits and then finds the cache fresh.
if [ -z "${MKGUEST_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	MKGUEST_LOCKED=1 exec flock "$outdir/.lock" sh "$self" "$outdir"
fi

if up_to_date; then
	exit 0
fi

# busybox-static installs /bin/busybox; a dynamically linked busybox would
# not run in an initramfs without its libraries, so insist on a static one.
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkguest: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
if ! "$busybox" ls >/dev/null 2>&1; then
	echo "mkguest: $busybox does not run" >&2
	exit 1
fi
for tool in apt-get apt-cache dpkg-deb tar gzip; do
	command -v "$tool" >/dev/null 2>&1 || { echo "mkguest: $tool not found" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkguest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# apt-get download as root drops to user _apt for the transfer and warns
# when _apt cannot write the target directory; let it write ours.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$tmp"
fi

# linux-image-cloud-amd64 is a metapackage: the kernel lives in the
# versioned package it depends on (e.g. linux-image-6.1.0-56-cloud-amd64).
meta=linux-image-cloud-amd64
pkg=$(apt-cache depends "$meta" 2>/dev/null |
	sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
if [ -z "$pkg" ]; then
	echo "mkguest: cannot resolve $meta to a versioned kernel package (apt-get update?)" >&2
	exit 1
fi
(cd "$tmp" && apt-get download -q "$pkg") >&2
set -- "$tmp"/"$pkg"_*.deb
deb=$1
[ -f "$deb" ] || { echo "mkguest: download of $pkg failed" >&2; exit 1; }

# Only what the guest needs: the kernel, its config (for reference when a
# test misbehaves) and the modules below. The .deb has no modules.dep, so
# the modules are listed by name and loaded in dependency order by /init.
# Order matters: each module needs the ones before it. button and evdev
# give acpid the power button; without either, system_powerdown is ignored.
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
virtio_console button evdev"
ex=$tmp/deb
mkdir -p "$ex"
set -- './boot/vmlinuz-*' './boot/config-*'
for m in $modules; do
	set -- "$@" "./lib/modules/*/$m.ko"
done
dpkg-deb --fsys-tarfile "$deb" | (cd "$ex" && tar -x --wildcards "$@")

set -- "$ex"/boot/vmlinuz-*
bzimage=$1
set -- "$ex"/boot/config-*
config=$1
if [ ! -f "$bzimage" ] || [ ! -f "$config" ]; then
	echo "mkguest: no kernel in $deb" >&2
	exit 1
fi

# The bzImage's payload is LZ4 (legacy frame) compressed. Booting the
# uncompressed ELF kernel instead (QEMU boots it through its PVH entry)
# saves the decompression on every boot, which makes a reboot after
# system_reset much faster under TCG. Several byte sequences may look like
# the magic 02 21 4c 18; take the first whose decompression is an ELF file.
# unlz4 reports an error for the bytes trailing the payload, so its exit
# status is no guide: check the result instead. Without unlz4 (package
# lz4) the bzImage still works, just slower.
kernel=
offsets=
if command -v unlz4 >/dev/null 2>&1; then
	offsets=$(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$bzimage" 2>/dev/null |
		cut -d: -f1 | head -n 8) || true
fi
for off in $offsets; do
	tail -c +$((off + 1)) "$bzimage" | unlz4 -c -q >"$tmp/vmlinux" 2>/dev/null || true
	if [ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		kernel=vmlinux
		break
	fi
done
if [ -z "$kernel" ]; then
	echo "mkguest: could not extract an uncompressed kernel; booting the bzImage" >&2
	cp "$bzimage" "$tmp/bzImage"
	kernel=bzImage
fi

# The initramfs tree.
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" \
	"$root/etc/acpi/PWRF" "$root/lib/modules" "$root/var/log"
cp "$busybox" "$root/bin/busybox"
# One link per applet, where busybox expects it, so /init and the acpid
# handler can call the tools by name.
"$busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	mkdir -p "$root/$(dirname "$applet")"
	ln -sf /bin/busybox "$root/$applet"
done
for m in $modules; do
	ko=$(find "$ex/lib/modules" -name "$m.ko" | head -n 1)
	[ -n "$ko" ] || { echo "mkguest: module $m.ko not in $pkg" >&2; exit 1; }
	cp "$ko" "$root/lib/modules/"
done

# busybox acpid maps the power button key to the action "PWRF/00000080"
# and runs the file of that name under its config dir (/etc/acpi).
# sync first so nothing is lost; -f because there is no init system to ask.
# vbmc_poweroff_delay=SECS on the kernel command line makes the guest take
# that long to shut down, as a real OS stopping its services does, so a test
# can watch a BMC's in-between state (Redfish PowerState PoweringOff).
cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
delay=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vbmc_poweroff_delay=*) delay=${arg#vbmc_poweroff_delay=} ;;
	esac
done
echo "vbmc-guest: power button, powering off in ${delay}s" >/dev/console
sync
sleep "$delay"
poweroff -f
EOF
chmod 0755 "$root/etc/acpi/PWRF/00000080"

# The module list on one line, for the generated /init.
# shellcheck disable=SC2086,SC2116
modlist=$(echo $modules)

# /init must never exit (the kernel panics when PID 1 dies), so it does not
# use set -e and ends in an endless sleep whatever happened before.
cat >"$root/init" <<EOF
#!/bin/sh
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The kernel's initial console is the one from before devtmpfs was mounted;
# reopen it so our messages reach the serial log.
exec </dev/console >/dev/console 2>&1

for m in $modlist; do
	insmod /lib/modules/\$m.ko || echo "vbmc-guest: insmod \$m failed"
done
EOF
cat >>"$root/init" <<'EOF'

# acpid opens the /dev/input/event* nodes that exist when it starts and
# never looks again, so wait for the power button's node first, then until
# acpid actually holds one (a powerdown before that is silently lost).
i=0
while ! ls /dev/input/event* >/dev/null 2>&1 && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
acpid -f -c /etc/acpi -l /dev/console -p /run/acpid.pid &
acpid_pid=$!
i=0
while [ $i -lt 100 ]; do
	if ls -l /proc/$acpid_pid/fd 2>/dev/null | grep -q /dev/input/event; then
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
if [ $i -ge 100 ]; then
	echo "vbmc-guest: acpid does not hold an input device; power button ignored"
fi

# udev normally makes /dev/virtio-ports/<name>; do it by hand. The port may
# show up a little after virtio_console is loaded.
i=0
while ! ls /sys/class/virtio-ports/vport* >/dev/null 2>&1 && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/vport*; do
	[ -r "$p/name" ] || continue
	name=$(cat "$p/name")
	[ -n "$name" ] && ln -sf "../${p##*/}" "/dev/virtio-ports/$name"
done

# The address to announce comes from the kernel command line; without
# vbmc_ip= the guest stays silent (a test of "never announced").
set -f
addr=
for arg in $(cat /proc/cmdline); do
	case $arg in
	vbmc_ip=*) addr=${arg#vbmc_ip=} ;;
	esac
done
set +f

if [ -n "$addr" ]; then
	if [ -e /dev/virtio-ports/placemat ]; then
		# Blocks until the host side of the port is connected.
		if echo "$addr" >/dev/virtio-ports/placemat; then
			echo "vbmc-guest: announced $addr"
		else
			echo "vbmc-guest: announcing $addr failed"
		fi
	else
		echo "vbmc-guest: no /dev/virtio-ports/placemat, not announcing"
	fi
else
	echo "vbmc-guest: no vbmc_ip= on the command line, not announcing"
fi

while :; do
	sleep 3600
done
EOF
chmod 0755 "$root/init"

# newc is the only cpio format the kernel unpacks. Sort for a reproducible
# archive; -R 0:0 so a build by an unprivileged user still gives root-owned
# files in the guest.
(cd "$root" && find . -print | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
	gzip -9 -n >"$tmp/initrd.gz"

# Move into place; KERNEL last, so an interrupted build never looks fresh.
rm -f "$outdir/KERNEL"
cp "$config" "$outdir/config"
mv -f "$tmp/$kernel" "$outdir/$kernel"
case $kernel in
vmlinux) rm -f "$outdir/bzImage" ;;
bzImage) rm -f "$outdir/vmlinux" ;;
esac
mv -f "$tmp/initrd.gz" "$outdir/initrd.gz"
echo "$kernel" >"$outdir/KERNEL.new"
mv -f "$outdir/KERNEL.new" "$outdir/KERNEL"
echo "mkguest: built $outdir/$kernel and $outdir/initrd.gz from $pkg" >&2
