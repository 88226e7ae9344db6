//! `pylog emit --dry-run` with a SysLogHandler config writes exactly the
//! bytes CPython's own SysLogHandler sends for the same records, formatter,
//! ident, append_nul, facility and time zone.

use std::time::Duration;

use crate::common::{pylog_bin, python, run, script};
use pylog_host::records::{self, Defaults};
use serde_json::json;

const RECORDS: &[&str] = &[
    r#"{"msg": "service started", "levelname": "INFO", "name": "app"}"#,
    r#"{"msg": "disk %s is %d%% full", "args": ["/var", 91], "levelname": "WARNING", "name": "app.disk"}"#,
    r#"{"msg": "debug detail", "levelname": "DEBUG"}"#,
    r#"{"msg": "héllo 世界 🎉", "levelname": "ERROR", "exc_text": "Traceback (most recent call last):\nValueError: bad"}"#,
    r#"{"msg": "two\nlines", "levelname": "CRITICAL", "stack_info": "Stack (most recent call last):\n  File \"a.py\""}"#,
    r#"{"msg": "custom", "levelno": 25, "levelname": "Level 25", "created": 1700000000.5, "msecs": 500.0}"#,
    r#"{"msg": "fields", "pathname": "/srv/web/app.py", "lineno": 77, "funcName": "handle", "thread": 1234, "threadName": "Worker-1", "created": 1699999999.007, "msecs": 7.0, "relativeCreated": 1234.5678}"#,
    r#"{"msg": "%(user)s did %(n)d things", "args": {"user": "ann", "n": 3}, "levelname": "INFO", "user": "ann"}"#,
    r#"{"msg": "", "levelname": "INFO"}"#,
];

fn check(name: &str, handler: serde_json::Value, formatter: Option<serde_json::Value>, tz: &str) {
    let dir = std::env::temp_dir().join(format!("pylog-syslog-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let defaults = Defaults::default();
    let records: Vec<serde_json::Value> = RECORDS
        .iter()
        .map(|l| serde_json::Value::Object(records::to_json(&records::from_json_line(l, &defaults).expect("record"))))
        .collect();

    let spec = json!({"handler": handler, "formatter": formatter, "records": records});
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");
    let mut cmd = python();
    cmd.arg(script("syslog_capture.py")).arg(&spec_path).current_dir(script("")).env("TZ", tz);
    let cpython = run(cmd, b"", Duration::from_secs(30));
    assert!(cpython.status.success(), "syslog_capture.py: {}", cpython.stderr);

    let mut handler = handler;
    handler["address"] = json!(["127.0.0.1", 9]);
    if formatter.is_some() {
        handler["formatter"] = json!("f");
    }
    let config = json!({"version": 1, "formatters": {"f": formatter.unwrap_or(json!({}))}, "handlers": {"h": handler}});
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, config.to_string()).expect("write config");
    let lines: String = records.iter().map(|r| r.to_string() + "\n").collect();
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.args(["emit", "--dry-run", "--config"]).arg(&config_path).env("TZ", tz);
    let ours = run(cmd, lines.as_bytes(), Duration::from_secs(60));
    let report: serde_json::Value = serde_json::from_str(cpython.stderr.trim()).expect("capture report");
    let cpython_failed = report["failed"].as_u64().expect("failed");
    let ours_failed = ours.stderr.lines().filter(|l| l.contains("bad record")).count() as u64;
    assert_eq!(ours_failed, cpython_failed, "CPython failed {cpython_failed} records; pylog said:\n{}", ours.stderr);
    assert_eq!(ours.status.success(), cpython_failed == 0, "pylog emit exit status: {}", ours.stderr);
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&cpython.stdout),
        "{name}: bytes differ from CPython's"
    );
    assert_eq!(ours.stdout, cpython.stdout, "{name}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn default_handler_over_udp() {
    check("default", json!({"class": "logging.handlers.SysLogHandler"}), None, "UTC");
}

#[test]
fn formatter_ident_facility_over_tcp_in_another_zone() {
    check(
        "tcp",
        json!({"class": "logging.handlers.SysLogHandler", "facility": "local3",
               "socktype": "ext://socket.SOCK_STREAM", ".": {"ident": "web[42]: ", "cpython_exact_bytes": true}}),
        Some(json!({"format": "%(asctime)s %(levelname)-8s %(name)s %(module)s:%(lineno)d %(funcName)s: %(message)s"})),
        "Asia/Kolkata",
    );
}

#[test]
fn datefmt_no_nul_numeric_facility_and_level() {
    check(
        "datefmt",
        json!({"class": "logging.handlers.SysLogHandler", "facility": 17, "level": "INFO",
               ".": {"append_nul": false}}),
        Some(
            json!({"format": "%(asctime)s|%(msecs)03d|%(created)f|%(relativeCreated)d|%(process)d|%(thread)s|%(threadName)s|%(levelno)s|%(args)s|%(message)r",
                    "datefmt": "%d/%b/%Y:%H:%M:%S %z %a %j %p"}),
        ),
        "America/Sao_Paulo",
    );
}

#[test]
fn cpython_constant_facility_names() {
    check(
        "ext",
        json!({"class": "logging.handlers.SysLogHandler", "facility": "ext://logging.handlers.SysLogHandler.LOG_LOCAL7",
               "socktype": "ext://socket.SOCK_DGRAM"}),
        Some(json!({"format": "%(name)s: %(message)s"})),
        "UTC",
    );
}

#[test]
fn records_cpython_cannot_format_fail_the_same_way() {
    check(
        "fails",
        json!({"class": "logging.handlers.SysLogHandler"}),
        Some(json!({"format": "%(user)s: %(message)s"})),
        "UTC",
    );
}
