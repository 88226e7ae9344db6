"""Use the pylog-handlers component from Python with wasmtime-py.

A real CPython LogRecord goes through the component's `make-pickle` (the
bytes SocketHandler sends) and `encode-priority`, and the frame is shipped
to a SocketHandler receiver over TCP with Python's own socket: wasmtime-py's
WasiConfig grants no network, so Python carries the bytes.

usage: ship_record.py COMPONENT HOST PORT      (pip install wasmtime)
"""
import json
import logging
import logging.handlers
import socket
import sys

from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record, Variant

HANDLERS = "pylog:handlers/handlers@0.2.0"


def load(path):
    engine = Engine()
    component = Component.from_file(engine, path)
    linker = Linker(engine)
    linker.add_wasip2()
    # The unix-socket capability and wasi:http are our host's to give;
    # the pure exports never call them.
    linker.define_unknown_imports_as_traps(component)
    store = Store(engine)
    store.set_wasi(WasiConfig())
    instance = linker.instantiate(store, component)
    iface = instance.get_export_index(store, HANDLERS)

    def export(name):
        return instance.get_func(store, instance.get_export_index(store, name, iface))

    return store, export


def value(v):
    """A Python scalar as the WIT `value` variant. Its cases have distinct
    Python types, so wasmtime-py takes the plain value; anything else is
    sent as its str(), as a receiver would print it."""
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    return str(v)


ATTRIBUTES = {"name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
              "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
              "threadName", "processName", "process", "taskName", "message"}


def wit_record(rec):
    """`LogRecord.__dict__` as the component's `log-record`."""
    r = Record()
    args = rec.args
    if isinstance(args, dict):
        args = Variant("mapping", [(k, value(v)) for k, v in args.items()])
    elif args:
        args = Variant("positional", [value(a) for a in args])
    else:
        args = None
    fields = {
        "name": rec.name, "msg": str(rec.msg), "args": args, "levelname": rec.levelname, "levelno": rec.levelno,
        "pathname": rec.pathname, "filename": rec.filename, "module": rec.module, "exc-text": rec.exc_text,
        "stack-info": rec.stack_info, "lineno": rec.lineno, "func-name": rec.funcName, "created": rec.created,
        "msecs": rec.msecs, "relative-created": rec.relativeCreated, "thread": rec.thread,
        "thread-name": rec.threadName, "process-name": rec.processName, "process": rec.process,
        "task-name": getattr(rec, "taskName", None),
        "extra": [(k, value(v)) for k, v in rec.__dict__.items() if k not in ATTRIBUTES],
    }
    for k, v in fields.items():
        setattr(r, k, v)
    return r


def main():
    path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store, export = load(path)
    make_pickle, encode_priority = export("make-pickle"), export("encode-priority")

    rec = logging.getLogger("py.host").makeRecord(
        "py.host", logging.WARNING, __file__, 42, "disk %s is %d%% full", ("/var", 91), None,
        extra={"host": "db1", "ratio": 0.91})
    frame = make_pickle(store, wit_record(rec), 3)
    priority = encode_priority(store, "local3", "warning")
    with socket.create_connection((host, port)) as s:
        s.sendall(frame)
    print(json.dumps({
        "frame_bytes": len(frame),
        "priority": priority,
        # encodePriority reads only the class tables.
        "cpython_priority": logging.handlers.SysLogHandler.encodePriority(logging.handlers.SysLogHandler, "local3", "warning"),
    }))


if __name__ == "__main__":
    main()
