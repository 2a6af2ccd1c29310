"""Security proof: secrets never logged, secret files 0600, TLS 1.2+ with
strong ciphers only, the generated certificate as served (SAN, key, validity,
the same one after a worker crash and a supervisor restart), a node's
sessions are worthless on another node, and the worker holds no writable
file.

Covered elsewhere (docs/RELIABILITY.md lists them all): seccomp allow-list
and its self-test, no capabilities, uid/gid, no_new_privs
(test_ops.test_worker_sandbox, test_sandbox_selftest); the control socket
refuses an unprivileged uid (test_ops.test_control_socket_permissions);
IPMI cipher suite 0 and auth type none off by default
(test_ipmi_hostile.test_cipher_suite_0_refused, test_auth_none_refused,
test_ipmi_clients.test_cipher_suite_0_refused); Redfish failed-login brake
(test_redfish.test_failed_logins_rate_limited).

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_security.py

BMC addresses of this file: 127.0.14.0/24.
"""

import base64
import datetime
import hashlib
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import Supervisor, shut_down  # noqa: E402
from ipmiraw import APP, RawClient, Session, V15Session  # noqa: E402
from test_hostile import FakeAnnounce, fake_node  # noqa: E402
from vbmctest import Journal, Qemu, wait_until  # noqa: E402

NET = "127.0.14.0/24"
ADDR = {"sa": "127.0.14.10", "sb": "127.0.14.11"}
ADMIN_PW = "Adm1n-s3cret-XyZ"
OP_USER, OP_PW = "oper", "0per-s3cret-QwE"
WRONG_PW = "Wr0ng-guess-PlK"
SYSTEM = "/redfish/v1/Systems/System.Embedded.1"
SESSIONS = "/redfish/v1/SessionService/Sessions"

_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE


