"""The logging cookbook's socket receiver, stdlib only: accepts one TCP
connection, rebuilds each frame with pickle.loads + logging.makeLogRecord,
prints the record's attributes as one JSON line each. Prints "ready PORT"
first; exits when the sender closes."""
import json
import logging
import pickle
import socket

from pyrecord import stream_frames, to_json

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
print(f"ready {server.getsockname()[1]}", flush=True)
conn, _ = server.accept()
with conn.makefile("rb") as f:
    for payload, _ in stream_frames(f):
        rec = logging.makeLogRecord(pickle.loads(payload))
        print(json.dumps({k: to_json(v) for k, v in rec.__dict__.items()}, default=str), flush=True)
