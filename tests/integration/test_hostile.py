"""Hostile announcements and hostile configurations.

The announce line normally comes from the guest.  To send arbitrary bytes the
tests play QEMU's part themselves: a FakeAnnounce listens on the node's
announce socket path (the supervisor connects as a client) and writes
whatever the test wants.  QMP is a guest-less QEMU.  Every rejection must be
logged with its reason (journal entry with VBMC_NODE) and leave every
running BMC alone.

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_hostile.py
"""

import os
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import SUPERVISOR, Supervisor, shut_down  # noqa: E402
from vbmctest import FakeAnnounce, Journal, Qemu, wait_until  # noqa: E402

ADDR_A = "127.0.10.150"
ADDR_B = "127.0.10.151"
ADDR_B2 = "127.0.10.152"


def fake_node(qemu, announce_path):
    """What Supervisor needs of a node: QMP of a real QEMU, our own announce."""
    return types.SimpleNamespace(vbmc_qmp_path=qemu.vbmc_qmp_path,
                                 announce_path=Path(announce_path))


class LogCheck:
    """Find the supervisor's per-node log lines: in journald when a private
    one runs (tests/run-in-journal-ns.sh), else in the stderr log."""

    def __init__(self, sup):
        self.sup = sup
        self.journal = Journal() if Journal.available() else None
        if self.journal:
            self.journal.mark()
        self.log_offset = len(sup.log_text()) if sup.proc else 0

    def mark(self):
        if self.journal:
            self.journal.mark()
        self.log_offset = len(self.sup.log_text())

    def wait(self, node, text, ident="vbmc-supervisor", priority=None, timeout=10):
        """Wait for a line of `node` containing text; return its message."""
        if self.journal:
            e = self.journal.wait_for(timeout, match=lambda e: text in e.get("MESSAGE", ""),
                                      VBMC_NODE=node, SYSLOG_IDENTIFIER=ident)
            if priority is not None:
                assert e.get("PRIORITY") == str(priority), e
            return e["MESSAGE"]

        def find():
            for line in self.sup.log_text()[self.log_offset:].splitlines():
                if line.startswith(f"{ident}[{node}]: ") and text in line:
                    return line
            return None
        return wait_until(find, timeout, 0.05, f"log line of {node}: {text!r}")

    def count(self, node, text, ident="vbmc-supervisor"):
        if self.journal:
            return sum(text in e.get("MESSAGE", "")
                       for e in self.journal.entries(VBMC_NODE=node, SYSLOG_IDENTIFIER=ident))
        return sum(line.startswith(f"{ident}[{node}]: ") and text in line
                   for line in self.sup.log_text()[self.log_offset:].splitlines())


