"""The boot override survives its worker: kept by the supervisor, in the
state file, and given back to every new worker of the node.

With real QEMU (guest-less, the boot devices of test_redfish: net0
bootindex 2, disk0 1, cd0 none): an override set over Redfish or IPMI is
still in force after the worker is killed with SIGKILL, and after the
supervisor is; QEMU's bootindexes stay as the override set them, and
Target None afterwards restores the ORIGINAL ones, not the reordered ones
the new worker finds in QEMU.  A QEMU started again with other bootindexes
is taken as it is.

With a fake worker (a script in place of vbmc-worker, VBMC_WORKER): what
the supervisor does with MSG_BOOT_STATE it must not trust (malformed →
worker killed, the last good state kept), what it gives back in
MSG_BOOT_RESTORE, and the state file's formats (version 1 still read).

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_boot_persist.py

BMC addresses of this file: 127.0.16.0/24.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import Supervisor, shut_down  # noqa: E402
from test_hostile import LogCheck, fake_node  # noqa: E402
from test_lifecycle import same_path_qemu  # noqa: E402
from test_redfish import (ORIG_BOOT, SYSTEM, SYS_RESET, Rf, boot_devices,  # noqa: E402
                          bootindexes)
from vbmctest import REPO, FakeAnnounce, Qemu, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root (the supervisor drops privileges to the vbmc user)")

NET = "127.0.16.0/24"
_TAG = f"{os.getpid() % 100000}"


# ------------------------------------------------------------------ real QEMU

class Bmc:
    """One guest-less QEMU with test_redfish's boot devices and its BMC,
    behind a private supervisor."""

    def __init__(self, tmp, name, addr, mac):
        self.tmp, self.name, self.addr = tmp, name, addr
        self.q = Qemu(name, tmp, extra_args=boot_devices(mac))
        self.ann = FakeAnnounce(tmp / f"{name}.ann")
        (tmp / "sup").mkdir()
        self.sup = Supervisor({name: fake_node(self.q, self.ann.path)}, networks=(NET,),
                              workdir=tmp / "sup")
        self.rf = Rf(addr, self.sup.redfish_port, "admin", self.sup.password)
        self.log = LogCheck(self.sup)
        self.ann.send(addr + "\n")
        self.serving()

    def serving(self, old_pid=None, timeout=30):
        """Wait for a worker (other than old_pid) that serves Redfish and
        has QMP; its status."""
        def ok():
            try:
                s = self.sup.node(self.name)
            except RuntimeError:
                return False  # a restarted supervisor not listening yet
            return (s["state"] == "serving" and s["power"] == "on" and
                    s["pid"] not in (0, old_pid) and s)
        st = wait_until(ok, timeout, 0.05, f"{self.name} serving")
        wait_until(self.answers, 20, 0.1, f"Redfish on {self.addr}")
        return st

    def answers(self):
        try:
            return self.rf.get("/redfish/v1/").status == 200
        except OSError:
            return False

    def boot(self):
        return self.rf.doc(SYSTEM)["Boot"]

    def set_boot(self, **props):
        r = self.rf.patch(SYSTEM, {"Boot": props})
        assert r.status in (200, 204), f"PATCH Boot {props}: {r}"

    def ipmi_boot(self):
        out = subprocess.run(
            ["ipmitool", "-I", "lanplus", "-H", self.addr, "-p", str(self.sup.ipmi_port),
             "-U", "admin", "-P", self.sup.password, "-N", "2", "-R", "3",
             "chassis", "bootparam", "get", "5"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        assert out.returncode == 0, out
        m = re.search(r"Boot Device Selector : (.*)", out.stdout)
        return {"valid": "Boot Flag Valid" in out.stdout,
                "persistent": "Options apply to all future boots" in out.stdout,
                "efi": "BIOS EFI boot" in out.stdout,
                "device": m.group(1).strip() if m else None}

    def ipmitool(self, *args):
        r = subprocess.run(["ipmitool", "-I", "lanplus", "-H", self.addr, "-p",
                            str(self.sup.ipmi_port), "-U", "admin", "-P", self.sup.password,
                            "-N", "2", "-R", "3", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        assert r.returncode == 0, r
        return r

    def saved(self):
        """The node's entry in the state file ({} if none or unreadable)."""
        try:
            doc = json.loads((self.sup.dir / "state" / "nodes.json").read_text())
            return doc["nodes"].get(self.name, {})
        except (OSError, ValueError, KeyError):
            return {}

    def wait_saved(self, target, enabled):
        def ok():
            b = self.saved().get("boot", {})
            return (b.get("target") == target and b.get("enabled") == enabled and
                    len(b.get("devices", [])) == len(ORIG_BOOT) and b)
        return wait_until(ok, 10, 0.05, f"state file with boot {target} {enabled}")

    def kill_worker(self):
        pid = self.sup.node(self.name)["pid"]
        os.kill(pid, signal.SIGKILL)
        return self.serving(old_pid=pid)

    def close(self):
        shut_down(self.sup, [self.ann], [self.q])


