"""Load: 20 nodes, each under a bounded flood of IPMI sessions and Redfish
keep-alive connections at once, while power actions on every node still
complete and `vbmc-supervisor status` answers.

Real parts only: 20 guest-less QEMUs (32 MiB each, TCG), one supervisor,
one worker per node.  The test plays each node's guest and announces its
address (FakeAnnounce).  The flood comes from one client process per node
(this file run as a script, so that the clients do not share one GIL with
the test's own measurements):

  * IPMI_SESSIONS RMCP+ sessions (suite 17, ipmiraw), each sending Get
    Chassis Status back to back, one request in flight; the session table
    holds 32 by default, so nothing is refused or pushed out;
  * REDFISH_CONNS HTTPS keep-alive connections (http.client, Basic auth),
    each GETting the ComputerSystem back to back on the same connection.

While it runs, every node gets four power actions from outside the flood,
two over Redfish (a new connection each) and two with `ipmitool` (a new
session each): ForceOff, IPMI on, IPMI off, On.  Each one's answer is
checked against QEMU's own state (query-status on the test's QMP socket),
and `vbmc-supervisor status --json` is called over and over.

Asserted: every action succeeded and QEMU's vCPUs run, or not, as its
answer said; every status call lists every node serving with its original
worker pid; no worker restarted; every flood request was answered, on its
first connection, and the workers counted at least as many requests as
the clients got answers.  Timings are recorded, never asserted: the figures
are printed and written to $VBMC_LOAD_REPORT, else BUILD/load-report.json
(docs/RELIABILITY.md, "Load").

    tests/run-in-journal-ns.sh /usr/bin/python3 -m pytest -v -s tests/integration/test_load.py

BMC addresses of this file: 127.0.30.0/24.
"""

import base64
import http.client
import json
import os
import select
import ssl
import statistics
import subprocess
import sys
import threading
import time
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cluster import BUILD, Supervisor  # noqa: E402
from ipmiraw import CHASSIS, IpmiError, RawClient, Session  # noqa: E402
from vbmctest import REPO, FakeAnnounce, Qemu, wait_until  # noqa: E402

NET = "127.0.30.0/24"
NODES = 20
IPMI_SESSIONS = 4        # per node, below the default table of 32
REDFISH_CONNS = 3        # per node, far below the 256 connection cap
FLOOD_SECONDS = 20       # the flood lasts at least this long...
FLOOD_MAX_SECONDS = 90   # ...and each client process stops by itself after this
POWER_THREADS = 4        # nodes whose power actions run at the same time
STATUS_INTERVAL = 0.25   # pause between two status calls
REQ_TIMEOUT = 5.0        # one flood request; an answer later than this is an error
POWER_KNOWN = ("on", "off", "powering-on", "powering-off")
SYSTEM = "/redfish/v1/Systems/System.Embedded.1"
RESET = f"{SYSTEM}/Actions/ComputerSystem.Reset"

# (protocol, action, whether QEMU's vCPUs run afterwards): both protocols,
# both ways.  "Off" is `stop`: QEMU says "paused", or "prelaunch" when a
# reset was still pending (SeaBIOS resets the machine itself ~20 ms after
# the "on"'s system_reset, later on a loaded host; QEMU carries it out
# while stopped).  Either way nothing runs, which is what off means.
STEPS = (("redfish", "ForceOff", False), ("ipmi", "on", True),
         ("ipmi", "off", False), ("redfish", "On", True))

_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root (the supervisor drops privileges to the vbmc user)")


def basic(password, user="admin"):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ------------------------------------------------- the flood (client side)
# Runs in a child process: `python3 test_load.py --flood JSON`.  It prints
# "ready" once every session and connection is up, floods until a line (or
# EOF) on stdin or FLOOD_MAX_SECONDS, then prints one JSON line of counts.

class _Counts:
    """What one flood thread saw; merged by the flood process."""

    def __init__(self):
        self.n = {"ipmi_ok": 0, "ipmi_err": 0, "rf_ok": 0, "rf_err": 0, "rf_connects": 0,
                  "crashed": 0}
        self.errors = []

    def error(self, key, what):
        self.n[key] += 1
        if len(self.errors) < 5:
            self.errors.append(what)


