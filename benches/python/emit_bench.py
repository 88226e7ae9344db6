"""The whole process a user runs: `pylog emit --config logging.json
records.jsonl` against a CPython script doing the same job (json.loads,
logging.makeLogRecord, the handler's handle), side by side: the two
alternate, round after round, and the ratio of their medians is reported.

The sink is a TCP or UDP listener in this script that reads and discards.
Each run starts the process and stops the clock when it has exited.

The native ceiling runs in the same rounds: examples/native_emit.rs (built
beside PYLOG, in examples/) does what `pylog emit` does with the plugin's
core compiled natively instead of into the component. The streaming
latency is how long a line written to `pylog emit -` takes to reach the
receiver while the input stays open (as from `tail -f`).

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


# The native ceiling's handler for each single-handler scenario: its kind
# in native_emit and whether it sends over TCP.
NATIVE = {
    "SocketHandler": ("socket", True),
    "DatagramHandler": ("datagram", False),
    "SysLogHandler UDP": ("syslog-udp", False),
    "SysLogHandler TCP": ("syslog-tcp", True),
}


def streaming_latency(pylog, tmp, lines=20):
    """Median and worst milliseconds from writing one line to `pylog emit -`
    to its bytes arriving at a SocketHandler's receiver, the input staying
    open between lines (the first line, which pays for start-up and the
    connection, is not counted)."""
    server = socket.create_server(("127.0.0.1", 0))
    config = write_config(tmp, {"version": 1, "handlers": {"h": {
        "class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": server.getsockname()[1]}},
        "root": {"level": "DEBUG", "handlers": ["h"]}})
    proc = subprocess.Popen([pylog, "emit", "--config", config, "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = []
    try:
        server.settimeout(30)
        conn = None
        for i in range(lines + 1):
            start = time.perf_counter()
            proc.stdin.write(json.dumps({"msg": f"line {i}"}).encode() + b"\n")
            proc.stdin.flush()
            if conn is None:
                conn, _ = server.accept()
                conn.settimeout(30)
            if not conn.recv(1 << 16):
                raise SystemExit("the receiver's connection closed")
            if i > 0:
                took.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        server.close()
    return statistics.median(took), max(took)


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
    native = os.path.join(os.path.dirname(pylog), "examples", "native_emit")
    if not os.path.exists(native):
        raise SystemExit(f"{native}: build it with `cargo build --release --examples`")
    tcp, udp = tcp_sink(), udp_sink()
    with tempfile.TemporaryDirectory() as tmp:
        lines = write_records(tmp, n)
        print(f"pylog emit, whole process, {n} records from a file; median of {rounds} alternating rounds:")
        rows = []
        for label, config in scenarios(tcp, udp):
            path = write_config(tmp, config)
            runs = {"pylog": [pylog, "emit", "--config", path, lines],
                    "cpython": [sys.executable, "-c", CPYTHON_SHIPPER, path, lines]}
            if label in NATIVE:
                kind, over_tcp = NATIVE[label]
                runs["native"] = [native, kind, str(tcp if over_tcp else udp), lines]
            times = {name: [] for name in runs}
            for _ in range(rounds):
                for name, cmd in runs.items():
                    times[name].append(timed(cmd))
            p, c = statistics.median(times["pylog"]), statistics.median(times["cpython"])
            if "native" in times:
                v = statistics.median(times["native"])
                native_cells = f"{v:.3f} s | {v / p:.2f} |"
                said = f"  native {v:6.3f} s  native/pylog {v / p:4.2f}"
            else:
                native_cells, said = "- | - |", ""
            print(f"  {label:36} pylog {p:6.3f} s  CPython {c:6.3f} s  ratio {c / p:5.2f}x{said}")
            rows.append(f"| {label} | {p:.3f} s | {c:.3f} s | **{c / p:.2f}x** | {native_cells}")
        median_ms, worst_ms = streaming_latency(pylog, tmp)
        print(f"  streaming: a line reaches the receiver in {median_ms:.2f} ms (median of 20; worst {worst_ms:.2f} ms)")
    size = os.path.getsize(os.path.join(os.path.dirname(pylog), "..", "wasm32-wasip2", "component", "pylog_handlers.wasm"))
    print(f"  component: {size} bytes ({size / 1024:.0f} KiB)")
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
            f"median of {rounds} alternating rounds, on {cpu_name()} ({os.cpu_count()} cores, shared and noisy). "
            f"The native core is the same pipeline with the plugin's core compiled natively "
            f"(examples/native_emit.rs); native / pylog is its time over pylog's (1.0: the component costs nothing).\n\n"
            "| handler | pylog emit | CPython | CPython / pylog | native core | native / pylog |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
            f"A line piped into `pylog emit -` reaches a SocketHandler's receiver in {median_ms:.2f} ms "
            f"(median of 20 lines, worst {worst_ms:.2f} ms), the input staying open between lines. "
            f"The component is {size} bytes ({size / 1024:.0f} KiB).\n"
        )
        with open(sys.argv[4], "w") as md:
            md.write(f"{title}\n\n{section}\n{rest}")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "an unknown CPU"


if __name__ == "__main__":
    main()
