#!/usr/bin/env python3
"""A receiver for pylog-handlers' acknowledged mode, stdlib only.

The sender keeps every record until the receiver acknowledges it, and after
a reconnect sends again what was not acknowledged: at-least-once delivery.
The receiver's part is small: handle the record, then acknowledge it, and
drop a (session, sequence) it has already handled.

Frame:           length u32 BE | 0xA2 | session[16] | sequence u64 BE | pickle
Acknowledgement: 0xA3 | sequence u64 BE   (written after the record is handled)

usage: ack_receiver.py [--port N] [--connections N]
Prints one JSON line per record: {"seq": N, "msg": ...}.
"""
import argparse
import io
import json
import logging
import pickle
import socket
import struct


class RefuseGlobals(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def serve(conn, seen):
    f = conn.makefile("rb")
    while True:
        head = f.read(4)
        if len(head) < 4:
            return
        (n,) = struct.unpack(">L", head)
        body = f.read(n)
        if len(body) < n or body[:1] != b"\xa2":
            return
        session, (seq,) = body[1:17], struct.unpack(">Q", body[17:25])
        if (session, seq) not in seen:
            record = logging.makeLogRecord(RefuseGlobals(io.BytesIO(body[25:])).load())
            print(json.dumps({"seq": seq, "msg": record.getMessage()}), flush=True)
            seen.add((session, seq))
        # Only now, with the record handled, does the sender forget it.
        conn.sendall(b"\xa3" + struct.pack(">Q", seq))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--connections", type=int, default=0)
    args = p.parse_args()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(4)
    print("ready", server.getsockname()[1], flush=True)
    seen, served = set(), 0
    while not args.connections or served < args.connections:
        conn, _ = server.accept()
        with conn:
            serve(conn, seen)
        served += 1


if __name__ == "__main__":
    main()
