"""Helpers for vbmc's integration tests: real QEMU nodes, their QMP and
announce sockets, and a private journald.

Run the tests with Debian's Python and pytest, inside a private journal:

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration

The facts these helpers rely on (QEMU command lines, event order, timings)
are in docs/TESTING.md.
"""

import atexit
import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QEMU = os.environ.get("VBMC_QEMU", "qemu-system-x86_64")
DEFAULT_GUEST_DIR = Path(os.environ.get("VBMC_GUEST_DIR", REPO / "build" / "guest"))

# sun_path is 108 bytes including the terminating NUL.
_SUN_PATH_MAX = 107


def wait_until(pred, timeout=10.0, interval=0.05, what=None):
    """Call pred() until it returns a true value, and return that value.

    Raises TimeoutError after `timeout` seconds, naming `what` (or pred).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for "
                               f"{what or getattr(pred, '__name__', pred)}")
        time.sleep(interval)


def kvm_or_tcg():
    """The accelerator to use: 'kvm' only on real hardware virtualisation.

    /dev/kvm may be a software nested hypervisor (kvm_pvm) under which Linux
    guests crash or hang; it shows neither vmx nor svm in /proc/cpuinfo.
    """
    try:
        with open("/proc/cpuinfo") as f:
            words = set(f.read().split())
    except OSError:
        return "tcg"
    if not ({"vmx", "svm"} & words):
        return "tcg"
    if os.path.exists("/sys/module/kvm_pvm"):
        return "tcg"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    return "kvm"


def build_guest(outdir=None):
    """Build (or reuse, it is cached) the tiny test guest; return its dir."""
    outdir = Path(outdir or DEFAULT_GUEST_DIR)
    subprocess.run([str(REPO / "contrib" / "mkguest.sh"), str(outdir)], check=True)
    return outdir


class QmpError(Exception):
    """QEMU answered a command with an error."""

    def __init__(self, cmd, error):
        self.cmd = cmd
        self.error = error
        self.error_class = error.get("class")
        self.desc = error.get("desc", "")
        super().__init__(f"{cmd}: {self.error_class}: {self.desc}")


class _SocketClient:
    """Closing and `with` for the clients below, which hold self.sock."""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class QmpClient(_SocketClient):
    """A small synchronous QMP client.

    Events that arrive while waiting for a reply are kept in `events` (in
    arrival order) for wait_event().
    """

    def __init__(self, path, timeout=10.0):
        self.path = str(path)
        self.timeout = timeout
        self.events = []
        self._buf = b""
        self._id = 0
        self.sock = _connect_unix(self.path, timeout)
        try:
            self.greeting = self._read_msg(timeout)
            # QEMU 7.2 can send an event before the greeting: a client that
            # connects as soon as the socket exists, while the VM is being
            # started, may get RESUME first (the monitor is not yet in
            # capabilities negotiation, which is what holds events back).
            # vbmc's own client copes (worker/qmp.c); so must this one.
            while "event" in self.greeting and "QMP" not in self.greeting:
                self.events.append(self.greeting)
                self.greeting = self._read_msg(timeout)
            if "QMP" not in self.greeting:
                raise ConnectionError(f"{self.path}: not a QMP greeting: {self.greeting}")
            self.cmd("qmp_capabilities")
        except BaseException:
            self.close()
            raise


    def _read_msg(self, timeout):
        """The next JSON message; raises TimeoutError or EOFError."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            # look at the socket at least once, even with no time left:
            # poll_events(0) must read what has already arrived
            left = max(0.0, deadline - time.monotonic())
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                if deadline - time.monotonic() <= 0:
                    raise TimeoutError(f"{self.path}: no QMP message within {timeout}s")
                continue
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"{self.path}: QMP connection closed")
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        line = line.strip()
        if not line:
            return self._read_msg(max(0.0, deadline - time.monotonic()))
        return json.loads(line)

    def cmd(self, name, timeout=None, **args):
        """Run a QMP command, return its 'return' value, raise QmpError."""
        timeout = self.timeout if timeout is None else timeout
        self._id += 1
        msg_id = f"t{self._id}"
        msg = {"execute": name, "id": msg_id}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_msg(max(0.0, deadline - time.monotonic()))
            if "event" in reply:
                self.events.append(reply)
                continue
            if reply.get("id") != msg_id:
                continue  # a late reply to an earlier, timed-out command
            if "error" in reply:
                raise QmpError(name, reply["error"])
            return reply.get("return")

    def poll_events(self, timeout=0.0):
        """Read whatever events are available (waiting up to timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self._read_msg(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return
            if "event" in msg:
                self.events.append(msg)

    def wait_event(self, name, timeout=10.0, match=None):
        """Return (and remove from `events`) the first event called name.

        match, if given, is a function of the event that must return true.
        Events already received count, so an event that came with a
        command's reply is not missed.
        """
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("event") == name and (match is None or match(ev)):
                    del self.events[i]
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [e.get("event") for e in self.events]
                raise TimeoutError(f"no QMP event {name} within {timeout}s "
                                   f"(events pending: {seen})")
            try:
                msg = self._read_msg(left)
            except TimeoutError:
                continue
            if "event" in msg:
                self.events.append(msg)

    def clear_events(self):
        self.poll_events(0)
        self.events.clear()


def _connect_unix(path, timeout, sock_type=socket.SOCK_STREAM):
    """Connect to a unix socket, retrying while its server is starting."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, sock_type)
        try:
            s.connect(str(path))
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
        except BaseException:
            s.close()
            raise