class Nodes:
    def __init__(self, tmp):
        self.qemus = {n: Qemu(n, tmp / "q") for n in ADDR}
        self.ann = {n: FakeAnnounce(tmp / f"{n}.ann") for n in ADDR}
        (tmp / "sup").mkdir()
        self.journal = Journal() if Journal.available() else None
        if self.journal:
            self.journal.mark()
        self.sup = Supervisor({n: fake_node(q, self.ann[n].path) for n, q in self.qemus.items()},
                              networks=(NET,), workdir=tmp / "sup", password=ADMIN_PW,
                              users=[(OP_USER, OP_PW, "operator")])
        for n, a in ADDR.items():
            self.ann[n].send(a + "\n")
        for n, a in ADDR.items():
            self.sup.wait_node(n, address=a, state="serving", power="on")

    def close(self):
        shut_down(self.sup, self.ann.values(), self.qemus.values())

    def rf(self, node, method, path, body=None, user="admin", password=ADMIN_PW, token=None):
        c = http.client.HTTPSConnection(ADDR[node], self.sup.redfish_port, context=_TLS,
                                        timeout=15)
        try:
            h = {}
            if token:
                h["X-Auth-Token"] = token
            elif user is not None:
                h["Authorization"] = "Basic " + base64.b64encode(
                    f"{user}:{password}".encode()).decode()
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            r.read()
            return r.status, dict(r.getheaders())
        finally:
            c.close()

    def ipmitool(self, node, *args, iface="lanplus", user="admin", password=ADMIN_PW):
        priv = ["-L", "OPERATOR"] if user == OP_USER else []
        return subprocess.run(["ipmitool", "-I", iface, "-H", ADDR[node], "-p",
                               str(self.sup.ipmi_port), "-U", user, "-P", password, *priv,
                               *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    n = Nodes(tmp_path_factory.mktemp("security"))
    try:
        yield n
    finally:
        n.close()


# ------------------------------------------------------------ secrets in logs

def _pem_body_lines(path):
    return [ln for ln in Path(path).read_text().splitlines()
            if ln and not ln.startswith("-----")]


def test_secrets_never_logged(nodes):
    sup = nodes.sup
    tokens = []
    # IPMI: wrong and right, v2.0 (several suites) and v1.5, both users
    for suite in ("3", "17"):
        r = nodes.ipmitool("sa", "-C", suite, "chassis", "power", "status", password=WRONG_PW)
        assert r.returncode != 0
        r = nodes.ipmitool("sa", "-C", suite, "chassis", "power", "status")
        assert r.returncode == 0, r
    r = nodes.ipmitool("sa", "chassis", "power", "status", iface="lan", password=WRONG_PW)
    assert r.returncode != 0
    r = nodes.ipmitool("sa", "chassis", "power", "status", iface="lan")
    assert r.returncode == 0, r
    r = nodes.ipmitool("sb", "chassis", "power", "status", user=OP_USER, password=OP_PW)
    assert r.returncode == 0, r
    r = nodes.ipmitool("sb", "chassis", "power", "status", user=OP_USER, password=WRONG_PW)
    assert r.returncode != 0
    # Redfish: Basic wrong and right, session login wrong and right
    assert nodes.rf("sa", "GET", SYSTEM, password=WRONG_PW)[0] == 401
    assert nodes.rf("sa", "GET", SYSTEM)[0] == 200
    assert nodes.rf("sb", "GET", SYSTEM, user=OP_USER, password=OP_PW)[0] == 200
    st, _ = nodes.rf("sa", "POST", SESSIONS, {"UserName": "admin", "Password": WRONG_PW},
                     user=None)
    assert st == 401
    st, h = nodes.rf("sa", "POST", SESSIONS, {"UserName": "admin", "Password": ADMIN_PW},
                     user=None)
    assert st == 201, st
    tokens.append(h["X-Auth-Token"])
    assert nodes.rf("sa", "GET", SYSTEM, token=tokens[0])[0] == 200
    # a reload and a worker restart re-send the configuration (passwords
    # and key) over the channel: nothing of it may be logged either
    sup.signal(1)
    old = sup.node("sa")["pid"]
    os.kill(old, 9)
    # the new worker, not the killed one's last status, with its config in
    sup.wait_node("sa", 15, old_pid=old, state="serving", power="on")

    key_files = sorted((sup.dir / "state" / "tls").glob("*.key"))
    assert key_files, "no generated key"
    secrets = {"admin password": ADMIN_PW, "operator password": OP_PW,
               "wrong password": WRONG_PW}
    for pw in (ADMIN_PW, OP_PW):
        secrets[f"hex of {pw}"] = pw.encode().hex()
        secrets[f"base64 of {pw}"] = base64.b64encode(pw.encode()).decode()
    for t in tokens:
        secrets["session token"] = t
    for kf in key_files:
        for i, ln in enumerate(_pem_body_lines(kf)):
            if len(ln) >= 16:
                secrets[f"{kf.name} line {i}"] = ln

    texts = {"supervisor stderr": sup.log_text()}
    if nodes.journal:
        entries = nodes.journal.entries()
        ours = [e for e in entries if e.get("SYSLOG_IDENTIFIER") in
                ("vbmc-supervisor", "vbmc-worker")]
        assert ours, "nothing logged to the journal"
        texts["journal"] = "\n".join(json.dumps(e) for e in ours)
        # the failures are logged (user and address), just not the secret
        assert any("admin" in e.get("MESSAGE", "") and
                   ("fail" in e.get("MESSAGE", "").lower() or
                    "wrong" in e.get("MESSAGE", "").lower() or
                    "denied" in e.get("MESSAGE", "").lower())
                   for e in ours), texts["journal"][-3000:]
    for where, text in texts.items():
        for what, secret in secrets.items():
            assert secret not in text, f"{what} appears in the {where}"
    # nor in what the CLI shows
    out = sup.cli("status", "--json").stdout
    for what, secret in secrets.items():
        assert secret not in out, f"{what} in status --json"


def test_secret_files_0600(nodes):
    d = nodes.sup.dir / "state"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "tls").stat().st_mode) == 0o700
    files = [d / "nodes.json"] + sorted((d / "tls").iterdir())
    assert len(files) >= 1 + 2 * len(ADDR), files
    for f in files:
        st = f.stat()
        assert stat.S_ISREG(st.st_mode), f
        assert stat.S_IMODE(st.st_mode) == 0o600, (f, oct(st.st_mode))
        assert st.st_uid == 0, f
    sock = nodes.sup.dir / "run" / "control.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600


# ------------------------------------------------------------------- TLS

