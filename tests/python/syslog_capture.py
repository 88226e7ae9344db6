"""What CPython's SysLogHandler really sends, captured from a socket.

argv[1]: a JSON file {"handler": {...dictConfig handler entry...},
"formatter": {...} or null, "records": [...]}. The handler is built by
CPython's own dictConfig, pointed at a socket this script listens on.
stdout: the captured bytes, in order (datagrams concatenated; the TCP stream
as read).
"""
import json
import logging
import logging.config
import socket
import sys

from pyrecord import record

spec = json.load(open(sys.argv[1]))
entry = dict(spec["handler"])
stream = "STREAM" in str(entry.get("socktype", ""))
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM if stream else socket.SOCK_DGRAM)
listener.bind(("127.0.0.1", 0))
listener.settimeout(10)
if stream:
    listener.listen(1)
entry["address"] = ["127.0.0.1", listener.getsockname()[1]]
config = {"version": 1, "handlers": {"h": entry}, "root": {"handlers": ["h"], "level": "NOTSET"}}
if spec.get("formatter"):
    config["formatters"] = {"f": spec["formatter"]}
    entry["formatter"] = "f"
logging.config.dictConfig(config)
handler = logging.getLogger().handlers[0]
conn = listener.accept()[0] if stream else None
failed = []
# CPython reports a record it cannot format through handleError and sends
# nothing for it; note which, instead of printing a traceback.
handler.handleError = lambda rec: failed.append(rec.msg)
out = bytearray()
sent = 0
for attrs in spec["records"]:
    rec = record(attrs)
    if rec.levelno < handler.level:
        continue
    before = len(failed)
    handler.handle(rec)
    if len(failed) > before:
        continue
    if not stream:
        out += listener.recv(65536)
    sent += 1
handler.close()
if stream:
    conn.settimeout(10)
    while chunk := conn.recv(65536):
        out += chunk
sys.stdout.buffer.write(bytes(out))
print(json.dumps({"sent": sent, "failed": len(failed)}), file=sys.stderr)
