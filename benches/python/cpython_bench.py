"""CPython's side of `make bench`: SocketHandler throughput into a draining
listener, and makePickle alone, for the same record shape.

usage: cpython_bench.py PORT N    prints one JSON line
"""
import json
import logging
import logging.handlers
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
log = logging.getLogger("bench")
log.propagate = False
log.setLevel(logging.INFO)
handler = logging.handlers.SocketHandler("127.0.0.1", port)
log.addHandler(handler)
extra = {"user": "u123", "route": "/api/v1/orders", "status": 200, "ok": True, "padding": "x" * 180}
log.info("warm up %d in %s ms", 0, "0.5", extra=extra)
start = time.perf_counter()
cpu = time.process_time()
for i in range(n):
    log.info("request %d handled in %s ms", i, "12.5", extra=extra)
handler.close()
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
record = log.makeRecord("bench", logging.INFO, __file__, 1, "request %d handled in %s ms", (1, "12.5"), None, extra=extra)
frame = handler.makePickle(record)
start = time.perf_counter()
for _ in range(n):
    handler.makePickle(record)
pickle_elapsed = time.perf_counter() - start
print(json.dumps({"records_per_s": n / elapsed, "cpu_s": cpu, "make_pickle_per_s": n / pickle_elapsed, "frame_bytes": len(frame)}))
