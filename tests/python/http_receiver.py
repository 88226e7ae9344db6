"""A real HTTP server (http.server) for HTTPHandler tests.

Prints "ready PORT", then one JSON line per request: method, path,
the headers a log receiver looks at, the body. Answers 401 when
--user/--password are given and the request's basic auth differs, 500 for
paths under /fail, 200 otherwise. With --tls-cert/--tls-key it serves
HTTPS (http.server wrapped in `ssl`).
"""
import argparse
import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--user")
p.add_argument("--password")
p.add_argument("--tls-cert")
p.add_argument("--tls-key")
args = p.parse_args()
expected = None
if args.user is not None:
    expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()


class Handler(BaseHTTPRequestHandler):
    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        auth = self.headers.get("Authorization")
        print(json.dumps({
            "method": self.command,
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "content_length": self.headers.get("Content-Length"),
            "authorization": auth,
            "body": body,
        }), flush=True)
        if expected is not None and auth != expected:
            status = 401
        elif self.path.startswith("/fail"):
            status = 500
        else:
            status = 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = handle_one
    do_POST = handle_one

    def log_message(self, *a):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if args.tls_cert:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"ready {server.server_address[1]}", flush=True)
server.serve_forever()
