"""CPython's own SocketHandler in the burst scenario, driven line by line.

usage: cpython_bursts.py PORT   then on stdin: "burst K" (sends 10,000
records "burst-K-i", then prints "done"), or "close".
"""
import logging
import logging.handlers
import sys

port = int(sys.argv[1])
log = logging.getLogger("bursts")
log.propagate = False
log.setLevel(logging.INFO)
handler = logging.handlers.SocketHandler("127.0.0.1", port)
log.addHandler(handler)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "burst":
        for i in range(10_000):
            log.info("burst-%s-%d", arg, i)
        print("done", flush=True)
    elif cmd == "close":
        handler.close()
        print("done", flush=True)
        break
