"""Faults: a worker killed with SIGKILL in the middle of an IPMI session and
of a Redfish request, QEMU killed during a power action and started again,
a QMP peer that hangs (never greets, or greets and then never answers), the
state directory read-only or full, and fd exhaustion (EMFILE) in a worker.

Every case checks the same three things afterwards: the other node was not
touched (same worker pid, serving, answers), the faulty node recovered on
its own, and nothing announced was lost (the state file still has every
address).  Nodes are guest-less QEMUs (or a fake QMP peer) whose
announcements are played by the test (test_hostile.FakeAnnounce).

Covered elsewhere (docs/RELIABILITY.md lists them all): the supervisor
killed with SIGKILL and restarted (test_lifecycle.
test_supervisor_restart_restores_nodes; with `interface:` in a network
namespace, test_ops.test_interface_restart_and_reload) and the control
socket flooded (test_ops.test_control_concurrent_status,
test_control_idle_flood).

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_faults.py

BMC addresses of this file: 127.0.15.0/24.
"""

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import Supervisor, shut_down  # noqa: E402
from ipmiraw import APP, CHASSIS, RawClient, Session  # noqa: E402
from test_hostile import FakeAnnounce, LogCheck, fake_node  # noqa: E402
from vbmctest import Journal, Qemu, wait_until  # noqa: E402

NET = "127.0.15.0/24"
SYSTEM = "/redfish/v1/Systems/System.Embedded.1"
RESET = f"{SYSTEM}/Actions/ComputerSystem.Reset"

_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE


# ------------------------------------------------------------------ helpers

class FakeQmp:
    """A QMP peer on a unix socket that misbehaves on purpose.

    mode "silent": accepts and never sends a byte.
    mode "hang":   greets, answers qmp_capabilities, query-status (running)
                   and QOM lookups (nothing bootable), then never answers
                   anything else (a QEMU whose main loop is stuck)."""

    ANSWERED = {"qmp_capabilities": {}, "query-status":
                {"status": "running", "running": True, "singlestep": False},
                "qom-list": [], "query-name": {}}

    def __init__(self, path, mode):
        self.path = str(path)
        self.mode = mode
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(8)
        self.conns = []
        self.unanswered = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.srv.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(c)
            if self.mode != "silent":
                threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.sendall(b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},'
                      b' "package": ""}, "capabilities": []}}\r\n')
            buf = b""
            while not self.stop:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while b"\n" in buf or b"}" in buf:
                    # QMP clients send one JSON object per line (or not):
                    # decode whatever complete objects there are
                    try:
                        msg, end = json.JSONDecoder().raw_decode(buf.decode().lstrip())
                    except ValueError:
                        break
                    buf = buf.decode().lstrip()[end:].encode()
                    name = msg.get("execute")
                    if name in self.ANSWERED:
                        reply = {"return": self.ANSWERED[name]}
                        if "id" in msg:
                            reply["id"] = msg["id"]
                        c.sendall(json.dumps(reply).encode() + b"\r\n")
                    else:
                        self.unanswered.append(name)
        except OSError:
            return

    def close(self):
        self.stop = True
        self.srv.close()
        for c in self.conns:
            c.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Cluster:
    """Nodes with fake announce ports under one supervisor.

    nodes: {name: Qemu or an object with vbmc_qmp_path}."""

    def __init__(self, tmp, nodes, addrs, **kw):
        self.tmp = tmp
        self.addrs = dict(addrs)
        self.ann = {n: FakeAnnounce(tmp / f"{n}.ann") for n in nodes}
        self.qemus = dict(nodes)
        fakes = {n: fake_node(q, self.ann[n].path) for n, q in nodes.items()}
        (tmp / "sup").mkdir(exist_ok=True)
        self.sup = Supervisor(fakes, networks=(NET,), workdir=tmp / "sup", **kw)
        self.log = LogCheck(self.sup)

    def serve(self, name, **want):
        self.ann[name].send(self.addrs[name] + "\n")
        want.setdefault("state", "serving")
        return self.sup.wait_node(name, address=self.addrs[name], **want)

    def close(self):
        shut_down(self.sup, self.ann.values())

    @property
    def statefile(self):
        return self.sup.dir / "state" / "nodes.json"

    def saved(self):
        """Node name -> saved address (state file version 2: per-node
        objects with "address" and "boot")."""
        try:
            nodes = json.loads(self.statefile.read_text())["nodes"]
        except (OSError, ValueError):
            return {}
        return {n: e.get("address") for n, e in nodes.items()}

    def assert_nothing_lost(self, names=None):
        names = list(names or self.addrs)
        want = {n: self.addrs[n] for n in names}
        try:
            wait_until(lambda: all(self.saved().get(n) == a for n, a in want.items()), 10,
                       0.1, "state file with every address")
        except TimeoutError:
            pytest.fail(f"state file {self.saved()}, want {want}")

    def ipmi_ok(self, name):
        """A fresh ipmitool session on the node's BMC works."""
        return ipmitool(self.addrs[name], self.sup.ipmi_port, self.sup.password,
                        "chassis", "power", "status")

    def assert_untouched(self, name, before):
        now = self.sup.node(name)
        assert (now["pid"], now["state"]) == (before["pid"], "serving"), (before, now)
        r = self.ipmi_ok(name)
        assert r.returncode == 0 and "Chassis Power is" in r.stdout, r


