"""CPython's own HTTPHandler sending records: argv[1] is JSON {"host",
"url", "method", "credentials", "records"}."""
import json
import logging
import logging.handlers
import sys

from pyrecord import record

spec = json.load(open(sys.argv[1]))
creds = tuple(spec["credentials"]) if spec.get("credentials") else None
h = logging.handlers.HTTPHandler(spec["host"], spec["url"], method=spec["method"], credentials=creds)
for attrs in spec["records"]:
    h.handle(record(attrs))
h.close()
