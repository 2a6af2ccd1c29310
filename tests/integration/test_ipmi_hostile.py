"""Hostile IPMI clients against a real worker: wrong credentials, refused
suites and auth types, tampered and replayed packets, too little
privilege, session floods, garbage and malformed datagrams.

One supervisor with one guest-less QEMU node; the node's announcement is
played by the test (FakeAnnounce), its BMC serves on 127.0.11.10.  The
VM's state is read on the test's own QMP socket: nothing hostile may
change it, and the worker must keep serving with the same pid.  Clients:
ipmitool, and tests/integration/ipmiraw.py for what ipmitool cannot send.

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_ipmi_hostile.py

BMC addresses of this file: 127.0.11.0/24.
"""

import random
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ipmiraw  # noqa: E402
from cluster import Supervisor  # noqa: E402
from ipmiraw import APP, CHASSIS, IpmiError, RawClient, Session, V15Session  # noqa: E402
from test_hostile import FakeAnnounce, fake_node  # noqa: E402
from vbmctest import Qemu  # noqa: E402

ADDR = "127.0.11.10"
NODE = "ih"
RO_USER, RO_PASS = "viewer", "viewer-pw-1"
OP_USER, OP_PASS = "oper", "oper-pw-1"


class Bmc:
    """The node under attack and what the tests need of it."""

    def __init__(self, tmp):
        self.qemu = Qemu(NODE, tmp)
        self.ann = FakeAnnounce(tmp / f"{NODE}.ann")
        (tmp / "sup").mkdir()
        self.sup = Supervisor({NODE: fake_node(self.qemu, self.ann.path)},
                              networks=("127.0.11.0/24",), workdir=tmp / "sup",
                              users=[(RO_USER, RO_PASS, "readonly"),
                                     (OP_USER, OP_PASS, "operator")])
        self.ann.send(ADDR + "\n")
        self.sup.wait_node(NODE, address=ADDR, state="serving", power="on")
        self.port = self.sup.ipmi_port
        self.password = self.sup.password

    def close(self):
        try:
            self.sup.stop()
        finally:
            self.ann.close()
            self.qemu.stop()

    def pid(self):
        return self.sup.node(NODE)["pid"]

    def vm(self):
        return self.qemu.status()

    def raw(self, timeout=1.0):
        return RawClient(ADDR, self.port, timeout)

    def session(self, raw, user="admin", password=None, suite=17, role=0x14):
        return Session(raw, user, self.password if password is None else password, suite,
                       role)

    def ipmitool(self, *args, iface="lanplus", user="admin", password=None, timeout=60):
        cmd = ["ipmitool", "-I", iface, "-H", ADDR, "-p", str(self.port), "-U", user,
               "-P", self.password if password is None else password, *args]
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)

    def serving(self):
        """The BMC answers a normal client."""
        r = self.ipmitool("chassis", "power", "status")
        assert r.returncode == 0 and "Chassis Power is on" in r.stdout, r


@pytest.fixture(scope="module")
def bmc(tmp_path_factory):
    b = Bmc(tmp_path_factory.mktemp("ipmi-hostile"))
    try:
        yield b
    finally:
        b.close()


# QMP events of anything that changes the VM's power or run state
POWER_EVENTS = {"RESET", "STOP", "RESUME", "SHUTDOWN", "POWERDOWN", "SUSPEND",
                "SUSPEND_DISK", "WAKEUP", "GUEST_PANICKED"}


def clear_power_events(bmc):
    """Forget the VM's events so far (the test's own QMP connection)."""
    bmc.qemu.client.clear_events()


def power_events(bmc, wait=0.0):
    """The power and run-state events QEMU sent since clear_power_events()."""
    bmc.qemu.client.poll_events(wait)
    return [e for e in bmc.qemu.events if e.get("event") in POWER_EVENTS]


