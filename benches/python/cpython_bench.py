"""CPython's side of `make bench`: one handler's throughput into the
draining listeners, driven by logging.Logger, for the same record shape.

usage: cpython_bench.py KIND TCP_PORT UDP_PORT N SYSLOG_FORMAT   prints one JSON line
KIND: socket, datagram, syslog_udp, syslog_tcp, memory, or pickle (makePickle alone)
"""
import json
import logging
import logging.handlers
import socket
import sys
import time

kind, tcp, udp, n, syslog_format = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
extra = {"user": "u123", "route": "/api/v1/orders", "status": 200, "ok": True, "padding": "x" * 180}

if kind == "pickle":
    # n distinct records made beforehand, as the Rust side pickles n distinct
    # records: the same job, neither side re-reading one record from cache.
    h = logging.handlers.SocketHandler("127.0.0.1", tcp)
    logger = logging.getLogger("bench")
    records = [logger.makeRecord("bench", logging.INFO, __file__, 1, "request %d handled in %s ms", (i, "12.5"),
                                 None, extra=extra) for i in range(n)]
    start = time.perf_counter()
    for record in records:
        h.makePickle(record)
    print(json.dumps({"make_pickle_per_s": n / (time.perf_counter() - start)}))
    sys.exit(0)

if kind == "socket":
    handler = logging.handlers.SocketHandler("127.0.0.1", tcp)
elif kind == "datagram":
    handler = logging.handlers.DatagramHandler("127.0.0.1", udp)
elif kind in ("syslog_udp", "syslog_tcp"):
    stream = kind == "syslog_tcp"
    handler = logging.handlers.SysLogHandler(
        ("127.0.0.1", tcp if stream else udp), facility="local3",
        socktype=socket.SOCK_STREAM if stream else socket.SOCK_DGRAM)
    handler.ident = "bench: "
    handler.setFormatter(logging.Formatter(syslog_format))
elif kind == "memory":
    handler = logging.handlers.MemoryHandler(100, logging.ERROR, logging.handlers.SocketHandler("127.0.0.1", tcp))
else:
    raise SystemExit(f"unknown kind {kind}")

log = logging.getLogger("bench")
log.propagate = False
log.setLevel(logging.INFO)
log.addHandler(handler)
log.info("warm up %d in %s ms", 0, "0.5", extra=extra)
start = time.perf_counter()
cpu = time.process_time()
for i in range(n):
    log.info("request %d handled in %s ms", i, "12.5", extra=extra)
handler.close()
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"records_per_s": n / elapsed, "cpu_s": cpu}))
