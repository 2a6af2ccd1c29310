"""vbmc as installed by `meson install`, not as it runs from the build tree.

The supervisor finds vbmc-worker next to itself in the build tree and in
libexecdir once installed (supervisor/daemon.c, find_worker).  Here the
build is installed into a DESTDIR, that tree is bind-mounted over the
prefix (/usr/local) in a mount namespace of the supervisor's own, and a real
node is served by those installed binaries: the worker must be the one in
libexecdir, the installed unit must verify with its real paths, and
ipmitool must drive the node's power.

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_install.py
"""

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vbmctest  # noqa: E402
from cluster import BUILD, Supervisor  # noqa: E402
from vbmctest import Qemu, wait_until  # noqa: E402

ADDR = "127.0.10.60"
PREFIX = "/usr/local"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts, ports)")


@functools.cache
def meson_opts():
    """The build's configured options (prefix, sbindir, sysconfdir...)."""
    r = subprocess.run(["meson", "introspect", "--buildoptions", str(BUILD)],
                       capture_output=True, text=True, check=True)
    return {o["name"]: o["value"] for o in json.loads(r.stdout)}


@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    prefix = meson_opts()["prefix"]
    if prefix != PREFIX:
        pytest.skip(f"build configured with prefix {prefix}, this test mounts over {PREFIX}")
    d = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet",
                        "--destdir", str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return d


class InstalledSupervisor(Supervisor):
    """The installed binary, in a mount namespace where PREFIX is DESTDIR's."""

    def __init__(self, destdir, *args, **kw):
        self.destdir = destdir
        self.binary = f"{PREFIX}/{meson_opts()['sbindir']}/vbmc-supervisor"
        super().__init__(*args, **kw)

    def start(self):
        env = dict(os.environ)
        env.pop("VBMC_WORKER", None)  # the point is the built-in lookup
        env.setdefault("VBMC_LOG", "stderr")
        self.logf = open(self.log, "ab")
        # unshare execs the shell, which execs the supervisor: one pid.
        script = (f'mount --bind "$1" {PREFIX} && exec {self.binary} run -c "$2" -v')
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             str(self.destdir / PREFIX.lstrip("/")), str(self.config)],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: (self.dir / "run" / "control.sock").exists() or
                   self.proc.poll() is not None, 10, what="control socket")
        if self.proc.poll() is not None:
            raise RuntimeError(f"supervisor exited: {self.log_text()}")
        return self

    def in_ns(self, *argv, timeout=60):
        """Run argv in the supervisor's mount namespace (the installed tree)."""
        return subprocess.run(["nsenter", "-t", str(self.proc.pid), "-m", *argv],
                              capture_output=True, text=True, timeout=timeout)

    def cli(self, *args, timeout=120):
        return self.in_ns(self.binary, args[0], "-c", str(self.config), *args[1:],
                          timeout=timeout)


@pytest.fixture(scope="module")
def installed(destdir, tmp_path_factory):
    work = tmp_path_factory.mktemp("inst")
    guest_dir = vbmctest.build_guest()
    (work / "sup").mkdir()
    with Qemu("inst", work, guest=True, guest_dir=guest_dir, vbmc_ip=ADDR) as q:
        sup = InstalledSupervisor(destdir, {"inst-0": q}, networks=("127.0.10.0/24",),
                                  workdir=work / "sup")
        with sup:
            sup.wait_node("inst-0", timeout=90, state="serving", address=ADDR)
            yield sup, q


def test_installed_tree_has_the_parts(destdir):
    o = meson_opts()
    prefix, sbindir, libexecdir = o["prefix"], o["sbindir"], o["libexecdir"]
    root = destdir / prefix.lstrip("/")
    for rel, mode in ((f"{sbindir}/vbmc-supervisor", 0o111),
                      (f"{libexecdir}/vbmc/vbmc-worker", 0o111)):
        f = root / rel
        assert f.is_file(), f
        assert f.stat().st_mode & mode == mode, oct(f.stat().st_mode)
    # meson keeps sysconfdir /etc for the /usr/local prefix (README: /etc/vbmc)
    etc = Path(prefix) / o["sysconfdir"]
    unit = (root / "lib/systemd/system/vbmc-supervisor.service").read_text()
    assert f"ExecStart={prefix}/{sbindir}/vbmc-supervisor run -c {etc}/vbmc/vbmc.yml" \
        in unit, unit
    assert "@" not in re.sub(r"(?m)^#.*$", "", unit), "unsubstituted @VAR@ in the unit"
    assert (destdir / str(etc).lstrip("/") / "vbmc/vbmc.yml.example").is_file()


def test_installed_supervisor_runs_the_libexec_worker(installed):
    sup, _ = installed
    want = f"{PREFIX}/{meson_opts()['libexecdir']}/vbmc/vbmc-worker"
    assert re.search(rf"started: 1 nodes?, worker {re.escape(want)}$", sup.log_text(), re.M), \
        sup.log_text()
    pid = sup.node("inst-0")["pid"]
    # the running worker's executable is the installed one (as seen in its namespace)
    r = sup.in_ns("readlink", f"/proc/{pid}/exe")
    assert r.stdout.strip() == want, r.stdout + r.stderr
    r = sup.in_ns("cat", f"/proc/{pid}/status")
    assert re.search(r"^Seccomp:\s+2$", r.stdout, re.M), r.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_installed_unit_verifies_with_its_real_paths(installed):
    sup, _ = installed
    unit = f"{PREFIX}/lib/systemd/system/vbmc-supervisor.service"
    r = sup.in_ns("systemd-analyze", "verify", unit)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not executable" not in r.stderr and "No such file" not in r.stderr, r.stderr


def test_installed_worker_drives_power_with_ipmitool(installed):
    sup, q = installed
    ipmi = ["ipmitool", "-I", "lanplus", "-H", ADDR, "-p", str(sup.ipmi_port),
            "-U", "admin", "-P", sup.password, "chassis", "power"]
    r = subprocess.run(ipmi + ["status"], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "Chassis Power is on", r.stdout + r.stderr
    r = subprocess.run(ipmi + ["off"], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "Chassis Power Control: Down/Off", r.stdout + r.stderr
    q.wait_status("paused")
    sup.wait_node("inst-0", power="off")
    r = subprocess.run(ipmi + ["on"], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "Chassis Power Control: Up/On", r.stdout + r.stderr
    q.wait_status("running")
    sup.wait_node("inst-0", power="on")