@pytest.fixture
def node(bmc):
    """Per test: the VM runs before and after, no QMP power event arrives
    during the test (QEMU sends every event to every monitor, so the test's
    own QMP connection sees what the worker's causes), the worker keeps its
    pid (no crash, no restart), and it still answers."""
    if bmc.vm() != "running":
        bmc.qemu.qmp("cont")
        bmc.qemu.wait_status("running")
    pid = bmc.pid()
    assert pid
    clear_power_events(bmc)
    yield bmc
    assert bmc.pid() == pid, "the worker was restarted"
    assert bmc.sup.node(NODE)["state"] == "serving"
    with bmc.raw() as raw:
        r = raw.auth_caps()
        assert r is not None and r[0] == 0
    assert bmc.vm() == "running"
    # query-status's reply came after every event QEMU sent before it
    assert power_events(bmc) == [], "a hostile client changed the VM's power"


def assert_quiet(raw, timeout=1.0):
    r = raw.recv(timeout)
    assert r is None, f"unexpected answer {r.hex()}"


# -- the client itself -----------------------------------------------------------

def test_ipmiraw_known_answers():
    """ipmiraw against the known-answer vectors of docs/IPMI.md."""
    h = bytes.fromhex
    guid = h("a123456789abcdefa123456789abcdef")
    sidm = 0xA0A2A3A4
    rm, rc = h("4a1f52945771dfad1fa1ad0ea1e654a5"), h("41855b938d7fca0763cc7f6f538440b0")
    sik, k1, k2 = ipmiraw.keys(1, b"password", rm, rc, 0x14, b"admin")
    assert sik.hex() == "571d1a181ebe824c251bc1e9bbc06db90c569739"
    assert k1.hex() == "7851a98363dc2d7e1c291300d75317e26e380706"
    assert k2.hex() == "876320bdf72796e39c9542e7c63143a234686cfc"
    assert ipmiraw.auth_hmac(1, b"password", struct.pack("<II", sidm, 0x802) + rm + rc + guid +
                             b"\x14\x05admin").hex() == \
        "d26aeb7dc275f9ee37810edbb6f111ddb1128852"
    s = Session(None, "admin", "password", suite=3, console_sid=sidm)
    s.sid_bmc, s.k1, s.k2 = 0x802, k1, k2
    pkt = s.wrap(h("2018c881083b0438"), 7, iv=h("36cb03db324e3f58e4d546c3908a5d71"))
    assert pkt[-12:].hex() == "08a1e1683b90d79a5e7d83be"
    assert ipmiraw.aes_decrypt(k2, pkt[16:48]) == h("2018c881083b0438")
    rm, rc = h("5f3ea3d611a9c7c4d3346daa9ea73079"), h("9ce7a1d9f977c097e8de9c2755a98a9e")
    sik, k1, k2 = ipmiraw.keys(3, b"password", rm, rc, 0x14, b"admin")
    assert k2.hex() == "8865f09850f2fa8f34a3ccaef1e3438bcb757bf2b419d504358c25916a285931"
    assert ipmiraw.md5_authcode(b"password".ljust(16, b"\0"), 0x2082, h("2018c881103b0430"),
                                0xC93F703E).hex() == "bed347c509dab24e2ce128e451593e94"


def test_normal_clients(node):
    """The baseline the other tests compare with."""
    node.serving()
    with node.raw() as raw:
        assert raw.ping()
        assert raw.cipher_suites() == [1, 2, 3, 15, 16, 17]
        for suite in (3, 17):
            s = node.session(raw, suite=suite).login(priv=4)
            cc, data = s.request_ok(CHASSIS, 0x01)
            assert data[0] & 1
            assert s.close() == (0, b"")
        v = V15Session(raw, "admin", node.password).login()
        assert v.request(CHASSIS, 0x01)[0] == 0


# -- credentials ----------------------------------------------------------------

@pytest.mark.parametrize("suite", [None, "3", "17"], ids=["auto", "suite3", "suite17"])
def test_wrong_password_lanplus(node, suite):
    args = ["-C", suite] if suite else []
    r = node.ipmitool("-v", *args, "chassis", "power", "off", password="not-the-password")
    assert r.returncode != 0
    assert "RAKP 2 HMAC is invalid" in r.stderr, r.stderr
    assert "Unable to establish IPMI v2 / RMCP+ session" in r.stderr, r.stderr