def s_client(node_port, *args, addr=ADDR["sa"]):
    r = subprocess.run(["openssl", "s_client", "-connect", f"{addr}:{node_port}",
                        "-servername", addr, *args], input="", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    # "New, TLSv1.3, Cipher is X": the SSL-Session block with "Protocol :"
    # is not always printed for TLS 1.3 (no session ticket comes)
    m = re.search(r"New, (\S+), Cipher is (\S+)", r.stdout)
    if not m or m.group(2) == "(NONE)":
        return None, None, r.stdout
    return m.group(2), m.group(1), r.stdout


# the client must be able to offer the old protocols itself, or the test
# proves nothing about the server: seclevel 0 lifts Debian's client floor
OLD = "ALL:@SECLEVEL=0"


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_tls_old_protocols_refused(nodes, flag):
    cipher, proto, out = s_client(nodes.sup.redfish_port, flag, "-cipher", OLD)
    assert cipher is None, out
    assert "no protocols available" not in out, "the client refused by itself: " + out
    # the client did offer it (its ClientHello went out) and the server
    # answered with an alert or by closing: no ServerHello
    assert re.search(r"written [1-9]\d* bytes", out), out
    assert re.search(r"alert protocol version|unsupported protocol|wrong version|"
                     r"has read 0 bytes", out, re.I), out


@pytest.mark.parametrize("flag,want", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_tls_modern_protocols(nodes, flag, want):
    cipher, proto, out = s_client(nodes.sup.redfish_port, flag)
    assert cipher, out
    assert proto == want, out
    if want == "TLSv1.2":
        assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher


def test_tls12_weak_ciphers_refused(nodes):
    """Every TLS 1.2 suite this OpenSSL knows, offered alone: only ECDHE
    with AES-GCM or ChaCha20 gets a handshake."""
    out = subprocess.run(["openssl", "ciphers", "-s", "-tls1_2", OLD], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    suites = [c for c in out.split(":") if c and not c.startswith("TLS_")]
    assert len(suites) > 40, suites
    accepted = []
    for c in suites:
        cipher, _, _ = s_client(nodes.sup.redfish_port, "-tls1_2", "-cipher",
                                f"{c}:@SECLEVEL=0")
        if cipher:
            accepted.append(cipher)
    print(f"TLS 1.2: {len(suites)} suites offered one by one, accepted: {accepted}")
    assert accepted, "no TLS 1.2 suite at all"
    for c in accepted:
        assert c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c), c
    for weak in ("RC4", "3DES", "DES-CBC", "NULL", "EXPORT", "MD5", "ADH", "AECDH", "PSK",
                 "SRP", "CBC", "SHA:"):
        assert not any(weak in c for c in accepted), (weak, accepted)


# ------------------------------------------ the generated certificate

CERT_NODE, CERT_ADDR = "scert", "127.0.14.30"
# supervisor/tls.c, docs/REDFISH.md "TLS": valid 825 days from an hour ago
CERT_VALID = datetime.timedelta(days=825, hours=1)


@pytest.fixture(scope="module")
def cert_node(tmp_path_factory):
    """A supervisor of its own with one guest-less node, so that its worker
    and the supervisor itself can be killed and restarted without
    disturbing the other tests' nodes."""
    tmp = tmp_path_factory.mktemp("cert")
    q = Qemu(CERT_NODE, tmp / "q")
    ann = FakeAnnounce(tmp / "cert.ann")
    sup = None
    try:
        (tmp / "sup").mkdir()
        sup = Supervisor({CERT_NODE: fake_node(q, ann.path)}, networks=(NET,),
                         workdir=tmp / "sup", password=ADMIN_PW)
        ann.send(CERT_ADDR + "\n")
        sup.wait_node(CERT_NODE, address=CERT_ADDR, state="serving")
        yield sup
    finally:
        if sup is not None:
            sup.stop()
        ann.close()
        q.stop()


def served_cert(addr, port, timeout=15):
    """The DER certificate a TLS handshake with addr:port presents
    (retried while the port is not listening yet)."""
    def get():
        try:
            with socket.create_connection((addr, port), timeout=5) as raw:
                with _TLS.wrap_socket(raw, server_hostname=addr) as s:
                    return s.getpeercert(binary_form=True)
        except OSError:
            return None
    return wait_until(get, timeout, 0.1, f"a TLS handshake with {addr}:{port}")


def test_generated_certificate_served_and_kept(cert_node):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    sup = cert_node
    der = served_cert(CERT_ADDR, sup.redfish_port)
    cert = x509.load_der_x509_certificate(der)
    fp = hashlib.sha256(der).hexdigest()
    print(f"served certificate sha256 {fp}, serial {cert.serial_number:x}")

    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(CERT_ADDR)], san
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        assert key.curve.name == "secp256r1", key.curve.name
    else:
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048, key
    now = datetime.datetime.utcnow()
    assert cert.not_valid_before <= now < cert.not_valid_after, \
        (cert.not_valid_before, now, cert.not_valid_after)
    assert cert.not_valid_after - cert.not_valid_before == CERT_VALID, \
        (cert.not_valid_before, cert.not_valid_after)
    # made minutes ago (backdated an hour), not reused from somewhere else
    assert now - cert.not_valid_before < datetime.timedelta(hours=1, minutes=10)
    # a random serial of 16 bytes, positive
    assert cert.serial_number > 0 and cert.serial_number.bit_length() > 120, \
        hex(cert.serial_number)
    # a server leaf, self-signed with its own key
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is False
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert cert.issuer == cert.subject
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(cert.signature_hash_algorithm))

    # what is served is what the supervisor keeps, 0600, with its key
    tls_dir = sup.dir / "state" / "tls"
    crt_file, key_file = tls_dir / f"{CERT_NODE}.crt", tls_dir / f"{CERT_NODE}.key"
    for f in (crt_file, key_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f, oct(f.stat().st_mode))
    stored = x509.load_pem_x509_certificate(crt_file.read_bytes())
    assert stored.public_bytes(serialization.Encoding.DER) == der
    priv = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    assert priv.public_key().public_bytes(serialization.Encoding.DER, pub) == \
        key.public_bytes(serialization.Encoding.DER, pub)
    mtime = crt_file.stat().st_mtime_ns

    # 1. the worker killed: the new one serves the same certificate
    old = sup.node(CERT_NODE)
    os.kill(old["pid"], signal.SIGKILL)
    sup.wait_node(CERT_NODE, 15, old_pid=old["pid"], state="serving")
    der2 = served_cert(CERT_ADDR, sup.redfish_port)
    assert hashlib.sha256(der2).hexdigest() == fp, "another certificate after kill -9"

    # 2. the supervisor restarted: read back from the state directory
    before = sup.node(CERT_NODE)["pid"]
    assert sup.stop() == 0
    sup.start()
    sup.wait_node(CERT_NODE, 30, old_pid=before, state="serving", address=CERT_ADDR)
    der3 = served_cert(CERT_ADDR, sup.redfish_port)
    assert hashlib.sha256(der3).hexdigest() == fp, "another certificate after a restart"
    assert crt_file.stat().st_mtime_ns == mtime, "the certificate file was rewritten"


