"""A private vbmc-supervisor for integration tests: writes its config, runs
it against real QEMU nodes (vbmctest.Qemu) and drives its CLI."""

import itertools
import json
import os
import random
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from vbmctest import REPO, Journal, wait_until

BUILD = Path(os.environ.get("VBMC_BUILD_DIR", REPO / "build"))
SUPERVISOR = BUILD / "supervisor" / "vbmc-supervisor"
WORKER = BUILD / "worker" / "vbmc-worker"

# Each supervisor gets its own ports, so that a test never trips over a
# socket another test left in TIME_WAIT.
_ports = itertools.count(random.randrange(20000, 40000, 2), 2)


class Supervisor:
    def __init__(self, nodes, networks=("127.0.10.0/24",), workdir=None,
                 interface=None, start=True, env=None, password="s3cret-pw",
                 users=(), extra_config=()):
        """nodes: {name: Qemu}.  The Qemu objects give the socket paths.

        users: extra (name, password, role) besides admin, role one of
        administrator, operator, readonly.  extra_config: more top-level
        config lines, e.g. "ipmi: {cipher-suite-0: true}"."""
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="vbmc-sup-"))
        self.nodes = dict(nodes)
        self.networks = list(networks)
        self.interface = interface
        self.ipmi_port = next(_ports)
        self.redfish_port = self.ipmi_port + 1
        self.config = self.dir / "vbmc.yml"
        self.log = self.dir / "supervisor.log"
        self.password = password
        self.env = dict(env or {})
        self.proc = None
        self.users = list(users)
        self.extra_config = list(extra_config)
        pw = self.dir / "admin.pass"
        pw.write_text(password + "\n")
        pw.chmod(0o600)
        for name, upw, _ in self.users:
            f = self.dir / f"{name}.pass"
            f.write_text(upw + "\n")
            f.chmod(0o600)
        self.write_config()
        if start:
            self.start()

    # -- configuration -------------------------------------------------
    def write_config(self, nodes=None):
        if nodes is not None:
            self.nodes = dict(nodes)
        lines = [
            # quoted: an unquoted "::1/128" is not valid YAML
            "networks: [%s]" % ", ".join('"%s"' % n.strip('"') for n in self.networks),
            "ports: {ipmi: %d, redfish: %d}" % (self.ipmi_port, self.redfish_port),
            f"state-dir: {self.dir}/state",
            f"run-dir: {self.dir}/run",
            "users:",
            "  - {name: admin, password-file: admin.pass, role: administrator}",
        ]
        lines += [f"  - {{name: {name}, password-file: {name}.pass, role: {role}}}"
                  for name, _, role in self.users]
        lines += self.extra_config
        if self.interface:
            lines.append(f"interface: {self.interface}")
        lines.append("nodes:")
        for name, q in self.nodes.items():
            lines += [f"  - name: {name}",
                      f"    qmp: {q.vbmc_qmp_path}",
                      f"    announce: {q.announce_path}"]
        self.config.write_text("\n".join(lines) + "\n")

    # -- process -------------------------------------------------------
    def start(self):
        env = dict(os.environ)
        env.setdefault("VBMC_LOG", "journal" if Journal.available() else "stderr")
        env.update(self.env)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([str(SUPERVISOR), "run", "-c", str(self.config), "-v"],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: (self.dir / "run" / "control.sock").exists() or
                   self.proc.poll() is not None, 10, what="control socket")
        if self.proc.poll() is not None:
            raise RuntimeError(f"supervisor exited: {self.log.read_text()}")
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._kill_workers()
        return self.proc.returncode if self.proc else None

    def kill(self):
        """SIGKILL the supervisor only (its workers notice and exit)."""
        self.proc.kill()
        self.proc.wait()

    def _kill_workers(self):
        # Belt and braces: no worker of ours may outlive the test.
        for pid in self.worker_pids_all():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def worker_pids_all(self):
        """Every vbmc-worker whose node is one of ours, by /proc scan."""
        pids = []
        names = set(self.nodes)
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (argv and argv[0].endswith(b"vbmc-worker") and len(argv) > 2
                    and argv[2].decode(errors="replace") in names
                    and self._is_ours(d)):
                pids.append(int(d.name))
        return pids

    def _is_ours(self, procdir):
        # a worker's parent is our supervisor, or init once it was orphaned
        try:
            stat = (procdir / "stat").read_text()
        except OSError:
            return False
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        return self.proc is None or ppid in (self.proc.pid, 1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        return self.log.read_text(errors="replace")

    # -- CLI -------------------------------------------------------------
    def cli(self, *args, timeout=120):
        return subprocess.run([str(SUPERVISOR), args[0], "-c", str(self.config), *args[1:]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)

    def status(self):
        r = self.cli("status", "--json")
        if r.returncode != 0:
            raise RuntimeError(f"status failed: {r.stderr}")
        return {n["name"]: n for n in json.loads(r.stdout)["nodes"]}

    def node(self, name):
        return self.status()[name]

    def wait_node(self, name, timeout=30, old_pid=None, **want):
        """Wait until status of `name` has every key=value of want; with
        old_pid, also a worker other than that one (a restarted worker: the
        status may still show the old one for a moment)."""
        last = {}

        def ok():
            nonlocal last
            last = self.node(name)
            if old_pid is not None and last.get("pid") in (0, old_pid):
                return False
            return all(last.get(k) == v for k, v in want.items()) and last
        try:
            return wait_until(ok, timeout, 0.1, f"{name} {want}")
        except TimeoutError:
            raise TimeoutError(f"{name}: wanted {want}, last status {last}\n"
                               f"log:\n{self.log_text()[-3000:]}")

    def power(self, name, action):
        return self.cli("power", name, action)


def shut_down(sup, announcers=(), qemus=()):
    """A test cluster's teardown: stop sup (and its workers) if any, then
    close the fake announce ports and stop the QEMUs whatever failed."""
    try:
        if sup is not None:
            sup.stop()
    finally:
        for a in announcers:
            a.close()
        for q in qemus:
            q.stop()