def test_wrong_password_lan(node):
    """v1.5: Activate Session with a wrong MD5 AuthCode is dropped."""
    t0 = time.monotonic()
    r = node.ipmitool("-N", "1", "-R", "1", "chassis", "power", "off", iface="lan",
                      password="not-the-password")
    assert r.returncode != 0
    assert "Unable to establish IPMI v1.5 / RMCP session" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 20


def test_wrong_password_raw(node):
    """RAKP2's HMAC does not verify; RAKP3 with the wrong key gets 0x0F."""
    with node.raw() as raw:
        s = node.session(raw, password="not-the-password")
        s.open()
        with pytest.raises(IpmiError) as e:
            s.rakp1()
        assert e.value.status == 0x0F
        r = raw.exchange(ipmiraw.rmcpp(ipmiraw.PT_RAKP3, s.rakp3_payload()))
        assert r is not None and r[5] == ipmiraw.PT_RAKP4 and r[17] == 0x0F
        # and the session is gone: RAKP3 again is an invalid session id
        r = raw.exchange(ipmiraw.rmcpp(ipmiraw.PT_RAKP3, s.rakp3_payload()))
        assert r is not None and r[17] == 0x02


@pytest.mark.parametrize("iface", ["lanplus", "lan"])
def test_unknown_user(node, iface):
    r = node.ipmitool("-v", "-N", "1", "-R", "1", "chassis", "power", "off", iface=iface,
                      user="nobody")
    assert r.returncode != 0
    if iface == "lanplus":
        assert "unauthorized name" in r.stderr, r.stderr
    else:
        assert "Invalid user name" in r.stderr, r.stderr
    with node.raw() as raw:
        with pytest.raises(IpmiError) as e:
            node.session(raw, user="nobody").login()
        assert e.value.status == 0x0D


def test_cipher_suite_0_refused(node):
    r = node.ipmitool("-C", "0", "chassis", "power", "off")
    assert r.returncode != 0
    assert "no matching cipher suite" in r.stderr, r.stderr
    with node.raw() as raw:
        assert 0 not in raw.cipher_suites()
        with pytest.raises(IpmiError) as e:
            node.session(raw, suite=0).login()
        assert e.value.status == 0x11


def test_auth_none_refused(node):
    r = node.ipmitool("-A", "NONE", "chassis", "power", "off", iface="lan")
    assert r.returncode != 0
    assert "Authentication type NONE not supported" in r.stderr, r.stderr
    with node.raw() as raw:
        cc, data = raw.auth_caps(v2=False)
        assert cc == 0 and not data[1] & 0x01  # auth type none not offered
        with pytest.raises(IpmiError) as e:
            V15Session(raw, "admin", node.password, authtype=0).login()
        assert e.value.status == 0xCC
        with pytest.raises(IpmiError) as e:
            V15Session(raw, "admin", node.password, authtype=4).login()
        assert e.value.status == 0xCC


# -- tampering and replay --------------------------------------------------------

@pytest.mark.parametrize("suite", [3, 17])
def test_tampered_integrity(node, suite):
    """A Chassis Control (power off) with a bad AuthCode, a flipped
    ciphertext byte, or a forged length: no answer, the VM runs on."""
    with node.raw() as raw:
        s = node.session(raw, suite=suite).login(priv=4)
        good = s.packet(CHASSIS, 0x02, b"\x00")
        bad = [
            good[:-1] + bytes([good[-1] ^ 0x01]),                 # AuthCode
            good[:20] + bytes([good[20] ^ 0x80]) + good[21:],     # IV
            good[:40] + bytes([good[40] ^ 0x01]) + good[41:],     # ciphertext
            good[:10] + bytes([good[10] ^ 0x01]) + good[11:],     # sequence number
            good[:-2],                                            # AuthCode cut
            good + b"\x00",                                       # one byte more
            good[:5] + bytes([0x80]) + good[6:],                  # "not authenticated"
            good[:5] + bytes([0x00]) + good[6:],                  # neither bit
        ]
        for pkt in bad:
            raw.send(pkt)
            assert_quiet(raw, 0.3)
        time.sleep(0.5)
        assert node.vm() == "running"
        # still alive, and the sequence number was not used up by the fakes
        s.seq -= 1
        assert s.request_ok(CHASSIS, 0x01)[1][0] & 1
        s.close()


