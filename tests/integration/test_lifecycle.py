"""The life cycle of vbmc's nodes against real QEMU: announcement, power from
the CLI, a worker killed, the supervisor restarted (SIGTERM and SIGKILL),
SIGHUP adding and removing nodes, QEMU killed and started again, IPv6.

Every check looks at both sides: QEMU's own state through the test's QMP
socket, and what `vbmc-supervisor status --json` reports.

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_lifecycle.py

BMC addresses of this file: 127.0.10.100-127.0.10.149 and ::1.
"""

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vbmctest  # noqa: E402
from cluster import Supervisor  # noqa: E402
from ipmiraw import RawClient  # noqa: E402
from vbmctest import Journal, Qemu, wait_until  # noqa: E402

# Boot to the announcement takes ~4 s under TCG on an idle machine; several
# guests boot at once here and other test files may run beside us.
BOOT = 90
SOFT_OFF = 60

ADDR_A = "127.0.10.100"
ADDR_B = "127.0.10.101"
ADDR_P = "127.0.10.102"   # the power tests' own guest
ADDR_S = "127.0.10.103"   # the guest test_qemu_restart kills
ADDR_V6 = "::1"

# Node names unique to this run, so that counting vbmc-worker processes by
# node name never sees another test file's workers.
_TAG = f"{os.getpid() % 100000}"
A = f"lc-a-{_TAG}"
B = f"lc-b-{_TAG}"
C = f"lc-c-{_TAG}"
P = f"lc-p-{_TAG}"
S = f"lc-s-{_TAG}"
V6 = f"lc-v6-{_TAG}"

ANNOUNCED = "vbmc-guest: announced"

# Under TCG on a loaded machine the kernel's IO-APIC timer check can fail
# and panic the guest at boot ("IO-APIC + timer doesn't work"): skip that
# check, and should a guest panic anyway, let it reboot instead of hanging.
GUEST_APPEND = "no_timer_check panic=1"


# ---------------------------------------------------------------- helpers

class Guest:
    """A guest QEMU and whether its boot-time line is still unread.

    The guest writes its address once per boot, and that write waits for
    the first client of the announce port; a later client hears nothing
    until the next reset.
    """

    def __init__(self, q, addr):
        self.q = q
        self.addr = addr
        self.pending = True

    def take_pending(self):
        p, self.pending = self.pending, False
        return p


def announced_count(q):
    return q.serial_text().count(ANNOUNCED)


def reboot(q):
    """Reset the VM from whatever state a failed earlier test left it in."""
    q.qmp("system_reset")
    if q.status() != "running":
        q.qmp("cont")


def bring_up(sup, name, guest, pending):
    """Make the guest announce to sup and wait until its BMC serves, on.

    pending: whether the guest's boot-time line was unread when sup (or the
    reload that added the node) connected; otherwise reset it so that it
    announces again."""
    if not pending:
        reboot(guest.q)
    try:
        return sup.wait_node(name, timeout=BOOT, state="serving", address=guest.addr,
                             power="on")
    except TimeoutError as e:
        raise TimeoutError(f"{e}\nserial log of {guest.q.name}:\n"
                           f"{guest.q.serial_text()[-2000:]}") from None


def bring_up_all(sup, guests, pending):
    """bring_up() for several nodes {name: Guest}, rebooting them together."""
    for name, g in guests.items():
        if not pending[name]:
            reboot(g.q)
    return {name: bring_up(sup, name, g, True) for name, g in guests.items()}


def start_sup(tmp_path, nodes, sups, **kw):
    """A supervisor for nodes {name: Guest|Qemu}; returns (sup, pending)."""
    qemus = {n: (g.q if isinstance(g, Guest) else g) for n, g in nodes.items()}
    pending = {n: g.take_pending() for n, g in nodes.items() if isinstance(g, Guest)}
    (tmp_path / "sup").mkdir()
    sup = Supervisor(qemus, workdir=tmp_path / "sup", **kw)
    sups.append(sup)
    return sup, pending


def status_ok(sup):
    """status --json, or None while the supervisor does not answer yet."""
    try:
        return sup.status()
    except (RuntimeError, ValueError):
        return None


