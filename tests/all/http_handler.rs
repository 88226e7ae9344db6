//! HTTPHandler through wasi:http, into Python's http.server: the same
//! requests CPython's own HTTPHandler makes for the same records (GET and
//! POST, basic auth), typed errors for refused requests, and a sandbox
//! that lets requests reach only the configured authority.

use crate::common;

use std::io::BufRead;
use std::time::Duration;

use crate::common::certs::TestCa;
use crate::common::{python, python_peer, run, script};
use pylog_host::bindings::HandlerError;
use pylog_host::config::{self, LocalTime};
use pylog_host::records::{self, Defaults};
use pylog_host::sandbox::Grants;
use pylog_host::{HandlerConfig, PluginError};
use serde_json::{json, Value};

const RECORDS: &[&str] = &[
    r#"{"msg": "service started", "levelname": "INFO", "name": "app"}"#,
    r#"{"msg": "disk %s is %d%% full", "args": ["/var", 91], "levelname": "WARNING", "name": "app.disk"}"#,
    r#"{"msg": "héllo 世界 & = + ?", "levelname": "ERROR", "exc_text": "Traceback (most recent call last):\nValueError: bad"}"#,
    r#"{"msg": "%(user)s did %(n)d things", "args": {"user": "ann", "n": 3}, "levelname": "INFO", "user": "ann", "ok": true, "ratio": 0.1}"#,
    r#"{"msg": "one arg %r", "args": ["it's"], "levelno": 25, "levelname": "Level 25", "created": 1700000000.5, "msecs": 500.0}"#,
];

fn records_json() -> Vec<Value> {
    RECORDS
        .iter()
        .map(|l| Value::Object(records::to_json(&records::from_json_line(l, &Defaults::default()).expect("record"))))
        .collect()
}

fn config(port: u16, url: &str, method: &str, credentials: Option<(&str, &str)>) -> HandlerConfig {
    configured(port, url, method, credentials, None).0
}

/// The handler config and the grants `pylog emit` would give it; with a
/// CA file, HTTPS (`secure`) to localhost trusting that CA (`"." tls`).
fn configured(
    port: u16,
    url: &str,
    method: &str,
    credentials: Option<(&str, &str)>,
    cafile: Option<&str>,
) -> (HandlerConfig, Grants) {
    let mut entry = json!({"class": "logging.handlers.HTTPHandler", "host": format!("127.0.0.1:{port}"),
                           "url": url, "method": method});
    if let Some((u, p)) = credentials {
        entry["credentials"] = json!([u, p]);
    }
    if let Some(cafile) = cafile {
        entry["host"] = json!(format!("localhost:{port}"));
        entry["secure"] = json!(true);
        entry["."] = json!({"tls": {"cafile": cafile}});
    }
    let doc = json!({"version": 1, "handlers": {"h": entry}});
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let mut parsed = config::parse_str(&doc.to_string(), false, &local).expect("config");
    let config = parsed.handlers.remove(0);
    let grants = Grants::for_configured(&config, &parsed).expect("grants");
    (config, grants)
}

fn read_requests(out: &mut impl BufRead, n: usize) -> Vec<Value> {
    (0..n)
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).expect("request line");
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
        })
        .collect()
}

fn same_as_cpython(method: &str, url: &str, credentials: Option<(&str, &str)>) {
    same_as_cpython_over(method, url, credentials, None)
}