def test_tampered_v15(node):
    with node.raw() as raw:
        v = V15Session(raw, "admin", node.password).login()
        assert v.request(APP, 0x3B, b"\x04")[0] == 0
        good = v.packet(CHASSIS, 0x02, b"\x00")
        for i in (4, 8, 12, 20, len(good) - 1):
            raw.send(good[:i] + bytes([good[i] ^ 0x04]) + good[i + 1:])
            assert_quiet(raw, 0.3)
        # auth type none into an MD5 session
        raw.send(ipmiraw.v15_packet(ipmiraw.ipmi_msg(CHASSIS, 0x02, b"\x00", 9), 0, v.seq, v.sid))
        assert_quiet(raw, 0.3)
        assert node.vm() == "running"
        v.seq -= 1  # the tampered one was never accepted
        assert v.request(CHASSIS, 0x01)[0] == 0


@pytest.mark.parametrize("suite", [3, 17])
def test_replay(node, suite):
    """Power off runs once; the VM is resumed behind the BMC's back and
    the very same datagram sent again: nothing happens."""
    q = node.qemu
    with node.raw() as raw:
        s = node.session(raw, suite=suite).login(priv=4)
        off = s.packet(CHASSIS, 0x02, b"\x00")
        raw.send(off)
        r = raw.recv(15)
        assert r is not None
        m = s.unwrap(r)
        assert m is not None and ipmiraw.parse_resp(m)[3] == 0
        q.wait_status("paused")
        # the one legitimate action, as the event check sees it
        assert [e["event"] for e in power_events(node)] == ["STOP"]
        q.qmp("cont")
        q.wait_status("running")
        node.sup.wait_node(NODE, power="on")
        clear_power_events(node)  # from here on only replays: the fixture checks
        for _ in range(3):
            raw.send(off)
            time.sleep(0.2)
        raw.drain()  # answers from the retransmit cache are fine
        time.sleep(1)
        assert q.status() == "running"
        # an older sequence number with a fresh message is a replay as well
        old = s.packet(CHASSIS, 0x02, b"\x00", seq=s.seq - 1)
        raw.send(old)
        time.sleep(1)
        raw.drain()
        assert q.status() == "running"
        # far outside the window
        raw.send(s.packet(CHASSIS, 0x02, b"\x00", seq=(s.seq + 1000) & 0xFFFFFFFF))
        assert_quiet(raw, 0.5)
        assert q.status() == "running"
        assert s.request_ok(CHASSIS, 0x01)[1][0] & 1
        s.close()


# -- privileges -----------------------------------------------------------------

def test_readonly_user(node):
    r = node.ipmitool("-L", "USER", "chassis", "power", "off", user=RO_USER, password=RO_PASS)
    assert r.returncode != 0
    assert "Insufficient privilege level" in r.stderr, r.stderr
    time.sleep(0.5)
    assert node.vm() == "running"
    r = node.ipmitool("-L", "USER", "chassis", "power", "status", user=RO_USER,
                      password=RO_PASS)
    assert r.returncode == 0 and "Chassis Power is on" in r.stdout, r
    # asking for more than the role at login is refused outright
    r = node.ipmitool("-v", "-L", "ADMINISTRATOR", "chassis", "power", "status",
                      user=RO_USER, password=RO_PASS)
    assert r.returncode != 0
    with node.raw() as raw:
        s = node.session(raw, user=RO_USER, password=RO_PASS, role=0x12).login()
        assert s.request(APP, 0x3B, b"\x04")[0] == 0x81
        assert s.request(APP, 0x3B, b"\x03")[0] == 0x81
        assert s.request(CHASSIS, 0x02, b"\x00")[0] == 0xD4
        assert s.request(CHASSIS, 0x01)[0] == 0
        s.close()
    assert node.vm() == "running"