def ipmitool(addr, port, password, *args, timeout=60):
    cmd = ["ipmitool", "-I", "lanplus", "-H", addr, "-p", str(port), "-U", "admin",
           "-P", password, *args]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def https(addr, port, timeout=15):
    return http.client.HTTPSConnection(addr, port, context=_TLS, timeout=timeout)


def basic(password, user="admin"):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def rf(addr, port, password, method, path, body=None, timeout=15):
    """(status, parsed body or text) of one Redfish request on a new connection."""
    c = https(addr, port, timeout)
    try:
        hdrs = {"Authorization": basic(password)}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=hdrs)
        r = c.getresponse()
        text = r.read().decode(errors="replace")
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, text
    finally:
        c.close()


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def new_worker(sup, name, old_pid, timeout=15):
    """Wait for a worker of name other than old_pid that serves and has its
    QMP link up (QEMU is on in every test that kills a worker); its status.
    "serving" alone comes before the worker asks for QMP: until
    query-status has answered, PowerState is absent and power requests
    get 503."""
    return sup.wait_node(name, timeout, old_pid=old_pid, state="serving", power="on")


@pytest.fixture(scope="module")
def qemus(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults-qemu")
    qs = {n: Qemu(n, base) for n in ("fa", "fb")}
    try:
        yield qs
    finally:
        for q in qs.values():
            q.stop()


@pytest.fixture
def pair(qemus, tmp_path):
    """fa and fb serving, both powered on."""
    for q in qemus.values():
        if q.running() and q.status() != "running":
            if q.status() in ("shutdown", "guest-panicked"):
                q.qmp("system_reset")
            q.qmp("cont")
    c = Cluster(tmp_path, qemus, {"fa": "127.0.15.10", "fb": "127.0.15.11"})
    try:
        c.serve("fa", power="on")
        c.serve("fb", power="on")
        yield c
    finally:
        c.close()


# ---------------------------------------------------------- worker killed

def test_kill_worker_mid_ipmi_session(pair):
    sup = pair.sup
    addr = pair.addrs["fa"]
    before_b = sup.node("fb")
    old = sup.node("fa")
    with RawClient(addr, sup.ipmi_port, 1.0) as raw:
        s = Session(raw, "admin", sup.password, 17, 0x14).login(priv=4)
        cc, _ = s.request_ok(APP, 0x01)          # Get Device ID, in session
        assert cc == 0
        t0 = time.monotonic()
        os.kill(old["pid"], signal.SIGKILL)
        new = new_worker(sup, "fa", old["pid"])
        took = time.monotonic() - t0
        print(f"worker killed mid IPMI session: new worker serving after {took:.3f}s")
        # The session died with its worker: the new one does not know it
        # and must not answer a request in it as if it did.
        r = s.request(APP, 0x01, timeout=1.0)
        assert r is None or r[0] != 0, r
    assert not alive(old["pid"])
    assert "signal 9" in (new.get("last_error") or ""), new
    # a fresh session (real client) on the new worker
    r = pair.ipmi_ok("fa")
    assert r.returncode == 0 and "Chassis Power is on" in r.stdout, r
    r = ipmitool(addr, sup.ipmi_port, sup.password, "chassis", "power", "off")
    assert r.returncode == 0, r
    sup.wait_node("fa", power="off")
    r = ipmitool(addr, sup.ipmi_port, sup.password, "chassis", "power", "on")
    assert r.returncode == 0, r
    sup.wait_node("fa", power="on")
    pair.assert_untouched("fb", before_b)
    pair.assert_nothing_lost()


def test_kill_worker_mid_redfish_request(pair):
    sup = pair.sup
    addr, port, pw = pair.addrs["fa"], sup.redfish_port, sup.password
    before_b = sup.node("fb")
    old = sup.node("fa")
    # 1. a keep-alive connection that was served once and is held open
    held = https(addr, port)
    held.request("GET", SYSTEM, headers={"Authorization": basic(pw)})
    r = held.getresponse()
    r.read()
    assert r.status == 200
    # 2. a request in flight: headers sent, the body announced but only
    #    half of it sent, so the worker is in the middle of reading it
    body = json.dumps({"ResetType": "ForceRestart"}).encode()
    raw = _TLS.wrap_socket(socket.create_connection((addr, port), 10), server_hostname=addr)
    raw.sendall(f"POST {RESET} HTTP/1.1\r\nHost: {addr}\r\n"
                f"Authorization: {basic(pw)}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:len(body) // 2])
    time.sleep(0.3)
    t0 = time.monotonic()
    os.kill(old["pid"], signal.SIGKILL)
    # both connections end (EOF or reset), nothing hangs
    raw.settimeout(5)
    try:
        assert raw.recv(4096) == b""
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    raw.close()
    with pytest.raises((http.client.HTTPException, ConnectionError, ssl.SSLError, OSError)):
        held.request("GET", SYSTEM, headers={"Authorization": basic(pw)})
        held.getresponse().read()
    held.close()
    new = new_worker(sup, "fa", old["pid"])
    took = time.monotonic() - t0
    print(f"worker killed mid Redfish request: new worker serving after {took:.3f}s")
    # the half-sent ForceRestart never reached QEMU's power core
    assert pair.qemus["fa"].status() == "running"
    st, doc = rf(addr, port, pw, "GET", SYSTEM)
    assert st == 200 and doc["PowerState"] == "On", (st, doc)
    st, doc = rf(addr, port, pw, "POST", RESET, {"ResetType": "ForceOff"})
    assert st in (200, 204), (st, doc)
    sup.wait_node("fa", power="off")
    st, doc = rf(addr, port, pw, "POST", RESET, {"ResetType": "On"})
    assert st in (200, 204), (st, doc)
    sup.wait_node("fa", power="on", pid=new["pid"])
    # the real client too
    r = subprocess.run(["curl", "-sk", "-u", f"admin:{pw}", "-o", "/dev/null", "-w",
                        "%{http_code}", f"https://{addr}:{port}{SYSTEM}"],
                       stdout=subprocess.PIPE, text=True, timeout=30)
    assert r.stdout == "200", r
    pair.assert_untouched("fb", before_b)
    pair.assert_nothing_lost()


# ------------------------------------------------------- QEMU killed

def test_qemu_killed_during_power_action(tmp_path):
    """QEMU stopped (SIGSTOP) so that a power action is in flight, then
    killed: the action fails promptly with a clear error, power goes
    unknown, and a QEMU started again on the same socket paths is tracked."""
    base = tmp_path / "q"
    qa, qb = Qemu("fk", base), Qemu("fl", base)
    c = Cluster(tmp_path, {"fk": qa, "fl": qb}, {"fk": "127.0.15.20", "fl": "127.0.15.21"})
    try:
        st = c.serve("fk", power="on")
        before_b = c.serve("fl", power="on")
        os.kill(qa.pid, signal.SIGSTOP)
        res = {}

        def act():
            t = time.monotonic()
            res["r"] = c.sup.power("fk", "off")
            res["took"] = time.monotonic() - t
        th = threading.Thread(target=act)
        th.start()
        time.sleep(1.0)          # the stop command is on its way to QEMU
        assert th.is_alive(), res
        qa.kill()                # SIGKILL (a stopped process dies too)
        th.join(30)
        assert not th.is_alive(), "power action hangs after QEMU died"
        r = res["r"]
        print(f"power off with QEMU killed under it: rc {r.returncode} after "
              f"{res['took']:.2f}s: {r.stdout.strip()} {r.stderr.strip()}")
        assert r.returncode != 0, r
        assert res["took"] < 6, res
        s2 = c.sup.wait_node("fk", timeout=10, power="unknown")
        assert (s2["pid"], s2["state"]) == (st["pid"], "serving")
        assert "QMP" in (s2.get("last_error") or ""), s2
        # IPMI says "not now", it does not guess
        with RawClient(c.addrs["fk"], c.sup.ipmi_port, 2.0) as raw:
            s = Session(raw, "admin", c.sup.password, 17, 0x14).login(priv=4)
            cc, _ = s.request(CHASSIS, 0x01, timeout=3.0)
            assert cc == 0xD5, hex(cc)
        # the VM's manager starts QEMU again on the same paths
        new = Qemu("fk", base, start=False)
        new.announce_path, new.vbmc_qmp_path, new.test_qmp_path = \
            qa.announce_path, qa.vbmc_qmp_path, qa.test_qmp_path
        new.announce_path.parent.mkdir(parents=True, exist_ok=True)
        new.start()
        try:
            t0 = time.monotonic()
            s3 = c.sup.wait_node("fk", timeout=20, power="on")
            print(f"QEMU restarted: power tracked again after {time.monotonic() - t0:.2f}s")
            assert s3["pid"] == st["pid"]
            r = c.sup.power("fk", "off")
            assert r.returncode == 0, r
            new.wait_status("paused")
            r = c.sup.power("fk", "on")
            assert r.returncode == 0, r
            assert new.status() == "running"
        finally:
            new.stop()
        c.assert_untouched("fl", before_b)
        c.assert_nothing_lost()
    finally:
        c.close()
        qa.stop()
        qb.stop()


# -------------------------------------------------------- hanging QMP peer

@pytest.fixture
def hung(tmp_path, request):
    """A node (fh) whose QMP peer is FakeQmp(mode), beside a real one (fr)."""
    mode = request.param
    q = Qemu("fr", tmp_path / "q")
    fake = FakeQmp(tmp_path / "hang.qmp", mode)
    fh = type("N", (), {"vbmc_qmp_path": Path(fake.path)})()
    c = Cluster(tmp_path, {"fh": fh, "fr": q}, {"fh": "127.0.15.30", "fr": "127.0.15.31"})
    c.fake = fake
    c.mode = mode
    try:
        yield c
    finally:
        c.close()
        fake.close()
        q.stop()


def _other_node_unaffected(c, before):
    """fr serves and completes a power action promptly while fh hangs."""
    t0 = time.monotonic()
    r = c.sup.power("fr", "off")
    assert r.returncode == 0, r
    r = c.sup.power("fr", "on")
    assert r.returncode == 0, r
    took = time.monotonic() - t0
    assert took < 5, took
    c.assert_untouched("fr", before)
    return took


@pytest.mark.parametrize("hung", ["silent"], indirect=True)
def test_qmp_peer_never_greets(hung):
    c = hung
    before = c.serve("fr", power="on")
    st = c.serve("fh")
    # no greeting within 5 s: the connection is given up, power unknown
    time.sleep(6)
    s = c.sup.wait_node("fh", power="unknown")
    assert s["pid"] == st["pid"] and s["state"] == "serving"
    assert "greeting" in (s.get("last_error") or ""), s
    addr = c.addrs["fh"]
    with RawClient(addr, c.sup.ipmi_port, 2.0) as raw:
        sess = Session(raw, "admin", c.sup.password, 17, 0x14).login(priv=4)
        cc, _ = sess.request(CHASSIS, 0x01, timeout=3.0)        # chassis status
        assert cc == 0xD5, hex(cc)
        cc, _ = sess.request(CHASSIS, 0x02, b"\x00", timeout=8.0)  # power down
        assert cc == 0xD5, hex(cc)
    t0 = time.monotonic()
    code, doc = rf(addr, c.sup.redfish_port, c.sup.password, "POST", RESET,
                   {"ResetType": "ForceOff"})
    assert code == 503, (code, doc)
    assert time.monotonic() - t0 < 3
    r = c.sup.power("fh", "off")
    assert r.returncode != 0, r
    print(f"never-greeting QMP peer: CLI says {r.stdout.strip()} {r.stderr.strip()}")
    # it keeps trying: the fake saw more than one connection
    wait_until(lambda: len(c.fake.conns) >= 2, 15, 0.2, "a reconnection")
    took = _other_node_unaffected(c, before)
    print(f"other node: off+on in {took:.2f}s while fh's QMP hangs")
    assert c.sup.node("fh")["pid"] == st["pid"]
    c.assert_nothing_lost()


@pytest.mark.parametrize("hung", ["hang"], indirect=True)
def test_qmp_peer_stops_answering(hung):
    c = hung
    before = c.serve("fr", power="on")
    st = c.serve("fh", power="on")
    addr = c.addrs["fh"]
    # IPMI: the power action times out after QMP's 5 s deadline → 0xC3
    with RawClient(addr, c.sup.ipmi_port, 2.0) as raw:
        sess = Session(raw, "admin", c.sup.password, 17, 0x14).login(priv=4)
        t0 = time.monotonic()
        r = sess.request(CHASSIS, 0x02, b"\x00", timeout=10.0)   # power down
        took_ipmi = time.monotonic() - t0
        assert r is not None, "no IPMI answer at all"
        ipmi_cc = r[0]
        assert ipmi_cc in (0xC3, 0xC0), hex(ipmi_cc)
    # meanwhile-style check: the other node is served promptly
    took_other = _other_node_unaffected(c, before)
    # Redfish: 500 InternalError with a message (not a hang, not a 2xx)
    t0 = time.monotonic()
    code, doc = rf(addr, c.sup.redfish_port, c.sup.password, "POST", RESET,
                   {"ResetType": "ForceOff"}, timeout=20)
    took_rf = time.monotonic() - t0
    assert code in (500, 503, 409), (code, doc)
    # the CLI: a clear error
    t0 = time.monotonic()
    r = c.sup.power("fh", "off")
    took_cli = time.monotonic() - t0
    assert r.returncode != 0, r
    msg = (r.stdout + r.stderr).lower()
    assert "time" in msg or "busy" in msg, msg
    print(f"hung QMP peer: IPMI cc {ipmi_cc:#x} after {took_ipmi:.2f}s, Redfish {code} after "
          f"{took_rf:.2f}s, CLI after {took_cli:.2f}s ({(r.stdout + r.stderr).strip()}); "
          f"other node off+on {took_other:.2f}s")
    assert c.fake.unanswered, "the fake saw no power command"
    s = c.sup.node("fh")
    assert s["pid"] == st["pid"] and s["state"] == "serving"
    c.assert_nothing_lost()


# ------------------------------------------------- state directory faults

def _in_private_mount_ns():
    # tests/run-in-journal-ns.sh runs everything under `unshare -m` with
    # private propagation: our mounts stay ours
    return Journal.available()


@pytest.mark.skipif(not _in_private_mount_ns(),
                    reason="mounts a tmpfs: needs tests/run-in-journal-ns.sh's mount namespace")
@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_state_dir_fault(qemus, tmp_path, fault):
    """The state dir on a tmpfs of its own, made read-only (remount) or
    full (a filler file): a new announcement is served anyway, the failure
    logged, and the state file catches up once the dir is usable again."""
    statedir = tmp_path / "sup" / "state"
    statedir.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "vbmc-state",
                    str(statedir)], check=True)
    c = None
    try:
        for q in qemus.values():
            if q.status() != "running":
                q.qmp("cont")
        c = Cluster(tmp_path, qemus, {"fa": "127.0.15.40", "fb": "127.0.15.41"})
        before = c.serve("fa", power="on")
        c.assert_nothing_lost(["fa"])
        filler = statedir / "filler"
        if fault == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(statedir)], check=True)
        else:
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
        c.log.mark()
        t0 = time.monotonic()
        sb = c.serve("fb", power="on")          # served although unsaved
        # logged, and the BMCs keep serving
        def logged():
            return [ln for ln in _sup_log(c).splitlines() if "state" in ln and
                    ("Read-only" in ln or "No space" in ln)]
        msg = wait_until(logged, 10, 0.2, "the state write failure logged")
        assert "127.0.15.41" not in json.dumps(c.saved()), c.saved()
        c.assert_untouched("fa", before)
        r = c.ipmi_ok("fb")
        assert r.returncode == 0, r
        time.sleep(6)   # a retry or two fail too
        assert c.sup.node("fb")["pid"] == sb["pid"]
        # usable again
        if fault == "read-only":
            subprocess.run(["mount", "-o", "remount,rw", str(statedir)], check=True)
        else:
            filler.unlink()
        t1 = time.monotonic()
        c.assert_nothing_lost()
        print(f"state dir {fault}: fb served {t1 - t0:.1f}s without being saved; "
              f"state caught up {time.monotonic() - t1:.1f}s after the dir was usable; "
              f"log: {msg}")
        assert time.monotonic() - t1 < 8
        assert os.stat(c.statefile).st_mode & 0o777 == 0o600
    finally:
        if c is not None:
            c.close()
        subprocess.run(["umount", "-l", str(statedir)], check=False)


