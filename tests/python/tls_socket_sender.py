"""CPython's SocketHandler with its socket wrapped in `ssl`, shipping three
records to a TLS listener.

usage: tls_socket_sender.py PORT CAFILE [CERTFILE KEYFILE]
"""
import logging
import logging.handlers
import socket
import ssl
import sys

port, cafile = int(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context(cafile=cafile)
if len(sys.argv) > 4:
    context.load_cert_chain(sys.argv[3], sys.argv[4])


class TLSSocketHandler(logging.handlers.SocketHandler):
    def makeSocket(self, timeout=1):
        raw = socket.create_connection((self.host, self.port), timeout=timeout)
        return context.wrap_socket(raw, server_hostname=self.host)


handler = TLSSocketHandler("localhost", port)
# SocketHandler swallows send errors (handleError); let them show.
handler.handleError = lambda record: (_ for _ in ()).throw(RuntimeError("send failed"))
log = logging.getLogger("cpy.tls")
log.setLevel(logging.DEBUG)
log.propagate = False
log.addHandler(handler)
log.info("hello %s", "tls", extra={"user": "ann"})
log.warning("ünïcode ✓")
log.error("third")
handler.close()