def test_operator_user(node):
    """An operator may not become administrator, may control power."""
    with node.raw() as raw:
        s = node.session(raw, user=OP_USER, password=OP_PASS, role=0x13).login()
        assert s.request(APP, 0x3B, b"\x04")[0] == 0x81
        assert s.request(CHASSIS, 0x02, b"\x00")[0] == 0xD4  # still at User level
        assert s.request(APP, 0x3B, b"\x03")[0] == 0
        assert s.request(CHASSIS, 0x01)[0] == 0
        s.close()


def test_close_other_session(node):
    with node.raw() as raw:
        a = node.session(raw, suite=3).login()
        b = node.session(raw, suite=17).login()
        assert a.request(APP, 0x3C, struct.pack("<I", b.sid_bmc))[0] == 0x87
        assert b.request(CHASSIS, 0x01)[0] == 0
        a.close()
        b.close()


# -- floods and garbage -----------------------------------------------------------

def test_session_flood(node):
    """32 logged-in sessions fill the table (Get Session Info: 32 of 32
    active); a 33rd login evicts the idlest, the flood's first, whose
    packets then go unanswered while every other one still answers
    (docs/IPMI.md).  A legitimate client still gets in, evicting the next
    idlest; 40 half-open sessions (no credentials needed) are reclaimed
    among themselves and evict no logged-in one."""
    with node.raw() as raw:
        flood = []
        for i in range(33):
            if i == 32:
                cc, info = flood[-1].request_ok(APP, 0x3D, b"\x00")  # Get Session Info
                assert (info[1], info[2]) == (32, 32), info.hex()  # max, active
            flood.append(node.session(raw, suite=3 if i % 2 else 17).login())
            time.sleep(0.005)  # the worker's clock is in ms: distinct idle times

        def answers(s):
            r = s.request(CHASSIS, 0x01, timeout=0.3)
            time.sleep(0.005)
            return r is not None and r[0] == 0
        assert not answers(flood[0]), "the idlest session was not the one evicted"
        assert all(answers(s) for s in flood[1:]), "a session other than the idlest went"
        # now flood[1] is the idlest
        node.serving()
        r = node.ipmitool("chassis", "power", "status", iface="lan")
        assert r.returncode == 0, r
        assert not answers(flood[1]), "ipmitool's session did not evict the idlest"
        assert all(answers(s) for s in flood[2:])
        for i in range(40):
            Session(raw, "admin", "x", 3).open()
        node.serving()
        assert all(answers(s) for s in flood[2:]), "a half-open session evicted an active one"
        for s in flood:  # the evicted ones do not answer
            s.request(APP, 0x3C, struct.pack("<I", s.sid_bmc), timeout=0.2)


def test_garbage_burst(node):
    """2000 random and mangled datagrams, as fast as they go: the worker
    keeps its pid and answers a normal client afterwards."""
    rnd = random.Random(623)
    with node.raw() as raw:
        s = node.session(raw, suite=17).login(priv=4)
        good = s.packet(CHASSIS, 0x02, b"\x00")
        open_req = ipmiraw.rmcpp(ipmiraw.PT_OPEN_REQ, s.open_request())
        rakp1 = ipmiraw.rmcpp(ipmiraw.PT_RAKP1, s.rakp1_payload())
        caps = ipmiraw.v15_packet(ipmiraw.ipmi_msg(APP, 0x38, b"\x8e\x04"))
        seeds = [good, open_req, rakp1, caps, ipmiraw.ASF_PING]
        pkts = []
        for i in range(2000):
            kind = i % 4
            if kind == 0:
                p = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
            elif kind == 1:
                p = ipmiraw.RMCP + bytes([rnd.choice((0, 2, 6))]) + \
                    bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 120)))
            else:
                p = bytearray(rnd.choice(seeds))
                for _ in range(rnd.randrange(1, 5)):
                    j = rnd.randrange(4, len(p))
                    p[j] ^= rnd.randrange(1, 256)
                if kind == 3:
                    p = p[:rnd.randrange(len(p) + 1)]
                p = bytes(p)
                if p in seeds:  # the flips cancelled out
                    continue
            pkts.append(p)
        t0 = time.monotonic()
        for p in pkts:
            try:
                raw.send(p)
            except OSError:
                pass
        took = time.monotonic() - t0
        assert took < 5, f"burst took {took:.1f}s"
        time.sleep(0.5)
        raw.drain()
        assert node.vm() == "running"
        node.serving()
        s.close()


