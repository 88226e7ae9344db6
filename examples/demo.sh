#!/usr/bin/env bash
# make demo: start a real receiver, ship records through the sandboxed plugin
# over TCP, UDP and syslog, and show them arriving.
set -euo pipefail
PYLOG=${1:?usage: demo.sh PYLOG COMPONENT}
export PYLOG_PLUGIN=${2:?usage: demo.sh PYLOG COMPONENT}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting pylog listen (a receiver for SocketHandler, DatagramHandler and syslog)"
"$PYLOG" listen --tcp 127.0.0.1:0 --udp 127.0.0.1:0 --syslog-udp 127.0.0.1:0 --syslog-tcp 127.0.0.1:0 \
  --format text --count 12 >"$WORK/listen.out" 2>"$WORK/listen.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$WORK/listen.err" 2>/dev/null && break; sleep 0.05; done
cat "$WORK/listen.err"
port() { grep -o " $1=127.0.0.1:[0-9]*" "$WORK/listen.err" | cut -d: -f2; }

RSYSLOG_HANDLER=""
if command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ]; then
  RS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$WORK/rsyslog.conf" <<CONF
global(workDirectory="$WORK")
module(load="imudp")
input(type="imudp" port="$RS_PORT" address="127.0.0.1")
template(name="t" type="string" string="rsyslog got: pri=%pri% %syslogfacility-text%.%syslogseverity-text% tag=%syslogtag% msg=%msg%\n")
*.* action(type="omfile" file="$WORK/rsyslog.out" template="t")
CONF
  say "Starting rsyslogd in the foreground on udp 127.0.0.1:$RS_PORT"
  PATH=$PATH:/usr/sbin rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslog.pid" &
  PIDS+=($!)
  for _ in $(seq 100); do python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'<14>probe', ('127.0.0.1', $RS_PORT))"; [ -s "$WORK/rsyslog.out" ] && break; sleep 0.05; done
  : >"$WORK/rsyslog.out"
  RSYSLOG_HANDLER=",
    \"to_rsyslog\": {\"class\": \"logging.handlers.SysLogHandler\", \"address\": [\"127.0.0.1\", $RS_PORT],
                   \"facility\": \"local3\", \"level\": \"INFO\", \".\": {\"ident\": \"shop: \"}}"
else
  say "rsyslogd is not installed (make deps installs it); skipping the rsyslog part"
fi

cat >"$WORK/logging.json" <<JSON
{
  "version": 1,
  "formatters": {"brief": {"format": "%(name)s: %(message)s"}},
  "handlers": {
    "tcp": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": $(port tcp), "level": "INFO"},
    "udp": {"class": "logging.handlers.DatagramHandler", "host": "localhost", "port": $(port udp), "level": "INFO"},
    "syslog_udp": {"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", $(port syslog-udp)],
                   "facility": "local3", "level": "INFO", "formatter": "brief"},
    "syslog_tcp": {"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", $(port syslog-tcp)],
                   "socktype": "ext://socket.SOCK_STREAM", "level": "INFO",
                   ".": {"rfc5424": true, "framing": "octet-counting", "app_name": "shop"}}$RSYSLOG_HANDLER
  }
}
JSON
say "The configuration: a logging.config.dictConfig document, CPython's class names"
cat "$WORK/logging.json"
say "The records (JSON lines; keys are LogRecord attributes, others become extras)"
cat "$HERE/records.jsonl"

say "pylog emit: each handler runs in its own sandboxed plugin instance"
"$PYLOG" emit --config "$WORK/logging.json" "$HERE/records.jsonl"

say "What pylog listen received (3 records x 4 handlers)"
for _ in $(seq 200); do [ "$(wc -l <"$WORK/listen.out")" -ge 12 ] && break; sleep 0.05; done
cat "$WORK/listen.out"
if [ -n "$RSYSLOG_HANDLER" ]; then
  say "What rsyslog wrote to its file"
  for _ in $(seq 200); do [ "$(wc -l <"$WORK/rsyslog.out")" -ge 3 ] && break; sleep 0.05; done
  cat "$WORK/rsyslog.out"
fi
say "Done. The same JSON lines can come from a pipe: tail -f app.jsonl | pylog emit --config logging.json -"
