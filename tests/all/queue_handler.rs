//! QueueHandler: records pass a bounded queue to a listener thread in the
//! host that feeds the target handlers; what lands in the target's file is
//! what CPython's QueueHandler + QueueListener + FileHandler write
//! (`prepare` merges the message and clears args and the traceback).

use crate::common;

use std::time::Duration;

use crate::common::{python, run, script};
use pylog_host::config::{self, LocalTime};
use pylog_host::embed::queue::QueueHandler;
use pylog_host::records::{self, Defaults};
use serde_json::{json, Value};

const FILE_FORMAT: &str = "%(levelname)s %(name)s %(args)s: %(message)s";

fn records_json() -> Vec<Value> {
    (0..60)
        .map(|i| {
            let r = match i % 4 {
                0 => json!({"msg": "request %d in %s ms", "args": [i, "1.5"], "levelname": "INFO", "name": "web"}),
                1 => json!({"msg": "ünïcode #%d", "args": [i], "levelname": "WARNING", "name": "app"}),
                2 => json!({"msg": format!("failed {i}"), "levelname": "ERROR", "name": "app",
                            "exc_text": format!("Traceback (most recent call last):\nValueError: {i}")}),
                _ => json!({"msg": "%(who)s #%(n)d", "args": {"who": "ann", "n": i}, "levelname": "DEBUG"}),
            };
            let r = records::from_json_line(&r.to_string(), &Defaults::default()).expect("record");
            Value::Object(records::to_json(&r))
        })
        .collect()
}

fn check(name: &str, queue_format: Option<&str>, file_level: &str, respect_handler_level: bool) {
    let dir = std::env::temp_dir().join(format!("pylog-queue-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let recs = records_json();
    let theirs = dir.join("cpython.log");
    let spec = json!({"path": theirs, "queue_format": queue_format, "file_format": FILE_FORMAT,
        "file_level": file_level, "respect_handler_level": respect_handler_level, "records": recs});
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("queue_files.py")).arg(&spec_path).current_dir(script(""));
    let out = run(cmd, b"", Duration::from_secs(60));
    assert!(out.status.success(), "queue_files.py: {}", out.stderr);

    let ours = dir.join("pylog.log");
    let mut queue_entry = json!({"class": "logging.handlers.QueueHandler", "handlers": ["file"],
        "respect_handler_level": respect_handler_level});
    let mut formatters = json!({"file": {"format": FILE_FORMAT}});
    if let Some(f) = queue_format {
        formatters["queue"] = json!({"format": f});
        queue_entry["formatter"] = json!("queue");
    }
    let doc = json!({"version": 1, "formatters": formatters, "handlers": {"q": queue_entry,
        "file": {"class": "logging.FileHandler", "filename": ours, "formatter": "file", "level": file_level}},
        "root": {"handlers": ["q"]}});
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let doc = config::parse_str(&doc.to_string(), false, &local).expect("config");
    assert!(doc.handlers.is_empty());
    let plugin = common::plugin();
    let mut queue = QueueHandler::open(&plugin, &doc.queues[0]).expect("open queue");
    for r in &recs {
        let record = records::from_json_line(&r.to_string(), &Defaults::default()).expect("record");
        queue.emit(&record).expect("emit");
    }
    queue.flush().expect("flush");
    let reports = queue.close();
    assert_eq!(reports.len(), 1);
    let stats = &reports[0].stats;
    assert_eq!(stats.emitted, recs.len() as u64);
    assert_eq!(stats.dropped, 0);
    let theirs = std::fs::read_to_string(&theirs).expect("cpython file");
    assert!(theirs.lines().count() >= 15, "CPython wrote too little to compare: {theirs}");
    assert_eq!(std::fs::read_to_string(&ours).expect("our file"), theirs);
}

#[test]
fn queue_listener_file_matches_cpython() {
    check("plain", None, "DEBUG", false);
}

#[test]
fn prepare_uses_the_queue_handlers_formatter() {
    check("formatted", Some("[%(levelname)s] %(message)s"), "DEBUG", false);
}

#[test]
fn target_levels_count_only_with_respect_handler_level() {
    check("ignored-level", None, "WARNING", false);
    check("respected-level", None, "WARNING", true);
}

/// `emit` never waits for the network: with the listener stuck on a mail
/// server that never answers, a full queue drops new records and counts
/// them; every record is either forwarded or counted as dropped.
#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    // Accepts connections (the kernel's backlog) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let doc = json!({"version": 1, "handlers": {
        "q": {"class": "logging.handlers.QueueHandler", "handlers": ["mail"], ".": {"queue_size": 2}},
        "mail": {"class": "logging.handlers.SMTPHandler", "mailhost": ["127.0.0.1", port], "fromaddr": "a@example.org",
                 "toaddrs": ["b@example.org"], "subject": "s", "timeout": 0.3}},
        "root": {"handlers": ["q"]}});
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let doc = config::parse_str(&doc.to_string(), false, &local).expect("config");
    let plugin = common::plugin();
    let mut queue = QueueHandler::open(&plugin, &doc.queues[0]).expect("open queue");
    let mut refused = 0;
    for i in 0..10 {
        let record =
            records::from_json_line(&json!({"msg": i.to_string()}).to_string(), &Defaults::default()).expect("record");
        if queue.emit(&record).is_err() {
            refused += 1;
        }
    }
    let reports = queue.close();
    let stats = queue.stats();
    let full = stats.dropped_full.load(std::sync::atomic::Ordering::Relaxed);
    let forwarded = stats.forwarded.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(full, refused);
    assert!(full >= 5, "at most 1 in the listener, 2 queued and 2 drained at once; dropped {full}");
    assert_eq!(forwarded + full, 10);
    // The mail server never answered: each forwarded record is a counted drop at the target.
    assert_eq!(reports[0].stats.dropped, forwarded);
    drop(silent);
}
