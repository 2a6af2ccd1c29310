"""Operations: the worker sandbox, journald fields, sd_notify, the systemd
unit, the control socket and the `interface:` option (in a network
namespace of the test's own).

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_ops.py

Needs root (network namespaces, setuid children, /proc of other users).
"""

import errno
import json
import re
import os
import pwd
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import BUILD, SUPERVISOR, WORKER, Supervisor  # noqa: E402
from ipmiraw import RawClient  # noqa: E402
from test_hostile import FakeAnnounce, LogCheck, fake_node, udp_listeners  # noqa: E402
from vbmctest import REPO, Journal, Qemu, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture(scope="module")
def qemu(tmp_path_factory):
    q = Qemu("ops", tmp_path_factory.mktemp("ops-qemu"))
    try:
        yield q
    finally:
        q.stop()


@pytest.fixture(scope="module")
def qemu2(tmp_path_factory):
    q = Qemu("ops2", tmp_path_factory.mktemp("ops-qemu2"))
    try:
        yield q
    finally:
        q.stop()


class One:
    """Supervisor(s) whose nodes have fake announce ports (see test_hostile)."""

    def __init__(self, tmp_path, qemus, sup_class=Supervisor, workdir=None, **kw):
        self.ann = {name: FakeAnnounce(tmp_path / f"{name}.ann") for name in qemus}
        nodes = {name: fake_node(q, self.ann[name].path) for name, q in qemus.items()}
        self.dir = Path(workdir or tmp_path / "sup")
        self.dir.mkdir(exist_ok=True)
        self.sup = None
        try:
            self.sup = sup_class(nodes=nodes, workdir=self.dir, **kw)
        except BaseException:
            self.close()
            raise
        self.log = LogCheck(self.sup)

    def announce(self, name, addr, **want):
        self.ann[name].send(addr + "\n")
        want.setdefault("state", "serving")
        return self.sup.wait_node(name, address=addr, **want)

    def close(self):
        if self.sup is not None:
            self.sup.stop()
        for a in self.ann.values():
            a.close()


@pytest.fixture
def one(tmp_path, qemu):
    o = One(tmp_path, {"op1": qemu})
    try:
        yield o
    finally:
        o.close()


def proc_status(pid):
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def vbmc_user():
    return pwd.getpwnam("vbmc")


# -- sandbox ------------------------------------------------------------------

def test_worker_sandbox(one):
    st = one.announce("op1", "127.0.10.170", power="on")
    pid = st["pid"]
    ps = proc_status(pid)
    user = vbmc_user()
    uids = ps["Uid"].split()
    gids = ps["Gid"].split()
    assert len(uids) == 4 and all(int(u) != 0 for u in uids), ps["Uid"]
    assert uids == [str(user.pw_uid)] * 4
    assert gids == [str(user.pw_gid)] * 4
    assert ps["Groups"] == ""
    assert ps["Seccomp"] == "2"
    assert ps["NoNewPrivs"] == "1"
    for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(ps[cap], 16) == 0, (cap, ps[cap])

    # fds: stdio as inherited from the supervisor, otherwise sockets, the
    # event loop's pipes and anon inodes: never a file the worker opened.
    sup_pid = one.sup.proc.pid
    fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert fds[0] == "/dev/null"
    for fd in (1, 2):
        assert os.stat(f"/proc/{pid}/fd/{fd}") == os.stat(f"/proc/{sup_pid}/fd/{fd}"), \
            f"fd {fd} is not the supervisor's stdio: {fds[fd]}"
    for fd in (3, 4, 5):
        assert fds[fd].startswith("socket:"), fds
    for fd, target in fds.items():
        if fd <= 2:
            continue
        if target in ("/dev/null", "/dev/urandom"):
            # opened read-only before the sandbox: libuv's reserve fd for
            # surviving EMFILE on accept, and the TLS libraries' entropy
            flags = int(Path(f"/proc/{pid}/fdinfo/{fd}").read_text().split("flags:")[1].split()[0], 8)
            assert flags & 3 == os.O_RDONLY, (fd, target, oct(flags))
            continue
        assert target.startswith(("socket:", "pipe:", "anon_inode:")), (fd, target)
    # the UDP and TCP sockets are the ones bound for the node
    assert "127.0.10.170" in udp_listeners(one.sup.ipmi_port)
    # the worker's environment is the filtered one
    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert not any(e.startswith((b"NOTIFY_SOCKET=", b"PATH=", b"HOME=")) for e in env), env


