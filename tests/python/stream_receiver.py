"""The logging cookbook's receiver, stdlib only, checking what arrives.

usage: stream_receiver.py tcp|udp EXPECTED_RECORDS_JSONL
Prints "ready PORT" once listening. Receives frames (TCP: 4-byte length +
pickle until the sender closes; UDP: one frame per datagram until 3 s pass
without one), rebuilds each with logging.makeLogRecord, and compares it
field by field with what CPython's own SocketHandler.makePickle gives for
the record the sender was given. Prints one JSON summary line at the end.
"""
import json
import logging
import logging.handlers
import pickle
import socket
import struct
import sys

from pyrecord import record, same, stream_frames

mode, expected_path = sys.argv[1], sys.argv[2]
maker = logging.handlers.SocketHandler("127.0.0.1", 9)
expected = []
for line in open(expected_path):
    expected.append(pickle.loads(maker.makePickle(record(json.loads(line)))[4:]))
by_msg = {}
for i, d in enumerate(expected):
    by_msg.setdefault(d["msg"], []).append(i)

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if mode == "tcp" else socket.SOCK_DGRAM)
if mode == "udp":
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(("127.0.0.1", 0))
if mode == "tcp":
    sock.listen(1)
print("ready", sock.getsockname()[1], flush=True)


def frames():
    if mode == "tcp":
        sock.settimeout(60)
        conn, _ = sock.accept()
        conn.settimeout(60)
        yield from stream_frames(conn.makefile("rb"))
    else:
        sock.settimeout(3)
        while True:
            try:
                data = sock.recv(70000)
            except socket.timeout:
                return
            (n,) = struct.unpack(">L", data[:4])
            yield data[4:], n


received, corrupt, mismatches, order = 0, 0, [], []
for payload, n in frames():
    received += 1
    if len(payload) != n:
        corrupt += 1
        continue
    got = logging.makeLogRecord(pickle.loads(payload)).__dict__
    candidates = by_msg.get(got.get("msg"), [])
    if not candidates:
        corrupt += 1
        continue
    i = candidates.pop(0)
    order.append(i)
    want = expected[i]
    diff = [k for k in want if not same(got.get(k), want[k])] + [k for k in got if k not in want]
    if diff and len(mismatches) < 5:
        mismatches.append({"index": i, "fields": diff, "got": {k: repr(got.get(k)) for k in diff}})

print(json.dumps({
    "expected": len(expected),
    "received": received,
    "corrupt": corrupt,
    "mismatches": mismatches,
    "in_order": order == sorted(order),
}), flush=True)
