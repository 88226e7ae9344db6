"""SysLogHandler's transports side by side: `pylog emit` of N records into
rsyslog over plain TCP (octet-counted), TLS (RFC 5425), RELP and RELP over
TLS, each the whole process from start to exit; records/s from the median
of the rounds, the transports alternating within each round.

rsyslog runs in the foreground on loopback (two instances: one plain, one
with the gtls driver and a CA made here with openssl) and discards what it
receives (into /dev/null), so the figures are the sender's.

usage: syslog_transports_bench.py PYLOG [N] [ROUNDS] [MARKDOWN]
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from emit_bench import measured, write_records  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(tmp, *args):
    subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True)


def make_certs(tmp):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    openssl(tmp, "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=bench CA", "-keyout", "ca-key.pem",
            "-out", "ca.pem", *ec)
    with open(os.path.join(tmp, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    for name in ("server", "client"):
        openssl(tmp, "req", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", *ec)
        openssl(tmp, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-days", "2", "-extfile", "ext.cnf", "-out", f"{name}.pem")


def rsyslog(tmp, name, tls):
    """An rsyslogd with an imtcp and an imrelp input; returns (process, tcp port, relp port)."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    tcp, relp = free_port(), free_port()
    if tls:
        glob = (f' DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{tmp}/ca.pem"'
                f' DefaultNetstreamDriverCertFile="{tmp}/server.pem" DefaultNetstreamDriverKeyFile="{tmp}/server-key.pem"')
        imtcp = 'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")'
        relp_tls = (f' tls="on" tls.caCert="{tmp}/ca.pem" tls.myCert="{tmp}/server.pem"'
                    f' tls.myPrivKey="{tmp}/server-key.pem" tls.authMode="certvalid"')
    else:
        glob, imtcp, relp_tls = "", 'module(load="imtcp")', ""
    conf = f"""global(workDirectory="{d}"{glob})
main_queue(queue.type="direct")
{imtcp}
input(type="imtcp" port="{tcp}" address="127.0.0.1")
module(load="imrelp")
input(type="imrelp" port="{relp}" address="127.0.0.1"{relp_tls})
*.* action(type="omfile" file="/dev/null")
"""
    with open(os.path.join(d, "rsyslog.conf"), "w") as f:
        f.write(conf)
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    proc = subprocess.Popen([rsyslogd, "-n", "-f", f"{d}/rsyslog.conf", "-i", f"{d}/pid"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 15
    for port in (tcp, relp):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"rsyslogd ({name}) did not come up")
                time.sleep(0.02)
    return proc, tcp, relp


def main():
    pylog = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with tempfile.TemporaryDirectory() as tmp:
        make_certs(tmp)
        plain, tcp, relp = rsyslog(tmp, "plain", False)
        secure, tls_tcp, tls_relp = rsyslog(tmp, "tls", True)
        try:
            lines = write_records(tmp, n)
            tls = {"cafile": f"{tmp}/ca.pem"}
            client = {**tls, "certfile": f"{tmp}/client.pem", "keyfile": f"{tmp}/client-key.pem"}
            spool = {"spool_records": n, "flush_timeout": 300}
            transports = [
                ("TCP, octet-counted", tcp, {"framing": "octet-counting"}),
                ("TLS (RFC 5425)", tls_tcp, {"tls": tls}),
                ("RELP", relp, {"relp": True, **spool}),
                ("RELP over TLS", tls_relp, {"relp": True, "tls": client, **spool}),
            ]
            commands = []
            for label, port, options in transports:
                handler = {"class": "logging.handlers.SysLogHandler", "address": ["localhost", port],
                           "socktype": "ext://socket.SOCK_STREAM", ".": options}
                config = {"version": 1, "handlers": {"h": handler}, "root": {"level": "DEBUG", "handlers": ["h"]}}
                path = os.path.join(tmp, f"logging-{port}.json")
                with open(path, "w") as f:
                    json.dump(config, f)
                commands.append((label, [pylog, "emit", "--config", path, lines]))
            times = {label: [] for label, _ in commands}
            for _ in range(rounds):
                for label, cmd in commands:
                    times[label].append(measured(cmd)[0])
            print(f"SysLogHandler into rsyslog, pylog emit of {n} records, median of {rounds} alternating rounds:")
            rows = []
            base = statistics.median(times[commands[0][0]])
            for label, _ in commands:
                t = statistics.median(times[label])
                print(f"  {label:20} {t:6.3f} s  {n / t:9.0f} records/s  ({t / base:4.2f}x the time of plain TCP)")
                rows.append(f"| {label} | {t:.3f} s | {n / t:,.0f} | {t / base:.2f}x |")
        finally:
            for p in (plain, secure):
                p.terminate()
                p.wait(timeout=15)
    if len(sys.argv) > 4:
        with open(sys.argv[4], "a") as md:
            md.write(
                f"\n## SysLogHandler transports into rsyslog (benches/python/syslog_transports_bench.py, "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
                f"`pylog emit` of {n} records from a file into rsyslog on loopback (direct queue, messages "
                f"written to /dev/null), each process from start to exit, median of {rounds} rounds with the transports "
                "alternating. RELP waits for rsyslog's answer to each message (128 in flight).\n\n"
                "| transport | pylog emit | records/s | time vs plain TCP |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
            )


if __name__ == "__main__":
    main()
