"""CPython's QueueHandler and QueueListener feeding a FileHandler: argv[1]
is JSON {"path", "queue_format", "file_format", "file_level",
"respect_handler_level", "records"}."""
import json
import logging
import logging.handlers
import queue
import sys

from pyrecord import record

spec = json.load(open(sys.argv[1]))
q = queue.Queue()
qh = logging.handlers.QueueHandler(q)
if spec.get("queue_format"):
    qh.setFormatter(logging.Formatter(spec["queue_format"]))
fh = logging.FileHandler(spec["path"])
fh.setFormatter(logging.Formatter(spec["file_format"]))
fh.setLevel(spec["file_level"])
listener = logging.handlers.QueueListener(q, fh, respect_handler_level=spec["respect_handler_level"])
listener.start()
for attrs in spec["records"]:
    qh.handle(record(attrs))
listener.stop()
fh.close()
