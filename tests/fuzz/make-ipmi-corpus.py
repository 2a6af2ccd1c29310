#!/usr/bin/python3
"""Write the seed corpus of tests/fuzz/fuzz-ipmi.c: whole, valid client
exchanges, so that the fuzzer starts from inside sessions rather than
having to guess session ids, HMACs and AuthCodes.

    tests/fuzz/make-ipmi-corpus.py [OUTDIR]     (default tests/fuzz/corpus/fuzz-ipmi)

The fuzz target feeds datagrams framed with a 2-byte big-endian length,
from the same peer, to an engine whose "random" bytes come from an LCG
restarted at 1 for every input (x = x * 1103515245 + 12345, byte = x >> 16).
Its users are admin/password (Administrator) and ro/readonly (User), its
GUID is all zero.  So the BMC's session ids, Rc, v1.5 challenges and
initial sequence numbers are known here in advance: this script draws them
from the same LCG in the order the engine does (a session id: 4 bytes when
a session is allocated; RAKP1 accepted: Rc, 16 bytes; Get Session
Challenge: session id, then the challenge; Activate Session: the initial
inbound sequence number, 4 bytes, made odd and < 2^31) and computes the
RAKP HMACs, session keys, integrity codes, AES and MD5 AuthCodes as a real
client would (tests/integration/ipmiraw.py).  AES IVs come from GnuTLS,
not the LCG, and only matter for the BMC's answers, which nobody reads.

If the engine changes the order in which it draws random bytes, rerun
this script and check that the seeds still log in (e.g. with a driver
that wraps ipmi_free() and prints the session statistics).
"""

import os
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import ipmiraw as R  # noqa: E402

GUID = bytes(16)
USERS = {b"admin": b"password", b"ro": b"readonly"}
APP, CHASSIS, STORAGE, TRANSPORT = 0x06, 0x00, 0x0A, 0x0C


class Lcg:
    """fuzz-ipmi.c's f_random()."""

    def __init__(self):
        self.x = 1

    def take(self, n):
        out = bytearray()
        for _ in range(n):
            self.x = (self.x * 1103515245 + 12345) & 0xFFFFFFFF
            out.append((self.x >> 16) & 0xFF)
        return bytes(out)


class Input:
    """One fuzz input: datagrams plus the engine's view of the LCG."""

    def __init__(self):
        self.rng = Lcg()
        self.sids = set()
        self.datagrams = []

    def send(self, pkt):
        assert len(pkt) <= 0xFFFF
        self.datagrams.append(bytes(pkt))

    def new_sid(self):
        """session_alloc() -> new_sid(): random, non-zero, unused."""
        for _ in range(16):
            sid = struct.unpack("<I", self.rng.take(4))[0]
            if sid and sid not in self.sids:
                self.sids.add(sid)
                return sid
        raise RuntimeError("no session id")

    def free_sid(self, sid):
        self.sids.discard(sid)

    def data(self):
        return b"".join(struct.pack(">H", len(d)) + d for d in self.datagrams)