def wait_indexes(q, want, timeout=10):
    """Wait until QEMU's bootindexes are want and stay so (a new worker
    re-applies an override in two passes)."""
    last = {}

    def check():
        last.update(bootindexes(q))
        return last == want
    try:
        wait_until(check, timeout, 0.05)
        time.sleep(0.3)
        assert check(), f"bootindexes moved on to {last}, want {want}"
    except TimeoutError:
        pytest.fail(f"bootindexes {last}, want {want}")
    return dict(last)


def settled_with_first(q, dev, timeout=10):
    """QEMU's bootindexes once an override has put dev first and the
    reordering is over: no temporary value (worker/worker.h BOOT_TEMP_BASE)
    and the same in two reads 0.3 s apart.  A single read can catch the
    reordering half done."""
    prev = {}

    def check():
        nonlocal prev
        cur = bootindexes(q)
        done = (cur == prev and first(cur) == dev and all(v < 1000 for v in cur.values()))
        prev = cur
        return done and cur
    return wait_until(check, timeout, 0.3, f"{dev} first, reordering done")


def first(idx):
    return min((v, d) for d, v in idx.items() if v >= 0)[1]


@pytest.fixture
def bmc(tmp_path):
    b = Bmc(tmp_path, f"bp-{_TAG}", "127.0.16.10", "52:54:00:16:00:10")
    try:
        assert bootindexes(b.q) == ORIG_BOOT
        yield b
    finally:
        b.close()


def test_continuous_survives_worker_kill(bmc):
    bmc.set_boot(BootSourceOverrideTarget="Pxe", BootSourceOverrideEnabled="Continuous")
    shifted = settled_with_first(bmc.q, "net0")
    assert shifted != ORIG_BOOT
    # no wait for the state file: what a worker said just before it died counts
    st = bmc.kill_worker()
    assert "signal 9" in st["last_error"], st
    b = bmc.boot()
    assert (b["BootSourceOverrideTarget"], b["BootSourceOverrideEnabled"]) == \
        ("Pxe", "Continuous"), b
    ipmi = bmc.ipmi_boot()
    assert ipmi["valid"] and ipmi["persistent"] and ipmi["device"] == "Force PXE", ipmi
    assert wait_indexes(bmc.q, shifted) == shifted
    saved = bmc.wait_saved("pxe", "continuous")
    assert {d["path"].rsplit("/", 1)[1]: d["bootindex"] for d in saved["devices"]} == \
        ORIG_BOOT, saved
    # a second kill, with the override re-applied by the first new worker;
    # the ETag names the state, so one taken before the kill still matches
    etag = bmc.rf.get(SYSTEM).header("ETag")
    bmc.kill_worker()
    assert bmc.boot()["BootSourceOverrideTarget"] == "Pxe"
    assert bmc.rf.get(SYSTEM).header("ETag") == etag
    r = bmc.rf.patch(SYSTEM, {"Boot": {"BootSourceOverrideTarget": "None"}},
                     headers={"If-Match": etag})
    assert r.status == 200 and r.header("ETag") != etag, r
    wait_indexes(bmc.q, ORIG_BOOT)
    bmc.wait_saved("none", "disabled")


def test_override_set_over_ipmi_survives(bmc):
    """IPMI's own bytes come back too: the EFI bit and persistence."""
    bmc.ipmitool("chassis", "bootdev", "disk", "options=persistent,efiboot")
    settled_with_first(bmc.q, "disk0")
    before = bmc.ipmi_boot()
    assert before["valid"] and before["persistent"] and before["efi"], before
    bmc.kill_worker()
    assert bmc.ipmi_boot() == before
    b = bmc.boot()
    assert (b["BootSourceOverrideTarget"], b["BootSourceOverrideEnabled"],
            b["BootSourceOverrideMode"]) == ("Hdd", "Continuous", "UEFI"), b
    bmc.ipmitool("chassis", "bootdev", "none")
    wait_indexes(bmc.q, ORIG_BOOT)


