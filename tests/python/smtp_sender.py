"""CPython's own SMTPHandler: argv[1] is JSON {"port", "fromaddr",
"toaddrs", "subject", "credentials", "format", "records"}."""
import json
import logging
import logging.handlers
import sys

from pyrecord import record

spec = json.load(open(sys.argv[1]))
creds = tuple(spec["credentials"]) if spec.get("credentials") else None
secure = tuple(spec["secure"]) if spec.get("secure") is not None else None
h = logging.handlers.SMTPHandler(("127.0.0.1", spec["port"]), spec["fromaddr"], spec["toaddrs"], spec["subject"],
                                 credentials=creds, secure=secure, timeout=10.0)
h.setFormatter(logging.Formatter(spec["format"]))
failed = []
h.handleError = lambda rec: failed.append(rec.msg)
for attrs in spec["records"]:
    h.handle(record(attrs))
print(json.dumps({"failed": failed}))