def test_malformed_fields(node):
    """Short headers, length fields beyond the datagram, a RAKP1 name
    length of 255, a 31-byte Open Session: no crash, error answers where
    the protocol has them."""
    with node.raw() as raw:
        silent = [
            b"", b"\x06", b"\x06\x00", b"\x06\x00\xff", ipmiraw.RMCP, ipmiraw.RMCP + b"\x06",
            ipmiraw.RMCP + b"\x06\x10" + b"\x00" * 8,                      # no length field
            ipmiraw.RMCP + b"\x00" + b"\x00" * 8,                          # v1.5, no length
            ipmiraw.rmcpp(0x10, b"\x00" * 4, length=0xFFFF),                # length > datagram
            ipmiraw.rmcpp(0x10, b"\x00" * 32, length=33),
            ipmiraw.rmcpp(0x00, ipmiraw.ipmi_msg(APP, 0x38, b"\x8e\x04"), length=200),
            ipmiraw.v15_packet(ipmiraw.ipmi_msg(APP, 0x38, b"\x8e\x04"), length=255),
            ipmiraw.v15_packet(b"", authtype=2, sid=0x12345678, code=b"\x00" * 16, length=200),
            b"\x06\x00\xff\x06" + b"\x00\x00\x11\xbe\x80",                   # short ASF ping
            ipmiraw.rmcpp(0x10, b"\x00" * 2000),                            # > 1024 bytes
            b"\x06\x00\xff\x07" + bytes(60000),
        ]
        for p in silent:
            raw.send(p)
        assert_quiet(raw, 1.0)
        # Open Session of 31 bytes: "illegal parameter"
        s = node.session(raw, suite=3)
        r = raw.exchange(ipmiraw.rmcpp(ipmiraw.PT_OPEN_REQ, s.open_request()[:31]))
        assert r is not None and r[5] == ipmiraw.PT_OPEN_RESP and r[17] == 0x12
        # RAKP1 with name length 255: with 255 bytes, and with only 5
        for name in (b"a" * 255, b"admin"):
            s = node.session(raw, suite=3)
            s.open()
            r = raw.exchange(ipmiraw.rmcpp(ipmiraw.PT_RAKP1, s.rakp1_payload(name, 255)))
            assert r is not None and r[5] == ipmiraw.PT_RAKP2 and r[17] == 0x0C, r
        # RAKP1 / RAKP3 cut short: dropped
        s = node.session(raw, suite=3)
        s.open()
        raw.send(ipmiraw.rmcpp(ipmiraw.PT_RAKP1, s.rakp1_payload()[:20]))
        raw.send(ipmiraw.rmcpp(ipmiraw.PT_RAKP3, b"\x00" * 7))
        assert_quiet(raw, 0.5)
        # an in-session packet whose length field lies (AuthCode redone)
        s = node.session(raw, suite=17).login(priv=4)
        pkt = bytearray(s.packet(CHASSIS, 0x02, b"\x00"))
        struct.pack_into("<H", pkt, 14, 0xFFF0)
        raw.send(s.reauth(bytes(pkt)))
        assert_quiet(raw, 0.5)
        s.seq -= 1
        assert s.request(CHASSIS, 0x01)[0] == 0
        s.close()
    assert node.vm() == "running"