def test_sandbox_selftest():
    user = vbmc_user()
    r = subprocess.run([str(WORKER), "--sandbox-selftest", str(user.pw_uid), str(user.pw_gid)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    out = r.stdout
    assert r.returncode == 0, out
    assert f"uid {user.pw_uid} gid {user.pw_gid}, seccomp on" in out
    assert "open(/etc/hostname): Permission denied" in out
    assert "socket(AF_INET): Permission denied" in out
    assert "execve: killed by SIGSYS" in out
    assert "sandbox selftest: ok" in out
    assert "ALLOWED" not in out


def test_sandbox_selftest_refuses_root():
    r = subprocess.run([str(WORKER), "--sandbox-selftest", "0", "0"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    assert r.returncode != 0
    assert "FAILED" in r.stdout


# The real worker, not a self-test: a debugger makes the serving worker
# itself call into the kernel.  ptrace does not lift seccomp: a syscall
# injected into the tracee goes through its filter like its own.
SYSCALLS = {"x86_64": {"openat": 257, "socket": 41, "execve": 59},
            "aarch64": {"openat": 56, "socket": 198, "execve": 221}}
GDB_ERRNO = "print *((int *(*)(void))__errno_location)()"


def gdb_inject(pid, *exprs, timeout=60):
    """Attach gdb to pid, print each expression (calls run in the process),
    detach.  Returns (the printed values, gdb's whole output)."""
    cmd = ["gdb", "-nx", "-q", "-batch", "-iex", "set debuginfod enabled off",
           "-p", str(pid)]
    for e in exprs:
        cmd += ["-ex", e]
    env = {k: v for k, v in os.environ.items() if k != "DEBUGINFOD_URLS"}
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=env)
    return re.findall(r"^\$\d+ = (-?\d+)$", r.stdout, re.M), r.stdout


def sys_call(name, *args):
    nr = SYSCALLS[os.uname().machine][name]
    return "print (long)syscall(%s)" % ", ".join(str(a) for a in (nr, *args))


@pytest.mark.skipif(not shutil.which("gdb") or os.uname().machine not in SYSCALLS,
                    reason="needs gdb (contrib/install-deps.sh test) on x86_64/aarch64")
def test_serving_worker_cannot_open_files(tmp_path, qemu, qemu2):
    """gdb makes the serving worker call openat("/etc/hostname") and
    socket(): both fail with EACCES (the filter's errno rule), and the
    worker serves on with the same pid.  Then execve(): the filter's
    default action kills it by SIGSYS, the supervisor starts a new one and
    the other node's worker is untouched.  A control process with the same
    uid but no filter opens the file: the uid alone would not block it."""
    user = vbmc_user()
    hostname = '"/etc/hostname"'
    ctl = subprocess.Popen(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                            "--clear-groups", "sleep", "60"])
    try:
        wait_until(lambda: proc_status(ctl.pid)["Uid"].split()[0] == str(user.pw_uid), 10)
        got, out = gdb_inject(ctl.pid, sys_call("openat", -100, hostname, 0))
        assert len(got) == 1 and int(got[0]) >= 0, out
    finally:
        ctl.kill()
        ctl.wait()

    o = One(tmp_path, {"gd1": qemu, "gd2": qemu2})
    try:
        st = o.announce("gd1", "127.0.10.178", power="on")
        other = o.announce("gd2", "127.0.10.179", power="on")
        pid = st["pid"]
        assert proc_status(pid)["Seccomp"] == "2"
        got, out = gdb_inject(pid, sys_call("openat", -100, hostname, 0), GDB_ERRNO,
                              sys_call("socket", socket.AF_INET, socket.SOCK_DGRAM, 0),
                              GDB_ERRNO)
        assert got == ["-1", str(errno.EACCES)] * 2, out
        # detached: the same worker serves on
        assert o.sup.node("gd1")["pid"] == pid and o.sup.node("gd1")["state"] == "serving"
        with RawClient("127.0.10.178", o.sup.ipmi_port) as raw:
            assert raw.ping(2), "the worker does not answer after gdb detached"
        assert not any(target.endswith("hostname")
                       for target in (os.readlink(f"/proc/{pid}/fd/{fd}")
                                      for fd in os.listdir(f"/proc/{pid}/fd")))

        o.log.mark()
        got, out = gdb_inject(pid, sys_call("execve", '"/bin/true"', 0, 0))
        assert got == [] and "SIGSYS" in out, out
        new = o.sup.wait_node("gd1", state="serving", power="on",
                              last_error=f"worker killed by signal {signal.SIGSYS:d}")
        assert new["pid"] != pid and new["restarts"] == st["restarts"] + 1
        o.log.wait("gd1", f"worker killed by signal {signal.SIGSYS:d}")
        assert o.sup.node("gd2")["pid"] == other["pid"]
        assert o.sup.node("gd2")["restarts"] == other["restarts"]
    finally:
        o.close()


# -- crash back-off (supervisor/node.c) -----------------------------------------

BACKOFF_MS = [100, 200, 400, 800, 1600, 3200]  # BACKOFF_MIN_MS doubling
STABLE_S = 10  # STABLE_MS: a worker that lived this long resets the back-off


def test_crash_backoff_failed_and_recovery(tmp_path, qemu, qemu2):
    """A worker killed again as soon as it serves: `restarting` with pid 0
    in status, each restart later than the one before (100 ms doubling).
    Its UDP port taken by someone else during a back-off: the spawn fails,
    `failed` with the reason, logged with VBMC_NODE, retried after the
    next (doubled) delay, and serving again once the port is free.  A
    worker that then lives 10 s is restarted after 100 ms again.  The
    other node's worker keeps its pid and answers throughout."""
    addr, other_addr = "127.0.10.180", "127.0.10.181"
    o = One(tmp_path, {"bo1": qemu, "bo2": qemu2})
    try:
        st = o.announce("bo1", addr, power="on")
        other = o.announce("bo2", other_addr, power="on")
        port = o.sup.ipmi_port

        def other_untouched():
            s = o.sup.node("bo2")
            assert (s["pid"], s["state"], s["restarts"]) == \
                (other["pid"], "serving", other["restarts"]), s
            with RawClient(other_addr, port) as raw:
                assert raw.ping(2)

        def kill_and_watch(pid):
            """kill -9; (seconds until a new pid shows, the states seen)."""
            seen = set()
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)

            def new_pid():
                s = o.sup.node("bo1")
                seen.add((s["state"], s["pid"]))
                return s["pid"] not in (0, pid) and s
            s = wait_until(new_pid, 15, 0.02, "a new bo1 worker")
            return time.monotonic() - t0, seen, s

        pid, gaps = st["pid"], []
        for i in range(4):
            gap, seen, s = kill_and_watch(pid)
            gaps.append(gap)
            assert ("restarting", 0) in seen, seen
            assert s["restarts"] == st["restarts"] + i + 1
            assert s["last_error"] == "worker killed by signal 9", s
            pid = o.sup.wait_node("bo1", state="serving")["pid"]
            assert pid == s["pid"]
        print("kill -9 to new worker:", " ".join(f"{g:.3f}" for g in gaps))
        for gap, ms in zip(gaps, BACKOFF_MS):
            # libuv timers may fire a tick early against the test's clock
            assert ms / 1000 - 0.02 <= gap < ms / 1000 + 3, (gaps, BACKOFF_MS)
        other_untouched()

        # the fifth crash waits 1.6 s: take the port meanwhile
        o.log.mark()
        t_kill = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            def take_port():
                try:
                    blocker.bind((addr, port))
                except OSError as e:  # the killed worker's socket, until it is gone
                    assert e.errno == errno.EADDRINUSE, e
                    return False
                return True
            wait_until(take_port, 1, 0.01, "the port of the killed worker")
            failed = o.sup.wait_node("bo1", state="failed", timeout=15)
            t_failed = time.monotonic()
            # from the kill: the respawn delay starts there, not when the
            # test got the port (seen late, t_failed can only be larger)
            assert t_failed - t_kill >= BACKOFF_MS[4] / 1000 - 0.02, t_failed - t_kill
            assert failed["pid"] == 0
            assert failed["last_error"] == \
                f"binding {addr} udp/{port}: Address already in use", failed
            msg = o.log.wait("bo1", "cannot start worker", priority=3)
            assert f"udp/{port}" in msg and "Address already in use" in msg, msg
            assert o.log.count("bo1", "worker killed by signal 9") >= 1
            other_untouched()
        finally:
            blocker.close()
        s = o.sup.wait_node("bo1", state="serving", power="on", timeout=15)
        took = time.monotonic() - t_failed
        print(f"failed to serving: {took:.3f}s")
        # retried after the next delay, 3.2 s, not at once
        assert BACKOFF_MS[5] / 1000 - 0.3 <= took < BACKOFF_MS[5] / 1000 + 3, took
        assert s["pid"] not in (0, pid)
        with RawClient(addr, port) as raw:
            assert raw.ping(2)

        # quiet for 10 s: the next crash is restarted after 100 ms again
        # (6.4 s without the reset)
        time.sleep(STABLE_S + 0.2)
        gap, seen, _ = kill_and_watch(s["pid"])
        print(f"kill -9 after {STABLE_S} s of service to new worker: {gap:.3f}s")
        assert gap < 3, gap
        o.sup.wait_node("bo1", state="serving", power="on")
        other_untouched()
    finally:
        o.close()


# -- logging --------------------------------------------------------------------

@pytest.mark.skipif(not Journal.available(), reason="needs tests/run-in-journal-ns.sh")
def test_journald_fields(tmp_path, qemu, qemu2):
    o = One(tmp_path, {"jr1": qemu, "jr2": qemu2})
    try:
        addrs = {"jr1": "127.0.10.171", "jr2": "127.0.10.172"}
        for name, addr in addrs.items():
            o.announce(name, addr, power="on")
        o.ann["jr2"].send("bmc.example.com\n")
        o.log.wait("jr2", "announcement rejected")
        j = Journal()
        for name, addr in addrs.items():
            sup = j.entries(VBMC_NODE=name, SYSLOG_IDENTIFIER="vbmc-supervisor")
            wrk = j.entries(VBMC_NODE=name, SYSLOG_IDENTIFIER="vbmc-worker")
            assert sup and wrk, f"{name}: supervisor {len(sup)} worker {len(wrk)} entries"
            for e in sup + wrk:
                assert e.get("PRIORITY") in [str(p) for p in range(8)], e
                assert "VBMC_ADDRESS" in e
                other = "jr2" if name == "jr1" else "jr1"
                assert other not in e["MESSAGE"] or name in e["MESSAGE"], e
            serving = [e for e in sup if "worker serving on" in e["MESSAGE"]]
            assert serving and serving[0]["PRIORITY"] == "6"
            assert serving[0]["VBMC_ADDRESS"] == addr
            w_serving = [e for e in wrk if e["MESSAGE"].startswith(f"serving {addr}")]
            assert w_serving and w_serving[0]["PRIORITY"] == "6", [e["MESSAGE"] for e in wrk]
            assert w_serving[0]["VBMC_ADDRESS"] == addr
            assert all(int(e["_PID"]) != o.sup.proc.pid for e in wrk)
        rej = [e for e in j.entries(VBMC_NODE="jr2", SYSLOG_IDENTIFIER="vbmc-supervisor")
               if "announcement rejected" in e["MESSAGE"]]
        assert rej and all(e["PRIORITY"] == "4" for e in rej)
        assert "bmc.example.com" in rej[-1]["MESSAGE"]
    finally:
        o.close()


@pytest.mark.skipif(not os.environ.get("VBMC_JOURNALD_PID"),
                    reason="needs tests/run-in-journal-ns.sh")
def test_journald_stalled(tmp_path, qemu):
    """journald stops reading (SIGSTOP): the BMC keeps serving and the
    supervisor answers; the lines logged meanwhile wait in the processes'
    backlogs and all reach the journal, in order, once it reads again
    (common/log.c; test-log covers a backlog that overflows)."""
    journald = int(os.environ["VBMC_JOURNALD_PID"])
    addr = "127.0.10.174"
    o = One(tmp_path, {"js1": qemu})

    def power(want):
        r = subprocess.run(
            ["ipmitool", "-I", "lanplus", "-H", addr, "-p", str(o.sup.ipmi_port), "-U",
             "admin", "-P", o.sup.password, "-R", "1", "-N", "5", "chassis", "power", want],
            capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (want, r.stdout, r.stderr)
        o.sup.wait_node("js1", power=want, timeout=10)

    try:
        o.announce("js1", addr, power="on")
        j = Journal()
        j.mark()
        os.kill(journald, signal.SIGSTOP)
        try:
            # each action logs in the worker and the supervisor: more lines
            # than journald's socket queue holds while nobody reads
            wants = ["off", "on"] * 6
            for want in wants:
                power(want)
            st = o.sup.status()
            assert st["js1"]["state"] == "serving" and st["js1"]["restarts"] == 0
        finally:
            os.kill(journald, signal.SIGCONT)

        def requested():
            return [e["MESSAGE"] for e in j.entries(VBMC_NODE="js1",
                                                    SYSLOG_IDENTIFIER="vbmc-worker")
                    if "requested over the network" in e["MESSAGE"]]
        got = wait_until(lambda: len(requested()) >= len(wants) and requested(), 10, 0.1,
                         "the worker's lines from the stall")
        assert [m.split()[1] for m in got] == wants, got
        assert not [e for e in j.entries() if "log lines dropped" in e["MESSAGE"]]
    finally:
        o.close()


def test_stderr_logging(tmp_path, qemu):
    o = One(tmp_path, {"se1": qemu}, env={"VBMC_LOG": "stderr"})
    try:
        o.announce("se1", "127.0.10.173", power="on")
        o.ann["se1"].send("0.0.0.0\n")
        text = wait_until(lambda: (t := o.sup.log_text()) and
                          "vbmc-supervisor[se1]: announcement rejected" in t and t, 10)
        assert "vbmc-supervisor[se1]: worker serving on 127.0.10.173" in text
        wait_until(lambda: "vbmc-worker[se1]: serving 127.0.10.173" in o.sup.log_text(), 10)
        if Journal.available():
            assert not Journal().entries(VBMC_NODE="se1")
    finally:
        o.close()


# -- sd_notify ------------------------------------------------------------------

class NotifySocket:
    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait(self, pred, timeout=10, what=None):
        """Collect datagrams until pred(messages) is true."""
        deadline = time.monotonic() + timeout
        while not pred(self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"sd_notify: {what}; got {self.messages}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages += data.decode().split("\n")
        return self.messages

    def close(self):
        self.sock.close()


def test_sd_notify(tmp_path, qemu):
    ns = NotifySocket(tmp_path / "notify.sock")
    o = None
    try:
        o = One(tmp_path, {"sd1": qemu}, env={"NOTIFY_SOCKET": ns.path})
        ns.wait(lambda m: "READY=1" in m and "STATUS=0 of 1 nodes serving" in m,
                what="READY=1 and STATUS=0 of 1")
        st = o.announce("sd1", "127.0.10.174", power="on")
        ns.wait(lambda m: "STATUS=1 of 1 nodes serving" in m, what="1 of 1 serving")
        env = Path(f"/proc/{st['pid']}/environ").read_bytes()
        assert b"NOTIFY_SOCKET" not in env
        assert b"NOTIFY_SOCKET=" in Path(f"/proc/{o.sup.proc.pid}/environ").read_bytes()

        n = len(ns.messages)
        o.sup.signal(signal.SIGHUP)
        ns.wait(lambda m: "READY=1" in m[n:], what="READY=1 after SIGHUP")
        after = ns.messages[n:]
        assert "RELOADING=1" in after
        assert after.index("RELOADING=1") < after.index("READY=1"), after
        # unchanged config: the worker keeps running
        assert o.sup.node("sd1")["pid"] == st["pid"]

        n = len(ns.messages)
        o.sup.signal(signal.SIGTERM)
        assert o.sup.proc.wait(15) == 0
        ns.wait(lambda m: "STOPPING=1" in m[n:], 2, what="STOPPING=1")
    finally:
        if o:
            o.close()
        ns.close()


# -- systemd unit -----------------------------------------------------------------

def test_systemd_unit_verifies(tmp_path):
    unit = BUILD / "vbmc-supervisor.service"
    assert unit.exists(), "meson renders contrib/vbmc-supervisor.service.in"
    text = unit.read_text()
    assert "@" not in "".join(l for l in text.splitlines() if not l.startswith("#")), \
        "unrendered @VAR@"
    exec_start = next(l for l in text.splitlines() if l.startswith("ExecStart="))
    assert exec_start.split()[1:3] == ["run", "-c"]
    # the installed path does not exist here: verify a copy that starts the
    # build tree's binary
    copy = tmp_path / "vbmc-supervisor.service"
    copy.write_text(text.replace(exec_start.split()[0], f"ExecStart={SUPERVISOR}"))
    # systemd-analyze may create runtime dirs: give it a private /run/systemd
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount -t tmpfs tmpfs /run/systemd && exec systemd-analyze verify "$1"',
                        "sh", str(copy)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    assert "vbmc-supervisor.service" not in r.stdout, r.stdout
    for key in ("Type=notify", "NotifyAccess=main", "ExecReload=", "KillMode=mixed"):
        assert key in text

    svc = unit_section(text, "Service")
    # restarted by systemd when it fails, not in a tight loop
    assert svc["Restart"] == "on-failure" and svc["RestartSec"] == "2s"
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    # systemd makes the directories the supervisor uses by default: with
    # ProtectSystem=strict they are the only places it can write
    assert svc["StateDirectory"] == "vbmc" and svc["StateDirectoryMode"] == "0700"
    assert svc["RuntimeDirectory"] == "vbmc" and svc["RuntimeDirectoryMode"] == "0755"
    minimal = tmp_path / "minimal.yml"
    minimal.write_text("networks: [127.0.10.0/24]\n"
                       "nodes:\n  - {name: n1, qmp: /nonexistent/q, announce: /nonexistent/a}\n")
    r = subprocess.run([str(SUPERVISOR), "check", "-c", str(minimal)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    assert r.returncode == 0, r.stdout
    assert re.search(r"^state-dir: \"/var/lib/vbmc\"$", r.stdout, re.M), r.stdout
    assert re.search(r"^run-dir: \"/run/vbmc\"$", r.stdout, re.M), r.stdout
    assert svc["UMask"] == "0077"  # state file, TLS keys, control socket
    # Root, but only the capabilities it uses: ports 623/443, addresses on
    # `interface:` (netlink), the workers' setresuid/setgroups to `user:`,
    # signals to workers of that other uid.  Nothing that only gains
    # privileges (setuid binaries, namespaces, W^X maps, other ABIs).
    assert set(svc["CapabilityBoundingSet"].split()) == {
        "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"}
    assert set(svc["RestrictAddressFamilies"].split()) == {
        "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    hardening = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "read-only",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
        "RestrictNamespaces": "yes", "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native"}
    assert {k: svc.get(k) for k in hardening} == hardening
    # systemd's own score of the whole set: "OK" (< 5) or better
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs tmpfs /run/systemd && "
                        'exec systemd-analyze security --offline=true --no-pager "$1"',
                        "sh", str(copy)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    m = re.search(r"Overall exposure level for vbmc-supervisor.service: (\d+\.\d)", r.stdout)
    assert m and float(m.group(1)) < 5.0, r.stdout[-2000:]


def unit_section(text, name):
    """{key: value} of one [section] of a unit file (the last value wins)."""
    out, cur = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            cur = line.strip("[]")
        elif cur == name:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


# -- control socket ---------------------------------------------------------------

PROTO_MAGIC = 0x76626D63
# the version the binaries under test speak, read from the one header that defines it
PROTO_VERSION = int(re.search(r"#define PROTO_VERSION (\d+)",
                              (REPO / "proto" / "proto.h").read_text()).group(1))
CTL_STATUS, CTL_NODE, CTL_END = 300, 400, 401


def raw_status_as(uid, gid, path):
    """In a child with uid/gid: connect to the control socket and ask for
    status.  Returns ('connect', errno), ('answer', [types]) or ('eof', [])."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                s.connect(path)
            except OSError as e:
                res = ("connect", e.errno)
            else:
                payload = json.dumps({"node": ""}).encode()
                s.settimeout(5)
                types = []
                try:
                    s.send(struct.pack("=IHHI", PROTO_MAGIC, PROTO_VERSION, CTL_STATUS, len(payload))
                           + payload)
                    while True:
                        data = s.recv(65536)
                        if not data:
                            break
                        types.append(struct.unpack("=IHHI", data[:12])[2])
                        if types[-1] == CTL_END:
                            break
                except (OSError, socket.timeout) as e:
                    types.append(str(e))
                res = ("answer" if CTL_END in types else "eof", types)
            os.write(w, json.dumps(res).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return tuple(json.loads(data))


@pytest.fixture
def open_sup(tmp_path, qemu):
    """A supervisor whose dir other users can traverse (not pytest's 0700
    tmp dir), so that the unix socket's own mode is what is tested."""
    d = Path(tempfile.mkdtemp(prefix="vbmc-ctl-"))
    d.chmod(0o711)
    o = None
    try:
        o = One(tmp_path, {"ct1": qemu}, workdir=d)
        yield o
    finally:
        if o:
            o.close()
        shutil.rmtree(d, ignore_errors=True)


def test_control_socket_permissions(open_sup):
    o = open_sup
    o.announce("ct1", "127.0.10.175")
    sock = o.sup.dir / "run" / "control.sock"
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == 0
    run_dir = o.sup.dir / "run"
    assert os.stat(run_dir).st_mode & 0o001  # others may traverse

    # the CLI as nobody, with a config it may read
    cfg = o.sup.dir / "nobody.yml"
    cfg.write_text(f"networks: [127.0.10.0/24]\nrun-dir: {run_dir}\n"
                   "nodes:\n  - {name: ct1, qmp: /nonexistent/q, announce: /nonexistent/a}\n")
    cfg.chmod(0o644)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        str(SUPERVISOR), "status", "-c", str(cfg)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode != 0
    assert "Permission denied" in r.stderr, r.stderr
    assert "ct1" not in r.stdout
    # root may
    r = subprocess.run([str(SUPERVISOR), "status", "-c", str(cfg)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0 and "ct1: 127.0.10.175" in r.stdout, r

    nobody = pwd.getpwnam("nobody")
    assert raw_status_as(nobody.pw_uid, nobody.pw_gid, str(sock)) == ("connect", 13)
    # A mis-set mode alone must not let them in: the peer's uid is checked.
    o.log.mark()
    os.chmod(sock, 0o666)
    try:
        kind, types = raw_status_as(nobody.pw_uid, nobody.pw_gid, str(sock))
    finally:
        os.chmod(sock, 0o600)
    assert kind == "eof" and CTL_NODE not in types, (kind, types)
    if o.log.journal:
        o.log.journal.wait_for(5, match=lambda e: "refused a connection" in e["MESSAGE"],
                               SYSLOG_IDENTIFIER="vbmc-supervisor")
    else:
        wait_until(lambda: "refused a connection" in o.sup.log_text(), 5)
    # and the vbmc user (the workers' uid) is refused as well
    user = vbmc_user()
    os.chmod(sock, 0o666)
    try:
        kind, _ = raw_status_as(user.pw_uid, user.pw_gid, str(sock))
    finally:
        os.chmod(sock, 0o600)
    assert kind == "eof"
    assert o.sup.node("ct1")["state"] == "serving"


def test_control_concurrent_status(one):
    st = one.announce("op1", "127.0.10.176", power="on")
    n = 50

    def ask(_):
        r = one.sup.cli("status", "--json", timeout=30)
        return r.returncode, r.stdout, r.stderr

    t0 = time.monotonic()
    with ThreadPoolExecutor(n) as ex:
        results = list(ex.map(ask, range(n)))
    took = time.monotonic() - t0
    bad = [r for r in results if r[0] != 0]
    assert not bad, f"{len(bad)} of {n} failed, e.g. {bad[0]}"
    for rc, out, err in results:
        node = json.loads(out)["nodes"][0]
        assert node["name"] == "op1" and node["pid"] == st["pid"]
    assert took < 20, took
    # raw requests all at once (no process start-up to spread them out):
    # more than the supervisor serves at a time; the rest wait in the backlog
    socks = []
    path = str(one.sup.dir / "run" / "control.sock")
    payload = json.dumps({"node": "op1"}).encode()
    frame = struct.pack("=IHHI", PROTO_MAGIC, PROTO_VERSION, CTL_STATUS, len(payload)) + payload
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(path)  # blocking, as the CLI's
            s.settimeout(10)
            s.send(frame)
            socks.append(s)
        answered = 0
        for s in socks:
            types = []
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    types.append(struct.unpack("=IHHI", data[:12])[2])
                    if types[-1] == CTL_END:
                        break
            except OSError:
                pass
            answered += types == [CTL_NODE, CTL_END]
        assert answered == n, f"{answered} of {n} concurrent connections answered"
    finally:
        for s in socks:
            s.close()
    assert one.sup.node("op1")["pid"] == st["pid"]


def test_control_idle_flood(one):
    """Connections that never ask anything cannot keep status from
    answering: the supervisor closes idle ones when it is full."""
    one.announce("op1", "127.0.10.177")
    path = str(one.sup.dir / "run" / "control.sock")
    socks = []
    try:
        for _ in range(40):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(path)  # blocking: waits while the backlog is full
            socks.append(s)
        for _ in range(3):
            r = one.sup.cli("status", timeout=20)
            assert r.returncode == 0 and "op1: 127.0.10.177" in r.stdout, r
    finally:
        for s in socks:
            s.close()
    r = one.sup.cli("status", timeout=20)
    assert r.returncode == 0, r


# -- interface: (network namespace) ---------------------------------------------

def ip(*args, check=True):
    return subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, check=check, timeout=30)


@pytest.fixture
def netns():
    name = f"vbmc-t{os.getpid()}"
    ip("netns", "del", name, check=False)
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        # dummy links if the kernel has the driver, else one end of a veth
        # pair whose other end stays in the namespace too
        for link in ("bmc0", "bmc1"):
            if ip("-n", name, "link", "add", link, "type", "dummy", check=False).returncode:
                ip("-n", name, "link", "add", link, "type", "veth", "peer", "name", link + "p")
                ip("-n", name, "link", "set", link + "p", "up")
            ip("-n", name, "link", "set", link, "up")
        yield name
    finally:
        pids = ip("netns", "pids", name, check=False).stdout.split()
        for p in pids:
            try:
                os.kill(int(p), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        ip("netns", "del", name, check=False)
        assert name not in ip("netns", "list").stdout


class NetnsSupervisor(Supervisor):
    """A Supervisor that runs `vbmc-supervisor run` inside a network namespace
    (QEMU and the test stay outside: unix sockets are path names)."""

    def __init__(self, netns, **kw):
        self.netns = netns
        super().__init__(**kw)

    def start(self):
        env = dict(os.environ)
        env.setdefault("VBMC_LOG", "journal" if Journal.available() else "stderr")
        env.update(self.env)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns, str(SUPERVISOR),
                                      "run", "-c", str(self.config), "-v"],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: (self.dir / "run" / "control.sock").exists() or
                   self.proc.poll() is not None, 10, what="control socket")
        if self.proc.poll() is not None:
            raise RuntimeError(f"supervisor exited: {self.log.read_text()}")
        return self


def link_addrs(netns, family, link="bmc0"):
    out = ip("-n", netns, "-o", family, "addr", "show", "dev", link).stdout
    return {line.split()[3] for line in out.splitlines()}


@pytest.mark.parametrize("family,net,first,second,prefix", [
    ("-4", "10.77.0.0/24", "10.77.0.5", "10.77.0.6", 24),
    ("-6", "fd77::/64", "fd77::5", "fd77::6", 64),
], ids=["ipv4", "ipv6"])
def test_interface_in_netns(tmp_path, qemu, netns, family, net, first, second, prefix):
    o = One(tmp_path, {"if1": qemu}, sup_class=NetnsSupervisor, netns=netns,
            networks=(net,), interface="bmc0")
    try:
        sup = o.sup
        # the supervisor really runs in the namespace
        assert os.readlink(f"/proc/{sup.proc.pid}/ns/net") != os.readlink("/proc/self/ns/net")
        assert not {f"{first}/{prefix}", f"{second}/{prefix}"} & link_addrs(netns, family)
        st = o.announce("if1", first, power="on")
        assert f"{first}/{prefix}" in link_addrs(netns, family)
        assert first in udp_listeners(sup.ipmi_port, netns)
        # nothing of this on the host's side
        assert first not in udp_listeners(sup.ipmi_port)
        o.log.wait("if1", f"added {first} on bmc0")

        o.ann["if1"].send(second + "\n")
        st2 = sup.wait_node("if1", address=second, state="serving", power="on")
        assert st2["pid"] != st["pid"]
        wait_until(lambda: first not in udp_listeners(sup.ipmi_port, netns), 5,
                   what="old UDP socket gone")
        addrs = link_addrs(netns, family)
        assert f"{second}/{prefix}" in addrs and f"{first}/{prefix}" not in addrs, addrs
        assert second in udp_listeners(sup.ipmi_port, netns)

        sup.signal(signal.SIGTERM)
        assert sup.proc.wait(15) == 0
        addrs = link_addrs(netns, family)
        assert f"{second}/{prefix}" not in addrs and f"{first}/{prefix}" not in addrs, addrs
        assert not udp_listeners(sup.ipmi_port, netns)
    finally:
        o.close()


def test_interface_restart_and_reload(tmp_path, qemu, netns):
    """A supervisor killed with SIGKILL leaves its address on the link; the
    next one restores the BMC from its state file and adopts the address.
    A reload that changes `interface:` moves the address to the new link;
    one that takes the address's network away stops the BMC and takes the
    address off the link."""
    o = One(tmp_path, {"if2": qemu}, sup_class=NetnsSupervisor, netns=netns,
            networks=("10.77.0.0/24",), interface="bmc0")
    try:
        sup = o.sup
        o.announce("if2", "10.77.0.7", power="on")
        assert "10.77.0.7/24" in link_addrs(netns, "-4")
        sup.kill()
        wait_until(lambda: not sup.worker_pids_all(), 5, what="workers gone")
        assert "10.77.0.7/24" in link_addrs(netns, "-4")
        o.ann["if2"].conn.close()
        o.ann["if2"].conn = None

        o.log.mark()
        # stale after SIGKILL; Supervisor.start() waits for a new one
        (sup.dir / "run" / "control.sock").unlink()
        sup.start()
        st = sup.wait_node("if2", address="10.77.0.7", state="serving", power="on")
        o.log.wait("if2", "adopted 10.77.0.7 on bmc0")
        assert "10.77.0.7" in udp_listeners(sup.ipmi_port, netns)

        # another interface: the address moves to it
        sup.interface = "bmc1"
        sup.write_config()
        sup.signal(signal.SIGHUP)
        o.log.wait("if2", "added 10.77.0.7 on bmc1")
        st = sup.wait_node("if2", address="10.77.0.7", state="serving", power="on")
        assert "10.77.0.7/24" in link_addrs(netns, "-4", "bmc1")
        assert "10.77.0.7/24" not in link_addrs(netns, "-4", "bmc0")

        sup.networks = ["10.78.0.0/24"]
        sup.write_config()
        sup.signal(signal.SIGHUP)
        o.log.wait("if2", "no longer inside the configured networks")
        sup.wait_node("if2", state="waiting", pid=0)
        assert sup.node("if2").get("address") is None
        wait_until(lambda: "10.77.0.7" not in udp_listeners(sup.ipmi_port, netns), 5,
                   what="UDP socket gone")
        assert "10.77.0.7/24" not in link_addrs(netns, "-4", "bmc1")

        sup.signal(signal.SIGTERM)
        assert sup.proc.wait(15) == 0
        for link in ("bmc0", "bmc1"):
            assert not [a for a in link_addrs(netns, "-4", link) if a.startswith("10.7")]
        assert st["pid"] not in sup.worker_pids_all()
    finally:
        o.close()
