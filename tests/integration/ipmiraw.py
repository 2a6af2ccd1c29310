"""A small raw IPMI-over-LAN client for tests: RMCP+ (v2.0) and IPMI v1.5.

It does what ipmitool does, but hands every datagram to the test: open a
session (cipher suites 1, 2, 3, 15, 16, 17; 0 on request), send arbitrary
IPMI requests in it, build in-session packets without sending them (to
replay or tamper with), and send raw bytes.  Wire formats and the key
derivation follow the IPMI v2.0 spec, chapter 13 (see docs/IPMI.md).

Only the standard library plus AES-CBC from python3-cryptography.

    raw = RawClient("127.0.11.10", 623)
    s = Session(raw, "admin", "password", suite=17)
    s.login()
    cc, data = s.request(0x06, 0x3b, b"\\x04")      # Set Session Privilege Level
    pkt = s.packet(0x00, 0x02, b"\\x00")           # Chassis Control, not sent
    raw.send(pkt[:-1] + bytes([pkt[-1] ^ 1]))      # tampered AuthCode
    assert raw.recv(1.0) is None
"""

import hashlib
import hmac
import os
import socket
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

RMCP = b"\x06\x00\xff\x07"
ASF_PING = b"\x06\x00\xff\x06\x00\x00\x11\xbe\x80\x00\x00\x00"

# netfns
APP = 0x06
CHASSIS = 0x00

# payload types
PT_IPMI = 0x00
PT_OPEN_REQ = 0x10
PT_OPEN_RESP = 0x11
PT_RAKP1 = 0x12
PT_RAKP2 = 0x13
PT_RAKP3 = 0x14
PT_RAKP4 = 0x15

# suite id: (authentication, integrity, confidentiality) algorithm numbers
SUITES = {
    0: (0, 0, 0),
    1: (1, 0, 0),
    2: (1, 1, 0),
    3: (1, 1, 1),
    15: (3, 0, 0),
    16: (3, 4, 0),
    17: (3, 4, 1),
}

_AUTH_HASH = {1: hashlib.sha1, 3: hashlib.sha256}
_INTEG = {1: (hashlib.sha1, 12), 4: (hashlib.sha256, 16)}

RMCP_STATUS = {
    0x01: "insufficient resources",
    0x02: "invalid session id",
    0x04: "invalid authentication algorithm",
    0x05: "invalid integrity algorithm",
    0x09: "invalid role",
    0x0A: "unauthorized role or privilege level",
    0x0C: "invalid name length",
    0x0D: "unauthorized name",
    0x0F: "invalid integrity check value",
    0x10: "invalid confidentiality algorithm",
    0x11: "no matching cipher suite",
    0x12: "illegal or unrecognized parameter",
}


class IpmiError(Exception):
    """A session step failed: status is the RMCP+ status or completion
    code, None for no answer (timeout)."""

    def __init__(self, what, status=None):
        self.status = status
        if status is None:
            text = f"{what}: no answer"
        else:
            text = f"{what}: status 0x{status:02x} {RMCP_STATUS.get(status, '')}".rstrip()
        super().__init__(text)


# -- primitives ---------------------------------------------------------------

def checksum(data):
    """IPMI two's complement checksum."""
    return (-sum(data)) & 0xFF


def ipmi_msg(netfn, cmd, data=b"", rq_seq=1, rs_addr=0x20, rq_addr=0x81, lun=0):
    """A request message: rsAddr netFn/LUN chk1 rqAddr rqSeq/LUN cmd data chk2."""
    head = bytes([rs_addr, (netfn << 2) | lun])
    body = bytes([rq_addr, (rq_seq << 2) | lun, cmd]) + bytes(data)
    return head + bytes([checksum(head)]) + body + bytes([checksum(body)])


def parse_resp(msg):
    """(netfn, cmd, rq_seq, cc, data) of a response message, or None if
    its checksums or length are wrong."""
    if len(msg) < 8 or checksum(msg[:2]) != msg[2] or checksum(msg[3:-1]) != msg[-1]:
        return None
    return msg[1] >> 2, msg[5], msg[4] >> 2, msg[6], bytes(msg[7:-1])


def auth_hmac(alg, key, data):
    if alg == 0:
        return b""
    return hmac.new(bytes(key), bytes(data), _AUTH_HASH[alg]).digest()


