#!/usr/bin/python3
"""vbmc benchmarks, driven by tests/bench/run.sh (run that, not this).

Sections (all on loopback, bounded in count and time):
  ipmi    ipmi-load against vbmc, OpenIPMI ipmi_sim and pyghmi's Bmc
  redfish h2load against a vbmc worker and nginx serving the same bytes
  power   Redfish ForceOff/On pairs: worker-side and client-side latency
  spawn   one node announced at a time: announcement -> first IPMI answer
  scale   N nodes announced at once (fakenode.py stands in for QEMU)

Writes every measured figure to a JSON file (--out); report.py turns it into
docs/BENCHMARKS.md and the plot.  Never asserts timings."""

import argparse
import base64
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PY = "/usr/bin/python3"   # Debian's: pyghmi and matplotlib come from apt
PASSWORD = "bench-pw-1"
PORT_IPMI = 6623
PORT_REDFISH = 6443

# loopback addresses, one per server
VBMC_ADDR = "127.0.20.10"
IPMISIM_ADDR = "127.0.21.1"
PYGHMI_ADDR = "127.0.22.1"
NGINX_ADDR = "127.0.23.1"

owned = []   # Popen objects we started, ended by pid at exit


def log(*a):
    print(*a, flush=True)


def start(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    owned.append(p)
    return p


def stop(p, timeout=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_all():
    for p in reversed(owned):
        try:
            stop(p, 5)
        except Exception:
            pass


def wait_until(fn, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = fn()
        if r:
            return r
        time.sleep(step)
    return None


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int((len(xs) - 1) * q))]


def ratio(a, b):
    return (a / b) if (a is not None and b) else None


# -- IPMI probes ---------------------------------------------------------------

def auth_caps_packet():
    """IPMI v1.5 Get Channel Authentication Capabilities, outside a session."""
    def ck(b):
        return (-sum(b)) & 0xFF
    head = bytes([0x20, 0x06 << 2])
    body = bytes([0x81, 0x04, 0x38, 0x8E, 0x04])  # v2 bit: pyghmi answers only that
    msg = head + bytes([ck(head)]) + body + bytes([ck(body)])
    return b"\x06\x00\xff\x07" + b"\x00" + b"\x00" * 8 + bytes([len(msg)]) + msg


def ipmi_answers(addr, port, timeout=0.3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(auth_caps_packet(), (addr, port))
            return s.recv(512)[:4] == b"\x06\x00\xff\x07"
        except (socket.timeout, OSError):
            return False


# -- vbmc supervisor -----------------------------------------------------------

class Vbmc:
    def __init__(self, build, workdir, nodes, networks, verbose=False, extra=()):
        """nodes: [(name, qmp_path, announce_path)]"""
        self.build = Path(build)
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        pw = self.dir / "admin.pass"
        pw.write_text(PASSWORD + "\n")
        pw.chmod(0o600)
        lines = ["networks: [%s]" % ", ".join('"%s"' % n for n in networks),
                 "ports: {ipmi: %d, redfish: %d}" % (PORT_IPMI, PORT_REDFISH),
                 f"state-dir: {self.dir}/state", f"run-dir: {self.dir}/run",
                 "users:",
                 "  - {name: admin, password-file: admin.pass, role: administrator}",
                 *extra, "nodes:"]
        for name, qmp, ann in nodes:
            lines += [f"  - name: {name}", f"    qmp: {qmp}", f"    announce: {ann}"]
        self.config = self.dir / "vbmc.yml"
        self.config.write_text("\n".join(lines) + "\n")
        self.sup = self.build / "supervisor" / "vbmc-supervisor"
        self.logpath = self.dir / "supervisor.log"
        env = dict(os.environ, VBMC_LOG="stderr")
        self.logf = open(self.logpath, "ab")
        argv = [str(self.sup), "run", "-c", str(self.config)] + (["-v"] if verbose else [])
        self.proc = start(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                          stderr=subprocess.STDOUT, env=env)
        if not wait_until(lambda: (self.dir / "run" / "control.sock").exists()
                          or self.proc.poll() is not None, 20):
            raise RuntimeError("supervisor: no control socket")
        if self.proc.poll() is not None:
            raise RuntimeError("supervisor exited: " + self.logpath.read_text()[-2000:])

    def workers(self):
        return children(self.proc.pid)

    def status_time(self):
        t = time.monotonic()
        r = subprocess.run([str(self.sup), "status", "-c", str(self.config)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        return time.monotonic() - t, r.returncode, r.stderr.strip()[-200:]

    def stop(self):
        pids = self.workers()
        stop(self.proc, 30)
        for pid in pids:   # belt and braces: none of our workers may stay
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.logf.close()


class FakeNodes:
    def __init__(self, workdir, addrs, qmp=True):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        af = self.dir / "addresses"
        af.write_text("\n".join(addrs) + "\n")
        argv = [PY, str(HERE / "fakenode.py"), "--dir", str(self.dir), "--count",
                str(len(addrs)), "--addresses", str(af)] + ([] if qmp else ["--no-qmp"])
        self.proc = start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("fakenode did not start")
        self.n = len(addrs)

    def paths(self, i):
        return (str(self.dir / f"node-{i}.qmp"), str(self.dir / f"node-{i}.announce"))

    def cmd(self, c):
        self.proc.stdin.write(c + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().split()

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        stop(self.proc)


def children(pid):
    """The pids whose parent is pid (nginx's worker processes)."""
    kids = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
        except OSError:
            continue
    return kids


def cpu_seconds(pids):
    """(user, system) CPU seconds used so far by the processes pids."""
    tick = os.sysconf("SC_CLK_TCK")
    u = k = 0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        u += int(f[11]) / tick   # fields 14 and 15 of proc(5)
        k += int(f[12]) / tick
    return u, k


def run_load(build, addr, port, suite, sessions, duration, setup_s, slots=4, server=()):
    """ipmi-load against addr; with server pids, also what it cost the server."""
    argv = [str(Path(build) / "tests" / "bench" / "ipmi-load"), "-H", addr, "-p", str(port),
            "-u", "admin", "-P", PASSWORD, "-s", str(suite), "-n", str(sessions),
            "-d", str(duration), "-S", str(setup_s), "-C", str(slots)]
    before = cpu_seconds(server)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=duration + setup_s + 60)
    after = cpu_seconds(server)
    if r.returncode != 0:
        return {"error": r.stderr.strip() or f"exit {r.returncode}"}
    d = json.loads(r.stdout)
    d["server_user_s"], d["server_sys_s"] = (b - a for a, b in zip(before, after))
    return d


def cost_per(d, count_key, prefix):
    """Server CPU µs per answered request (or per set-up), user and system."""
    n = d.get(count_key) or 0
    if n and "server_user_s" in d:
        d[f"{prefix}_user_us"] = d["server_user_s"] * 1e6 / n
        d[f"{prefix}_sys_us"] = d["server_sys_s"] * 1e6 / n
        d[f"{prefix}_cpu_us"] = d[f"{prefix}_user_us"] + d[f"{prefix}_sys_us"]


# -- sections --------------------------------------------------------------------

def section_ipmi(a, work, res, vbmc):
    out = res.setdefault("ipmi", {"params": {"duration_s": a.duration, "setup_s": a.setup,
                                             "setup_slots": 4, "loads": a.loads}})
    # ipmi_sim
    sim = work / "ipmi_sim"
    sim.mkdir()
    (sim / "lan.conf").write_text(f"""name "bench"
set_working_mc 0x20
  startlan 1
    addr {IPMISIM_ADDR} {PORT_IPMI}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  user 2 true  "admin" "{PASSWORD}" admin 10 none md2 md5 straight
""")
    (sim / "bench.emu").write_text(
        "mc_setbmc 0x20\n"
        "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n"
        "mc_enable 0x20\n")
    peers = {
        "vbmc": (VBMC_ADDR, None),   # its worker is the server process
        "ipmi_sim": (IPMISIM_ADDR, ["ipmi_sim", "-c", str(sim / "lan.conf"), "-f",
                                    str(sim / "bench.emu"), "-n", "-s", str(sim / "state")]),
        "pyghmi": (PYGHMI_ADDR, [PY, str(HERE / "pyghmi_bmc.py"), PYGHMI_ADDR,
                                 str(PORT_IPMI), "admin", PASSWORD]),
    }
    for peer, (addr, argv) in peers.items():
        proc = None
        if argv:
            proc = start(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=str(sim))
            if not wait_until(lambda: ipmi_answers(addr, PORT_IPMI), 10):
                out[peer] = {"error": "did not answer"}
                stop(proc)
                continue
        r = out.setdefault(peer, {})
        server = [proc.pid] if proc else vbmc.workers()
        # suite 17 last: a failed Open Session leaves half-open sessions
        # that fill ipmi_sim's table
        for suite in (3, 17):
            for n in a.loads:
                key = f"s{suite}_n{n}"
                log(f"ipmi: {peer} suite {suite}, {n} sessions ...")
                r[key] = run_load(a.build, addr, PORT_IPMI, suite, n, a.duration, 0,
                                  server=server)
                cost_per(r[key], "answered", "req")
                log("   ", json.dumps(r[key]))
                if "error" in r[key]:
                    break
                if n == a.loads[-1] and a.setup > 0:
                    # set-ups alone, so that their CPU is not mixed with requests'
                    su = run_load(a.build, addr, PORT_IPMI, suite, 0, 0.01, a.setup,
                                  server=server)
                    cost_per(su, "setups", "setup")
                    r[key].update({k: v for k, v in su.items() if k.startswith("setup")})
                    if "error" in su:
                        r[key]["setup_error"] = su["error"]
                    log("    set-ups:", json.dumps(su))
        if proc:
            stop(proc)
    # ratios
    rat = out["ratios"] = {}
    for suite in (3, 17):
        for n in a.loads:
            key = f"s{suite}_n{n}"
            v = out.get("vbmc", {}).get(key, {})
            for peer in ("ipmi_sim", "pyghmi"):
                p = out.get(peer, {}).get(key, {})
                rat[f"{key}_rps_vs_{peer}"] = ratio(v.get("rps"), p.get("rps"))
                # requests per server CPU-second: the load each could carry
                # on a CPU of its own, whatever the shared client costs
                rat[f"{key}_cpu_vs_{peer}"] = ratio(p.get("req_cpu_us"), v.get("req_cpu_us"))
                rat[f"{key}_user_vs_{peer}"] = ratio(p.get("req_user_us"),
                                                     v.get("req_user_us"))
                if n == a.loads[-1]:
                    rat[f"s{suite}_setup_vs_{peer}"] = ratio(v.get("setup_per_s"),
                                                             p.get("setup_per_s"))
    for k, v in rat.items():
        log(f"ipmi ratio {k}: {v:.2f}" if v else f"ipmi ratio {k}: n/a")


H2LOAD_FIN = re.compile(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s")
H2LOAD_REQ = re.compile(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded")
H2LOAD_TIME = re.compile(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")


def us(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    f = float(m.group(1))
    return f * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def h2load(url, args, timeout):
    argv = ["h2load", *args, url]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    o = r.stdout
    f, q, t = H2LOAD_FIN.search(o), H2LOAD_REQ.search(o), H2LOAD_TIME.search(o)
    if not (f and q):
        return {"error": o[-500:]}
    el = float(f.group(1)) / (1000 if f.group(2) == "ms" else 1)
    d = {"rps": float(f.group(3)), "elapsed_s": el, "done": int(q.group(3)),
         "succeeded": int(q.group(4))}
    if t:
        d.update(min_us=us(t.group(1)), max_us=us(t.group(2)), mean_us=us(t.group(3)))
    m = re.search(r"status codes: (\d+) 2xx", o)
    d["ok_2xx"] = int(m.group(1)) if m else None
    return d


def https_get(addr, path, auth):
    ctx = ssl._create_unverified_context()
    c = http.client.HTTPSConnection(addr, PORT_REDFISH, context=ctx, timeout=10)
    c.request("GET", path, headers={"Authorization": auth})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def section_redfish(a, work, res, vbmc):
    out = res.setdefault("redfish", {})
    auth = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    paths = {"system": "/redfish/v1/Systems/System.Embedded.1", "root": "/redfish/v1/"}
    ng = work / "nginx"
    (ng / "www").mkdir(parents=True)
    (ng / "logs").mkdir()
    tls = vbmc.dir / "state" / "tls"
    crt, key = tls / "bench.crt", tls / "bench.key"
    locs = ""
    for name, p in paths.items():
        st, body = https_get(VBMC_ADDR, p, auth)
        if st != 200:
            out["error"] = f"vbmc GET {p}: {st}"
            return
        (ng / "www" / f"{name}.json").write_bytes(body)
        out[f"{name}_bytes"] = len(body)
        # try_files serves the file in this location (no index lookup for "/")
        locs += (f"    location = {p} {{ default_type application/json; "
                 f"root {ng}/www; try_files /{name}.json =404; }}\n")
    shutil.copy(crt, ng / "cert.pem")
    shutil.copy(key, ng / "key.pem")
    os.chmod(ng / "key.pem", 0o600)
    (ng / "nginx.conf").write_text(f"""worker_processes 1;
pid {ng}/nginx.pid;
error_log {ng}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{
    listen {NGINX_ADDR}:{PORT_REDFISH} ssl http2;
    ssl_certificate {ng}/cert.pem;
    ssl_certificate_key {ng}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
{locs}  }}
}}
""")
    nginx = start(["nginx", "-p", str(ng), "-c", str(ng / "nginx.conf"), "-e",
                   str(ng / "logs" / "error.log"), "-g", "daemon off;"],
                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                return https_get(NGINX_ADDR, paths["root"], auth)[0] == 200
            except OSError:
                return False
        if not wait_until(up, 10):
            out["error"] = "nginx did not start: " + \
                (ng / "logs" / "error.log").read_text(errors="replace")[-500:]
            return
        out["nginx_version"] = subprocess.run(["nginx", "-v"], stderr=subprocess.PIPE,
                                              text=True).stderr.strip()
        D = str(max(1, int(a.duration)))
        servers = {"vbmc": vbmc.workers(), "nginx": children(nginx.pid)}
        for name, p in paths.items():
            for proto, args in (("h2", ["-c", "8", "-m", "8"]), ("h1", ["--h1", "-c", "8"])):
                for peer, addr in (("vbmc", VBMC_ADDR), ("nginx", NGINX_ADDR)):
                    key = f"{name}_{proto}"
                    log(f"redfish: {peer} {key} ...")
                    before = cpu_seconds(servers[peer])
                    r = h2load(f"https://{addr}:{PORT_REDFISH}{p}",
                               ["-t", "1", "-D", D, "--warm-up-time=1", "-H",
                                f"Authorization: {auth}", *args], a.duration + 60)
                    # the warm-up second's requests are not in "done": the
                    # figure is a little high, alike for both servers
                    r["server_user_s"], r["server_sys_s"] = (
                        y - x for x, y in zip(before, cpu_seconds(servers[peer])))
                    cost_per(r, "done", "req")
                    out.setdefault(peer, {})[key] = r
                    log("   ", json.dumps(r))
        # new TLS connections: one request per connection, 200 clients
        for proto, args in (("h1", ["--h1"]), ("h2", [])):
            for peer, addr in (("vbmc", VBMC_ADDR), ("nginx", NGINX_ADDR)):
                rates = []
                for _ in range(3):
                    r = h2load(f"https://{addr}:{PORT_REDFISH}{paths['root']}",
                               ["-t", "1", "-c", "200", "-n", "200", *args], 60)
                    if "error" not in r and r["elapsed_s"] > 0:
                        rates.append(r["succeeded"] / r["elapsed_s"])
                out.setdefault(peer, {})[f"newconn_{proto}"] = {
                    "conn_per_s": statistics.median(rates) if rates else None,
                    "runs": rates}
                log(f"redfish: {peer} new TLS connections ({proto}): {rates}")
    finally:
        stop(nginx)
    rat = out["ratios"] = {}
    for k in ("system_h2", "system_h1", "root_h2", "root_h1"):
        rat[k] = ratio(out["vbmc"][k].get("rps"), out["nginx"][k].get("rps"))
        rat[k + "_cpu"] = ratio(out["nginx"][k].get("req_cpu_us"),
                                out["vbmc"][k].get("req_cpu_us"))
    for k in ("newconn_h1", "newconn_h2"):
        rat[k] = ratio(out["vbmc"][k]["conn_per_s"], out["nginx"][k]["conn_per_s"])
    for k, v in rat.items():
        log(f"redfish ratio vbmc/nginx {k}: {v:.2f}" if v else f"redfish ratio {k}: n/a")


def section_power(a, work, res, vbmc):
    out = res.setdefault("power", {"pairs": a.power_pairs})
    auth = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    ctx = ssl._create_unverified_context()
    c = http.client.HTTPSConnection(VBMC_ADDR, PORT_REDFISH, context=ctx, timeout=15)
    path = "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset"
    client = {"ForceOff": [], "On": []}
    mark = vbmc.logpath.stat().st_size
    fails = 0
    for _ in range(a.power_pairs):
        for rt in ("ForceOff", "On"):
            t = time.monotonic()
            c.request("POST", path, body=json.dumps({"ResetType": rt}),
                      headers={"Authorization": auth, "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            dt = (time.monotonic() - t) * 1e6
            if r.status in (200, 204):
                client[rt].append(dt)
            else:
                fails += 1
    c.close()
    time.sleep(0.3)
    with open(vbmc.logpath, "rb") as f:
        f.seek(mark)
        text = f.read().decode(errors="replace")
    worker = {}
    for m in re.finditer(r"power (\S+): (\S+) in (\d+) us", text):
        worker.setdefault(m.group(1), []).append(int(m.group(3)))
    out["failures"] = fails
    for rt, xs in client.items():
        out[f"client_{rt}"] = {"n": len(xs), "p50_us": pct(xs, .5), "p99_us": pct(xs, .99)}
    for act, xs in worker.items():
        out[f"worker_{act}"] = {"n": len(xs), "p50_us": pct(xs, .5), "p99_us": pct(xs, .99)}
    log("power:", json.dumps(out))


def scale_addrs(n):
    return ["127.1.%d.%d" % (i // 250, i % 250 + 1) for i in range(n)]


def smaps(pid):
    d = {}
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            k, _, rest = line.partition(":")
            if k in ("Rss", "Pss"):
                d[k] = int(rest.split()[0])
    except OSError:
        pass
    return d


def first_answers(addrs, t_ann, interval, timeout):
    """{address: seconds from t_ann to its first IPMI answer}, probing every
    address not yet answering each `interval` s, for at most `timeout` s."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    pkt = auth_caps_packet()
    pending = set(addrs)
    first = {}
    deadline = t_ann + timeout
    nxt = 0.0
    while pending and time.monotonic() < deadline:
        now = time.monotonic()
        if now >= nxt:
            for ad in pending:
                try:
                    sock.sendto(pkt, (ad, PORT_IPMI))
                except OSError:
                    pass
            nxt = now + interval
        rl, _, _ = select.select([sock], [], [], max(0.0, nxt - time.monotonic()))
        while rl:
            try:
                data, src = sock.recvfrom(512)
            except (BlockingIOError, ConnectionRefusedError):
                break
            except OSError:
                continue
            if src[0] in pending and data[:4] == b"\x06\x00\xff\x07":
                pending.discard(src[0])
                first[src[0]] = time.monotonic() - t_ann
    sock.close()
    return first


def section_spawn(a, work, res):
    """One node announced at a time: announcement -> first IPMI answer of a
    lone node (the figure the spawn goal is about), probed every 1 ms."""
    n = a.spawn_nodes
    out = res["spawn"] = {"n": n, "probe_interval_ms": 1.0}
    d = work / "spawn"
    addrs = scale_addrs(n)
    fake = FakeNodes(d / "fake", addrs)
    vb = Vbmc(a.build, d / "vbmc", [(f"n{i}", *fake.paths(i)) for i in range(n)],
              ["127.1.0.0/16"])
    try:
        if not wait_until(lambda: int(fake.cmd("connected")[1]) >= n, 30, 0.1):
            out["error"] = "announce sockets not all connected in 30 s"
            return
        lat = []
        for i, ad in enumerate(addrs):
            t_ann = float(fake.cmd(f"announce {i}")[1])
            got = first_answers([ad], t_ann, 0.001, 10)
            if ad in got:
                lat.append(got[ad] * 1e3)
            time.sleep(0.2)   # let the node settle (QMP, facts) before the next
        lat.sort()
        out.update(serving=len(lat), p50_ms=pct(lat, .5), p99_ms=pct(lat, .99),
                   min_ms=lat[0] if lat else None, max_ms=lat[-1] if lat else None)
        log("   ", json.dumps(out))
    finally:
        vb.stop()
        fake.stop()


def section_scale(a, work, res):
    out = res.setdefault("scale", {})
    for n in a.scale:
        log(f"scale: N={n} ...")
        d = work / f"scale-{n}"
        addrs = scale_addrs(n)
        fake = FakeNodes(d / "fake", addrs)
        nodes = [(f"n{i}", *fake.paths(i)) for i in range(n)]
        r = out[str(n)] = {"n": n}
        t_start = time.monotonic()
        vb = Vbmc(a.build, d / "vbmc", nodes, ["127.1.0.0/16"])
        try:
            ok = wait_until(lambda: int(fake.cmd("connected")[1]) >= n, 60, 0.2)
            r["supervisor_ready_s"] = time.monotonic() - t_start
            if not ok:
                r["error"] = "announce sockets not all connected in 60 s"
                continue
            interval = 0.01 if n <= 100 else 0.02
            t_ann = float(fake.cmd("announce")[1])
            first = first_answers(addrs, t_ann, interval, a.scale_timeout)
            lat = sorted(first.values())
            r.update(serving=len(first), probe_interval_ms=interval * 1000,
                     p50_ms=pct(lat, .5) * 1e3 if lat else None,
                     p99_ms=pct(lat, .99) * 1e3 if lat else None,
                     all_serving_s=lat[-1] if len(first) == n else None)
            log("   ", json.dumps(r))
            time.sleep(3)   # settle: QMP connected, facts fetched
            pids = vb.workers()
            mem = [smaps(p) for p in pids]
            pss = [m["Pss"] for m in mem if "Pss" in m]
            rss = [m["Rss"] for m in mem if "Rss" in m]
            r.update(workers=len(pids),
                     worker_pss_kib_mean=statistics.mean(pss) if pss else None,
                     worker_pss_kib_max=max(pss) if pss else None,
                     worker_rss_kib_mean=statistics.mean(rss) if rss else None)
            sm = smaps(vb.proc.pid)
            r.update(supervisor_rss_kib=sm.get("Rss"), supervisor_pss_kib=sm.get("Pss"))
            c0, t0 = sum(cpu_seconds([vb.proc.pid])), time.monotonic()
            wc0 = sum(cpu_seconds(pids))
            time.sleep(5)
            c1, t1 = sum(cpu_seconds([vb.proc.pid])), time.monotonic()
            wc1 = sum(cpu_seconds(pids))
            r["supervisor_idle_cpu_pct"] = (c1 - c0) / (t1 - t0) * 100
            r["workers_idle_cpu_pct_total"] = (wc1 - wc0) / (t1 - t0) * 100
            st = [vb.status_time() for _ in range(5)]
            r["status_ms_median"] = statistics.median(x[0] for x in st) * 1e3
            r["status_rc"] = max(x[1] for x in st)
            r["status_stderr"] = next((x[2] for x in st if x[2]), "")
            log("   ", json.dumps(r))
        finally:
            vb.stop()
            fake.stop()
            shutil.rmtree(d, ignore_errors=True)
            time.sleep(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sections", default="ipmi,redfish,power,spawn,scale")
    ap.add_argument("--spawn-nodes", type=int, default=20)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--setup", type=float, default=3.0)
    ap.add_argument("--loads", default="1,16")
    ap.add_argument("--power-pairs", type=int, default=50)
    ap.add_argument("--scale", default="10,100,500,1000")
    ap.add_argument("--scale-timeout", type=float, default=60.0)
    a = ap.parse_args()
    a.loads = [int(x) for x in a.loads.split(",")]
    a.scale = [int(x) for x in a.scale.split(",") if x]
    sections = a.sections.split(",")
    res = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    work = Path(tempfile.mkdtemp(prefix="vbmc-bench-"))
    os.chmod(work, 0o755)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        if {"ipmi", "redfish", "power"} & set(sections):
            # one real node: guest-less QEMU for QMP, fakenode for the announce
            fake = FakeNodes(work / "ann", [VBMC_ADDR], qmp=False)
            qmp = work / "qemu.qmp"
            qemu = start(["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", "64",
                          "-nodefaults", "-display", "none", "-no-shutdown",
                          "-qmp", f"unix:{qmp},server=on,wait=off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
            wait_until(qmp.exists, 10)
            vb = Vbmc(a.build, work / "vbmc", [("bench", str(qmp), fake.paths(0)[1])],
                      ["127.0.20.0/24"], verbose=True, extra=["ipmi: {max-sessions: 64}"])
            fake.cmd("announce")
            if not wait_until(lambda: ipmi_answers(VBMC_ADDR, PORT_IPMI), 20):
                raise RuntimeError("vbmc node never served: " + vb.logpath.read_text()[-2000:])
            time.sleep(1)
            try:
                if "ipmi" in sections:
                    section_ipmi(a, work, res, vb)
                if "redfish" in sections:
                    section_redfish(a, work, res, vb)
                if "power" in sections:
                    section_power(a, work, res, vb)
            finally:
                vb.stop()
                stop(qemu)
                fake.stop()
        if "spawn" in sections:
            section_spawn(a, work, res)
        if "scale" in sections:
            section_scale(a, work, res)
    finally:
        res["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