def worker_pids(names):
    """Every vbmc-worker process serving one of these node names, whoever
    its parent is (an orphan counts)."""
    names = set(names)
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
            st = (d / "stat").read_text()
        except OSError:
            continue
        if st.rsplit(")", 1)[1].split()[0] == "Z":
            continue  # a zombie serves nothing
        if argv and argv[0].endswith(b"vbmc-worker") and len(argv) > 2:
            node = argv[2].decode(errors="replace")
            if node in names:
                found.setdefault(node, []).append(int(d.name))
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of ours still "exists"
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sup_log_wait(sup, journal, text, timeout=BOOT, node=None):
    """Wait until the supervisor logged a line containing text (after
    journal.mark() when the private journal is used, else anywhere in its
    stderr log)."""
    if Journal.available():
        fields = {"SYSLOG_IDENTIFIER": "vbmc-supervisor"}
        if node:
            fields["VBMC_NODE"] = node
        return journal.wait_for(timeout, match=lambda e: text in e.get("MESSAGE", ""),
                                **fields)["MESSAGE"]
    return wait_until(lambda: text in sup.log_text() and text, timeout,
                      what=f"supervisor log line {text!r}")


def sup_log_lines(sup, journal, node=None):
    if Journal.available():
        fields = {"SYSLOG_IDENTIFIER": "vbmc-supervisor"}
        if node:
            fields["VBMC_NODE"] = node
        return [e.get("MESSAGE", "") for e in journal.entries(**fields)]
    return sup.log_text().splitlines()


def saved_text(statefile):
    """The state file's text, "" while it does not exist yet."""
    try:
        return statefile.read_text()
    except FileNotFoundError:
        return ""


def ss_udp(port):
    r = subprocess.run(["ss", "-H", "-ulnp", f"sport = :{port}"], stdout=subprocess.PIPE,
                       text=True, check=True)
    return r.stdout


def same_path_qemu(old, workdir, **kw):
    """A new QEMU whose announce and QMP sockets are at old's paths (a VM
    restarted by its manager); old must be gone."""
    q = Qemu(old.name, workdir, start=False, **kw)
    q.announce_path = old.announce_path
    q.vbmc_qmp_path = old.vbmc_qmp_path
    q.test_qmp_path = old.test_qmp_path
    q.announce_path.parent.mkdir(parents=True, exist_ok=True)
    return q.start()


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def guest_dir():
    return vbmctest.build_guest()


@pytest.fixture(scope="module")
def guests(guest_dir, tmp_path_factory):
    """Every guest of the module, started at once so that they boot in
    parallel: A, B (shared by several tests), P (power tests), S (killed by
    test_qemu_restart), V6 (announces ::1) and C, guest-less."""
    wd = tmp_path_factory.mktemp("guests")
    started = []

    def guest(name, addr):
        q = Qemu(name, wd, guest=True, guest_dir=guest_dir, vbmc_ip=addr,
                 extra_append=GUEST_APPEND)
        started.append(q)
        return Guest(q, addr)

    try:
        g = {"A": guest("a", ADDR_A), "B": guest("b", ADDR_B), "P": guest("p", ADDR_P),
             "S": guest("s", ADDR_S), "V6": guest("v6", ADDR_V6)}
        g["C"] = Qemu("c", wd, guest=False)
        started.append(g["C"])
        g["dir"] = wd
        yield g
    finally:
        for q in started:
            if os.environ.get("VBMC_TEST_VERBOSE"):
                print(f"--- serial log of {q.name}:\n{q.serial_text()}")
            q.stop()


@pytest.fixture
def sups():
    """Supervisors a test starts; stopped (and their workers killed) after it."""
    started = []
    yield started
    codes = [(s.proc.poll(), s.stop()) for s in started]
    # Each ran until the end and stopped cleanly on SIGTERM.
    assert codes == [(None, 0)] * len(started), \
        f"supervisor (exit before stop, exit after SIGTERM): {codes}"


@pytest.fixture
def journal():
    j = Journal()
    if Journal.available():
        j.mark()
    return j


