"""CPython's StreamHandler on sys.stdout: argv[1] is JSON {"format",
"records"}; the formatted records go to stdout."""
import json
import logging
import sys

from pyrecord import record

spec = json.load(open(sys.argv[1]))
h = logging.StreamHandler(sys.stdout)
h.setFormatter(logging.Formatter(spec["format"]))
for attrs in spec["records"]:
    h.handle(record(attrs))
h.flush()