def _ipmi_login(raw, t, out):
    try:
        return Session(raw, "admin", t["password"], suite=17, timeout=REQ_TIMEOUT).login()
    except IpmiError as e:
        out.error("ipmi_err", f"login: {e}")
        return None


def ipmi_flood(t, stop, ready, out):
    """One RMCP+ session sending Get Chassis Status until stop."""
    with RawClient(t["addr"], t["ipmi_port"], REQ_TIMEOUT) as raw:
        s = _ipmi_login(raw, t, out)
        ready()
        while s is not None and not stop.is_set():
            r = s.request(CHASSIS, 0x01, timeout=REQ_TIMEOUT)
            if r is not None and r[0] == 0:
                out.n["ipmi_ok"] += 1
            else:
                out.error("ipmi_err", "no answer" if r is None else f"cc {r[0]:#x}")
        if s is not None:
            s.close()     # give the slot back rather than wait for the idle timeout


class _CountingHTTPS(http.client.HTTPSConnection):
    """Counts its (re)connections: a kept-alive connection makes one."""

    connects = 0

    def connect(self):
        self.connects += 1
        super().connect()


def _rf_get(c, hdrs):
    """One GET of the ComputerSystem on c; an error text or None."""
    try:
        c.request("GET", SYSTEM, headers=hdrs)
        r = c.getresponse()
        body = r.read()
    except (OSError, http.client.HTTPException) as e:
        c.close()
        return f"{type(e).__name__}: {e}"
    if r.status != 200 or b'"PowerState"' not in body:
        return f"HTTP {r.status}"
    return None


def redfish_flood(t, stop, ready, out):
    """One keep-alive connection GETting the ComputerSystem until stop."""
    c = _CountingHTTPS(t["addr"], t["rf_port"], context=_TLS, timeout=REQ_TIMEOUT)
    hdrs = {"Authorization": basic(t["password"])}
    try:
        err = _rf_get(c, hdrs)      # connect (and serve once) before "ready"
        ready()
        while True:
            if err:
                out.error("rf_err", err)
            else:
                out.n["rf_ok"] += 1
            if stop.is_set():
                break
            err = _rf_get(c, hdrs)
    finally:
        out.n["rf_connects"] += c.connects
        c.close()


class _Once:
    """Releases a semaphore at most once: "I am connected" (or gave up)."""

    def __init__(self, sem):
        self.sem, self.done = sem, False

    def __call__(self):
        if not self.done:
            self.done = True
            self.sem.release()


def _run_job(job, t, stop, up, out):
    """A flood thread: an unexpected exception is an error, not a silent
    thread death, and never leaves flood_main waiting for "ready"."""
    ready = _Once(up)
    try:
        job(t, stop, ready, out)
    except Exception as e:  # noqa: BLE001 -- reported, and asserted on
        out.error("crashed", f"{job.__name__}: {type(e).__name__}: {e}")
    finally:
        ready()


def flood_main(arg):
    t = json.loads(arg)
    stop, up = threading.Event(), threading.Semaphore(0)
    jobs = [ipmi_flood] * t["ipmi_sessions"] + [redfish_flood] * t["redfish_conns"]
    outs = [_Counts() for _ in jobs]
    threads = [threading.Thread(target=_run_job, args=(j, t, stop, up, o), daemon=True)
               for j, o in zip(jobs, outs)]
    for th in threads:
        th.start()
    for _ in threads:
        up.acquire(timeout=30)
    print("ready", flush=True)
    t0 = time.monotonic()
    select.select([sys.stdin], [], [], t["max_seconds"])
    stop.set()
    for th in threads:
        th.join(REQ_TIMEOUT * 2)
    total = {k: sum(o.n[k] for o in outs) for k in outs[0].n}
    total["errors"] = [e for o in outs for e in o.errors][:10]
    total["seconds"] = time.monotonic() - t0
    total["threads_left"] = sum(th.is_alive() for th in threads)
    print(json.dumps(total), flush=True)
    return 0


# ------------------------------------------------- the flood (test side)