class PowerNode:
    def __init__(self, sup, name, guest):
        self.sup = sup
        self.name = name
        self.guest = guest
        self.q = guest.q

    def power(self, action):
        return self.sup.power(self.name, action)

    def status(self):
        return self.sup.node(self.name)

    def wait(self, **want):
        return self.sup.wait_node(self.name, timeout=BOOT, **want)

    def wait_booted(self, before):
        """Wait until the guest announced again after `before` announcements
        (its acpid runs from then on)."""
        wait_until(lambda: announced_count(self.q) > before, BOOT, 0.1,
                   f"{self.name}: a new announcement")

    def ensure_on(self):
        """Start from a running, booted guest whose BMC serves, power on."""
        if self.q.status() != "running":
            n = announced_count(self.q)
            r = self.power("on")
            assert r.returncode == 0, r.stdout + r.stderr
            self.wait_booted(n)
        return self.wait(state="serving", address=self.guest.addr, power="on")


@pytest.fixture(scope="module")
def power_node(guests, tmp_path_factory):
    """Guest P behind its own supervisor, for the power tests."""
    g = guests["P"]
    pending = g.take_pending()
    sup = Supervisor({P: g.q}, workdir=tmp_path_factory.mktemp("power-sup"))
    try:
        bring_up(sup, P, g, pending)
        # acpid runs once the guest has announced
        wait_until(lambda: announced_count(g.q) >= 1, BOOT, 0.1, "P announced")
        yield PowerNode(sup, P, g)
    finally:
        sup.stop()


# ------------------------------------------------------------------ tests

def test_announce_serves_and_silent_node_waits(guests, sups, tmp_path):
    a, c = guests["A"], guests["C"]
    sup, pending = start_sup(tmp_path, {A: a, C: c}, sups)
    st = bring_up(sup, A, a, pending[A])
    assert st["address"] == ADDR_A
    assert st["pid"] > 0 and alive(st["pid"])
    assert st["state"] == "serving" and st["power"] == "on"
    assert worker_pids([A]) == {A: [st["pid"]]}
    assert a.q.status() == "running"
    # The worker holds the IPMI socket on the announced address.
    out = ss_udp(sup.ipmi_port)
    assert f"{ADDR_A}:{sup.ipmi_port}" in out and f"pid={st['pid']}," in out, out
    # C's QEMU runs but nothing announces: no address, no worker.
    time.sleep(1)
    sc = sup.node(C)
    assert sc["state"] == "waiting", sc
    assert sc.get("address") is None and sc["pid"] == 0 and sc["power"] == "unknown", sc
    assert C not in worker_pids([C])
    assert c.status() == "running"
    # Text status shows the same.
    r = sup.cli("status")
    assert r.returncode == 0
    assert f"{A}: {ADDR_A} pid {st['pid']} serving power on" in r.stdout, r.stdout
    assert f"{C}: - pid 0 waiting" in r.stdout, r.stdout


def test_power_off_and_on(power_node):
    pn = power_node
    st = pn.ensure_on()
    n = announced_count(pn.q)
    r = pn.power("off")
    assert r.returncode == 0, r.stdout + r.stderr
    assert pn.q.status() == "paused"
    pn.wait(power="off")
    r = pn.power("on")
    assert r.returncode == 0, r.stdout + r.stderr
    pn.q.wait_status("running", 10)
    st2 = pn.wait(power="on", state="serving")
    assert st2["pid"] == st["pid"]
    # "on" is a cold boot: the guest boots and announces again.
    pn.wait_booted(n)


def test_power_soft_off_then_on_from_shutdown(power_node):
    pn = power_node
    st = pn.ensure_on()
    r = pn.power("soft")
    assert r.returncode == 0, r.stdout + r.stderr
    # The guest's acpid powers it off; -no-shutdown keeps QEMU.
    pn.q.wait_status("shutdown", SOFT_OFF)
    assert pn.q.running()
    pn.wait(power="off")
    assert pn.status()["pid"] == st["pid"]
    # Power on works from 'shutdown' (system_reset + cont).
    n = announced_count(pn.q)
    r = pn.power("on")
    assert r.returncode == 0, r.stdout + r.stderr
    pn.q.wait_status("running", 10)
    pn.wait(power="on")
    pn.wait_booted(n)


def test_power_reset_guest_announces_again(power_node, journal):
    pn = power_node
    st = pn.ensure_on()
    if Journal.available():
        journal.mark()
    n = announced_count(pn.q)
    r = pn.power("reset")
    assert r.returncode == 0, r.stdout + r.stderr
    pn.wait_booted(n)
    msg = sup_log_wait(pn.sup, journal, f"announced {ADDR_P} again: no change", node=P)
    assert ADDR_P in msg
    assert pn.q.status() == "running"
    st2 = pn.status()
    assert (st2["state"], st2["address"], st2["pid"], st2["power"]) == \
        ("serving", ADDR_P, st["pid"], "on")