def test_pending_once_survives_worker_kill(bmc):
    bmc.set_boot(BootSourceOverrideTarget="Hdd", BootSourceOverrideEnabled="Once")
    # disk0 is first in the original order too: wait for the override's own
    # values, not just for disk0 to lead, before killing the worker
    override = {"disk0": 1, "net0": 102, "cd0": -1}
    assert settled_with_first(bmc.q, "disk0") == override
    bmc.kill_worker()
    b = bmc.boot()
    assert (b["BootSourceOverrideTarget"], b["BootSourceOverrideEnabled"]) == \
        ("Hdd", "Once"), b
    # QEMU already holds the wanted order: the new worker leaves it alone
    # (worker/boot.c apply), so no read can catch a half-done order
    assert bootindexes(bmc.q) == override
    wait_indexes(bmc.q, override)
    # the next reset uses it up, and the original order comes back
    r = bmc.rf.post(SYS_RESET, {"ResetType": "ForceRestart"})
    assert r.status in (200, 204), r
    wait_until(lambda: bmc.boot()["BootSourceOverrideEnabled"] == "Disabled", 15, 0.1,
               "once override used")
    wait_indexes(bmc.q, ORIG_BOOT)


def test_continuous_survives_supervisor_kill(bmc):
    bmc.set_boot(BootSourceOverrideTarget="Pxe", BootSourceOverrideEnabled="Continuous",
                 BootSourceOverrideMode="UEFI")
    shifted = settled_with_first(bmc.q, "net0")
    saved = bmc.wait_saved("pxe", "continuous")
    assert saved["mode"] == "uefi" and bmc.saved()["address"] == bmc.addr
    old = bmc.sup.node(bmc.name)["pid"]
    bmc.sup.kill()
    bmc.log.mark()
    bmc.sup.start()
    bmc.serving(old_pid=old)
    b = bmc.boot()
    assert (b["BootSourceOverrideTarget"], b["BootSourceOverrideEnabled"],
            b["BootSourceOverrideMode"]) == ("Pxe", "Continuous", "UEFI"), b
    assert wait_indexes(bmc.q, shifted) == shifted
    bmc.log.wait(bmc.name, "kept from the previous worker", ident="vbmc-worker")
    bmc.set_boot(BootSourceOverrideTarget="None")
    wait_indexes(bmc.q, ORIG_BOOT)
    # and once more across a clean stop and start, with nothing in force
    bmc.wait_saved("none", "disabled")
    bmc.sup.stop()
    bmc.sup.start()
    bmc.serving()
    assert bmc.boot()["BootSourceOverrideEnabled"] == "Disabled"
    wait_indexes(bmc.q, ORIG_BOOT)


def test_qemu_restarted_with_other_devices(bmc, tmp_path):
    """The saved originals belong to the QEMU that had them: a QEMU started
    again with other bootindexes keeps its own (logged), and the override
    still applies to it."""
    bmc.set_boot(BootSourceOverrideTarget="Pxe", BootSourceOverrideEnabled="Continuous")
    settled_with_first(bmc.q, "net0")
    bmc.wait_saved("pxe", "continuous")
    pid = bmc.sup.node(bmc.name)["pid"]
    bmc.log.mark()
    bmc.q.kill()
    args = [a.replace("bootindex=2", "bootindex=5").replace("bootindex=1", "bootindex=3")
            for a in boot_devices("52:54:00:16:00:10")]
    bmc.q = same_path_qemu(bmc.q, tmp_path / "q2", guest=False, extra_args=args)
    own = {"net0": 5, "disk0": 3, "cd0": -1}
    bmc.log.wait(bmc.name, "new or changed", ident="vbmc-worker", timeout=20)
    settled_with_first(bmc.q, "net0")
    assert bmc.sup.node(bmc.name)["pid"] == pid   # the same worker, a new QMP connection
    bmc.set_boot(BootSourceOverrideTarget="None")
    wait_indexes(bmc.q, own)
    saved = bmc.wait_saved("none", "disabled")
    assert {d["path"].rsplit("/", 1)[1]: d["bootindex"] for d in saved["devices"]} == own


# ------------------------------------------------------------------ fake worker

