"""CPython's own handlers ship three records each into pylog listen.

usage: cpython_sender.py TCP_PORT UDP_PORT SYSLOG_UDP_PORT SYSLOG_TCP_PORT
"""
import logging
import logging.handlers
import socket
import sys

tcp, udp, sys_udp, sys_tcp = (int(p) for p in sys.argv[1:5])
log = logging.getLogger("cpy.sender")
log.setLevel(logging.DEBUG)
log.propagate = False
fmt = logging.Formatter("%(name)s: %(message)s")
handlers = [
    logging.handlers.SocketHandler("127.0.0.1", tcp),
    logging.handlers.DatagramHandler("127.0.0.1", udp),
    logging.handlers.SysLogHandler(("127.0.0.1", sys_udp), facility="local4"),
    logging.handlers.SysLogHandler(("127.0.0.1", sys_tcp), facility="local4", socktype=socket.SOCK_STREAM),
]
for h in handlers[2:]:
    h.setFormatter(fmt)
for h in handlers:
    log.addHandler(h)

log.info("hello %s", "world", extra={"user": "ann"})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("failed %d", 42)
log.warning("ünïcode ✓")
for h in handlers:
    h.close()