def test_power_cycle(power_node):
    pn = power_node
    st = pn.ensure_on()
    n = announced_count(pn.q)
    r = pn.power("cycle")
    assert r.returncode == 0, r.stdout + r.stderr
    assert pn.q.status() == "running"
    st2 = pn.wait(power="on", state="serving")
    assert st2["pid"] == st["pid"]
    pn.wait_booted(n)


def test_power_nmi(power_node):
    pn = power_node
    pn.ensure_on()
    before = pn.q.serial_text().count("NMI")
    r = pn.power("nmi")
    assert r.returncode == 0, r.stdout + r.stderr
    assert pn.q.status() == "running"
    assert pn.status()["power"] == "on"
    # The kernel says "Uhhuh. NMI received for unknown reason"; give it time.
    try:
        wait_until(lambda: pn.q.serial_text().count("NMI") > before, 10, 0.1)
    except TimeoutError:
        pytest.fail(f"no NMI message on the guest's serial console:\n{pn.q.serial_text()}")


def test_power_nmi_while_off_refused(power_node):
    pn = power_node
    pn.ensure_on()
    try:
        r = pn.power("off")
        assert r.returncode == 0, r.stdout + r.stderr
        pn.wait(power="off")
        r = pn.power("nmi")
        assert r.returncode != 0
        out = r.stdout + r.stderr
        assert "off" in out, out
        assert pn.q.status() == "paused"
        assert pn.status()["power"] == "off"
    finally:
        n = announced_count(pn.q)
        if pn.power("on").returncode == 0:
            pn.wait_booted(n)


def test_power_unknown_action(power_node):
    pn = power_node
    r = pn.power("explode")
    assert r.returncode == 2
    assert "unknown power action" in r.stderr, r.stderr
    # nothing happened
    assert pn.q.status() == "running"
    r = pn.sup.power("no-such-node", "nmi")
    assert r.returncode != 0
    assert "no such node" in r.stdout + r.stderr