class Flood:
    """One flood process against one node."""

    def __init__(self, name, addr, sup, logdir):
        self.name = name
        target = {"addr": addr, "ipmi_port": sup.ipmi_port, "rf_port": sup.redfish_port,
                  "password": sup.password, "ipmi_sessions": IPMI_SESSIONS,
                  "redfish_conns": REDFISH_CONNS, "max_seconds": FLOOD_MAX_SECONDS}
        self.log = open(logdir / f"flood-{name}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, __file__, "--flood", json.dumps(target)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        self.result = None

    def wait_ready(self, deadline):
        r, _, _ = select.select([self.proc.stdout], [], [],
                                max(0.0, deadline - time.monotonic()))
        line = self.proc.stdout.readline() if r else ""
        assert line.strip() == "ready", f"{self.name}: flood not ready: {line!r}"

    def ask_stop(self):
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def collect(self, timeout=30):
        out, _ = self.proc.communicate(timeout=timeout)
        lines = out.strip().splitlines()
        assert self.proc.returncode == 0 and lines, \
            f"{self.name}: flood exited {self.proc.returncode}: {out!r}"
        self.result = json.loads(lines[-1])
        return self.result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ------------------------------------------------------------- fixtures

@pytest.fixture
def cluster(tmp_path):
    """NODES guest-less QEMUs announced to one supervisor, all serving."""
    c = types.SimpleNamespace(qemus={}, ann={}, sup=None, addrs={})
    t0 = time.monotonic()
    try:
        for i in range(NODES):
            name = f"ld{i:02d}"
            c.qemus[name] = Qemu(name, tmp_path / "q", memory=32)
            c.ann[name] = FakeAnnounce(tmp_path / f"{name}.ann")
            c.addrs[name] = f"127.0.30.{10 + i}"
        nodes = {n: types.SimpleNamespace(vbmc_qmp_path=q.vbmc_qmp_path,
                                          announce_path=Path(c.ann[n].path))
                 for n, q in c.qemus.items()}
        (tmp_path / "sup").mkdir()
        c.sup = Supervisor(nodes, networks=(NET,), workdir=tmp_path / "sup")
        for n, a in c.ann.items():
            a.send(c.addrs[n] + "\n")
        wait_until(lambda: _all_serving(c.sup, c.addrs), 60, 0.2, "every node serving, on")
        c.setup_seconds = time.monotonic() - t0
        yield c
    finally:
        if c.sup is not None:
            c.sup.stop()
        for a in c.ann.values():
            a.close()
        for q in c.qemus.values():
            q.stop()


def _all_serving(sup, addrs):
    st = sup.status()
    return all(st.get(n, {}).get("state") == "serving" and st[n].get("power") == "on" and
               st[n].get("address") == a for n, a in addrs.items()) and st


@pytest.fixture
def floods(cluster, tmp_path):
    """Start one flood per node; whatever is left is killed at the end."""
    started = []

    def start():
        for n, a in cluster.addrs.items():
            started.append(Flood(n, a, cluster.sup, tmp_path))
        deadline = time.monotonic() + 60
        for f in started:
            f.wait_ready(deadline)
        return started
    try:
        yield start
    finally:
        for f in started:
            f.kill()


# ------------------------------------------------------ power actions

def ipmitool(c, name, *args):
    return subprocess.run(["ipmitool", "-I", "lanplus", "-H", c.addrs[name], "-p",
                           str(c.sup.ipmi_port), "-U", "admin", "-P", c.sup.password, *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60)


def redfish_reset(c, name, reset_type):
    """(status, body text) of one Reset POST on a new connection."""
    conn = http.client.HTTPSConnection(c.addrs[name], c.sup.redfish_port, context=_TLS,
                                       timeout=60)
    try:
        conn.request("POST", RESET, body=json.dumps({"ResetType": reset_type}),
                     headers={"Authorization": basic(c.sup.password),
                              "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def power_step(c, name, proto, action):
    """Run one action; (ok, what the client said)."""
    try:
        if proto == "redfish":
            st, body = redfish_reset(c, name, action)
            return st == 204, f"HTTP {st} {body[:200]}"
        r = ipmitool(c, name, "chassis", "power", action)
        return r.returncode == 0, r.stdout.strip()
    except (OSError, http.client.HTTPException, subprocess.TimeoutExpired) as e:
        return False, f"{type(e).__name__}: {e}"


def cycle_node(c, name):
    """Every step of STEPS on one node; one record per action."""
    out = []
    for proto, action, runs in STEPS:
        t0 = time.monotonic()
        ok, said = power_step(c, name, proto, action)
        took = time.monotonic() - t0
        # The BMC answers once QEMU has: its state must already be the new one.
        qemu = c.qemus[name].qmp("query-status")
        out.append({"node": name, "proto": proto, "action": action, "seconds": took,
                    "ok": ok, "said": said, "qemu": qemu["status"],
                    "running": qemu["running"], "expected_running": runs})
    return out


def _done(a):
    """The action succeeded and QEMU is where the BMC said it went."""
    return a["ok"] and a["running"] == a["expected_running"]


# ------------------------------------------------------- status poller

class StatusPoller(threading.Thread):
    """Calls `status --json` until stopped; keeps each call's latency and
    anything wrong with its answer."""

    def __init__(self, sup, before):
        super().__init__(daemon=True)
        self.sup = sup
        self.pids = {n: s["pid"] for n, s in before.items()}
        self.seconds = []
        self.problems = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            t0 = time.monotonic()
            try:
                r = self.sup.cli("status", "--json", timeout=60)
            except subprocess.TimeoutExpired:
                self.problems.append("status did not answer within 60 s")
                continue
            self.seconds.append(time.monotonic() - t0)
            self.check(r)
            self.halt.wait(STATUS_INTERVAL)

    def check(self, r):
        if r.returncode != 0:
            self.problems.append(f"status exit {r.returncode}: {r.stderr.strip()}")
            return
        got = {n["name"]: n for n in json.loads(r.stdout)["nodes"]}
        for name, pid in self.pids.items():
            s = got.get(name, {})
            # powering-on/off show while an action runs; unknown would
            # mean the worker lost QEMU
            if (s.get("state"), s.get("pid")) != ("serving", pid) or \
                    s.get("power") not in POWER_KNOWN:
                self.problems.append(f"{name}: {s}")

    def finish(self):
        self.halt.set()
        self.join(90)


# ------------------------------------------------------------ figures

def _p50_worst(xs):
    return (round(statistics.median(xs), 3), round(max(xs), 3)) if xs else (None, None)


def _commit():
    r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip() or None


def figures(c, flood_seconds, results, actions, poller, served):
    """Everything the run measured, as one JSON-able dict."""
    lat = [a["seconds"] for a in actions]
    worst = max(actions, key=lambda a: a["seconds"]) if actions else {}
    fig = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "commit": _commit(),
        "build": BUILD.name, "cpus": os.cpu_count(), "nodes": len(c.qemus),
        "setup_seconds": round(c.setup_seconds, 1),
        "ipmi_sessions_per_node": IPMI_SESSIONS, "redfish_conns_per_node": REDFISH_CONNS,
        "flood_seconds": round(flood_seconds, 1),
        "ipmi_requests": sum(r["ipmi_ok"] for r in results.values()),
        "ipmi_requests_min_node": min(r["ipmi_ok"] for r in results.values()),
        "ipmi_errors": sum(r["ipmi_err"] for r in results.values()),
        "redfish_requests": sum(r["rf_ok"] for r in results.values()),
        "redfish_requests_min_node": min(r["rf_ok"] for r in results.values()),
        "redfish_errors": sum(r["rf_err"] for r in results.values()),
        "redfish_connects": sum(r["rf_connects"] for r in results.values()),
        "server_ipmi_rx": served["ipmi"], "server_redfish_rx": served["redfish"],
        "power_actions": len(actions),
        "power_failed": sum(1 for a in actions if not _done(a)),
        "qemu_after_off": dict(Counter(a["qemu"] for a in actions
                                       if not a["expected_running"])),
        "power_worst_action": f"{worst.get('node')} {worst.get('proto')} "
                              f"{worst.get('action')}",
        "status_calls": len(poller.seconds),
    }
    fig["power_p50_s"], fig["power_worst_s"] = _p50_worst(lat)
    for proto in ("redfish", "ipmi"):
        fig[f"power_{proto}_p50_s"], fig[f"power_{proto}_worst_s"] = _p50_worst(
            [a["seconds"] for a in actions if a["proto"] == proto])
    fig["status_p50_s"], fig["status_worst_s"] = _p50_worst(poller.seconds)
    fig["requests_per_second"] = round(
        (fig["ipmi_requests"] + fig["redfish_requests"]) / max(flood_seconds, 1e-9))
    return fig


def write_report(fig):
    path = Path(os.environ.get("VBMC_LOAD_REPORT") or BUILD / "load-report.json")
    path.write_text(json.dumps(fig, indent=1) + "\n")
    print(f"\nload figures ({path}):")
    for k, v in fig.items():
        print(f"  {k}: {v}")


def server_counts(sup, before, results):
    """Wait until each worker has reported at least the requests its
    clients got answers to (reports are batched); the counter deltas."""
    def caught_up():
        now = sup.status()
        d = {n: (now[n]["ipmi_rx"] - before[n]["ipmi_rx"],
                 now[n]["redfish_rx"] - before[n]["redfish_rx"]) for n in before}
        ok = all(d[n][0] >= r["ipmi_ok"] and d[n][1] >= r["rf_ok"] for n, r in results.items())
        return ok and d
    try:
        d = wait_until(caught_up, 10, 0.2, "worker counters")
    except TimeoutError:
        d = None
    if d is None:
        return {"ipmi": None, "redfish": None}
    return {"ipmi": sum(v[0] for v in d.values()), "redfish": sum(v[1] for v in d.values())}


# ---------------------------------------------------------------- test

def run_load(c, start_floods):
    """The loaded phase; (flood results by node, power records, poller, seconds)."""
    before = c.sup.status()
    fl = start_floods()
    t0 = time.monotonic()
    poller = StatusPoller(c.sup, before)
    poller.start()
    try:
        with ThreadPoolExecutor(POWER_THREADS) as pool:
            actions = [a for recs in pool.map(lambda n: cycle_node(c, n), c.qemus)
                       for a in recs]
        ended = [f.name for f in fl if f.proc.poll() is not None]
        assert not ended, f"flood processes ended before the power actions did: {ended}"
        time.sleep(max(0.0, t0 + FLOOD_SECONDS - time.monotonic()))
    finally:
        poller.finish()
        for f in fl:
            f.ask_stop()
    results = {f.name: f.collect() for f in fl}
    return before, results, actions, poller, time.monotonic() - t0


def test_load_20_nodes(cluster, floods):
    c = cluster
    before, results, actions, poller, secs = run_load(c, floods)
    after = c.sup.status()
    served = server_counts(c.sup, before, results)
    fig = figures(c, secs, results, actions, poller, served)
    write_report(fig)

    bad = [a for a in actions if not _done(a)]
    assert not bad, f"power actions that failed or left QEMU elsewhere: {bad}"
    assert len(actions) == NODES * len(STEPS)
    assert poller.seconds and not poller.problems, poller.problems[:10]
    for n, s in after.items():
        assert (s["pid"], s["restarts"], s["state"]) == \
            (before[n]["pid"], 0, "serving"), (n, before[n], s)
        assert s["power_actions"] >= before[n]["power_actions"] + len(STEPS), (n, s)
    for n, r in results.items():
        assert r["ipmi_ok"] > 0 and r["rf_ok"] > 0, (n, r)
        assert (r["ipmi_err"], r["rf_err"], r["crashed"], r["threads_left"]) == \
            (0, 0, 0, 0), (n, r)
        # keep-alive: every connection served the whole flood on its first connect
        assert r["rf_connects"] == REDFISH_CONNS, (n, r)
    assert served["ipmi"] is not None, "workers counted fewer requests than were answered"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--flood":
        sys.exit(flood_main(sys.argv[2]))
    sys.exit("usage: test_load.py --flood JSON (pytest runs the test)")