@pytest.fixture(scope="module")
def qemus(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-qemu")
    qa = Qemu("ha", base)
    qb = Qemu("hb", base)
    try:
        yield qa, qb
    finally:
        qa.stop()
        qb.stop()


class Pair:
    """Two nodes, ha and hb, with fake announce ports, under one supervisor."""

    def __init__(self, qemus, tmp_path):
        self.ann = {"ha": FakeAnnounce(tmp_path / "ha.ann"),
                    "hb": FakeAnnounce(tmp_path / "hb.ann")}
        nodes = {"ha": fake_node(qemus[0], self.ann["ha"].path),
                 "hb": fake_node(qemus[1], self.ann["hb"].path)}
        (tmp_path / "sup").mkdir()
        self.sup = Supervisor(nodes, workdir=tmp_path / "sup")
        self.log = LogCheck(self.sup)

    def serve(self, name, addr):
        self.ann[name].send(addr + "\n")
        return self.sup.wait_node(name, address=addr, state="serving", power="on")

    def close(self):
        shut_down(self.sup, self.ann.values())


@pytest.fixture
def pair(qemus, tmp_path):
    p = Pair(qemus, tmp_path)
    try:
        yield p
    finally:
        p.close()


def udp_listeners(port, netns=None):
    """Local addresses with a UDP socket bound to port (ss -H -uln)."""
    cmd = ["ss", "-H", "-uln"]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    addrs = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4:
            local = f[3]
            host, _, p = local.rpartition(":")
            if p == str(port):
                addrs.add(host.strip("[]").split("%")[0])
    return addrs


def assert_unchanged(sup, name, before):
    now = sup.node(name)
    for k in ("address", "pid", "state", "power"):
        assert now.get(k) == before.get(k), f"{name}.{k}: {before.get(k)} -> {now.get(k)}"


# (id, bytes written, reason expected in the log)
HOSTILE = [
    ("empty", b"\n", "empty line"),
    ("blanks", b" \t \r\n", "empty line"),
    ("65-bytes", b"1" * 65 + b"\n", "line longer than 64 bytes"),
    ("long-address", b"127.0.10.153" + b" " * 53 + b"\n", "line longer than 64 bytes"),
    ("1MB-no-newline-then-line", b"x" * (1 << 20) + b"\n", "line longer than 64 bytes"),
    ("64-bytes-junk", b"z" * 64 + b"\n", "not an IPv4 or IPv6 address literal"),
    ("unspecified", b"0.0.0.0\n", "unspecified address"),
    ("unspecified6", b"::\n", "unspecified address"),
    ("hostname", b"localhost\n", "not an IPv4 or IPv6 address literal"),
    ("fqdn", b"bmc.example.com\n", "not an IPv4 or IPv6 address literal"),
    ("cidr", b"127.0.10.153/24\n", "not an IPv4 or IPv6 address literal"),
    ("outside", b"127.0.11.5\n", "outside the configured BMC networks"),
    ("outside6", b"::1\n", "outside the configured BMC networks"),
    ("multicast", b"224.0.0.1\n", "multicast address"),
    ("broadcast", b"255.255.255.255\n", "broadcast address"),
    ("subnet-edge", b"127.0.10.255\n", "network or broadcast address of its subnet"),
    ("nul-inside", b"127.0.10.153\x00junk\n", "not an IPv4 or IPv6 address literal"),
    ("nul-after", b"127.0.10.153\x00\n", "not an IPv4 or IPv6 address literal"),
    ("binary", bytes(range(256)).replace(b"\n", b"") [:60] + b"\n",
     "not an IPv4 or IPv6 address literal"),
    ("high-bytes", b"\xff\xfe127.0.10.153\xc0\x80\n", "not an IPv4 or IPv6 address literal"),
    ("format-string", b"%s%n%x%p\n", "not an IPv4 or IPv6 address literal"),
    ("inet_aton-hex", b"0x7f.0.10.153\n", "not an IPv4 or IPv6 address literal"),
    ("inet_aton-short", b"127.1\n", "not an IPv4 or IPv6 address literal"),
    ("two-addresses", b"127.0.10.153 127.0.10.154\n", "not an IPv4 or IPv6 address literal"),
    ("zone", b"127.0.10.153%lo\n", "not an IPv4 or IPv6 address literal"),
    ("v4-mapped", b"::ffff:127.0.10.153\n", "IPv4-mapped IPv6 address"),
    ("link-local6", b"fe80::1\n", "IPv6 link-local address"),
]


@pytest.mark.parametrize("data,reason", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_line_rejected(pair, data, reason):
    """hb serves at ADDR_B and then sends junk: rejected with a logged
    reason, hb keeps its BMC, ha is untouched."""
    a0 = pair.serve("ha", ADDR_A)
    b0 = pair.serve("hb", ADDR_B)
    pair.log.mark()
    pair.ann["hb"].send(data)
    msg = pair.log.wait("hb", f"announcement rejected: {reason}", priority=4)
    # the hostile bytes are shown escaped, never raw
    assert "\x00" not in msg and "\n" not in msg
    assert_unchanged(pair.sup, "ha", a0)
    assert_unchanged(pair.sup, "hb", b0)
    assert reason in pair.sup.node("hb")["last_error"]
    assert {ADDR_A, ADDR_B} <= udp_listeners(pair.sup.ipmi_port)
    # and the port still works: a good line afterwards is accepted
    pair.serve("hb", ADDR_B2)


def test_hostile_line_while_waiting(pair):
    """A node that never announced stays waiting after junk."""
    a0 = pair.serve("ha", ADDR_A)
    pair.ann["hb"].send(b"\x00\x01\x02 not-an-address\n")
    pair.log.wait("hb", "announcement rejected: not an IPv4 or IPv6 address literal",
                  priority=4)
    b = pair.sup.node("hb")
    assert b["state"] == "waiting" and b.get("address") is None and b["pid"] == 0
    assert_unchanged(pair.sup, "ha", a0)


@pytest.mark.parametrize("hb_serving", [False, True], ids=["hb-waiting", "hb-serving"])
def test_another_nodes_address(pair, hb_serving):
    a0 = pair.serve("ha", ADDR_A)
    if hb_serving:
        pair.serve("hb", ADDR_B)
    b0 = pair.sup.node("hb")
    pair.ann["hb"].send(ADDR_A + "\n")
    pair.log.wait("hb", "announcement rejected: address already held by node ha", priority=4)
    assert_unchanged(pair.sup, "ha", a0)
    assert_unchanged(pair.sup, "hb", b0)
    if not hb_serving:
        assert b0["state"] == "waiting" and b0.get("address") is None
    # ha announcing its own address again is still fine
    pair.ann["ha"].send(ADDR_A + "\n")
    pair.log.wait("ha", "no change")
    assert_unchanged(pair.sup, "ha", a0)


def test_flood_rate_limited(pair):
    """10000 junk lines as fast as they can be written: a few are rejected
    one by one, then the rate limit drops the rest with one message; the
    log does not get 10000 lines and both nodes keep serving."""
    a0 = pair.serve("ha", ADDR_A)
    b0 = pair.serve("hb", ADDR_B)
    pair.log.mark()
    t0 = time.monotonic()
    pair.ann["hb"].send(b"".join(b"flood %d\n" % i for i in range(10000)))
    pair.log.wait("hb", "announcement rejected: rate limit", priority=4)
    # the supervisor is not busy for long: status answers at once
    wait_until(lambda: pair.sup.node("hb"), 5)
    took = time.monotonic() - t0
    print(f"flood read, rejected and logged, status answered: {took:.2f}s")
    assert took < 5, f"flood took {took:.1f}s"
    # the end of the flood has been read: a marker line is dropped too
    pair.ann["hb"].send(ADDR_B2 + "\n")
    time.sleep(0.5)
    assert_unchanged(pair.sup, "ha", a0)
    assert_unchanged(pair.sup, "hb", b0)
    rejected = pair.log.count("hb", "announcement rejected")
    assert rejected <= 10, f"{rejected} rejection lines logged for a flood"
    assert pair.log.count("hb", "rate limit") == 1
    # the other node's announcements are not rate limited by hb's flood
    pair.ann["ha"].send(ADDR_A + "\n")
    pair.log.wait("ha", "no change")
    assert_unchanged(pair.sup, "ha", a0)


def test_same_address_is_noop(pair):
    pair.serve("ha", ADDR_A)
    b0 = pair.serve("hb", ADDR_B)
    pair.log.mark()
    pair.ann["hb"].send(" " + ADDR_B + "\r\n")
    pair.log.wait("hb", f"announced {ADDR_B} again: no change", priority=6)
    time.sleep(0.3)
    assert_unchanged(pair.sup, "hb", b0)


def test_new_address_moves_bmc(pair):
    a0 = pair.serve("ha", ADDR_A)
    b0 = pair.serve("hb", ADDR_B)
    port = pair.sup.ipmi_port
    assert ADDR_B in udp_listeners(port)
    pair.ann["hb"].send(ADDR_B2 + "\n")
    pair.log.wait("hb", f"BMC moves from {ADDR_B} to {ADDR_B2}")
    b1 = pair.sup.wait_node("hb", address=ADDR_B2, state="serving", power="on")
    assert b1["pid"] not in (0, b0["pid"])
    wait_until(lambda: ADDR_B not in udp_listeners(port), 5, what="old UDP socket gone")
    assert ADDR_B2 in udp_listeners(port)
    assert ADDR_A in udp_listeners(port)
    assert_unchanged(pair.sup, "ha", a0)
    # the old address is free again: ha may move onto it
    pair.ann["ha"].send(ADDR_B + "\n")
    pair.sup.wait_node("ha", address=ADDR_B, state="serving", power="on")
    # and the state file remembers the new addresses
    state = "".join(p.read_text() for p in (pair.sup.dir / "state").iterdir() if p.is_file())
    assert ADDR_B2 in state


def test_address_handover(pair):
    """hb moves away from an address and ha takes it at once, while hb's
    old worker may still hold its sockets: ha gets it (after a retry)."""
    pair.serve("ha", ADDR_A)
    pair.serve("hb", ADDR_B)
    pair.ann["hb"].send(ADDR_B2 + "\n")
    pair.log.wait("hb", f"BMC moves from {ADDR_B} to {ADDR_B2}")
    pair.ann["ha"].send(ADDR_B + "\n")
    a = pair.sup.wait_node("ha", address=ADDR_B, state="serving", power="on")
    b = pair.sup.wait_node("hb", address=ADDR_B2, state="serving", power="on")
    assert a["pid"] != b["pid"]
    port = pair.sup.ipmi_port
    wait_until(lambda: ADDR_A not in udp_listeners(port), 5, what="ha's old socket gone")
    assert {ADDR_B, ADDR_B2} <= udp_listeners(port)


def test_announce_port_eof_and_reconnect(pair):
    """QEMU going away mid-line (EOF) drops the partial line; the
    supervisor reconnects and takes the next announcement."""
    b0 = pair.serve("hb", ADDR_B)
    ann = pair.ann["hb"]
    pair.log.mark()
    ann.send(b"127.0.10.15")  # no newline
    ann.conn.close()
    ann.conn = None
    pair.log.wait("hb", "closed")
    ann.accept(10)
    pair.log.wait("hb", "connected to announce port")
    # the partial line was dropped with the connection: "3" does not
    # complete it to 127.0.10.153
    ann.send(b"3\n")
    pair.log.wait("hb", "announcement rejected")
    assert_unchanged(pair.sup, "hb", b0)
    ann.send(ADDR_B2 + "\n")
    pair.sup.wait_node("hb", address=ADDR_B2, state="serving")


# -- configuration ------------------------------------------------------------

def check(tmp_path, text):
    cfg = tmp_path / "vbmc.yml"
    cfg.write_text(text)
    r = subprocess.run([str(SUPERVISOR), "check", "-c", str(cfg)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    return cfg, r


NODE = "nodes:\n  - name: a\n    qmp: /tmp/a.qmp\n    announce: /tmp/a.ann\n"


@pytest.mark.parametrize("text,where,key", [
    ("networks: [127.0.10.0/24]\nbogus: 1\n" + NODE, "2:1", "bogus: unknown key"),
    ("networks: [127.0.10.0/24]\n" + NODE + "    colour: red\n", "6:5",
     "nodes[0].colour: unknown key"),
    ("networks: [127.0.10.0/24]\nports: {ipmi: seventy}\n" + NODE, "2:15", "ports.ipmi"),
    ("networks: [127.0.10.0/33]\n" + NODE, "1:12", "networks[0]"),
    ("networks: [127.0.10.0/24\n" + NODE, "2:", "yaml"),
    ("networks: [127.0.10.0/24]\nusers:\n  - {name: x, password-file: /nonexistent/p, "
     "role: root}\n" + NODE, "3:", "users[0]"),
], ids=["unknown-key", "unknown-node-key", "bad-number", "bad-cidr", "yaml-syntax",
        "bad-user"])
def test_config_errors(tmp_path, text, where, key):
    cfg, r = check(tmp_path, text)
    assert r.returncode != 0, r.stdout
    assert f"{cfg}:{where}" in r.stderr, r.stderr
    assert key in r.stderr, r.stderr


def test_config_ok(tmp_path):
    cfg, r = check(tmp_path, "networks: [127.0.10.0/24]\n" + NODE)
    assert r.returncode == 0, r.stderr
    assert "127.0.10.0/24" in r.stdout and "name: \"a\"" in r.stdout


def test_run_refuses_bad_config(tmp_path):
    cfg, _ = check(tmp_path, "networks: [127.0.10.0/24]\nbogus: 1\n" + NODE)
    r = subprocess.run([str(SUPERVISOR), "run", "-c", str(cfg)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30,
                       env=dict(os.environ, VBMC_LOG="stderr"))
    assert r.returncode != 0
    assert f"{cfg}:2:1: bogus: unknown key" in r.stdout