class Plus:
    """An RMCP+ client whose BMC-side randomness is predicted."""

    def __init__(self, inp, user=b"admin", password=None, suite=3, role=0x14, priv=0, tag=1,
                 console_sid=0xA0A2A3A4):
        self.inp = inp
        self.user = user
        self.pw = USERS.get(user, b"x") if password is None else password
        self.auth, self.integ, self.conf = R.SUITES[suite]
        self.role, self.priv, self.tag = role, priv, tag
        self.sidm = console_sid
        self.sidc = 0
        self.rm = bytes((tag * 29 + i * 7) & 0xFF for i in range(16))
        self.rc = b""
        self.seq = 0
        self.rq_seq = 0
        self.k1 = self.k2 = b""
        self.ivn = 0

    def open(self, ok=True, payload=None):
        p = payload or (bytes([self.tag, self.priv, 0, 0]) + struct.pack("<I", self.sidm) +
                        b"".join(bytes([t, 0, 0, 8, a, 0, 0, 0])
                                 for t, a in enumerate((self.auth, self.integ, self.conf))))
        self.inp.send(R.rmcpp(R.PT_OPEN_REQ, p))
        if ok:
            self.sidc = self.inp.new_sid()
        return self

    def rakp1(self, ok=True, name=None, ulen=None):
        name = self.user if name is None else name
        ulen = len(name) if ulen is None else ulen
        self.inp.send(R.rmcpp(R.PT_RAKP1, bytes([self.tag, 0, 0, 0]) +
                              struct.pack("<I", self.sidc) + self.rm +
                              bytes([self.role, 0, 0, ulen]) + name))
        if ok:
            self.rc = self.inp.rng.take(16)
        return self

    def rakp3(self, status=0):
        code = R.auth_hmac(self.auth, self.pw, self.rc + struct.pack("<I", self.sidm) +
                           bytes([self.role, len(self.user)]) + self.user)
        self.inp.send(R.rmcpp(R.PT_RAKP3, bytes([self.tag, status, 0, 0]) +
                              struct.pack("<I", self.sidc) + code))
        _, self.k1, self.k2 = R.keys(self.auth, self.pw, self.rm, self.rc, self.role,
                                     self.user)
        return self

    def login(self):
        return self.open().rakp1().rakp3()

    def packet(self, netfn, cmd, data=b"", seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.rq_seq = (self.rq_seq + 1) & 0x3F
        msg = R.ipmi_msg(netfn, cmd, data, self.rq_seq)
        ptype = (0x80 if self.conf else 0) | (0x40 if self.integ else 0)
        self.ivn += 1
        body = R.aes_encrypt(self.k2, msg, bytes([self.ivn & 0xFF] * 16)) if self.conf else msg
        pkt = R.RMCP + bytes([0x06, ptype]) + struct.pack("<IIH", self.sidc, seq,
                                                           len(body)) + body
        if self.integ:
            pad = (4 - (len(pkt) - 4 + 2) % 4) % 4
            pkt += b"\xff" * pad + bytes([pad, 0x07])
            pkt += R.integ_code(self.integ, self.k1, pkt[4:])
        return pkt

    def req(self, netfn, cmd, data=b""):
        pkt = self.packet(netfn, cmd, data)
        self.inp.send(pkt)
        return pkt

    def close(self):
        self.req(APP, 0x3C, struct.pack("<I", self.sidc))
        self.inp.free_sid(self.sidc)


class V15:
    """An IPMI v1.5 client (MD5 by default)."""

    def __init__(self, inp, user=b"admin", password=None, authtype=2):
        self.inp = inp
        self.user = user
        self.pw16 = (USERS.get(user, b"x") if password is None else password).ljust(16, b"\0")
        self.at = authtype
        self.sid = 0
        self.seq = 0
        self.rq_seq = 0

    def pre(self, netfn, cmd, data=b""):
        self.rq_seq = (self.rq_seq + 1) & 0x3F
        self.inp.send(R.v15_packet(R.ipmi_msg(netfn, cmd, data, self.rq_seq)))

    def packet(self, netfn, cmd, data=b"", seq=None):
        seq = self.seq if seq is None else seq
        self.rq_seq = (self.rq_seq + 1) & 0x3F
        msg = R.ipmi_msg(netfn, cmd, data, self.rq_seq)
        code = (R.md5_authcode(self.pw16, self.sid, msg, seq) if self.at == 2
                else self.pw16 if self.at == 4 else b"")
        return R.v15_packet(msg, self.at, seq, self.sid, code)

    def login(self, priv=4, ok=True):
        self.pre(APP, 0x39, bytes([self.at]) + self.user.ljust(16, b"\0"))
        self.sid = self.inp.new_sid()
        challenge = self.inp.rng.take(16)
        pkt = self.packet(APP, 0x3A, bytes([self.at, priv]) + challenge +
                          struct.pack("<I", 0x11223344), seq=0)
        self.inp.send(pkt)
        if ok:
            inbound = struct.unpack("<I", self.inp.rng.take(4))[0]
            self.seq = (inbound & 0x7FFFFFFF) | 1
        return self

    def req(self, netfn, cmd, data=b""):
        pkt = self.packet(netfn, cmd, data)
        self.seq += 1
        self.inp.send(pkt)
        return pkt


def presession(inp):
    inp.send(R.ASF_PING)
    for d in (b"\x8e\x04", b"\x0e\x04", b"\x8e\x02", b"\x81\x04"):
        inp.send(R.v15_packet(R.ipmi_msg(APP, 0x38, d)))
    for idx in range(3):
        inp.send(R.rmcpp(R.PT_IPMI, R.ipmi_msg(APP, 0x54, bytes([0x0E, 0, 0x80 | idx]), idx)))
    inp.send(R.rmcpp(R.PT_IPMI, R.ipmi_msg(APP, 0x38, b"\x8e\x04")))


def everything(c):
    """Every command of the table, as real clients send them."""
    c.req(APP, 0x3B, b"\x04")                        # Set Session Privilege Level
    c.req(0x2C, 0x3E, b"\x00")                       # HPM.2 probe (C1)
    c.req(APP, 0x01)                                 # Get Device ID
    c.req(0x2C, 0x00, b"\x00")                       # PICMG (C1)
    c.req(APP, 0x04)
    c.req(APP, 0x08)
    c.req(APP, 0x37)
    c.req(APP, 0x41, b"\x01\x40")
    c.req(APP, 0x42, b"\x01")
    c.req(APP, 0x42, b"\x0e")
    c.req(APP, 0x44, b"\x01\x02")
    c.req(APP, 0x46, b"\x02")
    c.req(APP, 0x59, b"\x00\x01\x00\x00")
    c.req(APP, 0x3D, b"\x00")                        # Get Session Info
    c.req(APP, 0x3D, b"\x01")
    c.req(CHASSIS, 0x00)
    c.req(CHASSIS, 0x01)
    c.req(CHASSIS, 0x07)
    c.req(CHASSIS, 0x04, b"\x05\x00")                # identify
    c.req(CHASSIS, 0x08, b"\x03\x08")                # Ironic: stop the boot-flag timer
    c.req(CHASSIS, 0x08, b"\x00\x01")                # bootdev pxe as ipmitool does it
    c.req(CHASSIS, 0x08, b"\x04\x01\x01")
    c.req(CHASSIS, 0x08, b"\x05\x80\x04\x00\x00\x00")
    c.req(CHASSIS, 0x08, b"\x00\x02")
    c.req(CHASSIS, 0x08, b"\x00\x00")
    c.req(CHASSIS, 0x08, b"\x05\xe0\x08\x00\x00\x00")
    c.req(CHASSIS, 0x09, b"\x05\x00\x00")
    c.req(CHASSIS, 0x09, b"\x00\x00\x00")
    c.req(TRANSPORT, 0x02, b"\x01\x03\x00\x00")      # IP address
    c.req(TRANSPORT, 0x02, b"\x01\x16\x00\x00")      # cipher suites
    c.req(TRANSPORT, 0x01, b"\x01\x00\x01")
    c.req(STORAGE, 0x10, b"\x00")
    c.req(STORAGE, 0x11, b"\x00\x00\x00\x10")
    c.req(STORAGE, 0x20)
    c.req(STORAGE, 0x22)
    c.req(STORAGE, 0x23, b"\x00\x00\x00\x00\x00\xff")
    c.req(STORAGE, 0x40)
    c.req(STORAGE, 0x42)
    c.req(STORAGE, 0x43, b"\x00\x00\x00\x00\x00\xff")
    c.req(STORAGE, 0x48)
    c.req(STORAGE, 0x47, b"\x00\x00\x43\x4c\x52\xaa")
    c.req(0x30, 0x01)                                # unknown netfn
    c.req(CHASSIS, 0x02, b"\x00")                    # power off
    c.req(CHASSIS, 0x02, b"\x01")                    # on
    c.req(CHASSIS, 0x02, b"\x03")                    # reset
    c.req(CHASSIS, 0x02, b"\x02")                    # cycle
    c.req(CHASSIS, 0x02, b"\x05")                    # soft
    c.req(CHASSIS, 0x02, b"\x04")                    # diag


def seeds():
    out = {}

    inp = Input()
    presession(inp)
    out["presession"] = inp

    for suite in (3, 17):
        inp = Input()
        presession(inp)
        c = Plus(inp, suite=suite).login()
        everything(c)
        c.close()
        out[f"rmcpp-suite{suite}-admin"] = inp

    for suite in (1, 2, 15, 16):
        inp = Input()
        c = Plus(inp, suite=suite, priv=4).login()
        c.req(APP, 0x3B, b"\x04")
        c.req(CHASSIS, 0x01)
        c.req(CHASSIS, 0x02, b"\x00")
        c.close()
        out[f"rmcpp-suite{suite}"] = inp

    # a readonly user: status yes, control no, no raising
    inp = Input()
    c = Plus(inp, user=b"ro", suite=17, role=0x12).login()
    c.req(CHASSIS, 0x01)
    c.req(CHASSIS, 0x02, b"\x00")
    c.req(APP, 0x3B, b"\x04")
    c.req(APP, 0x3B, b"\x02")
    c.close()
    c = Plus(inp, user=b"ro", suite=3, role=0x10, tag=2).login()   # name-only lookup
    c.req(APP, 0x3B, b"\x02")
    out["rmcpp-readonly"] = inp

    # retried set-up messages, then replays and tampering in session
    inp = Input()
    c = Plus(inp, suite=17)
    c.open()
    inp.send(inp.datagrams[-1])                     # Open Session again
    c.rakp1()
    inp.send(inp.datagrams[-1])                     # RAKP1 again
    c.rakp3()
    inp.send(inp.datagrams[-1])                     # RAKP3 again
    c.req(APP, 0x3B, b"\x04")
    p = c.req(CHASSIS, 0x02, b"\x00")
    inp.send(p)                                     # replay
    inp.send(p[:-1] + bytes([p[-1] ^ 1]))           # AuthCode
    inp.send(p[:40] + bytes([p[40] ^ 1]) + p[41:])  # ciphertext
    inp.send(c.packet(CHASSIS, 0x02, b"\x01", seq=c.seq + 1000))
    inp.send(c.packet(CHASSIS, 0x02, b"\x01", seq=c.seq + 15))
    inp.send(c.packet(CHASSIS, 0x01, seq=c.seq + 2))  # inside, behind the new high
    c.seq += 15
    c.req(CHASSIS, 0x01)
    c.close()
    out["rmcpp-retries-replays"] = inp

    # authentication failures
    inp = Input()
    c = Plus(inp, suite=3, password=b"wrongpass").open().rakp1().rakp3()   # -> 0x0F
    inp.free_sid(c.sidc)
    c = Plus(inp, user=b"nobody", suite=3, tag=2).open().rakp1(ok=False)   # -> 0x0D
    inp.free_sid(c.sidc)
    Plus(inp, suite=0, tag=3).open(ok=False)                               # -> 0x11
    Plus(inp, suite=3, tag=4, priv=6).open(ok=False)                       # -> 0x09
    c = Plus(inp, suite=3, tag=5, role=0x34).open().rakp1(ok=False)        # -> 0x09
    inp.free_sid(c.sidc)
    c = Plus(inp, suite=3, tag=6).open().rakp1(ok=False, name=b"a" * 17)   # -> 0x0C
    inp.free_sid(c.sidc)
    c = Plus(inp, suite=3, tag=7).open().rakp1(ok=False, ulen=255)         # -> 0x0C
    inp.free_sid(c.sidc)
    c = Plus(inp, user=b"ro", suite=3, tag=8).open().rakp1(ok=False)       # role 14h -> 0x0A
    inp.free_sid(c.sidc)
    inp.send(R.rmcpp(R.PT_OPEN_REQ, b"\x09" * 31))                          # -> 0x12
    c = Plus(inp, suite=17, tag=9).login()                                 # and a good one
    c.req(APP, 0x3B, b"\x04")
    c.req(CHASSIS, 0x02, b"\x00")
    out["rmcpp-auth-errors"] = inp

    # the table (4 sessions in the fuzz target) overflows
    inp = Input()
    cs = [Plus(inp, suite=3 if i % 2 else 17, tag=10 + i, console_sid=0x1000 + i).login()
          for i in range(6)]
    for c in cs[2:]:
        c.req(CHASSIS, 0x01)
    for i in range(3):
        Plus(inp, suite=3, tag=40 + i, console_sid=0x2000 + i).open()
    cs[-1].req(APP, 0x3B, b"\x04")
    cs[-1].req(CHASSIS, 0x02, b"\x01")
    # close another session's id, then by handle
    cs[-1].req(APP, 0x3C, struct.pack("<I", cs[-2].sidc))
    cs[-1].req(APP, 0x3C, b"\x00\x00\x00\x00\x01")
    out["rmcpp-flood"] = inp

    # IPMI v1.5 with MD5
    inp = Input()
    inp.send(R.ASF_PING)
    v = V15(inp)
    v.pre(APP, 0x38, b"\x0e\x04")
    v.login()
    v.req(APP, 0x3B, b"\x04")
    v.req(APP, 0x01)
    v.req(CHASSIS, 0x01)
    p = v.req(CHASSIS, 0x02, b"\x00")
    inp.send(p)                                       # replay
    v.req(CHASSIS, 0x02, b"\x01")
    v.req(CHASSIS, 0x09, b"\x05\x00\x00")
    v.req(APP, 0x3D, b"\x00")
    v.req(APP, 0x3C, struct.pack("<I", v.sid))
    out["v15-md5-admin"] = inp

    # v1.5 failures: auth type none, straight password, unknown user,
    # wrong password, privilege above the user's
    inp = Input()
    V15(inp, authtype=0).pre(APP, 0x39, b"\x00admin" + bytes(11))
    V15(inp, authtype=4).pre(APP, 0x39, b"\x04admin" + bytes(11))
    V15(inp, user=b"nobody").pre(APP, 0x39, b"\x02nobody" + bytes(10))
    V15(inp, password=b"wrongpass").login(ok=False)
    V15(inp, user=b"ro").login(priv=4, ok=False)
    v = V15(inp, user=b"ro").login(priv=2)
    v.req(CHASSIS, 0x02, b"\x00")
    v.req(APP, 0x3B, b"\x04")
    v.req(CHASSIS, 0x01)
    out["v15-errors"] = inp

    # both kinds at once
    inp = Input()
    v = V15(inp).login()
    c = Plus(inp, suite=17).login()
    v.req(APP, 0x3B, b"\x04")
    c.req(APP, 0x3B, b"\x04")
    v.req(APP, 0x3C, struct.pack("<I", c.sidc))       # 87h
    c.req(APP, 0x3C, struct.pack("<I", v.sid))        # 87h
    c.req(APP, 0x3D, b"\xff" + struct.pack("<I", v.sid))
    c.req(APP, 0x3D, b"\xfe\x01")
    v.req(CHASSIS, 0x02, b"\x00")
    c.req(CHASSIS, 0x02, b"\x01")
    c.close()
    v.req(APP, 0x3C, struct.pack("<I", v.sid))
    out["mixed-v15-rmcpp"] = inp
    return out


def main():
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(__file__).resolve().parent / "corpus" / "fuzz-ipmi"
    outdir.mkdir(parents=True, exist_ok=True)
    for name, inp in seeds().items():
        (outdir / name).write_bytes(inp.data())
        print(f"{outdir / name}: {len(inp.datagrams)} datagrams")
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
