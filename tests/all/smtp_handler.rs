//! SMTPHandler over WASI TCP into aiosmtpd: each message, parsed back with
//! Python's email package, equals what CPython's own SMTPHandler sends for
//! the same record (headers, transfer encoding, body, envelope), with and
//! without AUTH, and over STARTTLS (`secure`) when the server requires it.

use crate::common;

use std::io::BufRead;
use std::time::Duration;

use crate::common::certs::TestCa;
use crate::common::{python, python_peer, run, script};
use pylog_host::bindings::HandlerError;
use pylog_host::config::{self, LocalTime};
use pylog_host::records::{self, Defaults};
use pylog_host::sandbox::Grants;
use pylog_host::PluginError;
use serde_json::{json, Value};

const FORMAT: &str = "%(levelname)s %(name)s: %(message)s";

fn records_json() -> Vec<Value> {
    let long_ascii = "word ".repeat(40);
    let long_unicode = "Grüße aus 世界 ".repeat(12);
    let lines = [
        json!({"msg": "service started", "levelname": "INFO", "name": "app"}),
        json!({"msg": "héllo wörld", "levelname": "ERROR", "name": "app"}),
        json!({"msg": long_ascii, "levelname": "WARNING", "name": "app"}),
        json!({"msg": long_unicode, "levelname": "CRITICAL", "name": "app"}),
        json!({"msg": "lines\n.leading dot\n..two\nend.", "levelname": "ERROR", "name": "app",
               "exc_text": "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad"}),
        json!({"msg": "%d%% of %s", "args": [50, "disk"], "levelname": "ERROR", "name": "app.disk"}),
    ];
    lines
        .iter()
        .map(|l| {
            let r = records::from_json_line(&l.to_string(), &Defaults::default()).expect("record");
            Value::Object(records::to_json(&r))
        })
        .collect()
}

fn read_messages(out: &mut impl BufRead, n: usize) -> Vec<Value> {
    (0..n)
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).expect("message line");
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
        })
        .collect()
}

fn handler_entry(port: u16, subject: &str, credentials: Option<(&str, &str)>) -> Value {
    let mut entry = json!({"class": "logging.handlers.SMTPHandler", "mailhost": ["127.0.0.1", port],
        "fromaddr": "app@example.org", "toaddrs": ["ops@example.org", "Dev Team <dev@example.org>"],
        "subject": subject, "formatter": "f", "timeout": 10.0});
    if let Some((u, p)) = credentials {
        entry["credentials"] = json!([u, p]);
    }
    entry
}