# Plays vbmc-worker on the channel (fd 3): records every MSG_BOOT_RESTORE it
# gets, says READY, and in its first life sends the node's script of
# MSG_BOOT_STATE payloads (SCRIPTS[node], a good state then maybe a bad one);
# then waits for the channel to close.
FAKE_WORKER = r'''#!/usr/bin/python3
import json, os, socket, struct, sys
HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = @VERSION@
HDR = struct.Struct("<IHHI")
node = sys.argv[2]
chan = socket.socket(fileno=3)

def recv(want):
    data = chan.recv(70000)
    magic, version, mtype, n = HDR.unpack_from(data)
    assert (magic, version, mtype, n) == (0x76626d63, VERSION, want, len(data) - HDR.size)
    return data[HDR.size:].decode()

def send(mtype, payload):
    body = payload.encode()
    chan.send(HDR.pack(0x76626d63, VERSION, mtype, len(body)) + body)

recv(100)                                   # MSG_CONFIG
restore = recv(104)                         # MSG_BOOT_RESTORE
log = os.path.join(HERE, node + ".restores")
with open(log, "a") as f:
    f.write(restore + "\n")
lives = sum(1 for _ in open(log))
send(200, "{}")                             # MSG_READY
if lives == 1:
    for p in json.load(open(os.path.join(HERE, "scripts.json"))).get(node, []):
        send(204, p)                        # MSG_BOOT_STATE
while chan.recv(70000):
    pass
'''

GOOD = {"target": "pxe", "enabled": "continuous", "mode": "uefi",
        "ipmi": {"flags": "e004000000", "partition": 0, "scan": 0, "timer": 8, "ack": 0,
                 "initiator": "000000000000000000"},
        "devices": [{"path": "/machine/peripheral/net0", "bootindex": 2, "current": 1},
                    {"path": "/machine/peripheral/disk0", "bootindex": 1, "current": 101}]}


def variant(**changes):
    d = json.loads(json.dumps(GOOD))
    for k, v in changes.items():
        if v is None:
            del d[k]
        else:
            d[k] = v
    return json.dumps(d)


def dev(path="/machine/peripheral/x", bootindex=1, current=1):
    return {"path": path, "bootindex": bootindex, "current": current}


# node suffix -> the bad payload sent after GOOD (None: nothing bad)
HOSTILE = {
    "ok": None,
    "count": variant(devices=[dev(f"/d{i}") for i in range(17)]),
    "path": variant(devices=[dev("/machine/peripheral/net 0")]),
    "relpath": variant(devices=[dev("machine/peripheral/net0")]),
    "longpath": variant(devices=[dev("/" + "p" * 160)]),
    "range": variant(devices=[dev(bootindex=65536)]),
    "negative": variant(devices=[dev(current=-2)]),
    "dup": variant(devices=[dev(), dev()]),
    "enabled": variant(target="none"),
    "extra": variant(lock=1),
    "missing": variant(ipmi=None),
    "flags": variant(ipmi=dict(GOOD["ipmi"], flags="e0040000")),
    "notjson": "{\"target\":",
}


def proto_version():
    text = (REPO / "proto" / "proto.h").read_text()
    return int(re.search(r"#define PROTO_VERSION (\d+)", text).group(1))


class FakeCluster:
    """Nodes served by the fake worker under one supervisor; no QEMU (the
    fake never asks for QMP)."""

    def __init__(self, tmp, suffixes, first_addr=20, state=None, start=True):
        self.dir = tmp / "fake"
        self.dir.mkdir(exist_ok=True)
        self.names = {s: f"bpf-{s}-{_TAG}" for s in suffixes}
        self.addrs = {s: f"127.0.16.{first_addr + i}" for i, s in enumerate(suffixes)}
        script = self.dir / "vbmc-worker"
        script.write_text(FAKE_WORKER.replace("@VERSION@", str(proto_version())))
        script.chmod(0o755)
        scripts = {self.names[s]: [json.dumps(GOOD)] + ([HOSTILE[s]] if HOSTILE.get(s) else [])
                   for s in suffixes}
        (self.dir / "scripts.json").write_text(json.dumps(scripts))
        self.ann = {s: FakeAnnounce(self.dir / f"{s}.ann") for s in suffixes}
        nodes = {self.names[s]: fake_node(types.SimpleNamespace(
            vbmc_qmp_path=self.dir / f"{s}.qmp"), self.ann[s].path) for s in suffixes}
        (tmp / "sup").mkdir(exist_ok=True)
        self.statefile = tmp / "sup" / "state" / "nodes.json"
        if state is not None:
            self.statefile.parent.mkdir(mode=0o700, exist_ok=True)
            self.statefile.write_text(json.dumps(state))
            self.statefile.chmod(0o600)
        self.sup = Supervisor(nodes, networks=(NET,), workdir=tmp / "sup", start=start,
                              env={"VBMC_WORKER": str(script)})

    def announce(self, s):
        self.ann[s].send(self.addrs[s] + "\n")

    def restores(self, s):
        try:
            lines = (self.dir / f"{self.names[s]}.restores").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(x) for x in lines]

    def saved(self):
        try:
            return json.loads(self.statefile.read_text())
        except (OSError, ValueError):
            return {}

    def close(self):
        shut_down(self.sup, self.ann.values())