def integ_code(alg, k1, data):
    h, n = _INTEG[alg]
    return hmac.new(bytes(k1), bytes(data), h).digest()[:n]


def aes_encrypt(k2, plain, iv=None):
    """IV || AES-CBC-128(plain || 01 02 .. N || N), key K2[0:16]."""
    iv = os.urandom(16) if iv is None else bytes(iv)
    n = (16 - (len(plain) + 1) % 16) % 16
    data = bytes(plain) + bytes(range(1, n + 1)) + bytes([n])
    enc = Cipher(algorithms.AES(bytes(k2[:16])), modes.CBC(iv)).encryptor()
    return iv + enc.update(data) + enc.finalize()


def aes_decrypt(k2, data):
    """Plain text, or None when the length or pad bytes are wrong."""
    if len(data) < 32 or len(data) % 16:
        return None
    dec = Cipher(algorithms.AES(bytes(k2[:16])), modes.CBC(data[:16])).decryptor()
    out = dec.update(data[16:]) + dec.finalize()
    n = out[-1]
    if n >= 16 or out[-1 - n:-1] != bytes(range(1, n + 1)):
        return None
    return out[:-1 - n]


def md5_authcode(pw16, sid, msg, seq):
    """IPMI v1.5 MD5 AuthCode: MD5(pw16 | SID | msg | seq | pw16)."""
    return hashlib.md5(bytes(pw16) + struct.pack("<I", sid) + bytes(msg) +
                       struct.pack("<I", seq) + bytes(pw16)).digest()


def keys(auth, kuid, rm, rc, role, uname):
    """(SIK, K1, K2) of spec 13.31-13.33: the K constants are 20 bytes
    for every hash."""
    sik = auth_hmac(auth, kuid, bytes(rm) + bytes(rc) + bytes([role, len(uname)]) + uname)
    return sik, auth_hmac(auth, sik, b"\x01" * 20), auth_hmac(auth, sik, b"\x02" * 20)


def rmcpp(ptype, payload, sid=0, seq=0, length=None):
    """A pre-session (or unprotected) RMCP+ packet; length overrides the
    length field (to lie about it)."""
    n = len(payload) if length is None else length
    return (RMCP + bytes([0x06, ptype]) + struct.pack("<IIH", sid, seq, n) +
            bytes(payload))


def v15_packet(msg, authtype=0, seq=0, sid=0, code=b"", length=None):
    n = len(msg) if length is None else length
    return (RMCP + bytes([authtype]) + struct.pack("<II", seq, sid) + bytes(code) +
            bytes([n & 0xFF]) + bytes(msg))


# -- transport ----------------------------------------------------------------

