"""Build CPython LogRecords from the JSON our tests exchange.

Keys are LogRecord attribute names; bytes travel as {"$bytes": hex} and
non-finite floats as {"$float": "nan"|"inf"|"-inf"}, as in pylog's records.
"""
import logging
import struct


def value(v):
    if isinstance(v, dict) and set(v) == {"$bytes"}:
        return bytes.fromhex(v["$bytes"])
    if isinstance(v, dict) and set(v) == {"$float"}:
        return float(v["$float"])
    return v


def to_json(v):
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    if isinstance(v, float) and v != v:
        return {"$float": "nan"}
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return {"$float": "inf" if v > 0 else "-inf"}
    return v


def record(attrs):
    d = {k: value(v) for k, v in attrs.items()}
    args = attrs.get("args")
    if isinstance(args, list):
        d["args"] = tuple(value(a) for a in args)
    elif isinstance(args, dict):
        d["args"] = {k: value(a) for k, a in args.items()}
    return logging.makeLogRecord(d)


def same(a, b):
    """Equal in value and type; NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def stream_frames(f):
    """(payload, declared length) for each length-prefixed frame on a
    binary file `f`, until the stream ends; a short last payload is
    yielded as it is, for the caller to judge."""
    while True:
        head = f.read(4)
        if len(head) < 4:
            return
        (n,) = struct.unpack(">L", head)
        yield f.read(n), n