EMPTY = {"target": "none", "enabled": "disabled", "mode": "legacy",
         "ipmi": {"flags": "0000000000", "partition": 0, "scan": 0, "timer": 0, "ack": 0,
                  "initiator": "000000000000000000"}, "devices": []}


def test_fake_worker_hostile_boot_states(tmp_path):
    c = FakeCluster(tmp_path, list(HOSTILE))
    log = LogCheck(c.sup)
    try:
        for s in HOSTILE:
            c.announce(s)
        good = json.loads(json.dumps(GOOD))
        for s in HOSTILE:
            name = c.names[s]
            if HOSTILE[s] is None:
                wait_until(lambda: c.saved().get("nodes", {}).get(name, {}).get("boot") == good,
                           10, 0.05, f"{s}: state saved")
                continue
            # killed for the bad message, restarted with the good state before it
            wait_until(lambda: len(c.restores(s)) >= 2, 20, 0.05, f"{s}: restarted")
            assert c.sup.node(name)["restarts"] >= 1, s
            log.wait(name, "malformed message on the worker channel")
            assert c.restores(s)[:2] == [EMPTY, good], s
        # the good node's worker never died
        st = c.sup.node(c.names["ok"])
        assert st["restarts"] == 0 and st["state"] == "serving", st
        doc = c.saved()
        assert doc["version"] == 2
        for s in HOSTILE:
            assert doc["nodes"][c.names[s]] == {"address": c.addrs[s], "boot": good}, s
        assert os.stat(c.statefile).st_mode & 0o777 == 0o600
        # a supervisor killed and started again gives every worker the saved state
        c.sup.kill()
        c.sup.start()
        wait_until(lambda: all(c.restores(s)[-1:] == [good] and
                               len(c.restores(s)) >= (2 if HOSTILE[s] is None else 3)
                               for s in HOSTILE), 20, 0.05, "every node restored")
    finally:
        c.close()


def test_state_file_version_1_and_bad_boot(tmp_path):
    v1 = {"version": 1, "nodes": {f"bpf-ok-{_TAG}": "127.0.16.40"}}
    c = FakeCluster(tmp_path, ["ok"], first_addr=40, state=v1)
    try:
        # restored from the version 1 file without an announcement
        c.sup.wait_node(c.names["ok"], state="serving", address="127.0.16.40")
        good = json.loads(json.dumps(GOOD))
        wait_until(lambda: c.saved().get("version") == 2, 10, 0.05, "file written as v2")
        assert c.saved()["nodes"][c.names["ok"]] == {"address": "127.0.16.40", "boot": good}
        assert c.restores("ok") == [EMPTY]
        # a damaged boot state in the file: the address still counts, the
        # boot state is dropped (with a warning), the worker starts empty
        c.sup.stop()
        doc = c.saved()
        doc["nodes"][c.names["ok"]]["boot"]["devices"][0]["bootindex"] = 70000
        c.statefile.write_text(json.dumps(doc))
        log = LogCheck(c.sup)
        c.sup.start()
        c.sup.wait_node(c.names["ok"], state="serving", address="127.0.16.40")
        log.wait(c.names["ok"], "boot state not valid")
        wait_until(lambda: len(c.restores("ok")) == 2, 10, 0.05, "second worker")
        assert c.restores("ok")[1] == EMPTY
        # a node no longer configured is dropped from the file with its state
        c.sup.stop()
        doc = c.saved()
        doc["nodes"]["bpf-gone"] = {"address": "127.0.16.41", "boot": good}
        c.statefile.write_text(json.dumps(doc))
        c.sup.start()
        c.sup.wait_node(c.names["ok"], state="serving")
        c.sup.signal(signal.SIGHUP)   # a reload writes the file at once
        wait_until(lambda: "bpf-gone" not in c.saved().get("nodes", {"bpf-gone": 1}), 10,
                   0.05, "unknown node dropped")
    finally:
        c.close()