def test_worker_killed_is_restarted_fast(guests, sups, tmp_path):
    a, b = guests["A"], guests["B"]
    sup, pending = start_sup(tmp_path, {A: a, B: b}, sups)
    old = bring_up_all(sup, {A: a, B: b}, pending)[A]
    other = sup.node(B)
    with RawClient(ADDR_A, sup.ipmi_port) as raw:
        assert raw.ping(2), "the first worker does not answer"
    pong = {}

    def ping_new_worker():
        # only once the old worker is gone (a zombie holds no socket), so
        # that the pong can only come from the new one
        wait_until(lambda: not alive(old["pid"]), 5, 0.002, "the old worker gone")
        with RawClient(ADDR_A, sup.ipmi_port) as raw:
            while "t" not in pong and time.monotonic() - t0 < 10:
                if raw.ping(0.05):
                    pong["t"] = time.monotonic()
    pinger = threading.Thread(target=ping_new_worker)
    t0 = time.monotonic()
    os.kill(old["pid"], signal.SIGKILL)
    pinger.start()

    def new_serving():
        s = status_ok(sup)
        if s and s[A]["pid"] not in (0, old["pid"]) and s[A]["state"] == "serving":
            return s[A]
        return None
    try:
        new = wait_until(new_serving, 10, 0.02, "a new worker serving")
        took = time.monotonic() - t0
    finally:
        pinger.join(15)
    print(f"new worker serving {took:.3f}s after kill -9")
    assert took < 2.0, f"new worker took {took:.2f}s"
    # and a real client gets its answers from the new worker within the 2 s:
    # the RMCP presence ping, then ipmitool's whole RMCP+ session
    assert "t" in pong, "no presence pong from the new worker"
    print(f"first pong {pong['t'] - t0:.3f}s after kill -9")
    assert pong["t"] - t0 < 2.0, f"first pong after {pong['t'] - t0:.2f}s"

    def power_status():
        r = subprocess.run(["ipmitool", "-I", "lanplus", "-H", ADDR_A, "-p", str(sup.ipmi_port),
                            "-U", "admin", "-P", sup.password, "-N", "1", "-R", "1",
                            "chassis", "power", "status"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        return r.returncode == 0 and "Chassis Power is on" in r.stdout
    wait_until(power_status, 10, 0.02, "ipmitool chassis power status: on")
    took = time.monotonic() - t0
    print(f"ipmitool chassis power status answered {took:.3f}s after kill -9")
    assert took < 2.0, f"ipmitool answered after {took:.2f}s"
    assert alive(new["pid"]) and not alive(old["pid"])
    assert new["address"] == ADDR_A and new["restarts"] == old["restarts"] + 1
    assert "signal 9" in (new.get("last_error") or ""), new
    sup.wait_node(A, power="on")
    assert worker_pids([A]) == {A: [new["pid"]]}
    # The other node did not notice.
    assert sup.node(B)["pid"] == other["pid"]
    assert sup.node(B)["state"] == "serving"
    assert a.q.status() == "running"


def _restart_checks(sup, before, ann_before, guests_by_name, journal):
    """After a supervisor restart: every node serving at its address again,
    new worker pids, no announcement in between."""
    def all_serving():
        s = status_ok(sup)
        if not s:
            return None
        return all(s[n]["state"] == "serving" and s[n]["power"] == "on"
                   and s[n]["pid"] not in (0, before[n]["pid"]) for n in before) and s
    s = wait_until(all_serving, 30, 0.1, "every node serving again")
    for n, g in guests_by_name.items():
        assert s[n]["address"] == before[n]["address"] == g.addr
        # The guest did not announce: the address came from the state file.
        assert announced_count(g.q) == ann_before[n], n
        assert g.q.status() == "running"
    if Journal.available():
        # journald stores entries a little after they are sent: wait for them
        for n, g in guests_by_name.items():
            sup_log_wait(sup, journal, f"restored BMC address {g.addr} from state", 10, node=n)
        lines = sup_log_lines(sup, journal)
        assert not [ln for ln in lines if "announced BMC address" in ln], lines
    return s


def test_supervisor_restart_restores_nodes(guests, sups, tmp_path, journal):
    a, b = guests["A"], guests["B"]
    sup, pending = start_sup(tmp_path, {A: a, B: b}, sups)
    gb = {A: a, B: b}
    bring_up_all(sup, gb, pending)
    statefile = sup.dir / "state" / "nodes.json"
    # saves are batched (supervisor/state.c): "serving" can come first
    wait_until(lambda: all(g.addr in saved_text(statefile) for g in gb.values()), 5, 0.02,
               "both addresses saved")
    assert stat.S_IMODE(statefile.stat().st_mode) == 0o600
    before = sup.status()
    ann = {n: announced_count(g.q) for n, g in gb.items()}

    # 1. SIGTERM: the supervisor stops its workers and exits 0.
    sup.signal(signal.SIGTERM)
    assert sup.proc.wait(15) == 0
    wait_until(lambda: not worker_pids([A, B]), 5, 0.05, "workers gone after SIGTERM")
    if Journal.available():
        journal.mark()
    sup.start()
    s1 = _restart_checks(sup, before, ann, gb, journal)

    # 2. SIGKILL: the workers lose their supervisor; the next one must not
    # end up with two workers for a node.
    sup.kill()
    if Journal.available():
        journal.mark()
    sup.start()
    s2 = _restart_checks(sup, s1, ann, gb, journal)

    def one_each():
        w = worker_pids([A, B])
        return w == {A: [s2[A]["pid"]], B: [s2[B]["pid"]]} and w
    try:
        wait_until(one_each, 5, 0.1)
    except TimeoutError:
        pytest.fail(f"workers left: {worker_pids([A, B])}, status {sup.status()}")
    for n in (A, B):
        assert not alive(s1[n]["pid"])
    # Stable: nothing restarts behind our back.
    time.sleep(1)
    s3 = sup.status()
    assert {n: s3[n]["pid"] for n in (A, B)} == {n: s2[n]["pid"] for n in (A, B)}
    assert stat.S_IMODE(statefile.stat().st_mode) == 0o600
    assert stat.S_IMODE((sup.dir / "state").stat().st_mode) == 0o700


def test_sighup_adds_and_removes_nodes(guests, sups, tmp_path):
    a, b = guests["A"], guests["B"]
    sup, pending = start_sup(tmp_path, {A: a}, sups)
    sa = bring_up(sup, A, a, pending[A])

    # A reload without changes touches nothing.
    sup.signal(signal.SIGHUP)
    time.sleep(0.5)
    s0 = sup.status()
    assert list(s0) == [A] and s0[A]["pid"] == sa["pid"] and s0[A]["state"] == "serving"

    # Add B.
    b_pending = b.take_pending()
    sup.write_config({A: a.q, B: b.q})
    sup.signal(signal.SIGHUP)
    wait_until(lambda: B in (status_ok(sup) or {}), 10, 0.05, "B listed")
    sb = bring_up(sup, B, b, b_pending)
    assert worker_pids([B]) == {B: [sb["pid"]]}
    assert sup.node(A)["pid"] == sa["pid"]
    # The address reaches the disk within the state file's batching delay.
    statefile = sup.dir / "state" / "nodes.json"
    wait_until(lambda: ADDR_B in saved_text(statefile), 5, 0.02, "B's address saved")

    # Remove B.
    sup.write_config({A: a.q})
    sup.signal(signal.SIGHUP)
    wait_until(lambda: B not in (status_ok(sup) or {B: 1}), 10, 0.05, "B gone from status")
    wait_until(lambda: not alive(sb["pid"]), 5, 0.05, "B's worker gone")
    assert not worker_pids([B])
    assert ADDR_B not in ss_udp(sup.ipmi_port)
    wait_until(lambda: ADDR_B not in saved_text(statefile), 5, 0.02, "B's address dropped")
    sa2 = sup.node(A)
    assert (sa2["pid"], sa2["state"], sa2["power"]) == (sa["pid"], "serving", "on")
    assert sup.proc.poll() is None


def test_qemu_restart_is_tracked(guests, sups, tmp_path):
    g = guests["S"]
    sup, pending = start_sup(tmp_path, {S: g}, sups)
    st = bring_up(sup, S, g, pending[S])
    old = g.q
    old.kill()
    st2 = sup.wait_node(S, timeout=10, power="unknown")
    assert (st2["pid"], st2["state"], st2["address"]) == (st["pid"], "serving", ADDR_S)
    assert "QMP" in (st2.get("last_error") or ""), st2
    # The VM's manager starts it again, with the same socket paths.
    new = same_path_qemu(old, guests["dir"], guest=False)
    g.q = new
    assert new.status() == "running"
    st3 = sup.wait_node(S, timeout=20, power="on")
    assert st3["pid"] == st["pid"] and st3["state"] == "serving"
    # Events come through the new connection: a stop is seen as off.
    new.qmp("stop")
    sup.wait_node(S, timeout=10, power="off")
    r = sup.power(S, "on")
    assert r.returncode == 0, r.stdout + r.stderr
    assert new.status() == "running"
    assert sup.node(S)["pid"] == st["pid"]


def test_ipv6_node(guests, sups, tmp_path):
    g = guests["V6"]
    # Quoted: in a YAML flow sequence a plain scalar cannot start with "::"
    # (cluster.py writes the networks as they are given).
    sup, pending = start_sup(tmp_path, {V6: g}, sups, networks=('"::1/128"',))
    st = bring_up(sup, V6, g, pending[V6])
    assert st["address"] == "::1"
    assert g.q.status() == "running"
    out = ss_udp(sup.ipmi_port)
    assert f"[::1]:{sup.ipmi_port}" in out, out
    assert f"pid={st['pid']}," in out, out
    assert worker_pids([V6]) == {V6: [st["pid"]]}
    # The IPv6 address survives a supervisor restart through the state file.
    n = announced_count(g.q)
    sup.stop()
    sup.start()
    st2 = wait_until(lambda: (s := status_ok(sup)) and s[V6]["state"] == "serving"
                     and s[V6]["power"] == "on" and s[V6], 30, 0.1, "V6 serving again")
    assert st2["address"] == "::1" and st2["pid"] != st["pid"]
    assert announced_count(g.q) == n
    out = ss_udp(sup.ipmi_port)
    assert f"[::1]:{sup.ipmi_port}" in out and f"pid={st2['pid']}," in out, out
