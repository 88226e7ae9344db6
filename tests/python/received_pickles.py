"""Pickles of LogRecord dicts as CPython writes them, with what CPython
itself reads back, for the receiver's pickle-to-JSON paths.

usage: received_pickles.py N SEED
stdout: one JSON line per case {"pickle": hex, "protocol": p, "expected": {...} or null}
`expected` is pickle.loads of the bytes, in the receiver's JSON conventions
(tuples and lists as arrays, bytes as {"$bytes": hex}, NaN and infinities
as {"$float": ...}, ints beyond 64 bits as their digits in a string); null
when the record is not valid UTF-8 text that JSON can carry.
"""
import json
import logging
import logging.handlers
import math
import pickle
import random
import sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)

TEXTS = ["", "plain", "caf\u00e9 \u2603 \U0001f600", "tab\there\nnew \"quoted\" \\ back", "\x00\x1f\x7f", "%s %d %(x)s", "x" * 300]
INTS = [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**100, -7 * 10**30]
FLOATS = [0.0, -0.0, 1.5, 1e300, 5e-324, 1700000000.123456, float("nan"), float("inf"), float("-inf"), 0.1]


def value(depth=0):
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.choice(TEXTS)
    if kind == 1:
        return rng.choice(INTS)
    if kind == 2:
        return rng.choice(FLOATS)
    if kind == 3:
        return rng.choice([None, True, False])
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(6)))
    if kind == 5:
        return rng.choice(TEXTS) + str(rng.random())
    if kind == 6:
        return tuple(value(depth + 1) for _ in range(rng.randrange(4)))
    if kind == 7:
        return [value(depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["a", "b", "k\u00e9"]): value(depth + 1) for _ in range(rng.randrange(3))}


def as_json(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if -2**63 <= v < 2**63 else str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return {"$float": "nan"}
        if math.isinf(v):
            return {"$float": "inf" if v > 0 else "-inf"}
        return v
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    if isinstance(v, (list, tuple)):
        return [as_json(x) for x in v]
    return {k: as_json(x) for k, x in v.items()}


handler = logging.handlers.SocketHandler("127.0.0.1", 9)  # makePickle only
for i in range(n):
    record = logging.LogRecord("app.x", rng.choice([10, 20, 30, 40, 50]), "/srv/a.py", i, rng.choice(TEXTS), None, None, "f")
    for _ in range(rng.randrange(5)):
        setattr(record, rng.choice(["user", "request_id", "extra_" + str(rng.randrange(20)), "msecs", "thread"]), value())
    if i % 7 == 0:
        record.msg = "lone \ud800 surrogate"
    protocol = rng.choice([1, 2, 3, 4, 5]) if i % 3 else 1
    d = dict(record.__dict__)
    d["msg"] = record.getMessage()
    d["args"] = None
    d["exc_info"] = None
    d.pop("message", None)
    data = pickle.dumps(d, protocol) if protocol != 1 else handler.makePickle(record)[4:]
    try:
        expected = as_json(pickle.loads(data))
        json.dumps(expected, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        expected = None
    print(json.dumps({"pickle": data.hex(), "protocol": protocol, "expected": expected}))