/// Our requests and CPython's HTTPHandler's reach one http.server, which
/// serves HTTPS with the test CA's certificate when `tls` is given.
fn same_as_cpython_over(method: &str, url: &str, credentials: Option<(&str, &str)>, tls: Option<&TestCa>) {
    let (user, password) = credentials.unwrap_or(("", ""));
    let mut args = vec!["http_receiver.py".to_string()];
    if credentials.is_some() {
        args.extend(["--user".into(), user.into(), "--password".into(), password.into()]);
    }
    if let Some(ca) = tls {
        args.extend(["--tls-cert".into(), ca.path("server.pem"), "--tls-key".into(), ca.path("server-key.pem")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cafile = tls.map(|ca| ca.path("ca.pem"));
    let (_server, port, mut out) = python_peer(&args);
    let recs = records_json();

    let dir = std::env::temp_dir().join(format!("pylog-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let spec = dir.join(format!("spec-{method}-{}.json", tls.is_some()));
    let creds = credentials.map(|(u, p)| json!([u, p])).unwrap_or(Value::Null);
    let host = if tls.is_some() { format!("localhost:{port}") } else { format!("127.0.0.1:{port}") };
    let s = json!({"host": host, "url": url, "method": method, "credentials": creds, "records": recs,
        "cafile": cafile});
    std::fs::write(&spec, s.to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("http_sender.py")).arg(&spec).current_dir(script(""));
    let sent = run(cmd, b"", Duration::from_secs(60));
    assert!(sent.status.success(), "http_sender.py: {}", sent.stderr);
    let theirs = read_requests(&mut out, recs.len());

    let plugin = common::plugin();
    let (config, grants) = configured(port, url, method, credentials, cafile.as_deref());
    let mut handler = plugin.open_with(&config, grants).expect("open");
    for r in &recs {
        let record = records::from_json_line(&r.to_string(), &Defaults::default()).expect("record");
        handler.emit(&record).expect("emit");
    }
    handler.close().expect("close");
    let stats = handler.stats().expect("stats");
    assert_eq!((stats.sent, stats.dropped), (recs.len() as u64, 0));
    let ours = read_requests(&mut out, recs.len());
    for (o, t) in ours.into_iter().zip(theirs) {
        assert_eq!(o, t);
    }
}

#[test]
fn get_requests_match_cpython() {
    same_as_cpython("GET", "/log", None);
    same_as_cpython("GET", "/log?source=app", None);
}

#[test]
fn post_requests_with_basic_auth_match_cpython() {
    same_as_cpython("POST", "/log", Some(("ann", "s3cret:with colon")));
}

#[test]
fn https_with_a_private_ca_matches_cpython_with_an_ssl_context() {
    let ca = TestCa::new("https");
    same_as_cpython_over("POST", "/log", Some(("ann", "over tls")), Some(&ca));
}

#[test]
fn https_to_a_server_another_ca_signed_is_a_failure_not_sent() {
    let ca = TestCa::new("https-other");
    let (_server, port, _out) = python_peer(&[
        "http_receiver.py",
        "--tls-cert",
        &ca.path("server.pem"),
        "--tls-key",
        &ca.path("server-key.pem"),
    ]);
    let plugin = common::plugin();
    let (config, grants) = configured(port, "/log", "GET", None, Some(&ca.path("other-ca.pem")));
    let mut handler = plugin.open_with(&config, grants).expect("open");
    match handler.emit(&record("not to be trusted")) {
        Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.to_lowercase().contains("tls"), "{m}"),
        other => panic!("expected an i/o error naming TLS, got {other:?}"),
    }
    let stats = handler.stats().expect("stats");
    assert_eq!((stats.sent, stats.dropped), (0, 1));
}

fn record(msg: &str) -> pylog_host::LogRecord {
    records::from_json_line(&json!({ "msg": msg }).to_string(), &Defaults::default()).expect("record")
}

#[test]
fn refused_requests_are_typed_errors_with_the_status() {
    let (_server, port, mut out) = python_peer(&["http_receiver.py", "--user", "ann", "--password", "right"]);
    let plugin = common::plugin();
    let mut wrong = plugin.open(&config(port, "/log", "POST", Some(("ann", "wrong")))).expect("open");
    match wrong.emit(&record("x")) {
        Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.contains("HTTP 401"), "{m}"),
        other => panic!("expected an i/o error with the status, got {other:?}"),
    }
    let mut failing = plugin.open(&config(port, "/fail", "GET", Some(("ann", "right")))).expect("open");
    match failing.emit(&record("y")) {
        Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.contains("HTTP 500"), "{m}"),
        other => panic!("expected an i/o error with the status, got {other:?}"),
    }
    assert_eq!(read_requests(&mut out, 2).len(), 2);
    // The instance stays usable after an error.
    let mut fine = plugin.open(&config(port, "/ok", "GET", Some(("ann", "right")))).expect("open");
    fine.emit(&record("z")).expect("emit after errors");
}

#[test]
fn requests_reach_only_the_configured_authority() {
    let (_server, port, _out) = python_peer(&["http_receiver.py"]);
    let plugin = common::plugin();
    let config = config(port, "/log", "GET", None);
    // The handler names this server, but the host grants another authority.
    let mut grants = Grants::for_handler(&config).expect("grants");
    grants.http_authority = Some("127.0.0.1:1".into());
    let mut handler = plugin.open_with(&config, grants).expect("open");
    match handler.emit(&record("exfiltrate")) {
        Err(PluginError::Handler(HandlerError::Denied(m))) => assert!(m.contains("HTTP request denied"), "{m}"),
        other => panic!("expected denied, got {other:?}"),
    }
    assert_eq!(handler.denials().count(), 1);
    assert!(handler.denials().recent()[0].contains(&format!("127.0.0.1:{port}")));
}

/// Without `"." tls`, `secure` trusts the system's store, which honours
/// SSL_CERT_FILE (wasmtime-wasi-http's own sender knew only the public
/// web roots, compiled in).
#[test]
fn https_trusts_ssl_cert_file_when_no_ca_is_configured() {
    let ca = TestCa::new("https-env");
    let (_server, port, mut out) = python_peer(&[
        "http_receiver.py",
        "--tls-cert",
        &ca.path("server.pem"),
        "--tls-key",
        &ca.path("server-key.pem"),
    ]);
    let entry = json!({"class": "logging.handlers.HTTPHandler", "host": format!("localhost:{port}"), "url": "/env",
        "method": "GET", "secure": true});
    let config = common::write_config("https-env", entry);
    let mut cmd = std::process::Command::new(common::pylog_bin());
    cmd.args(["emit", "--config"]).arg(&config).env("SSL_CERT_FILE", ca.path("ca.pem"));
    let sent = run(cmd, br#"{"msg": "trusted through SSL_CERT_FILE"}"#, Duration::from_secs(60));
    assert!(sent.status.success(), "{}", sent.stderr);
    let got = read_requests(&mut out, 1);
    assert!(got[0]["path"].as_str().is_some_and(|p| p.starts_with("/env?")), "{got:?}");
}
