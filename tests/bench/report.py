#!/usr/bin/python3
"""Turn bench.py's JSON into docs/BENCHMARKS.md and the scale plot.

usage: report.py RESULTS.json OUT.md OUT.png"""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent


def commit():
    """HEAD's commit, read from .git (no git command needed)."""
    g = REPO / ".git"
    try:
        head = (g / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        p = g / ref
        if p.exists():
            return p.read_text().strip()
        for line in (g / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"


def machine():
    model = "?"
    for line in subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem = "?"
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    return os.cpu_count(), model, mem, platform.release()


def f(v, fmt="%.0f"):
    return "n/a" if v is None else fmt % v


def cpu(r, prefix):
    """'user + sys' server CPU µs of one request or set-up, or n/a."""
    if r.get(f"{prefix}_cpu_us") is None:
        return "n/a"
    return "%.2f (%.2f + %.2f)" % (r[f"{prefix}_cpu_us"], r[f"{prefix}_user_us"],
                                   r[f"{prefix}_sys_us"])


def x(v):
    return "n/a" if v is None else "%.2f×" % v


def main():
    res = json.load(open(sys.argv[1]))
    md, png = Path(sys.argv[2]), Path(sys.argv[3])
    ncpu, model, mem, kernel = machine()
    L = ["# vbmc benchmarks", "",
         "Written by `tests/bench/run.sh` (one command, as root, after "
         "`contrib/install-deps.sh bench`); every figure below comes from that run. "
         "Nothing here is asserted; the script is not part of `tests/run.sh`. All servers "
         "listen on 127.0.0.0/8 only.", "",
         "| machine | |", "|---|---|",
         f"| CPUs (`nproc`) | {ncpu} |", f"| model (`lscpu`) | {model} |",
         f"| memory | {mem} |", f"| kernel | {kernel} |",
         f"| run | {res.get('started')} → {res.get('finished')} |",
         f"| commit | `{commit()}` (plus the working tree at that time) |", ""]

    ip = res.get("ipmi")
    if ip:
        p = ip["params"]
        L += ["## 1. IPMI: Get Chassis Status over RMCP+", "",
              f"`tests/bench/ipmi-load` (C, the worker's own crypto helpers): N sessions, "
              f"each on its own UDP socket with one request in flight, for "
              f"{p['duration_s']:g} s; every answer is verified (AuthCode, AES, checksums). "
              f"Set-ups: {p['setup_slots']} concurrent slots doing Open Session + RAKP 1-4 + "
              f"Close Session for {p['setup_s']:g} s, a new source port each time. Client "
              "and server share the same 2 CPUs.", "",
              "Server CPU: the server process's user and system time (`/proc/PID/stat`) "
              "over the run, divided by the requests it answered (set-ups: by the "
              "set-ups done, in a run of their own).", "",
              "| peer | suite | sessions | req/s | p50 µs | p99 µs | p99.9 µs | timeouts | "
              "server CPU µs/req (user + sys) | set-ups/s | server CPU µs/set-up |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for peer in ("vbmc", "ipmi_sim", "pyghmi"):
            d = ip.get(peer, {})
            if "error" in d:
                L.append(f"| {peer} | – | – | {d['error']} | | | | | | | |")
                continue
            for suite in (3, 17):
                for n in p["loads"]:
                    r = d.get(f"s{suite}_n{n}")
                    if r is None:
                        continue
                    if "error" in r:
                        L.append(f"| {peer} | {suite} | {n} | not supported: "
                                 f"{r['error'].splitlines()[0]} | | | | | | | |")
                        continue
                    su = f(r["setup_per_s"]) if r.get("setups") else "–"
                    L.append(f"| {peer} | {suite} | {r['sessions']} | {f(r['rps'])} | "
                             f"{f(r['p50_us'], '%.1f')} | {f(r['p99_us'], '%.1f')} | "
                             f"{f(r['p999_us'], '%.1f')} | {r['timeouts']} | "
                             f"{cpu(r, 'req')} | {su} | {cpu(r, 'setup')} |")
        L += ["", "Ratios (vbmc / peer, same generator, same parameters, same run). "
              "\"per server CPU\" is requests per second of the server's own CPU time: "
              "the load each server carries on a CPU of its own, whatever the shared "
              "client costs; \"per user CPU\" leaves out the kernel's share (system "
              "calls, UDP, waking the process up):", "",
              "| figure | vbmc / ipmi_sim | vbmc / pyghmi |", "|---|---|---|"]
        rat = ip.get("ratios", {})
        for suite in (3, 17):
            for n in p["loads"]:
                for key, what in (("rps", "req/s"), ("cpu", "req per server CPU-second"),
                                  ("user", "req per server user-CPU-second")):
                    if not any(rat.get(f"s{suite}_n{n}_{key}_vs_{peer}")
                               for peer in ("ipmi_sim", "pyghmi")):
                        continue   # no peer speaks this suite
                    L.append(f"| suite {suite}, {n} session(s), {what} | "
                             f"{x(rat.get(f's{suite}_n{n}_{key}_vs_ipmi_sim'))} | "
                             f"{x(rat.get(f's{suite}_n{n}_{key}_vs_pyghmi'))} |")
            if not any(rat.get(f"s{suite}_setup_vs_{peer}") for peer in ("ipmi_sim", "pyghmi")):
                continue
            L.append(f"| suite {suite}, session set-ups/s | "
                     f"{x(rat.get(f's{suite}_setup_vs_ipmi_sim'))} | "
                     f"{x(rat.get(f's{suite}_setup_vs_pyghmi'))} |")
        L.append("")

    rf = res.get("redfish")
    if rf:
        L += ["## 2. Redfish over TLS", ""]
        if "error" in rf:
            L += [f"Not measured: {rf['error']}", ""]
        else:
            L += [f"`h2load -t 1`, 8 connections (HTTP/2: 8 streams each), keep-alive, "
                  f"Basic auth header on every request. Ceiling: {rf.get('nginx_version', 'nginx')} "
                  "(1 worker process, like the one vbmc worker per node) serving the very "
                  f"bytes vbmc returned ({rf['system_bytes']} B system, {rf['root_bytes']} B "
                  "root) as static files, same ECDSA P-256 certificate (the node's generated "
                  "one), TLS 1.3, no session resumption. h2load prints mean/max only.", "",
                  "Server CPU: the vbmc worker's or the nginx worker's user + system "
                  "time over the run (warm-up included) per request done; \"per CPU\" "
                  "compares requests per second of server CPU time.", "",
                  "| resource | protocol | vbmc req/s | nginx req/s | vbmc / nginx | vbmc CPU µs/req | nginx CPU µs/req | vbmc / nginx per CPU | vbmc mean µs | nginx mean µs | vbmc max µs |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
            for k in ("system_h2", "system_h1", "root_h2", "root_h1"):
                v, n = rf["vbmc"][k], rf["nginx"][k]
                name, proto = k.split("_")
                res_name = "Systems/System.Embedded.1" if name == "system" else "/redfish/v1/"
                L.append(f"| {res_name} | {'HTTP/2' if proto == 'h2' else 'HTTP/1.1'} | "
                         f"{f(v.get('rps'))} | {f(n.get('rps'))} | {x(rf['ratios'][k])} | "
                         f"{f(v.get('req_cpu_us'), '%.1f')} | {f(n.get('req_cpu_us'), '%.1f')} | "
                         f"{x(rf['ratios'].get(k + '_cpu'))} | "
                         f"{f(v.get('mean_us'))} | {f(n.get('mean_us'))} | {f(v.get('max_us'))} |")
            L += ["", "New TLS connections (h2load `-c 200 -n 200`: one request per "
                  "connection, full handshake each; median of 3 runs):", "",
                  "| protocol | vbmc conn/s | nginx conn/s | vbmc / nginx | vbmc runs |",
                  "|---|---|---|---|---|"]
            for k in ("newconn_h1", "newconn_h2"):
                v, n = rf["vbmc"][k], rf["nginx"][k]
                L.append(f"| {'HTTP/1.1' if k.endswith('h1') else 'HTTP/2'} | "
                         f"{f(v['conn_per_s'])} | {f(n['conn_per_s'])} | {x(rf['ratios'][k])} | "
                         f"{', '.join('%.0f' % r for r in v['runs'])} |")
            L.append("")

    pw = res.get("power")
    if pw:
        L += ["## 3. Power action latency", "",
              f"{pw['pairs']} Redfish `ForceOff` / `On` pairs against a guest-less QEMU "
              "(real QMP). Worker side: the worker logs, at debug level, the time from "
              "the power request entering the power core to the last QMP reply "
              "(`power off: ok in N us`); client side: POST to response over a kept-alive "
              f"TLS connection. Failures: {pw['failures']}.", "",
              "| action | QMP commands | worker p50 µs | worker p99 µs | client p50 µs | client p99 µs |",
              "|---|---|---|---|---|---|"]
        for act, rt, cmds in (("off", "ForceOff", "stop"), ("on", "On", "system_reset, cont")):
            w, c = pw.get(f"worker_{act}", {}), pw.get(f"client_{rt}", {})
            L.append(f"| {rt} | {cmds} | {f(w.get('p50_us'))} | {f(w.get('p99_us'))} | "
                     f"{f(c.get('p50_us'))} | {f(c.get('p99_us'))} |")
        L.append("")

    sp = res.get("spawn")
    if sp:
        L += ["## 4. Spawn: announcement → serving, one node at a time", ""]
        if "error" in sp:
            L += [f"Not measured: {sp['error']}", ""]
        else:
            L += [f"{sp['n']} nodes in one supervisor (fakenode.py for QMP and the announce "
                  "sockets, fresh state directory so each node's certificate is generated "
                  "during its spawn), announced one after another; each is probed with Get "
                  f"Channel Authentication Capabilities every {sp['probe_interval_ms']:g} ms "
                  "from its announcement to its first answer.", "",
                  "| nodes | serving | p50 ms | p99 ms | min ms | max ms |",
                  "|---|---|---|---|---|---|",
                  f"| {sp['n']} | {sp['serving']} | {f(sp.get('p50_ms'), '%.1f')} | "
                  f"{f(sp.get('p99_ms'), '%.1f')} | {f(sp.get('min_ms'), '%.1f')} | "
                  f"{f(sp.get('max_ms'), '%.1f')} |", ""]

    sc = res.get("scale")
    if sc:
        rows = [sc[k] for k in sorted(sc, key=int)]
        L += ["## 5. Scale", "",
              "N nodes in one supervisor, announced at once. **QEMU is replaced by "
              "`tests/bench/fakenode.py`**, one Python process serving every node's QMP "
              "socket (greeting, capabilities, `query-status` running, `stop`/`cont`/"
              "`system_reset` → `{}`) and announce socket (one address line each, all "
              "written in the same instant): 1000 QEMUs do not fit on this machine. "
              "Addresses 127.1.x.y; a fresh state directory per step, so every node's "
              "TLS certificate is generated during its spawn. Time to first IPMI answer: "
              "a prober sends Get Channel Authentication Capabilities to every node not "
              "yet answering every 10 ms (N ≤ 100) or 20 ms, from the announcement.", "",
              "| N | serving | first answer p50 ms | p99 ms | all serving s | PSS/worker KiB | RSS/worker KiB | supervisor RSS KiB | supervisor PSS KiB | supervisor idle CPU % | workers idle CPU % (sum) | `status` ms |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if "error" in r:
                L.append(f"| {r['n']} | {r['error']} |" + " |" * 10)
                continue
            L.append(f"| {r['n']} | {r.get('serving')} | {f(r.get('p50_ms'))} | "
                     f"{f(r.get('p99_ms'))} | {f(r.get('all_serving_s'), '%.2f')} | "
                     f"{f(r.get('worker_pss_kib_mean'))} | {f(r.get('worker_rss_kib_mean'))} | "
                     f"{f(r.get('supervisor_rss_kib'))} | {f(r.get('supervisor_pss_kib'))} | "
                     f"{f(r.get('supervisor_idle_cpu_pct'), '%.1f')} | "
                     f"{f(r.get('workers_idle_cpu_pct_total'), '%.1f')} | "
                     f"{f(r.get('status_ms_median'), '%.1f')}"
                     f"{' (exit %d)' % r['status_rc'] if r.get('status_rc') else ''} |")
        L += ["", f"![latency and memory against node count]({png.name})", ""]
        ok = [r for r in rows if "error" not in r and r.get("p50_ms") is not None]
        if ok:
            ns = [r["n"] for r in ok]
            fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
            a1.plot(ns, [r["p50_ms"] for r in ok], "o-", label="first answer p50")
            a1.plot(ns, [r["p99_ms"] for r in ok], "s-", label="first answer p99")
            a1.plot(ns, [(r["all_serving_s"] or 0) * 1e3 for r in ok], "^-",
                    label="all serving")
            a1.plot(ns, [r["status_ms_median"] for r in ok], "d-", label="`status` latency")
            a1.set_xscale("log")
            a1.set_yscale("log")
            a1.set_xlabel("nodes announced at once")
            a1.set_ylabel("ms")
            a1.set_title("announcement → serving")
            a1.legend(fontsize=8)
            a2.plot(ns, [r["worker_pss_kib_mean"] / 1024 for r in ok], "o-",
                    label="PSS per idle worker")
            a2.plot(ns, [r["worker_rss_kib_mean"] / 1024 for r in ok], "s-",
                    label="RSS per idle worker")
            a2.plot(ns, [r["supervisor_rss_kib"] / 1024 for r in ok], "^-",
                    label="supervisor RSS")
            a2.set_xscale("log")
            a2.set_xlabel("nodes")
            a2.set_ylabel("MiB")
            a2.set_title("memory")
            a2.legend(fontsize=8)
            fig.suptitle(f"vbmc, {ncpu} CPUs ({model}), {res.get('started')}", fontsize=9)
            fig.tight_layout()
            fig.savefig(png, dpi=110)

    notes = Path(__file__).resolve().parent / "NOTES.md"
    if notes.exists():
        L += [notes.read_text().rstrip(), ""]
    md.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
