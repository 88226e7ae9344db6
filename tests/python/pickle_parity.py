"""Compare our make-pickle frames with CPython's SocketHandler.makePickle.

stdin: JSON lines {"record": {...}, "frame": hex or null, "error": str or null}
stdout: one JSON line per case {"ok": bool, "why": str}
"""
import json
import logging.handlers
import pickle
import struct
import sys

from pyrecord import record, same

handler = logging.handlers.SocketHandler("127.0.0.1", 9)  # never connects: makePickle only

for line in sys.stdin:
    case = json.loads(line)
    rec = record(case["record"])
    try:
        theirs = handler.makePickle(rec)
        their_error = None
    except Exception as e:  # noqa: BLE001 - CPython's handleError would swallow any of these
        theirs, their_error = None, type(e).__name__
    if case["frame"] is None:
        ok = their_error is not None and case["error"].startswith("bad record: " + their_error)
        why = f"ours failed with {case['error']!r}; CPython {'raised ' + their_error if their_error else 'succeeded'}"
        print(json.dumps({"ok": ok, "why": why}), flush=True)
        continue
    if their_error is not None:
        print(json.dumps({"ok": False, "why": f"CPython raised {their_error}, ours produced a frame"}), flush=True)
        continue
    ours = bytes.fromhex(case["frame"])
    (length,) = struct.unpack(">L", ours[:4])
    d_ours = pickle.loads(ours[4:])
    d_theirs = pickle.loads(theirs[4:])
    problems = []
    if length != len(ours) - 4:
        problems.append(f"prefix says {length}, payload is {len(ours) - 4}")
    if list(d_ours) != list(d_theirs):
        problems.append(f"keys {list(d_ours)} != {list(d_theirs)}")
    for k in d_theirs:
        if k in d_ours and not same(d_ours[k], d_theirs[k]):
            problems.append(f"{k}: ours {d_ours[k]!r} ({type(d_ours[k]).__name__}), CPython {d_theirs[k]!r} ({type(d_theirs[k]).__name__})")
    print(json.dumps({"ok": not problems, "why": "; ".join(problems)}), flush=True)
