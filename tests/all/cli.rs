//! The `pylog` CLI: mistakes are one line on stderr and a non-zero exit,
//! never a panic.

use crate::common;

use std::time::Duration;

use crate::common::{pylog_bin, run};

fn emit(config: &str, records: &str) -> common::Output {
    emit_with(config, records, true)
}

fn emit_with(config: &str, records: &str, dry_run: bool) -> common::Output {
    let dir = std::env::temp_dir().join(format!("pylog-cli-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("c.json");
    std::fs::write(&path, config).expect("write");
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.arg("emit");
    if dry_run {
        cmd.arg("--dry-run");
    }
    cmd.arg("--config").arg(&path);
    let out = run(cmd, records.as_bytes(), Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn assert_one_line_error(out: &common::Output, needle: &str) {
    assert!(!out.status.success(), "expected failure, got success: {}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
    let line =
        out.stderr.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in:\n{}", out.stderr));
    assert!(line.starts_with("pylog"), "{line}");
}

#[test]
fn unknown_class() {
    let out = emit(r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.FancyHandler"}}}"#, "");
    assert_one_line_error(&out, "unknown handler class");
}

#[test]
fn missing_key() {
    let out =
        emit(r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x"}}}"#, "");
    assert_one_line_error(&out, "needs \"port\"");
}

#[test]
fn invalid_facility_is_refused_by_the_plugin() {
    let out = emit(
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "facility": "LOCAL9"}}}"#,
        "",
    );
    assert_one_line_error(&out, "is not a syslog facility");
}

#[test]
fn malformed_json_line_names_its_line_and_the_rest_still_ship() {
    let out = emit(
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler"}}}"#,
        "{\"msg\": \"one\"}\n{\"msg\": oops}\n{\"msg\": \"three\"}\n",
    );
    assert_one_line_error(&out, "line 2: not JSON");
    assert_eq!(out.stdout, b"<14>one\0<14>three\0");
    assert!(
        out.stderr.contains("3 records read (0 more recovered from durable spools); across 1 handlers: 2 sent"),
        "{}",
        out.stderr
    );
}

#[test]
fn config_that_is_not_json() {
    let out = emit("{nope", "");
    assert_one_line_error(&out, "not JSON");
}

#[test]
fn a_unix_socket_that_does_not_exist_is_named() {
    let out = emit_with(
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "address": "/nonexistent/log"}}}"#,
        "{\"msg\": \"x\"}\n",
        false,
    );
    assert_one_line_error(&out, "send to /nonexistent/log");
    assert!(out.stderr.contains("1 dropped"), "{}", out.stderr);
}

#[test]
fn null_handler_accepts_records_and_sends_nothing() {
    let out = emit(r#"{"version": 1, "handlers": {"h": {"class": "logging.NullHandler"}}}"#, "{\"msg\": \"x\"}\n");
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

/// (Every other class is covered by `tests/all/handler_classes.rs`.)
#[test]
fn windows_only_handler_says_why() {
    let out = emit(r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.NTEventLogHandler"}}}"#, "");
    assert_one_line_error(&out, "Windows event log");
}

#[test]
fn a_dry_run_of_several_handlers_writes_one_file_each_with_the_bytes_each_alone_would_write() {
    let handler = |name: &str| match name {
        "sock" => serde_json::json!({"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": 9}),
        _ => serde_json::json!({"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", 514]}),
    };
    let doc = |names: &[&str]| {
        let handlers: serde_json::Map<String, serde_json::Value> =
            names.iter().map(|n| (n.to_string(), handler(n))).collect();
        serde_json::json!({"version": 1, "handlers": handlers, "root": {"handlers": names, "level": "DEBUG"}})
            .to_string()
    };
    // Fixed process and times: the runs compared are separate processes.
    let fixed = "\"created\": 1700000000.0, \"relativeCreated\": 1.0, \"process\": 7, \"thread\": 1";
    let records = format!("{{\"msg\": \"one\", {fixed}}}\n{{\"msg\": \"two %s\", \"args\": [2], {fixed}}}\n");
    let records = records.as_str();
    let both = emit(&doc(&["sock", "sys"]), records);
    assert_eq!(both.status.code(), Some(2), "{}", both.stderr);
    assert_one_line_error(&both, "--dry-run-dir");

    let dir = std::env::temp_dir().join(format!("pylog-cli-dry-{}-{}", std::process::id(), rand_suffix()));
    let config = dir.join("c.json");
    std::fs::create_dir_all(&dir).expect("tmp");
    std::fs::write(&config, doc(&["sock", "sys"])).expect("write");
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.args(["emit", "--dry-run-dir"]).arg(dir.join("out")).arg("--config").arg(&config);
    let out = run(cmd, records.as_bytes(), Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.stderr);
    for name in ["sock", "sys"] {
        let alone = emit(&doc(&[name]), records);
        assert!(alone.status.success(), "{}", alone.stderr);
        let written = std::fs::read(dir.join("out").join(format!("{name}.bin"))).expect("per-handler file");
        assert!(!written.is_empty());
        assert_eq!(written, alone.stdout, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_check_refuses_what_emit_would_refuse() {
    let dir = std::env::temp_dir().join(format!("pylog-cli-check-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("c.json");
    // Only the plugin knows this format is invalid.
    let doc = r#"{"version": 1, "formatters": {"f": {"format": "{args[0]}", "style": "{"}},
        "handlers": {"h": {"class": "logging.StreamHandler", "formatter": "f"}}}"#;
    std::fs::write(&path, doc).expect("write");
    for args in [&["config", "check"][..], &["emit", "--config"][..]] {
        let mut cmd = std::process::Command::new(pylog_bin());
        cmd.args(args).arg(&path);
        let out = run(cmd, b"", Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("invalid field name"), "{args:?}: {}", out.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `relativeCreated` counts from one start for the whole run, as
/// `logging._startTime` does, however the input is cut into batches.
#[test]
fn relative_created_counts_from_one_start_across_batches() {
    let config = r#"{"version": 1, "formatters": {"f": {"format": "%(created)f %(relativeCreated)f"}},
        "handlers": {"h": {"class": "logging.StreamHandler", "formatter": "f", "stream": "ext://sys.stdout"}},
        "root": {"level": "DEBUG", "handlers": ["h"]}}"#;
    let records: String =
        (0..3000).map(|i| format!("{{\"msg\": \"m\", \"created\": {}.5}}\n", 1_000_000 + i)).collect();
    let out = emit(config, &records);
    assert!(out.status.success(), "{}", out.stderr);
    let starts: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let (created, relative) = line.split_once(' ').expect("two fields");
            created.parse::<f64>().expect("created") * 1000.0 - relative.parse::<f64>().expect("relative")
        })
        .collect();
    assert_eq!(starts.len(), 3000);
    assert!(
        starts.iter().all(|s| (s - starts[0]).abs() < 0.01),
        "start times differ: {:?} .. {:?}",
        starts[0],
        starts.last()
    );
}

/// `%(thread)d` and `{thread:d}` work on records from JSON lines without a
/// thread, as on `logging.makeLogRecord`'s, which takes the calling
/// thread's id and name.
#[test]
fn records_without_a_thread_get_the_emitting_threads_as_make_log_record_does() {
    let config = r#"{"version": 1, "formatters": {"f": {"format": "%(thread)d %(threadName)s"},
            "b": {"format": "{thread:d}", "style": "{"}},
        "handlers": {"h": {"class": "logging.StreamHandler", "formatter": "f", "stream": "ext://sys.stdout"}},
        "root": {"level": "DEBUG", "handlers": ["h"]}}"#;
    let out = emit(config, "{\"msg\": \"m\"}\n{\"msg\": \"m\", \"thread\": 42, \"threadName\": \"worker\"}\n");
    assert!(out.status.success(), "{}", out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let (id, name) = lines[0].split_once(' ').expect("two fields");
    assert!(id.parse::<u64>().is_ok_and(|id| id > 0), "{text}");
    assert_eq!(name, "MainThread");
    assert_eq!(lines[1], "42 worker");
    let brace = config.replace("\"formatter\": \"f\"", "\"formatter\": \"b\"");
    let out = emit(&brace, "{\"msg\": \"m\"}\n");
    assert!(out.status.success(), "{}", out.stderr);
    assert!(String::from_utf8_lossy(&out.stdout).trim().parse::<u64>().is_ok(), "{}", out.stderr);
}
