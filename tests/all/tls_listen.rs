//! `pylog listen --tls-cert --tls-key [--tls-client-ca]`: our SocketHandler
//! over TLS (plain and acknowledged) and CPython's SocketHandler wrapped in
//! `ssl` send to the same listener, and records arrive intact; with a
//! client CA, a sender without a certificate is refused.

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::certs::TestCa;
use crate::common::{pylog_bin, pylog_listen_logged, python, read_records, run, script, Output};

fn listen(
    ca: &TestCa,
    client_ca: bool,
) -> (crate::common::Peer, u16, std::io::BufReader<std::process::ChildStdout>, crate::common::Log) {
    let (cert, key, ca_file) = (ca.path("server.pem"), ca.path("server-key.pem"), ca.path("ca.pem"));
    let mut args = vec!["--tcp", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &key];
    if client_ca {
        args.extend(["--tls-client-ca", &ca_file]);
    }
    let (peer, addrs, out, log) = pylog_listen_logged(&args);
    (peer, addrs[0].1.port(), out, log)
}

fn emit(name: &str, port: u16, options: Value, records: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("pylog-tls-listen-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("config.json");
    let handler = json!({"class": "logging.handlers.SocketHandler", "host": "localhost", "port": port, ".": options});
    let doc = json!({"version": 1, "handlers": {"h": handler}, "root": {"handlers": ["h"], "level": "DEBUG"}});
    std::fs::write(&config, doc.to_string()).expect("config");
    let mut cmd = Command::new(pylog_bin());
    cmd.arg("emit").arg("--config").arg(&config);
    run(cmd, records.as_bytes(), Duration::from_secs(60))
}

const RECORDS: &str = concat!(
    r#"{"msg": "plain %s", "args": ["one"], "levelname": "INFO", "name": "ours", "user": "bob"}"#,
    "\n",
    r#"{"msg": "acknowledged", "levelname": "WARNING", "name": "ours"}"#,
    "\n",
);

#[test]
fn our_socket_handler_and_cpython_with_ssl_reach_a_tls_listener() {
    let ca = TestCa::new("listen-tls");
    let (_listener, port, out, _log) = listen(&ca, false);
    let tls = json!({"cafile": ca.path("ca.pem")});
    let first = RECORDS.lines().next().expect("line").to_string() + "\n";
    let plain = emit("plain", port, json!({"tls": tls}), &first);
    assert!(plain.status.success(), "{}", plain.stderr);
    let second = RECORDS.lines().nth(1).expect("line").to_string() + "\n";
    let acked = emit("acked", port, json!({"tls": tls, "acknowledged": true}), &second);
    assert!(acked.status.success(), "{}", acked.stderr);
    let mut cmd = python();
    cmd.arg(script("tls_socket_sender.py")).arg(port.to_string()).arg(ca.path("ca.pem")).current_dir(script(""));
    let cpython = run(cmd, b"", Duration::from_secs(30));
    assert!(cpython.status.success(), "CPython over ssl: {}", cpython.stderr);
    let got = read_records(out, 5, Duration::from_secs(15));
    let msgs: Vec<&str> = got.iter().map(|r| r["msg"].as_str().unwrap_or("")).collect();
    assert_eq!(msgs, ["plain one", "acknowledged", "hello tls", "ünïcode ✓", "third"], "{got:#?}");
    assert_eq!(got[0]["user"], "bob");
    assert_eq!(got[2]["user"], "ann");
    assert_eq!((got[2]["name"].as_str(), got[4]["levelname"].as_str()), (Some("cpy.tls"), Some("ERROR")));
}

#[test]
fn a_listener_requiring_client_certificates_refuses_a_sender_without_one() {
    let ca = TestCa::new("listen-mtls");
    let (_listener, port, out, log) = listen(&ca, true);
    let record = r#"{"msg": "certified", "levelname": "WARNING"}"#;
    let without = emit("mtls-without", port, json!({"tls": {"cafile": ca.path("ca.pem")}, "spool_records": 0}), record);
    assert!(!without.status.success(), "{}", without.stderr);
    assert!(without.stderr.contains("0 sent") || without.stderr.contains("handlers: 0 sent"), "{}", without.stderr);
    let tls =
        json!({"cafile": ca.path("ca.pem"), "certfile": ca.path("client.pem"), "keyfile": ca.path("client-key.pem")});
    let with = emit("mtls-with", port, json!({"tls": tls, "acknowledged": true}), record);
    assert!(with.status.success(), "{}", with.stderr);
    let got = read_records(out, 1, Duration::from_secs(15));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["msg"], "certified");
    let said = log.lock().map(|l| l.join("")).unwrap_or_default();
    assert!(said.contains("TLS handshake failed"), "the listener reports the refused sender: {said}");
}

/// `"verify": false` reaches a receiver whose CA nobody configured, and
/// says so loudly, at start and in the summary.
#[test]
fn verification_off_works_and_is_said_loudly() {
    let ca = TestCa::new("listen-noverify");
    let (_listener, port, out, _log) = listen(&ca, false);
    let record = r#"{"msg": "unverified", "levelname": "WARNING"}"#;
    let strict = emit("strict", port, json!({"tls": {}, "spool_records": 0}), record);
    assert!(!strict.status.success(), "the system's store does not know the test CA: {}", strict.stderr);
    assert!(strict.stderr.contains("unknown CA"), "{}", strict.stderr);
    let loose = emit("noverify", port, json!({"tls": {"verify": false}}), record);
    assert!(loose.status.success(), "{}", loose.stderr);
    let warnings = loose.stderr.lines().filter(|l| l.contains("WARNING") && l.contains("verif")).count();
    assert_eq!(warnings, 2, "one warning at start, one in the summary: {}", loose.stderr);
    let got = read_records(out, 1, Duration::from_secs(15));
    assert_eq!(got[0]["msg"], "unverified");
}
