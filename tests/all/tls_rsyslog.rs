//! SysLogHandler over TLS (RFC 5425) into rsyslog's gtls stream driver
//! (Debian's rsyslog-gnutls), started by the test on loopback with
//! certificates made by `openssl`: records arrive with the PRI and text
//! CPython would send, and every verification failure (unknown CA, name
//! mismatch, expired certificate, a client certificate the server
//! requires) is a counted failure, never "sent".

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::certs::TestCa;
use crate::common::{free_port, pylog_bin, python, run, script, Output, Peer};
use crate::rsyslog::{check, spawn_rsyslogd, wait_until_listening, RECORDS};

/// rsyslog's TLS authentication modes used here.
#[derive(Clone, Copy)]
enum Auth {
    /// Any client (the server is still verified by the client).
    Anonymous,
    /// A client certificate signed by the CA is required.
    ClientCertificate,
}

struct RsyslogTls {
    _process: Peer,
    dir: PathBuf,
    port: u16,
}

impl RsyslogTls {
    /// rsyslog serving `server_cert` (a file of `ca`) on a TLS port.
    fn start(name: &str, ca: &TestCa, server_cert: &str, auth: Auth) -> RsyslogTls {
        let dir = std::env::temp_dir().join(format!("pylog-rsyslog-tls-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let port = free_port();
        let auth = match auth {
            Auth::Anonymous => "anon",
            Auth::ClientCertificate => "x509/certvalid",
        };
        let key = server_cert.replace(".pem", "-key.pem");
        let conf = format!(
            r#"global(workDirectory="{d}" DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{ca}"
  DefaultNetstreamDriverCertFile="{cert}" DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="{auth}")
input(type="imtcp" port="{port}" address="127.0.0.1")
template(name="fields" type="string" string="%pri%|%syslogfacility-text%|%syslogseverity-text%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\n")
template(name="raw" type="string" string="%rawmsg%\n")
*.* action(type="omfile" file="{d}/out.log" template="fields")
*.* action(type="omfile" file="{d}/raw.log" template="raw")
"#,
            d = dir.display(),
            ca = ca.path("ca.pem"),
            cert = ca.path(server_cert),
            key = ca.path(&key),
        );
        std::fs::write(dir.join("rsyslog.conf"), conf).expect("conf");
        let process = spawn_rsyslogd(&dir);
        // Ready once the TLS port accepts connections: the handshake needs
        // nothing more.
        wait_until_listening(port, "rsyslogd (gtls)");
        RsyslogTls { _process: process, dir, port }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The lines of `out.log` once `n` have arrived (or the deadline passed).
    fn lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let lines: Vec<String> = self.file("out.log").lines().map(str::to_string).collect();
            if lines.len() >= n || Instant::now() >= deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn clear(&self) {
        for f in ["out.log", "raw.log"] {
            std::fs::write(self.dir.join(f), "").expect("truncate");
        }
    }
}

fn emit(name: &str, handler: Value, records: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("pylog-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("config.json");
    let doc = json!({"version": 1, "handlers": {"h": handler}, "root": {"handlers": ["h"], "level": "DEBUG"}});
    std::fs::write(&config, doc.to_string()).expect("config");
    let mut cmd = Command::new(pylog_bin());
    cmd.arg("emit").arg("--config").arg(&config);
    run(cmd, records.as_bytes(), Duration::from_secs(60))
}

fn syslog_tls(port: u16, tls: Value) -> Value {
    json!({"class": "logging.handlers.SysLogHandler", "address": ["localhost", port],
        "socktype": "ext://socket.SOCK_STREAM", "facility": "local3",
        ".": {"ident": "web: ", "tls": tls, "spool_records": 0}})
}

/// What CPython's SysLogHandler sends for RECORDS (over UDP, one datagram
/// each, without the NUL), captured by `syslog_capture.py`.
fn cpython_bytes(handler: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("pylog-tls-cpython-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // Complete records, as `pylog emit` fills them (levelno from levelname).
    let defaults = pylog_host::records::Defaults::default();
    let records: Vec<Value> = RECORDS
        .lines()
        .map(|l| pylog_host::records::from_json_line(l, &defaults).expect("record"))
        .map(|r| Value::Object(pylog_host::records::to_json(&r)))
        .collect();
    let spec = json!({"handler": handler, "formatter": null, "records": records});
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("syslog_capture.py")).arg(&spec_path).current_dir(script(""));
    let out = run(cmd, b"", Duration::from_secs(30));
    assert!(out.status.success(), "syslog_capture.py: {}", out.stderr);
    String::from_utf8(out.stdout).expect("utf-8")
}

fn summary_sent(out: &Output) -> u64 {
    let line = out.stderr.lines().find(|l| l.contains("records read")).unwrap_or_else(|| panic!("{}", out.stderr));
    let sent = line.split("handlers: ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok());
    sent.unwrap_or_else(|| panic!("no sent count in {line}"))
}

#[test]
fn records_arrive_over_tls_as_cpython_formats_them_and_in_rfc5424() {
    let ca = TestCa::new("syslog-formats");
    let rs = RsyslogTls::start("formats", &ca, "server.pem", Auth::Anonymous);
    let mut handler = syslog_tls(rs.port, json!({"cafile": ca.path("ca.pem")}));
    handler["."]["append_nul"] = json!(false);
    let out = emit("formats", handler.clone(), RECORDS);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(summary_sent(&out), 5, "{}", out.stderr);
    check(&rs.lines(5), "local3", 19 * 8, false);
    // Byte for byte what CPython's SysLogHandler sends, inside TLS frames
    // (RFC 5425 octet counting: rsyslog's rawmsg is the message alone).
    let mut cpython_entry = handler.clone();
    cpython_entry["."] = json!({"ident": "web: ", "append_nul": false});
    cpython_entry["socktype"] = json!("ext://socket.SOCK_DGRAM");
    let cpython = cpython_bytes(&cpython_entry);
    assert_eq!(rs.file("raw.log").replace('\n', ""), cpython, "rawmsg over TLS vs CPython's bytes");

    rs.clear();
    let mut handler = syslog_tls(rs.port, json!({"cafile": ca.path("ca.pem")}));
    handler["."] = json!({"rfc5424": true, "hostname": "box", "app_name": "web", "spool_records": 0,
        "tls": {"cafile": ca.path("ca.pem")}});
    let out = emit("rfc5424", handler, RECORDS);
    assert!(out.status.success(), "{}", out.stderr);
    check(&rs.lines(5), "local3", 19 * 8, true);
}

/// Each way the server's certificate can be wrong is a typed, counted
/// failure naming the reason, and nothing reaches rsyslog.
#[test]
fn an_unverifiable_server_is_a_counted_failure_not_sent() {
    let ca = TestCa::new("syslog-verify");
    let good = RsyslogTls::start("verify-good", &ca, "server.pem", Auth::Anonymous);
    let expired = RsyslogTls::start("verify-expired", &ca, "expired.pem", Auth::Anonymous);
    let one = r#"{"msg": "must not arrive", "levelname": "ERROR"}"#;
    let cases = [
        ("unknown-ca", good.port, json!({"cafile": ca.path("other-ca.pem")}), "unknown CA"),
        (
            "name-mismatch",
            good.port,
            json!({"cafile": ca.path("ca.pem"), "server_name": "logs.example"}),
            "name mismatch",
        ),
        ("expired", expired.port, json!({"cafile": ca.path("ca.pem")}), "expired"),
    ];
    for (name, port, tls, reason) in cases {
        let out = emit(name, syslog_tls(port, tls), one);
        assert!(!out.status.success(), "{name}: exit status 0: {}", out.stderr);
        assert!(
            out.stderr.contains("TLS handshake with localhost:") && out.stderr.contains(reason),
            "{name}: {}",
            out.stderr
        );
        assert_eq!(summary_sent(&out), 0, "{name}: {}", out.stderr);
        assert!(out.stderr.contains("1 dropped"), "{name}: {}", out.stderr);
    }
    // The same handler with the right CA gets through: the failures above
    // were the certificates, not the setup.
    let out = emit("verify-ok", syslog_tls(good.port, json!({"cafile": ca.path("ca.pem")})), one);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(good.lines(1).len(), 1);
    assert!(good.file("out.log").contains("must not arrive"));
    assert!(expired.file("out.log").is_empty(), "{}", expired.file("out.log"));
}

#[test]
fn a_server_requiring_a_client_certificate_refuses_a_plugin_without_one() {
    let ca = TestCa::new("syslog-mtls");
    let rs = RsyslogTls::start("mtls", &ca, "server.pem", Auth::ClientCertificate);
    let record = r#"{"msg": "with a certificate", "levelname": "WARNING"}"#;
    let out = emit("mtls-without", syslog_tls(rs.port, json!({"cafile": ca.path("ca.pem")})), record);
    assert!(!out.status.success(), "{}", out.stderr);
    assert!(out.stderr.contains("client certificate"), "{}", out.stderr);
    assert_eq!(summary_sent(&out), 0, "{}", out.stderr);
    let tls =
        json!({"cafile": ca.path("ca.pem"), "certfile": ca.path("client.pem"), "keyfile": ca.path("client-key.pem")});
    let out = emit("mtls-with", syslog_tls(rs.port, tls), record);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(summary_sent(&out), 1, "{}", out.stderr);
    let lines = rs.lines(1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].ends_with("with a certificate"), "{lines:?}");
}

/// TLS to a receiver that speaks plaintext: the handshake never completes,
/// and the record is a failure within the handler's timeout.
#[test]
fn tls_to_a_plaintext_port_is_a_failure() {
    let ca = TestCa::new("syslog-plain");
    let (_listener, addrs, _out) = crate::common::pylog_listen(&["--syslog-tcp", "127.0.0.1:0"]);
    let port = addrs[0].1.port();
    let mut handler = syslog_tls(port, json!({"cafile": ca.path("ca.pem")}));
    handler["."]["timeout"] = json!(0.5);
    let out = emit("to-plaintext", handler, r#"{"msg": "x", "levelname": "ERROR"}"#);
    assert!(!out.status.success(), "{}", out.stderr);
    assert!(out.stderr.contains("is it a TLS port?"), "{}", out.stderr);
    assert_eq!(summary_sent(&out), 0, "{}", out.stderr);
}

#[test]
fn tls_settings_are_checked_when_the_configuration_is_read() {
    let ca = TestCa::new("syslog-config");
    let port = free_port();
    let cases = [
        (json!({"cafile": "/nonexistent/ca.pem"}), "tls.cafile /nonexistent/ca.pem"),
        (json!({"cafile": ca.path("ca.pem"), "keyfile": ca.path("client-key.pem")}), "needs tls.certfile"),
        (
            json!({"cafile": ca.path("ca.pem"), "certfile": ca.path("client.pem"), "keyfile": ca.path("server-key.pem")}),
            "do not go together",
        ),
        (json!({"cafile": ca.path("ca.pem"), "ciphers": "ALL"}), "\"ciphers\", which is not a TLS option"),
        (json!("yes"), "tls must be a mapping"),
    ];
    for (tls, said) in cases {
        let out = emit("config", syslog_tls(port, tls.clone()), "");
        assert!(!out.status.success() && out.stderr.contains(said), "{tls}: {}", out.stderr);
    }
    // `pylog config check` says what each TLS handler trusts and presents.
    let tls =
        json!({"cafile": ca.path("ca.pem"), "certfile": ca.path("client.pem"), "keyfile": ca.path("client-key.pem")});
    let path = crate::common::write_config("tls-config-check", syslog_tls(port, tls));
    let mut check = Command::new(pylog_bin());
    check.args(["config", "check"]).arg(&path);
    let checked = run(check, b"", Duration::from_secs(60));
    let said = String::from_utf8_lossy(&checked.stdout).to_string();
    assert!(checked.status.success(), "{}", checked.stderr);
    assert!(said.contains(&format!("to tls localhost:{port}, octet-counted (RFC 5425)")), "{said}");
    assert!(said.contains(&format!("TLS trusting the CAs in {}", ca.path("ca.pem"))), "{said}");
    assert!(said.contains(&format!("presenting the client certificate {}", ca.path("client.pem"))), "{said}");
    let mut udp = syslog_tls(port, json!({}));
    udp["socktype"] = json!("ext://socket.SOCK_DGRAM");
    let out = emit("config-udp", udp, "");
    assert!(!out.status.success() && out.stderr.contains("tls needs a TCP stream"), "{}", out.stderr);
}

/// Plaintext to rsyslog's TLS port: rsyslog resets the connection, which
/// the handler sees when it closes; what it wrote counts as unconfirmed,
/// not sent, and the run fails.
#[test]
fn plaintext_to_a_tls_port_is_a_failure_not_sent() {
    let ca = TestCa::new("syslog-plain-to-tls");
    let rs = RsyslogTls::start("plain-to-tls", &ca, "server.pem", Auth::Anonymous);
    let handler = json!({"class": "logging.handlers.SysLogHandler", "address": ["localhost", rs.port],
        "socktype": "ext://socket.SOCK_STREAM", ".": {"framing": "octet-counting"}});
    let out = emit("plain-to-tls", handler, RECORDS);
    assert!(!out.status.success(), "{}", out.stderr);
    assert!(out.stderr.contains("reset the connection") || out.stderr.contains("TLS alert"), "{}", out.stderr);
    assert!(out.stderr.contains("set \".\" tls"), "{}", out.stderr);
    assert_eq!(summary_sent(&out), 0, "{}", out.stderr);
    assert!(out.stderr.contains("5 dropped"), "{}", out.stderr);
    assert!(rs.file("out.log").is_empty(), "{}", rs.file("out.log"));
}
