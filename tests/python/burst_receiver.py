"""A CPython stdlib receiver that appends every record's msg to a file.

usage: burst_receiver.py PORT OUTFILE [DELAY]   (PORT 0 picks one; DELAY
seconds of sleep after each record makes a slow reader)
Prints "ready PORT", then serves connections one after another until killed,
printing "closed" when each one has ended and all its records are written
(a reader that stopped reading stdout is no reason to stop serving).
"""
import logging
import pickle
import socket
import sys
import time

from pyrecord import stream_frames

port, out_path = int(sys.argv[1]), sys.argv[2]
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(4)
print("ready", server.getsockname()[1], flush=True)
with open(out_path, "a", buffering=1) as out:
    while True:
        conn, _ = server.accept()
        for body, n in stream_frames(conn.makefile("rb")):
            if len(body) < n:
                break
            out.write(logging.makeLogRecord(pickle.loads(body)).msg + "\n")
            if delay:
                time.sleep(delay)
        conn.close()
        try:
            print("closed", flush=True)
        except OSError:
            pass
