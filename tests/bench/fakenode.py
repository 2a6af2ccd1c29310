#!/usr/bin/python3
"""Stand-in for many QEMUs in one process, for tests/bench/run.sh.

For node i of --count it serves two unix sockets in --dir:
  node-i.announce  the guest's announce chardev: once "announce" is read on
                   stdin, every connected client (and any later one) gets
                   the node's address plus a newline, once;
  node-i.qmp       (unless --no-qmp) a minimal QMP endpoint: greeting,
                   qmp_capabilities, query-status "running", stop/cont/
                   system_reset/system_powerdown/inject-nmi return {} (stop
                   and cont also send STOP/RESUME), qom-list [], the facts
                   Redfish asks for; anything else a CommandNotFound error.

Addresses: --addresses FILE, one per line (node i gets line i).
Commands on stdin: "announce" -> prints "announced T N" (T: CLOCK_MONOTONIC
seconds, N: clients connected at that moment); "quit".
"""

import argparse
import asyncio
import json
import os
import sys
import time

GREETING = json.dumps({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},
                                           "package": "fakenode"},
                               "capabilities": []}}).encode() + b"\r\n"


class Node:
    def __init__(self, idx, addr):
        self.idx = idx
        self.line = (addr + "\n").encode()
        self.clients = []
        self.running = True


def qmp_answer(node, req):
    cmd = req.get("execute")
    events = []
    if cmd == "qmp_capabilities":
        ret = {}
    elif cmd == "query-status":
        ret = {"status": "running" if node.running else "paused",
               "running": node.running, "singlestep": False}
    elif cmd in ("system_reset", "system_powerdown", "inject-nmi", "qom-set"):
        ret = {}
    elif cmd == "stop":
        ret = {}
        if node.running:
            node.running = False
            events.append("STOP")
    elif cmd == "cont":
        ret = {}
        if not node.running:
            node.running = True
            events.append("RESUME")
    elif cmd == "qom-list":
        ret = []
    elif cmd == "query-uuid":
        ret = {"UUID": "00000000-0000-4000-8000-%012x" % node.idx}
    elif cmd == "query-memory-size-summary":
        ret = {"base-memory": 64 << 20}
    elif cmd == "query-cpus-fast":
        ret = [{"cpu-index": 0, "thread-id": 1, "qom-path": "/machine/unattached/device[0]",
                "target": "x86_64"}]
    else:
        out = {"error": {"class": "CommandNotFound", "desc": f"no {cmd}"}}
        if "id" in req:
            out["id"] = req["id"]
        return [out]
    out = {"return": ret}
    if "id" in req:
        out["id"] = req["id"]
    now = time.time()
    evs = [{"event": e, "data": {}, "timestamp": {"seconds": int(now), "microseconds": 0}}
           for e in events]
    return [out] + evs


class Server:
    def __init__(self, args):
        self.args = args
        addrs = [l.strip() for l in open(args.addresses) if l.strip()]
        self.nodes = [Node(i, addrs[i]) for i in range(args.count)]
        self.announced = False

    async def on_announce(self, node, reader, writer):
        node.clients.append(writer)
        if self.announced:
            writer.write(node.line)
        try:
            while await reader.read(4096):
                pass
        except (ConnectionError, OSError):
            pass
        if writer in node.clients:
            node.clients.remove(writer)
        writer.close()

    async def on_qmp(self, node, reader, writer):
        writer.write(GREETING)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    req = json.loads(line)
                except ValueError:
                    continue
                for m in qmp_answer(node, req):
                    writer.write(json.dumps(m).encode() + b"\r\n")
        except (ConnectionError, OSError):
            pass
        writer.close()

    def announce(self, which=None):
        """Every node (which None: also those connecting later) or node `which` only."""
        self.announced = self.announced or which is None
        t = time.monotonic()
        n = 0
        for node in self.nodes if which is None else self.nodes[which:which + 1]:
            for w in node.clients:
                w.write(node.line)
                n += 1
        return t, n

    async def main(self):
        d = self.args.dir
        for node in self.nodes:
            i = node.idx
            await asyncio.start_unix_server(
                lambda r, w, node=node: self.on_announce(node, r, w),
                path=os.path.join(d, f"node-{i}.announce"))
            if not self.args.no_qmp:
                await asyncio.start_unix_server(
                    lambda r, w, node=node: self.on_qmp(node, r, w),
                    path=os.path.join(d, f"node-{i}.qmp"))
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line or line.strip() == b"quit":
                break
            words = line.split()
            if words and words[0] == b"announce":
                t, n = self.announce(int(words[1]) if len(words) > 1 else None)
                print(f"announced {t:.6f} {n}", flush=True)
            elif line.strip() == b"connected":
                print("connected %d" % sum(1 for n in self.nodes if n.clients), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--addresses", required=True)
    ap.add_argument("--no-qmp", action="store_true")
    args = ap.parse_args()
    asyncio.run(Server(args).main())


if __name__ == "__main__":
    main()
