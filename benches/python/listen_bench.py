"""`pylog listen --tcp ... --format json` against a CPython receiver doing
the same job (read the length, pickle.loads, json.dumps, one line per
record), side by side: the two alternate, round after round, on one
machine, and the ratio of their medians is reported.

Each run is the whole receiving process after it said it is ready: one
sender connects, writes N frames that CPython's SocketHandler.makePickle
made, and closes; the clock stops when the receiver has written N lines
and exited. stdout goes to a pipe that this script drains, as a user's
pipeline would.

usage: listen_bench.py PYLOG [N] [ROUNDS] [MARKDOWN]
With MARKDOWN, the result is also appended to that file (BENCHMARKS.md).
"""

import logging
import logging.handlers
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

CPYTHON_RECEIVER = r"""
import json, pickle, socket, struct, sys
n = int(sys.argv[1])
server = socket.create_server(("127.0.0.1", 0))
print("ready", server.getsockname()[1], file=sys.stderr, flush=True)
conn, _ = server.accept()
stream = conn.makefile("rb")
out = sys.stdout
for _ in range(n):
    size = struct.unpack(">L", stream.read(4))[0]
    out.write(json.dumps(pickle.loads(stream.read(size))) + "\n")
out.flush()
"""


def frames(n):
    handler = logging.handlers.SocketHandler("127.0.0.1", 9)
    out = []
    for i in range(n):
        record = logging.LogRecord(
            "app.requests", logging.INFO, "/srv/app/handlers.py", 120 + i % 50,
            "request %s served in %d ms", (f"/api/items/{i}", i % 900), None, "serve",
        )
        record.request_id = f"req-{i:08d}"
        record.user = "ann"
        out.append(handler.makePickle(record))
    return b"".join(out)


def run(cmd, payload, n):
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready = proc.stderr.readline().decode()
    if "ready" not in ready:
        raise SystemExit(f"{cmd[0]} did not start: {ready}{proc.stderr.read().decode()}")
    port = int(ready.rsplit(":", 1)[1]) if "=" in ready else int(ready.split()[1])
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    lines = [0]

    def drain():
        for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):
            lines[0] += chunk.count(b"\n")

    reader = threading.Thread(target=drain)
    reader.start()
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sender:
        sender.sendall(payload)
        sender.shutdown(socket.SHUT_WR)
        proc.wait(timeout=300)
    reader.join(timeout=60)
    elapsed = time.perf_counter() - start
    if lines[0] != n:
        raise SystemExit(f"{cmd[0]} wrote {lines[0]} lines, not {n}")
    return elapsed


def main():
    pylog = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    payload = frames(n)
    ours = [pylog, "listen", "--tcp", "127.0.0.1:0", "--format", "json", "--count", str(n)]
    theirs = [sys.executable, "-c", CPYTHON_RECEIVER, str(n)]
    times = {"pylog": [], "cpython": []}
    for _ in range(rounds):
        times["pylog"].append(run(ours, payload, n))
        times["cpython"].append(run(theirs, payload, n))
    p, c = statistics.median(times["pylog"]), statistics.median(times["cpython"])
    print(f"listen, {n} records ({len(payload) // n} bytes pickled each), median of {rounds} alternating rounds:")
    print(f"  pylog listen --format json  {p:7.3f} s  {n / p:10.0f} records/s")
    print(f"  CPython receiver            {c:7.3f} s  {n / c:10.0f} records/s")
    print(f"  ratio: pylog is {c / p:.2f}x CPython")
    if len(sys.argv) > 4:
        with open(sys.argv[4], "a") as md:
            md.write(
                f"\n## Receiving: `pylog listen` vs CPython (benches/python/listen_bench.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
                f"{n} CPython SocketHandler records ({len(payload) // n} bytes pickled each) on one connection, "
                f"printed as JSON lines; median of {rounds} alternating rounds.\n\n"
                "| receiver | time | records/s |\n|---|---|---|\n"
                f"| `pylog listen --format json` | {p:.3f} s | {n / p:.0f} |\n"
                f"| CPython (length, `pickle.loads`, `json.dumps`) | {c:.3f} s | {n / c:.0f} |\n"
                f"\npylog is {c / p:.2f}x CPython.\n"
            )


if __name__ == "__main__":
    main()