# ------------------------------------------------------------ isolation

def test_redfish_session_is_per_node(nodes):
    st, h = nodes.rf("sa", "POST", SESSIONS, {"UserName": "admin", "Password": ADMIN_PW},
                     user=None)
    assert st == 201
    tok = h["X-Auth-Token"]
    assert nodes.rf("sa", "GET", SYSTEM, token=tok)[0] == 200
    assert nodes.rf("sb", "GET", SYSTEM, token=tok)[0] == 401
    # and sb's own token does not work on sa
    st, h = nodes.rf("sb", "POST", SESSIONS, {"UserName": "admin", "Password": ADMIN_PW},
                     user=None)
    assert st == 201
    assert nodes.rf("sa", "GET", SYSTEM, token=h["X-Auth-Token"])[0] == 401
    assert nodes.rf("sb", "GET", SYSTEM, token=h["X-Auth-Token"])[0] == 200


@pytest.mark.parametrize("suite", [3, 17])
def test_ipmi_session_is_per_node(nodes, suite):
    """A session (id and keys) established on sa, replayed against sb's
    address: sb does not know it and stays silent."""
    port = nodes.sup.ipmi_port
    with RawClient(ADDR["sa"], port, 1.0) as ra:
        s = Session(ra, "admin", ADMIN_PW, suite, 0x14).login(priv=4)
        assert s.request_ok(APP, 0x01)[0] == 0
        with RawClient(ADDR["sb"], port, 1.0) as rb:
            s.raw = rb
            assert s.request(APP, 0x01, timeout=1.0) is None
        s.raw = ra
        assert s.request_ok(APP, 0x01)[0] == 0
        s.close()


def test_ipmi_v15_session_is_per_node(nodes):
    port = nodes.sup.ipmi_port
    with RawClient(ADDR["sa"], port, 1.0) as ra:
        s = V15Session(ra, "admin", ADMIN_PW, authtype=2)
        s.login()
        assert s.request(APP, 0x01)[0] == 0
        with RawClient(ADDR["sb"], port, 1.0) as rb:
            s.raw = rb
            assert s.request(APP, 0x01, timeout=1.0) is None


# -------------------------------------------------------- worker's files

def test_worker_holds_no_writable_file(nodes):
    """Besides stdio inherited from the supervisor (under systemd: journald
    stream sockets; in these tests the supervisor's log file), a worker
    holds only sockets, pipes and anon inodes: nothing it could write to
    on disk, and it cannot open anything (seccomp)."""
    sup = nodes.sup
    for n in ADDR:
        pid = sup.node(n)["pid"]
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith(("socket:", "pipe:", "anon_inode:")):
                continue
            if target == "/dev/null":
                continue
            assert fd in ("1", "2"), (n, fd, target)
            assert os.stat(f"/proc/{pid}/fd/{fd}") == \
                os.stat(f"/proc/{sup.proc.pid}/fd/{fd}"), (n, fd, target)
        status = dict(ln.split(":", 1) for ln in
                      Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in ln)
        assert int(status["CapEff"].strip(), 16) == 0
        assert status["Seccomp"].strip() == "2"