/// Our SMTPHandler and CPython's send the same records to one aiosmtpd;
/// with `tls`, the server requires STARTTLS (and AUTH only after it), and
/// both handlers have `secure=()`.
fn same_as_cpython(subject: &str, credentials: Option<(&str, &str)>, tls: Option<&TestCa>) {
    let mut args = vec!["smtp_receiver.py".to_string()];
    if let Some((u, p)) = credentials {
        args.extend(["--user".into(), u.into(), "--password".into(), p.into()]);
    }
    if let Some(ca) = tls {
        args.extend(["--tls-cert".into(), ca.path("server.pem"), "--tls-key".into(), ca.path("server-key.pem")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_server, port, mut out) = python_peer(&args);
    let recs = records_json();

    let dir = std::env::temp_dir().join(format!("pylog-smtp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let spec = dir.join(format!("spec-{}-{}.json", credentials.is_some(), tls.is_some()));
    let mut entry = handler_entry(port, subject, credentials);
    if let Some(ca) = tls {
        // CPython's starttls checks no certificate; ours trusts the test CA.
        entry["secure"] = json!([]);
        entry["."] = json!({"tls": {"cafile": ca.path("ca.pem")}});
    }
    let s = json!({"port": port, "fromaddr": entry["fromaddr"], "toaddrs": entry["toaddrs"], "subject": subject,
        "credentials": entry.get("credentials"), "secure": entry.get("secure"), "format": FORMAT, "records": recs});
    std::fs::write(&spec, s.to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("smtp_sender.py")).arg(&spec).current_dir(script(""));
    let sent = run(cmd, b"", Duration::from_secs(60));
    assert!(sent.status.success(), "smtp_sender.py: {}", sent.stderr);
    assert_eq!(serde_json::from_slice::<Value>(&sent.stdout).expect("report")["failed"], json!([]));
    let theirs = read_messages(&mut out, recs.len());

    let doc = json!({"version": 1, "formatters": {"f": {"format": FORMAT}}, "handlers": {"h": entry}});
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let mut parsed = config::parse_str(&doc.to_string(), false, &local).expect("config");
    let config = parsed.handlers.remove(0);
    let plugin = common::plugin();
    let grants = Grants::for_configured(&config, &parsed).expect("grants");
    let mut handler = plugin.open_with(&config, grants).expect("open");
    for r in &recs {
        let record = records::from_json_line(&r.to_string(), &Defaults::default()).expect("record");
        handler.emit(&record).expect("emit");
    }
    handler.close().expect("close");
    let ours = read_messages(&mut out, recs.len());
    for (mut o, mut t) in ours.into_iter().zip(theirs) {
        // The Date header is the time of sending: both must carry one, in
        // the zone the host said, within a minute of now.
        for m in [&mut o, &mut t] {
            assert!(m["date_age_s"].as_f64().is_some_and(|a| a < 60.0), "Date header: {m}");
            m["date_age_s"] = Value::Null;
        }
        assert_eq!(o, t);
    }
}

#[test]
fn messages_match_cpython_without_auth() {
    same_as_cpython("Application error", None, None);
}

#[test]
fn messages_match_cpython_over_starttls_required_by_the_server() {
    let ca = TestCa::new("smtp-starttls");
    same_as_cpython("Encrypted", Some(("ann", "s3cret")), Some(&ca));
}

#[test]
fn messages_match_cpython_with_auth_and_a_unicode_subject() {
    same_as_cpython(
        "Fehler in der Anwendung: Grüße ✓ — a subject long enough to be folded across header lines",
        Some(("ann", "p4ss word")),
        None,
    );
}

#[test]
fn wrong_credentials_and_starttls_are_typed_errors() {
    let (_server, port, _out) = python_peer(&["smtp_receiver.py", "--user", "ann", "--password", "right"]);
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let mut entry = handler_entry(port, "s", Some(("ann", "wrong")));
    let doc = json!({"version": 1, "formatters": {"f": {"format": FORMAT}}, "handlers": {"h": entry.clone()}});
    let config = config::parse_str(&doc.to_string(), false, &local).expect("config").handlers.remove(0);
    let plugin = common::plugin();
    let mut handler = plugin.open(&config).expect("open");
    let record = records::from_json_line(r#"{"msg": "x"}"#, &Defaults::default()).expect("record");
    match handler.emit(&record) {
        Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.contains("AUTH PLAIN refused: 535"), "{m}"),
        other => panic!("expected an i/o error naming the refusal, got {other:?}"),
    }
    assert_eq!(handler.stats().expect("stats").dropped, 1);
    // `secure` against a server that offers no STARTTLS: refused before
    // the credentials could go in plaintext.
    entry["secure"] = json!([]);
    entry["credentials"] = json!(["ann", "right"]);
    let doc = json!({"version": 1, "formatters": {"f": {"format": FORMAT}}, "handlers": {"h": entry}});
    let config = config::parse_str(&doc.to_string(), false, &local).expect("config").handlers.remove(0);
    let mut handler = plugin.open(&config).expect("open");
    match handler.emit(&record) {
        Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.contains("does not offer STARTTLS"), "{m}"),
        other => panic!("expected an i/o error naming STARTTLS, got {other:?}"),
    }
    assert_eq!(handler.stats().expect("stats").dropped, 1);
}
