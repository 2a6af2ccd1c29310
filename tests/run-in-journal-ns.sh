#!/bin/sh
# run-in-journal-ns.sh CMD [ARG...] — run CMD with a real, private
# systemd-journald, so tests can check what vbmc logs to the journal and
# with which fields (docs/TESTING.md, "Real journald").
#
# journald does not need systemd as PID 1; it needs its runtime directory.
# In a private mount namespace we put tmpfs over /run/systemd (its sockets
# and config), /run/log (volatile journal files) and /var/log/journal
# (persistent ones), so nothing the tests log reaches the host's journal and
# the host's journal files stay out of our reads. Inside, programs log to
# /run/systemd/journal/socket as usual and `journalctl` reads only what was
# logged in the namespace. The exit status is CMD's.
#
# Needs root (mounts) and util-linux unshare.
set -eu

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi

journald=${JOURNALD:-/lib/systemd/systemd-journald}

# Already inside one (a nested call): reuse its journal.
if [ -n "${VBMC_JOURNAL_NS:-}" ] && [ -z "${VBMC_JOURNAL_NS_CHILD:-}" ] &&
	[ -S /run/systemd/journal/socket ]; then
	exec "$@"
fi

if [ -z "${VBMC_JOURNAL_NS_CHILD:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "$0: must run as root (mount namespace, tmpfs mounts)" >&2
		exit 1
	fi
	[ -x "$journald" ] || { echo "$0: $journald not found (package systemd)" >&2; exit 1; }
	# Private propagation: our mounts must not leak to the host, and the
	# namespace goes away with its last process.
	VBMC_JOURNAL_NS_CHILD=1 exec unshare -m --propagation private -- sh "$0" "$@"
fi

# From here on we are inside the namespace.
unset VBMC_JOURNAL_NS_CHILD
mount -t tmpfs -o mode=0755,size=64m tmpfs /run/systemd
mkdir -p /run/log
mount -t tmpfs -o mode=0755,size=256m tmpfs /run/log
mkdir -p /var/log/journal
mount -t tmpfs -o mode=2755,size=256m tmpfs /var/log/journal
mkdir -p /run/systemd/journal /run/log/journal /run/systemd/journald.conf.d

# Configuration through the drop-in directory under /run (our tmpfs), so the
# host's /etc stays untouched:
# - volatile storage: one place for the files, no flush step needed;
# - no rate limit: tests log bursts and must see every entry;
# - no kernel log, audit or forwarding: only what the tests' programs send.
cat >/run/systemd/journald.conf.d/vbmctest.conf <<'EOF'
[Journal]
Storage=volatile
RateLimitIntervalSec=0
RateLimitBurst=0
ReadKMsg=no
Audit=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
MaxLevelStore=debug
EOF

# journald expects to be run by systemd with its sockets passed in; started
# by hand it binds them itself. Its own stderr goes to ours in case it fails.
"$journald" </dev/null >/dev/null &
journald_pid=$!

stop_journald() {
	if [ -n "${journald_pid:-}" ]; then
		kill -TERM "$journald_pid" 2>/dev/null || true
		wait "$journald_pid" 2>/dev/null || true
		journald_pid=
	fi
}
trap stop_journald EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait (up to 10 s) until journald listens; a program that logs before that
# falls back to stderr and the test would miss its entries.
i=0
while [ ! -S /run/systemd/journal/socket ]; do
	if ! kill -0 "$journald_pid" 2>/dev/null; then
		echo "$0: systemd-journald exited during start-up" >&2
		exit 1
	fi
	i=$((i + 1))
	if [ $i -gt 200 ]; then
		echo "$0: systemd-journald did not create /run/systemd/journal/socket" >&2
		exit 1
	fi
	sleep 0.05
done
# Tells CMD (and the test helpers) that a private journal is available, and
# which process it is (a test stops it to see vbmc keep serving).
VBMC_JOURNAL_NS=1
VBMC_JOURNALD_PID=$journald_pid
export VBMC_JOURNAL_NS VBMC_JOURNALD_PID

# Not exec: journald must be stopped after CMD, and CMD's status returned.
set +e
"$@"
status=$?
set -e
stop_journald
exit $status