# Every QEMU we start, so nothing outlives the test run even if a test
# forgets to stop one (pytest fixtures stop them; this is the safety net).
_live = set()


@atexit.register
def _kill_all():
    for q in list(_live):
        q.kill()


def _pdeathsig():
    """In the child: get SIGKILL when the test process dies (even by kill -9)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class Qemu:
    """One QEMU node, as placemat would run it for vbmc.

    guest=True boots the tiny test guest (contrib/mkguest.sh) from guest_dir
    with `vbmc_ip=ADDR` on its command line (none if vbmc_ip is None);
    guest=False runs a guest-less QEMU (SeaBIOS idles) that is enough for
    QMP power tests and starts instantly.

    Paths (unique per instance, under workdir):
      announce_path  host side of the guest's /dev/virtio-ports/placemat
      vbmc_qmp_path  QMP socket for the code under test
      test_qmp_path  QMP socket the test itself uses (self.qmp())
      serial_path    the guest's serial console log
      log_path       QEMU's own stdout/stderr
    Without workdir the instance dir is made in $TMPDIR and removed on
    stop()/kill() unless keep=True.
    Always runs with -no-shutdown (see docs/DESIGN.md, "Power semantics").
    """

    def __init__(self, name="node", workdir=None, guest=False, guest_dir=None,
                 vbmc_ip=None, accel=None, memory=None, extra_args=(),
                 extra_append="", start=True, timeout=10.0, keep=False):
        self.name = name
        self.guest = guest
        self.vbmc_ip = vbmc_ip
        self.accel = accel or kvm_or_tcg()
        self.memory = memory or (128 if guest else 64)
        self.extra_args = list(extra_args)
        self.extra_append = extra_append
        self.timeout = timeout
        self.proc = None
        self.client = None
        self._own_workdir = workdir is None
        self.keep = keep
        base = Path(workdir) if workdir is not None else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
        # QEMU deletes its socket files when it exits and sun_path is short:
        # put the sockets in a short private dir if the work dir is too deep.
        self._sockdir = None
        sockdir = self.dir
        if len(str(sockdir / "announce.sock")) > _SUN_PATH_MAX - 8:
            self._sockdir = Path(tempfile.mkdtemp(prefix="vbmc-"))
            sockdir = self._sockdir
        self.announce_path = sockdir / "announce.sock"
        self.vbmc_qmp_path = sockdir / "vbmc.qmp"
        self.test_qmp_path = sockdir / "test.qmp"
        self.serial_path = self.dir / "serial.log"
        self.log_path = self.dir / "qemu.log"
        if guest:
            gdir = Path(guest_dir or DEFAULT_GUEST_DIR)
            kernel_name = (gdir / "KERNEL").read_text().strip()
            self.kernel = gdir / kernel_name
            self.initrd = gdir / "initrd.gz"
            for f in (self.kernel, self.initrd):
                if not f.exists():
                    raise FileNotFoundError(f"{f}: run contrib/mkguest.sh {gdir}")
        if start:
            self.start()

    def argv(self):
        a = [QEMU, "-name", self.name, "-accel", self.accel,
             "-machine", "q35", "-m", str(self.memory),
             "-nodefaults", "-display", "none", "-no-shutdown",
             "-serial", f"file:{self.serial_path}",
             # The announce port exists without a guest too, so code under
             # test can connect to it (and hear nothing).
             "-device", "virtio-serial",
             "-chardev", f"socket,id=pm,path={self.announce_path},server=on,wait=off",
             "-device", "virtserialport,chardev=pm,name=placemat,id=pmport",
             "-qmp", f"unix:{self.vbmc_qmp_path},server=on,wait=off",
             "-qmp", f"unix:{self.test_qmp_path},server=on,wait=off"]
        if self.guest:
            # no_timer_check: under a loaded TCG host the kernel's IO-APIC
            # timer check can fail and panic; panic=1 reboots rather than hangs
            append = "console=ttyS0 quiet no_timer_check panic=1"
            if self.vbmc_ip is not None:
                append += f" vbmc_ip={self.vbmc_ip}"
            if self.extra_append:
                append += " " + self.extra_append
            a += ["-kernel", str(self.kernel), "-initrd", str(self.initrd),
                  "-append", append]
        return a + self.extra_args

    def start(self):
        if self.proc is not None:
            raise RuntimeError(f"{self.name}: already started")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=_pdeathsig)
        _live.add(self)
        try:
            wait_until(lambda: self.proc.poll() is not None or
                       (self.test_qmp_path.exists() and self.vbmc_qmp_path.exists()),
                       self.timeout, 0.01, f"{self.name}: QMP sockets")
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: QEMU exited with {self.proc.returncode}: "
                                   f"{self.log_text()}")
            self.client = QmpClient(self.test_qmp_path, self.timeout)
        except BaseException:
            self.kill()
            raise
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        """Whether the QEMU process is still alive."""
        return self.proc is not None and self.proc.poll() is None

    def qmp(self, cmd, **args):
        """Run a QMP command on the test's own QMP socket."""
        return self.client.cmd(cmd, **args)

    def wait_event(self, name, timeout=10.0, match=None):
        return self.client.wait_event(name, timeout, match)

    @property
    def events(self):
        return self.client.events

    def status(self):
        return self.qmp("query-status")["status"]

    def wait_status(self, status, timeout=10.0):
        last = [None]

        def check():
            last[0] = self.status()
            return last[0] == status
        try:
            wait_until(check, timeout, 0.05)
        except TimeoutError:
            raise TimeoutError(f"{self.name}: status {last[0]!r}, not {status!r} "
                               f"after {timeout}s") from None

    def serial_text(self):
        try:
            return self.serial_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_text(self):
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _reap(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _cleanup(self):
        if self.client is not None:
            self.client.close()
            self.client = None
        _live.discard(self)
        if self._sockdir is not None:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None
        # An instance dir we made in /tmp ourselves is litter once QEMU is
        # gone; one under a caller's workdir (pytest's tmp_path) is kept
        # for post-mortems.
        if self._own_workdir and not self.keep and self.proc is not None \
                and self.proc.poll() is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        """SIGKILL QEMU by pid (a crash, as far as anyone connected sees)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(10)
        self._cleanup()

    def stop(self, timeout=10.0):
        """Terminate QEMU and wait for it; safe to call more than once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self._reap(timeout)
        self._cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<Qemu {self.name} pid={self.pid} dir={self.dir}>"


class FakeAnnounce:
    """A listening unix socket in place of QEMU's announce chardev: the test
    plays the guest and writes whatever it wants (the supervisor connects
    as a client, as it does to QEMU)."""

    def __init__(self, path):
        self.path = str(path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(4)
        self.conn = None

    def accept(self, timeout=15.0):
        """The supervisor's connection (waits for it the first time)."""
        if self.conn is None:
            self.srv.settimeout(timeout)
            self.conn, _ = self.srv.accept()
            self.conn.settimeout(timeout)
        return self.conn

    def send(self, data, timeout=15.0):
        if isinstance(data, str):
            data = data.encode()
        self.accept(timeout).sendall(data)

    def close(self):
        for s in (self.conn, self.srv):
            if s is not None:
                s.close()
        self.conn = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class AnnounceReader(_SocketClient):
    """The host side of a node's announce port, as vbmc's supervisor sees it.

    Connects to QEMU's announce socket and reads the guest's lines.
    """

    def __init__(self, path, timeout=10.0):
        self.path = str(path)
        self.sock = _connect_unix(self.path, timeout)
        self._buf = b""
        self.eof = False

    def readline(self, timeout=10.0):
        """The next line without its newline; TimeoutError or EOFError."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            if self.eof:
                raise EOFError(f"{self.path}: closed (partial: {self._buf!r})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.path}: no line within {timeout}s")
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            data = self.sock.recv(4096)
            if not data:
                self.eof = True
                continue
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")



def _field_value(v):
    """journalctl -o json gives binary fields as arrays of byte values, and
    repeated fields as arrays of those values."""
    if isinstance(v, list):
        if all(isinstance(x, int) for x in v):
            return bytes(v).decode("utf-8", "replace")
        return [_field_value(x) for x in v]
    return v


def _field_matches(value, want):
    want = str(want)
    if isinstance(value, list):
        return want in value
    return value == want


class Journal:
    """Read entries from journald: the private one of tests/run-in-journal-ns.sh
    by default (journalctl there sees only the namespace's journal), or the
    journal files under `directory`."""

    def __init__(self, directory=None):
        self.directory = directory
        self.since_cursor = None

    @staticmethod
    def available():
        """Whether a private journald runs (we are inside run-in-journal-ns.sh)."""
        return (bool(os.environ.get("VBMC_JOURNAL_NS"))
                and os.path.exists("/run/systemd/journal/socket"))

    def mark(self):
        """Later entries() calls only return entries logged after now."""
        out = self._run(["-n", "1", "--show-cursor", "-o", "json"])
        cursor = None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("-- cursor: "):
                cursor = line[len("-- cursor: "):]
        self.since_cursor = cursor

    def _run(self, args):
        cmd = ["journalctl", "--no-pager", "-q"]
        if self.directory:
            cmd.append(f"--directory={self.directory}")
        r = subprocess.run(cmd + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace")
        # journalctl exits 1 when nothing matches a filter; that is no error.
        if r.returncode not in (0, 1):
            raise RuntimeError(f"journalctl failed ({r.returncode}): {r.stderr}")
        return r.stdout

    def entries(self, **fields):
        """Entries whose fields equal the given values, oldest first, as dicts.

        entries(SYSLOG_IDENTIFIER="vbmc-supervisor", VBMC_NODE="boot-0")
        """
        args = ["-o", "json"]
        if self.since_cursor:
            # journalctl 252 skips the first match after the cursor when the
            # cursor's own entry does not match the filter: filter here.
            args += ["--after-cursor", self.since_cursor]
        else:
            args += [f"{k}={v}" for k, v in fields.items()]
        out = self._run(args)
        result = []
        for line in out.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            e = {k: _field_value(v) for k, v in json.loads(line).items()}
            if all(_field_matches(e.get(k), v) for k, v in fields.items()):
                result.append(e)
        return result

    def wait_for(self, timeout=10.0, match=None, **fields):
        """Wait until an entry with these fields (and match(entry)) exists;
        return the first such entry."""
        def find():
            for e in self.entries(**fields):
                if match is None or match(e):
                    return e
            return None
        return wait_until(find, timeout, 0.1, f"journal entry {fields}")