def _sup_log(c):
    """Everything the supervisor logged (journal or stderr)."""
    if Journal.available():
        j = Journal()
        return "\n".join(e.get("MESSAGE", "") for e in
                         j.entries(SYSLOG_IDENTIFIER="vbmc-supervisor")
                         if e.get("_PID") == str(c.sup.proc.pid))
    return c.sup.log_text()


# ------------------------------------------------------- fd exhaustion

def test_worker_emfile(pair):
    """The worker's fd limit lowered to 64, then 150 Redfish
    connections opened at once: accept() hits EMFILE.  The worker survives,
    IPMI keeps answering meanwhile, and Redfish serves again once the
    connections are gone."""
    sup = pair.sup
    addr, port = pair.addrs["fa"], sup.redfish_port
    before_b = sup.node("fb")
    # The worker (another uid, not dumpable) cannot be prlimit'ed from
    # here: lower the supervisor's limit, restart the worker (it inherits
    # the limit at fork), and give the supervisor its limit back.
    spid = sup.proc.pid
    old_lim = subprocess.run(["prlimit", f"--pid={spid}", "--nofile", "-o", "SOFT,HARD",
                              "--noheadings"], check=True, stdout=subprocess.PIPE,
                             text=True).stdout.split()
    # the soft limit only: raising a hard limit again needs CAP_SYS_RESOURCE
    subprocess.run(["prlimit", f"--pid={spid}", f"--nofile=64:{old_lim[1]}"], check=True)
    try:
        old_pid = sup.node("fa")["pid"]
        os.kill(old_pid, signal.SIGKILL)
        st = new_worker(sup, "fa", old_pid)
        sup.wait_node("fa", power="on")
    finally:
        subprocess.run(["prlimit", f"--pid={spid}", f"--nofile={old_lim[0]}:{old_lim[1]}"],
                       check=True)
    pid = st["pid"]
    lim = [ln for ln in Path(f"/proc/{pid}/limits").read_text().splitlines()
           if ln.startswith("Max open files")]
    assert lim and lim[0].split()[3] == "64", lim
    nfd = len(os.listdir(f"/proc/{pid}/fd"))
    socks = []
    try:
        for _ in range(150):
            try:
                socks.append(socket.create_connection((addr, port), 2))
            except OSError:
                break
        time.sleep(1.0)
        fds_now = len(os.listdir(f"/proc/{pid}/fd"))
        cpu0 = _cpu_ticks(pid)
        # IPMI answers while Redfish is out of fds
        t0 = time.monotonic()
        r = pair.ipmi_ok("fa")
        took = time.monotonic() - t0
        assert r.returncode == 0 and "Chassis Power is on" in r.stdout, r
        time.sleep(1.0)
        cpu = (_cpu_ticks(pid) - cpu0) / os.sysconf("SC_CLK_TCK")
        print(f"EMFILE: {len(socks)} connections open, worker fds {nfd} -> {fds_now} "
              f"(limit 64), IPMI answered in {took:.2f}s, worker CPU "
              f"{cpu:.2f}s over ~{time.monotonic() - t0:.1f}s")
        assert alive(pid) and sup.node("fa")["pid"] == pid
    finally:
        for s in socks:
            s.close()
    # Redfish again: the idle connections are dropped (10 s handshake
    # timeout at most) and accept() works once fds are free
    def served():
        try:
            return rf(addr, port, sup.password, "GET", SYSTEM, timeout=5)[0] == 200
        except (OSError, http.client.HTTPException, ssl.SSLError):
            return False
    t1 = time.monotonic()
    wait_until(served, 30, 0.5, "Redfish serving again after EMFILE")
    print(f"Redfish served again {time.monotonic() - t1:.2f}s after the flood closed")
    assert sup.node("fa")["pid"] == pid, "the worker was restarted"
    pair.assert_untouched("fb", before_b)
    pair.assert_nothing_lost()


def _cpu_ticks(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


# ------------------------------------------------ clean exit on SIGTERM

def test_worker_sigterm_exits_cleanly(pair):
    """A worker told to stop exits with status 0, inside its sandbox.  In a
    sanitizer build (VBMC_BUILD_DIR=build-asan) this is what catches a
    sanitizer's exit-time work needing a syscall the seccomp filter kills
    (docs/RELIABILITY.md, "Workers and LeakSanitizer"): the worker would
    die of SIGSYS (31) instead."""
    sup = pair.sup
    before_b = sup.node("fb")
    old = sup.node("fa")
    os.kill(old["pid"], signal.SIGTERM)
    new = new_worker(sup, "fa", old["pid"])
    assert "exited with status 0" in (new.get("last_error") or ""), new
    pair.assert_untouched("fb", before_b)
    pair.assert_nothing_lost()
