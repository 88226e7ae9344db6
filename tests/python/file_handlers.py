"""CPython's own file handlers, run on a record sequence with a clock the
test controls: time.time() returns each record's `created` while it is
handled (and the first record's before the handler is built), so that
TimedRotatingFileHandler rolls over where a live one would have.

argv[1]: JSON {"entry": dictConfig handler entry, "formatter": {...},
"records": [...], "moves": [indices]}. Before each record whose index is
in "moves", the log file is renamed to FILE.moved (what logrotate does to
a WatchedFileHandler).
"""
import datetime
import json
import logging
import logging.config
import os
import sys
import time

from pyrecord import record

spec = json.load(open(sys.argv[1]))
entry = dict(spec["entry"])
if isinstance(entry.get("atTime"), str):
    entry["atTime"] = datetime.time(*map(int, entry["atTime"].split(":")))
records = spec["records"]
clock = [records[0]["created"]]
time.time = lambda: clock[0]
config = {
    "version": 1,
    "formatters": {"f": spec["formatter"]},
    "handlers": {"h": dict(entry, formatter="f")},
    "root": {"handlers": ["h"], "level": "NOTSET"},
}
logging.config.dictConfig(config)
handler = logging.getLogger().handlers[0]
failed = []
handler.handleError = lambda rec: failed.append(rec.msg)
for i, attrs in enumerate(records):
    if i in spec.get("moves", []):
        os.rename(entry["filename"], entry["filename"] + ".moved")
    clock[0] = attrs["created"]
    handler.handle(record(attrs))
handler.close()
print(json.dumps({"failed": failed}))