class RawClient:
    """A UDP socket talking to one BMC."""

    def __init__(self, host, port=623, timeout=1.0, bind=None):
        self.addr = (host, port)
        self.timeout = timeout
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        if bind:
            self.sock.bind(bind)
        self.sock.connect(self.addr)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.send(bytes(data))

    def recv(self, timeout=None):
        """The next datagram, or None after timeout seconds."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            return self.sock.recv(65536)
        except (socket.timeout, BlockingIOError, ConnectionRefusedError):
            return None

    def drain(self):
        """Throw away whatever is queued."""
        while self.recv(0.0) is not None:
            pass

    def exchange(self, data, timeout=None, retries=0):
        """Send and wait for one answer (None if none came)."""
        for _ in range(retries + 1):
            self.send(data)
            r = self.recv(timeout)
            if r is not None:
                return r
        return None

    # -- pre-session requests --------------------------------------------

    def ping(self, timeout=None):
        """ASF presence ping; True when the pong came."""
        r = self.exchange(ASF_PING, timeout)
        return r is not None and r[:4] == b"\x06\x00\xff\x06" and r[8] == 0x40

    def presession(self, netfn, cmd, data=b"", v2=False, timeout=None, rq_seq=1):
        """A request outside any session: (cc, data), or None.  v2 sends
        it in RMCP+ format (as ipmitool does Get Channel Cipher Suites)."""
        m = ipmi_msg(netfn, cmd, data, rq_seq)
        pkt = rmcpp(PT_IPMI, m) if v2 else v15_packet(m)
        r = self.exchange(pkt, timeout)
        if r is None or r[:4] != RMCP:
            return None
        if v2:
            if len(r) < 16 or r[4] != 0x06:
                return None
            msg = r[16:16 + struct.unpack_from("<H", r, 14)[0]]
        else:
            off = 13 + (16 if r[4] else 0)
            if len(r) <= off:
                return None
            msg = r[off + 1:off + 1 + r[off]]
        p = parse_resp(msg)
        if p is None or p[1] != cmd:
            return None
        return p[3], p[4]

    def auth_caps(self, v2=True, priv=4):
        return self.presession(APP, 0x38, bytes([0x8E if v2 else 0x0E, priv]))

    def cipher_suites(self):
        """The suite ids Get Channel Cipher Suites lists."""
        recs = b""
        for idx in range(16):
            r = self.presession(APP, 0x54, bytes([0x0E, 0x00, 0x80 | idx]), v2=True)
            if r is None or r[0] != 0:
                break
            recs += r[1][1:]
            if len(r[1]) - 1 < 16:
                break
        ids, i = [], 0
        while i + 1 < len(recs):
            if recs[i] == 0xC0:
                ids.append(recs[i + 1])
                i += 5
            elif recs[i] == 0xC1:
                ids.append(recs[i + 1])
                i += 8
            else:
                i += 1
        return ids


# -- RMCP+ session --------------------------------------------------------------

class Session:
    """One RMCP+ session.  Attributes after login(): sid_bmc (the BMC's
    session id, which requests go to), sid_console, sik, k1, k2."""

    _next_sid = 0xA0A2A3A4

    def __init__(self, raw, user, password, suite=3, role=0x14, priv=0, tag=0,
                 console_sid=None, timeout=None):
        self.raw = raw
        self.user = user.encode() if isinstance(user, str) else bytes(user)
        self.kuid = password.encode() if isinstance(password, str) else bytes(password)
        self.suite = suite
        self.auth, self.integ, self.conf = SUITES[suite]
        self.role = role
        self.priv = priv
        self.tag = tag
        if console_sid is None:
            Session._next_sid = (Session._next_sid + 0x101) & 0xFFFFFFFF or 1
            console_sid = Session._next_sid
        self.sid_console = console_sid
        self.sid_bmc = 0
        self.timeout = timeout
        self.rm = os.urandom(16)
        self.rc = b""
        self.guid = b""
        self.sik = self.k1 = self.k2 = b""
        self.max_priv = None
        self.seq = 0          # last in-session sequence number sent
        self.rq_seq = 0
        self.active = False

    # -- set-up ------------------------------------------------------------

    def _setup(self, ptype, payload, want):
        r = self.raw.exchange(rmcpp(ptype, payload), self.timeout)
        if r is None or len(r) < 16 or r[:4] != RMCP or r[4] != 0x06 or r[5] != want:
            return None
        return r[16:16 + struct.unpack_from("<H", r, 14)[0]]

    def open_request(self):
        """The Open Session Request payload (32 bytes)."""
        p = bytes([self.tag, self.priv, 0, 0]) + struct.pack("<I", self.sid_console)
        for t, alg in enumerate((self.auth, self.integ, self.conf)):
            p += bytes([t, 0, 0, 8, alg, 0, 0, 0])
        return p

    def open(self):
        r = self._setup(PT_OPEN_REQ, self.open_request(), PT_OPEN_RESP)
        if r is None or len(r) < 2:
            raise IpmiError("Open Session")
        if r[1] != 0:
            raise IpmiError("Open Session", r[1])
        if len(r) < 12 or r[0] != self.tag:
            raise IpmiError("Open Session: malformed answer", -1)
        self.max_priv = r[2]
        self.sid_bmc = struct.unpack_from("<I", r, 8)[0]
        return r

    def rakp1_payload(self, name=None, ulen=None):
        name = self.user if name is None else name
        ulen = len(name) if ulen is None else ulen
        return (bytes([self.tag, 0, 0, 0]) + struct.pack("<I", self.sid_bmc) + self.rm +
                bytes([self.role, 0, 0, ulen & 0xFF]) + name)

    def rakp1(self):
        r = self._setup(PT_RAKP1, self.rakp1_payload(), PT_RAKP2)
        if r is None or len(r) < 2:
            raise IpmiError("RAKP 1")
        if r[1] != 0:
            raise IpmiError("RAKP 2", r[1])
        self.rc, self.guid = r[8:24], r[24:40]
        want = auth_hmac(self.auth, self.kuid,
                         struct.pack("<II", self.sid_console, self.sid_bmc) + self.rm +
                         self.rc + self.guid + bytes([self.role, len(self.user)]) + self.user)
        if not hmac.compare_digest(want, r[40:]):
            raise IpmiError("RAKP 2 HMAC does not match the password", 0x0F)
        return r

    def rakp3_payload(self, status=0):
        code = auth_hmac(self.auth, self.kuid,
                         self.rc + struct.pack("<I", self.sid_console) +
                         bytes([self.role, len(self.user)]) + self.user)
        return bytes([self.tag, status, 0, 0]) + struct.pack("<I", self.sid_bmc) + code

    def rakp3(self):
        r = self._setup(PT_RAKP3, self.rakp3_payload(), PT_RAKP4)
        if r is None or len(r) < 2:
            raise IpmiError("RAKP 3")
        if r[1] != 0:
            raise IpmiError("RAKP 4", r[1])
        self.sik, self.k1, self.k2 = keys(self.auth, self.kuid, self.rm, self.rc, self.role,
                                          self.user)
        if self.auth:
            n = 12 if self.auth == 1 else 16
            icv = auth_hmac(self.auth, self.sik,
                            self.rm + struct.pack("<I", self.sid_bmc) + self.guid)[:n]
            if not hmac.compare_digest(icv, r[8:]):
                raise IpmiError("RAKP 4 integrity check value is wrong", 0x0F)
        self.active = True
        self.seq = 0
        return r

    def login(self, priv=None):
        """Open Session, RAKP 1-4; then Set Session Privilege Level when
        priv is given.  Raises IpmiError."""
        self.open()
        self.rakp1()
        self.rakp3()
        if priv is not None:
            self.request_ok(APP, 0x3B, bytes([priv]))
        return self

    # -- in session ------------------------------------------------------------

    def packet(self, netfn, cmd, data=b"", seq=None, rq_seq=None, iv=None, msg=None):
        """An in-session request datagram, not sent.  seq defaults to the
        next sequence number (and is consumed)."""
        if seq is None:
            self.seq = (self.seq + 1) & 0xFFFFFFFF or 1
            seq = self.seq
        if rq_seq is None:
            self.rq_seq = (self.rq_seq + 1) & 0x3F
            rq_seq = self.rq_seq
        if msg is None:
            msg = ipmi_msg(netfn, cmd, data, rq_seq)
        return self.wrap(msg, seq, iv)

    def wrap(self, payload, seq, iv=None, ptype=PT_IPMI):
        ptype |= (0x80 if self.conf else 0) | (0x40 if self.integ else 0)
        body = aes_encrypt(self.k2, payload, iv) if self.conf else bytes(payload)
        pkt = RMCP + bytes([0x06, ptype]) + struct.pack("<IIH", self.sid_bmc, seq,
                                                         len(body)) + body
        if self.integ:
            pad = (4 - (len(pkt) - 4 + 2) % 4) % 4
            pkt += b"\xff" * pad + bytes([pad, 0x07])
            pkt += integ_code(self.integ, self.k1, pkt[4:])
        return pkt

    def reauth(self, pkt):
        """The same packet with its AuthCode recomputed (after tampering)."""
        if not self.integ:
            return pkt
        n = _INTEG[self.integ][1]
        body = pkt[:-n]
        return body + integ_code(self.integ, self.k1, body[4:])

    def unwrap(self, pkt):
        """The message in an answer to this session (verified, decrypted),
        or None."""
        if len(pkt) < 16 or pkt[:4] != RMCP or pkt[4] != 0x06:
            return None
        if struct.unpack_from("<I", pkt, 6)[0] != self.sid_console:
            return None
        plen = struct.unpack_from("<H", pkt, 14)[0]
        if self.integ:
            n = _INTEG[self.integ][1]
            body = pkt[:-n]
            if not hmac.compare_digest(integ_code(self.integ, self.k1, body[4:]), pkt[-n:]):
                return None
        payload = pkt[16:16 + plen]
        if self.conf:
            return aes_decrypt(self.k2, payload)
        return payload

    def request(self, netfn, cmd, data=b"", timeout=None, retries=0):
        """(cc, data) of an in-session request, or None without answer."""
        pkt = self.packet(netfn, cmd, data)
        rq = self.rq_seq
        deadline = time.monotonic() + (self.raw.timeout if timeout is None else timeout) * \
            (retries + 1)
        self.raw.send(pkt)
        tries = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r = self.raw.recv(min(left, self.raw.timeout if timeout is None else timeout))
            if r is None:
                tries += 1
                if tries > retries:
                    return None
                self.raw.send(pkt)
                continue
            m = self.unwrap(r)
            p = parse_resp(m) if m else None
            if p and p[1] == cmd and p[2] == rq:
                return p[3], p[4]

    def request_ok(self, netfn, cmd, data=b"", **kw):
        r = self.request(netfn, cmd, data, **kw)
        if r is None:
            raise IpmiError(f"request {netfn:02x}/{cmd:02x}")
        if r[0] != 0:
            raise IpmiError(f"request {netfn:02x}/{cmd:02x}", r[0])
        return r

    def close(self):
        r = self.request(APP, 0x3C, struct.pack("<I", self.sid_bmc))
        self.active = False
        return r


# -- IPMI v1.5 session ----------------------------------------------------------

class V15Session:
    """An IPMI v1.5 session with MD5 (2), straight password (4) or none (0)."""

    def __init__(self, raw, user, password, authtype=2, timeout=None):
        self.raw = raw
        name = user.encode() if isinstance(user, str) else bytes(user)
        self.user16 = name[:16].ljust(16, b"\0")
        pw = password.encode() if isinstance(password, str) else bytes(password)
        self.pw16 = pw[:16].ljust(16, b"\0")
        self.authtype = authtype
        self.timeout = timeout
        self.sid = 0
        self.seq = 0
        self.rq_seq = 0

    def code(self, sid, msg, seq):
        if self.authtype == 2:
            return md5_authcode(self.pw16, sid, msg, seq)
        if self.authtype == 4:
            return self.pw16
        return b""

    def packet(self, netfn, cmd, data=b"", seq=None, sid=None, msg=None):
        if seq is None:
            seq = self.seq
            self.seq = (self.seq + 1) & 0xFFFFFFFF
        sid = self.sid if sid is None else sid
        if msg is None:
            self.rq_seq = (self.rq_seq + 1) & 0x3F
            msg = ipmi_msg(netfn, cmd, data, self.rq_seq)
        return v15_packet(msg, self.authtype, seq, sid, self.code(sid, msg, seq))

    def _answer(self, r):
        if r is None or len(r) < 14 or r[:4] != RMCP:
            return None
        at = r[4]
        off = 13 + (16 if at else 0)
        if len(r) <= off:
            return None
        msg = r[off + 1:off + 1 + r[off]]
        if at == 2:
            seq, sid = struct.unpack_from("<II", r, 5)
            if md5_authcode(self.pw16, sid, msg, seq) != r[13:29]:
                return None
        return parse_resp(msg)

    def login(self, priv=4):
        r = self.raw.presession(APP, 0x39, bytes([self.authtype]) + self.user16,
                                timeout=self.timeout)
        if r is None:
            raise IpmiError("Get Session Challenge")
        if r[0] != 0:
            raise IpmiError("Get Session Challenge", r[0])
        self.sid = struct.unpack_from("<I", r[1])[0]
        challenge = r[1][4:20]
        self.rq_seq = (self.rq_seq + 1) & 0x3F
        msg = ipmi_msg(APP, 0x3A, bytes([self.authtype, priv]) + challenge +
                       struct.pack("<I", 1), self.rq_seq)
        p = self._answer(self.raw.exchange(self.packet(0, 0, seq=0, msg=msg), self.timeout))
        if p is None:
            raise IpmiError("Activate Session")
        if p[3] != 0:
            raise IpmiError("Activate Session", p[3])
        self.sid = struct.unpack_from("<I", p[4], 1)[0]
        self.seq = struct.unpack_from("<I", p[4], 5)[0]
        return self

    def request(self, netfn, cmd, data=b"", timeout=None):
        pkt = self.packet(netfn, cmd, data)
        p = self._answer(self.raw.exchange(pkt, timeout))
        if p is None or p[1] != cmd:
            return None
        return p[3], p[4]
