"""The test parts themselves, without vbmc: the tiny guest (announce, reboot,
graceful shutdown), the guest-less QEMU, the private journald and the
guest-side announce helper.

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v tests/integration/test_guest.py
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vbmctest  # noqa: E402
from vbmctest import REPO, AnnounceReader, Journal, Qemu  # noqa: E402

# Boot to the announcement takes ~4 s under TCG on an idle machine; the
# margin is for loaded CI machines.
BOOT_TIMEOUT = 60
ADDR = "127.0.10.5"


@pytest.fixture(scope="session")
def guest_dir():
    return vbmctest.build_guest()


@pytest.fixture
def node(guest_dir, tmp_path):
    """A node booting the tiny guest, announcing ADDR."""
    with Qemu("guest", tmp_path, guest=True, guest_dir=guest_dir, vbmc_ip=ADDR) as q:
        yield q
        if os.environ.get("VBMC_TEST_VERBOSE"):
            print(f"--- serial log of {q.name}:\n{q.serial_text()}")


@pytest.fixture
def bare(tmp_path):
    """A guest-less node: QMP only."""
    with Qemu("bare", tmp_path, guest=False) as q:
        yield q


def first_announcement(node):
    """Connect to the announce port and return (reader, line, seconds)."""
    t0 = time.monotonic()
    reader = AnnounceReader(node.announce_path)
    try:
        line = reader.readline(BOOT_TIMEOUT)
    except BaseException:
        reader.close()
        print(node.serial_text())
        raise
    return reader, line, time.monotonic() - t0


def test_guest_build_outputs(guest_dir):
    kernel = (guest_dir / "KERNEL").read_text().strip()
    assert kernel in ("vmlinux", "bzImage")
    assert (guest_dir / kernel).stat().st_size > 1_000_000
    assert (guest_dir / "initrd.gz").stat().st_size > 100_000
    # A second run is a cached no-op.
    t0 = time.monotonic()
    vbmctest.build_guest(guest_dir)
    assert time.monotonic() - t0 < 5


def test_guest_boots_and_announces(node):
    reader, line, took = first_announcement(node)
    with reader:
        assert line == ADDR
        print(f"announced after {took:.1f}s")
        assert node.status() == "running"


def test_guest_announces_again_after_reset(node):
    reader, line, _ = first_announcement(node)
    with reader:
        assert line == ADDR
        node.client.clear_events()
        t0 = time.monotonic()
        node.qmp("system_reset")
        assert reader.readline(BOOT_TIMEOUT) == ADDR
        took = time.monotonic() - t0
        node.client.poll_events(0.2)
        names = [e["event"] for e in node.events]
        print(f"re-announced {took:.1f}s after system_reset; events: {names}")
        assert "RESET" in names
        assert node.status() == "running"
        # Same connection, no EOF in between.
        assert not reader.eof


def test_guest_powerdown_shuts_down(node):
    # A powerdown before the guest's acpid runs is lost; the announcement
    # comes after acpid is ready.
    reader, line, _ = first_announcement(node)
    with reader:
        assert line == ADDR
        node.client.clear_events()
        t0 = time.monotonic()
        node.qmp("system_powerdown")
        node.wait_event("POWERDOWN", 5)
        ev = node.wait_event("SHUTDOWN", 30)
        took = time.monotonic() - t0
        assert ev["data"]["guest"] is True
        assert ev["data"]["reason"] == "guest-shutdown"
        node.wait_status("shutdown", 10)
        assert node.running(), "-no-shutdown must keep QEMU alive"
        print(f"SHUTDOWN {took:.2f}s after system_powerdown; "
              f"later events: {[e['event'] for e in node.events]}")
        # Power-on from 'shutdown' is system_reset + cont.
        node.qmp("system_reset")
        node.wait_status("prelaunch", 5)
        node.qmp("cont")
        node.wait_status("running", 5)
        assert reader.readline(BOOT_TIMEOUT) == ADDR


def test_guest_without_address_stays_silent(guest_dir, tmp_path):
    with Qemu("silent", tmp_path, guest=True, guest_dir=guest_dir, vbmc_ip=None) as q:
        with AnnounceReader(q.announce_path) as reader:
            vbmctest.wait_until(lambda: "not announcing" in q.serial_text(),
                                BOOT_TIMEOUT, 0.2, "the guest's 'not announcing'")
            with pytest.raises(TimeoutError):
                reader.readline(1)


def test_bare_qemu_runs(bare):
    assert bare.status() == "running"
    bare.qmp("stop")
    bare.wait_event("STOP", 5)
    assert bare.status() == "paused"
    bare.qmp("cont")
    bare.wait_event("RESUME", 5)
    assert bare.status() == "running"
    bare.qmp("system_reset")
    bare.wait_event("RESET", 5)
    assert bare.status() == "running"


def test_bare_qemu_two_qmp_sockets_and_stop(bare):
    # The code under test gets its own QMP socket next to the test's.
    with vbmctest.QmpClient(bare.vbmc_qmp_path) as other:
        assert other.cmd("query-status")["status"] == "running"
    pid = bare.pid
    bare.stop()
    bare.stop()  # idempotent
    assert not bare.running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # QEMU removes its sockets on exit.
    assert not bare.test_qmp_path.exists()


def test_kill_leaves_nothing(tmp_path):
    q = Qemu("killed", tmp_path)
    pid = q.pid
    q.kill()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    q.stop()


def test_kvm_or_tcg():
    assert vbmctest.kvm_or_tcg() in ("kvm", "tcg")
    if os.path.exists("/sys/module/kvm_pvm"):
        assert vbmctest.kvm_or_tcg() == "tcg"


def test_journal_namespace():
    script = REPO / "tests" / "run-in-journal-ns.sh"
    # Without the marker, so a fresh namespace is made even when this test
    # itself runs inside one: its journal must hold only this entry.
    env = {k: v for k, v in os.environ.items() if k != "VBMC_JOURNAL_NS"}
    # journald stores the line a moment after systemd-cat returns: poll
    # (bounded) rather than read once
    r = subprocess.run([str(script), "sh", "-c",
                        "systemd-cat -t vbmctest echo hello && for i in $(seq 50); do "
                        "out=$(journalctl -t vbmctest -o cat); [ -n \"$out\" ] && break; "
                        "sleep 0.1; done; printf '%s\\n' \"$out\""],
                       stdout=subprocess.PIPE, text=True, timeout=60, env=env)
    assert r.returncode == 0
    assert r.stdout == "hello\n"
    # The command's exit status comes through.
    r = subprocess.run([str(script), "sh", "-c", "exit 7"], timeout=60, env=env)
    assert r.returncode == 7


@pytest.mark.skipif(not Journal.available(), reason="not inside tests/run-in-journal-ns.sh")
def test_journal_helper_reads_fields():
    j = Journal()
    j.mark()
    tag = f"vbmctest-{os.getpid()}"
    subprocess.run(["systemd-cat", "-t", tag, "echo", "hello"], check=True)
    e = j.wait_for(5, SYSLOG_IDENTIFIER=tag)
    assert e["MESSAGE"] == "hello"
    assert [x["MESSAGE"] for x in j.entries(SYSLOG_IDENTIFIER=tag)] == ["hello"]


def test_vbmc_announce_script(tmp_path):
    script = REPO / "contrib" / "vbmc-announce"
    port = tmp_path / "placemat"
    port.write_text("")
    env = dict(os.environ, VBMC_ANNOUNCE_PORT=str(port),
               VBMC_ANNOUNCE_CONF=str(tmp_path / "conf"))

    def run(*args):
        return subprocess.run(["sh", str(script), *args], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # A regular file stands in for the port (the script truncates it).
    assert run("10.0.0.11").returncode == 0
    assert port.read_text() == "10.0.0.11\n"
    assert run("2001:db8::1").returncode == 0
    assert port.read_text() == "2001:db8::1\n"
    for bad in ("10.0.0.256", "example.com", "10.0.0.1\n10.0.0.2", "fe80::1%eth0", ""):
        assert run(bad).returncode != 0, bad
    r = run()
    assert r.returncode != 0 and "conf" in r.stderr
    (tmp_path / "conf").write_text("# BMC address\nADDRESS=10.0.0.12\n")
    assert run().returncode == 0
    assert port.read_text() == "10.0.0.12\n"
    port.unlink()
    r = run("10.0.0.11")
    assert r.returncode != 0 and "does not exist" in r.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_vbmc_announce_unit_verifies(tmp_path):
    # The unit names the installed path; check it against the repo's script.
    unit = (REPO / "contrib" / "vbmc-announce.service").read_text()
    unit = unit.replace("ExecStart=/usr/local/sbin/vbmc-announce",
                        f"ExecStart={REPO / 'contrib' / 'vbmc-announce'}")
    (tmp_path / "vbmc-announce.service").write_text(unit)
    r = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "vbmc-announce.service")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0, r.stdout
