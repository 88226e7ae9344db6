"""A real SMTP server (aiosmtpd) for SMTPHandler tests.

Prints "ready PORT", then one JSON line per message: the envelope, the
login used, and the message as Python's email package parses it.
--user/--password turn on AUTH (without TLS, for loopback); with
--tls-cert/--tls-key, STARTTLS is required before anything else and AUTH
only after it.
"""
import argparse
import email
import email.policy
import email.utils
import json
import socket
import time
import warnings

# aiosmtpd warns about its own deprecated attribute when a login succeeds.
warnings.filterwarnings("ignore", category=DeprecationWarning)

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

p = argparse.ArgumentParser()
p.add_argument("--user")
p.add_argument("--password")
p.add_argument("--tls-cert")
p.add_argument("--tls-key")
args = p.parse_args()


class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        date = msg["Date"]
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data.login.decode() if session.authenticated else None,
            "headers": [[k, str(v)] for k, v in msg.items() if k != "Date"],
            "date_tz": str(email.utils.parsedate_to_datetime(date).utcoffset()) if date else None,
            "date_age_s": abs(time.time() - email.utils.parsedate_to_datetime(date).timestamp()) if date else None,
            "body": msg.get_content(),
        }), flush=True)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
    # handled=False: aiosmtpd itself answers 535 on failure.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


kwargs = {}
if args.user is not None:
    kwargs = {"authenticator": authenticator, "auth_require_tls": False}
if args.tls_cert:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    kwargs.update(require_starttls=True, tls_context=context, auth_require_tls=True)

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# aiosmtpd's Controller needs a port number up front; another process may
# take a free port before the server binds it, so try a few.
for attempt in range(5):
    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(), **kwargs)
    try:
        controller.start()
        break
    except (OSError, RuntimeError):
        if attempt == 4:
            raise
print(f"ready {controller.port}", flush=True)
while True:
    time.sleep(3600)
