#!/usr/bin/env python3
"""A receiver for pylog-handlers' signed frames, using only the standard library.

It does what CPython's logging docs advise and a plain pickle receiver does
not: it verifies an HMAC-SHA256 over every frame before unpickling, refuses
replays, and unpickles with an Unpickler whose find_class refuses every
global, so that even a frame signed with a stolen key cannot run code.

Frame (SECURITY.md): length u32 BE | 0xA1 | session[16] | sequence u64 BE |
time_us u64 BE | pickle | HMAC-SHA256(key, 0xA1..pickle)

usage: secure_receiver.py KEY_FILE [--port N] [--connections N]
Prints one JSON line per frame: {"ok": true, "record": {...}} or
{"ok": false, "why": "..."}. With --connections N it exits after serving N
connections; otherwise it serves until interrupted.
"""
import argparse
import hashlib
import hmac
import io
import json
import logging
import pickle
import socket
import struct
import time

VERSION = 0xA1
HEADER = 1 + 16 + 8 + 8
MAC = 32
WINDOW_US = 300_000_000
MAX_FRAME = 1 << 20


class RefuseGlobals(pickle.Unpickler):
    """A log record is plain data; any global in its pickle is an attack."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


class Verifier:
    def __init__(self, key):
        self.key = key
        self.seen = {}  # session -> set of sequences accepted

    def check(self, body):
        if len(body) < HEADER + MAC or body[0] != VERSION:
            raise ValueError("not a signed frame")
        signed, tag = body[:-MAC], body[-MAC:]
        if not hmac.compare_digest(hmac.new(self.key, signed, hashlib.sha256).digest(), tag):
            raise ValueError("bad signature")
        session = signed[1:17]
        sequence, time_us = struct.unpack(">QQ", signed[17:33])
        if abs(time.time() * 1e6 - time_us) > WINDOW_US:
            raise ValueError("outside the replay window")
        seen = self.seen.setdefault(session, set())
        if sequence in seen:
            raise ValueError("replayed frame")
        seen.add(sequence)
        return signed[HEADER:]


def serve(conn, verifier):
    f = conn.makefile("rb")
    while True:
        head = f.read(4)
        if len(head) < 4:
            return
        (n,) = struct.unpack(">L", head)
        if n > MAX_FRAME:
            print(json.dumps({"ok": False, "why": f"frame of {n} bytes over the limit"}), flush=True)
            return
        body = f.read(n)
        if len(body) < n:
            print(json.dumps({"ok": False, "why": "truncated frame"}), flush=True)
            return
        try:
            attrs = RefuseGlobals(io.BytesIO(verifier.check(body))).load()
            record = logging.makeLogRecord(attrs)
            shown = {k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
                     for k, v in record.__dict__.items()}
            print(json.dumps({"ok": True, "record": shown}), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is a refused frame
            print(json.dumps({"ok": False, "why": f"{type(e).__name__}: {e}"}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("key_file")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--connections", type=int, default=0)
    args = p.parse_args()
    key = open(args.key_file, "rb").read()
    if key.endswith(b"\n"):
        key = key[:-1]
    verifier = Verifier(key)
    server = socket.socket()
    server.bind(("127.0.0.1", args.port))
    server.listen(16)
    print("ready", server.getsockname()[1], flush=True)
    served = 0
    while not args.connections or served < args.connections:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(30)
            serve(conn, verifier)
        served += 1


if __name__ == "__main__":
    main()
