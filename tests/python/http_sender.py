"""CPython's own HTTPHandler sending records: argv[1] is JSON {"host",
"url", "method", "credentials", "records"}, and "cafile" for HTTPS
(secure=True with an `ssl` context trusting that CA)."""
import json
import logging
import logging.handlers
import sys

from pyrecord import record

spec = json.load(open(sys.argv[1]))
creds = tuple(spec["credentials"]) if spec.get("credentials") else None
context = None
if spec.get("cafile"):
    import ssl
    context = ssl.create_default_context(cafile=spec["cafile"])
h = logging.handlers.HTTPHandler(spec["host"], spec["url"], method=spec["method"], credentials=creds,
                                 secure=context is not None, context=context)
for attrs in spec["records"]:
    h.handle(record(attrs))
h.close()
