"""The whole process a user runs: `pylog emit --config logging.json
records.jsonl` against a CPython script doing the same job (json.loads,
logging.makeLogRecord, the handler's handle), side by side: the two
alternate, round after round, and the ratio of their medians is reported.

The sink is a TCP or UDP listener in this script that reads and discards.
Each run starts the process and stops the clock when it has exited.

usage: emit_bench.py PYLOG [N] [ROUNDS] [MARKDOWN]
With MARKDOWN, the table is also appended to that file (BENCHMARKS.md).
"""

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# Each record goes to its own logger, as `pylog emit` routes it: the
# logger's level, then its handlers and its ancestors' (callHandlers).
CPYTHON_SHIPPER = r"""
import json, logging, logging.config, sys
config = json.load(open(sys.argv[1]))
logging.config.dictConfig(config)
for line in open(sys.argv[2]):
    if line.strip():
        d = json.loads(line)
        # JSON has no tuples; %-formatting needs one.
        if isinstance(d.get("args"), list):
            d["args"] = tuple(d["args"])
        record = logging.makeLogRecord(d)
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
logging.shutdown()
"""


def drain(conn):
    """Reads until the sender closes, then closes too, as every receiver
    does (pylog's close waits briefly for the receiver's own close, which
    tells a receiver that kept the records from one that reset)."""
    with conn:
        while conn.recv(1 << 16):
            pass


def tcp_sink():
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=drain, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def udp_sink():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    threading.Thread(target=lambda: [sock.recv(1 << 16) for _ in iter(int, 1)], daemon=True).start()
    return sock.getsockname()[1]


def records(n):
    for i in range(n):
        yield json.dumps({
            "name": "app.requests", "levelname": "INFO", "levelno": 20, "pathname": "/srv/app/handlers.py",
            "lineno": 120 + i % 50, "funcName": "serve", "msg": "request %s served in %d ms",
            "args": [f"/api/items/{i}", i % 900], "created": 1700000000.0 + i / 1000,
            "request_id": f"req-{i:08d}", "user": "ann",
        })


def scenarios(tcp, udp):
    def one(handler):
        return {"version": 1, "handlers": {"h": handler}, "root": {"level": "DEBUG", "handlers": ["h"]}}

    yield "SocketHandler", one({"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": tcp})
    yield "DatagramHandler", one({"class": "logging.handlers.DatagramHandler", "host": "127.0.0.1", "port": udp})
    yield "SysLogHandler UDP", one({"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", udp]})
    yield "SysLogHandler TCP", one({
        "class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", tcp], "socktype": "ext://socket.SOCK_STREAM",
    })
    yield "MemoryHandler(100) -> SocketHandler", {
        "version": 1,
        "handlers": {
            "sock": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": tcp},
            "mem": {"class": "logging.handlers.MemoryHandler", "capacity": 100, "flushLevel": 40, "target": "sock"},
        },
        "root": {"level": "DEBUG", "handlers": ["mem"]},
    }
    # Routing through a logger hierarchy: every record (logger app.requests)
    # reaches three handlers, one per level of the hierarchy.
    yield "3 loggers / handlers", {
        "version": 1,
        "handlers": {
            "sock": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": tcp},
            "dgram": {"class": "logging.handlers.DatagramHandler", "host": "127.0.0.1", "port": udp},
            "sys": {"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", udp]},
        },
        "loggers": {
            "app": {"level": "INFO", "handlers": ["sock"]},
            "app.requests": {"level": "DEBUG", "handlers": ["dgram"]},
        },
        "root": {"level": "WARNING", "handlers": ["sys"]},
    }


def measured(cmd):
    """(wall seconds, CPU seconds: user + system) of one process, which must
    succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or b"Traceback" in done.stderr:
        raise SystemExit(f"{cmd}: exit {done.returncode}: {done.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed(cmd):
    return measured(cmd)[0]


def write_records(tmp, n):
    """The records file every run reads, in `tmp`."""
    path = os.path.join(tmp, "records.jsonl")
    with open(path, "w") as f:
        for line in records(n):
            f.write(line + "\n")
    return path


def write_config(tmp, config):
    path = os.path.join(tmp, "logging.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def main():
    pylog = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    tcp, udp = tcp_sink(), udp_sink()
    with tempfile.TemporaryDirectory() as tmp:
        lines = write_records(tmp, n)
        print(f"pylog emit, whole process, {n} records from a file; median of {rounds} alternating rounds:")
        rows = []
        for label, config in scenarios(tcp, udp):
            path = write_config(tmp, config)
            ours = [pylog, "emit", "--config", path, lines]
            theirs = [sys.executable, "-c", CPYTHON_SHIPPER, path, lines]
            times = {"pylog": [], "cpython": []}
            for _ in range(rounds):
                times["pylog"].append(timed(ours))
                times["cpython"].append(timed(theirs))
            p, c = statistics.median(times["pylog"]), statistics.median(times["cpython"])
            print(f"  {label:36} pylog {p:6.3f} s  CPython {c:6.3f} s  ratio {c / p:5.2f}x")
            rows.append(f"| {label} | {p:.3f} s | {c:.3f} s | {c / p:.2f}x |")
    if len(sys.argv) > 4:
        # Users feel the whole process, so its table leads the file: it goes
        # right after the title, before the per-handler figures.
        with open(sys.argv[4]) as md:
            text = md.read()
        title, _, rest = text.partition("\n\n")
        section = (
            f"## Whole process: `pylog emit` vs CPython (benches/python/emit_bench.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
            f"`pylog emit --config logging.json records.jsonl` against a CPython script doing the same job "
            f"(`json.loads`, `logging.makeLogRecord`, the dictConfig handler's `handle`), {n} records of one "
            f"realistic shape from a file into a discarding loopback sink; each process from start to exit, "
            f"median of {rounds} alternating rounds.\n\n"
            "| handler | pylog emit | CPython | CPython / pylog |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )
        with open(sys.argv[4], "w") as md:
            md.write(f"{title}\n\n{section}\n{rest}")


if __name__ == "__main__":
    main()
