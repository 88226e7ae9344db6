//! MemoryHandler flushes to its target exactly where CPython's does: same
//! records handed over at the same emit, by capacity, by flushLevel and at
//! close.

use crate::common;

use std::time::Duration;

use crate::common::{python, run, script};
use pylog_host::config::{self, LocalTime};
use pylog_host::records::{self, Defaults};
use serde_json::{json, Value};

/// A deterministic mix: long quiet stretches (capacity flushes), an ERROR
/// now and then (level flushes), CRITICAL, and custom levels.
fn levels(n: usize) -> Vec<i64> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 1000 {
                0..=5 => 40,
                6..=7 => 50,
                8..=20 => 35,
                21..=300 => 10,
                301..=700 => 20,
                _ => 30,
            }
        })
        .collect()
}

/// (emit index, records flushed to the target) for CPython and for us.
fn flushes(entry: Value, levels: &[i64], target_level: &str) -> (Value, Value) {
    let dir = std::env::temp_dir().join(format!("pylog-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let spec = dir.join(format!("spec-{}.json", entry["capacity"]));
    std::fs::write(&spec, json!({"handler": entry, "levels": levels, "target_level": target_level}).to_string())
        .expect("spec");
    let mut cmd = python();
    cmd.arg(script("memory_flush.py")).arg(&spec).current_dir(script(""));
    let out = run(cmd, b"", Duration::from_secs(60));
    assert!(out.status.success(), "memory_flush.py: {}", out.stderr);
    let theirs: Value = serde_json::from_slice(&out.stdout).expect("events");

    let mut ours_entry = entry;
    ours_entry["target"] = json!("t");
    let doc = json!({"version": 1, "handlers": {"m": ours_entry,
        "t": {"class": "logging.StreamHandler", "level": target_level}}, "root": {"handlers": ["m"]}});
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let mut config = config::parse_str(&doc.to_string(), false, &local).expect("config").handlers.remove(0);
    config.dry_run = true;
    let plugin = common::plugin();
    let mut handler = plugin.open(&config).expect("open");
    let mut events: Vec<Value> = Vec::new();
    let mut note = |i: usize, output: Vec<u8>| {
        let n = output.iter().filter(|&&b| b == b'\n').count();
        if n > 0 {
            events.push(json!([i, n]));
        }
    };
    for (i, &levelno) in levels.iter().enumerate() {
        let line = json!({"msg": i.to_string(), "levelno": levelno}).to_string();
        let record = records::from_json_line(&line, &Defaults::default()).expect("record");
        handler.emit(&record).expect("emit");
        note(i, handler.take_output().expect("output"));
    }
    let closed = handler.close();
    note(levels.len(), handler.take_output().expect("output"));
    let stats = handler.stats().expect("stats");
    assert_eq!(stats.buffered, 0);
    assert_eq!(
        stats.emitted,
        stats.sent + stats.dropped + stats.skipped_by_level,
        "every record accounted for: {stats:?} ({closed:?})"
    );
    (Value::Array(events), theirs)
}

#[test]
fn capacity_100_flush_level_error_matches_cpython() {
    let levels = levels(2_000);
    let entry = json!({"class": "logging.handlers.MemoryHandler", "capacity": 100, "flushLevel": 40});
    let (ours, theirs) = flushes(entry, &levels, "NOTSET");
    assert!(theirs.as_array().is_some_and(|e| e.len() > 20), "the sequence should flush often: {theirs}");
    assert_eq!(ours, theirs);
}

#[test]
fn own_level_target_level_and_flush_on_close_match_cpython() {
    let levels = levels(700);
    // The MemoryHandler's level filters; the target's is ignored by
    // MemoryHandler.flush (target.handle has no level check).
    let entry = json!({"class": "logging.handlers.MemoryHandler", "capacity": 7, "flushLevel": 50, "level": "INFO"});
    let (ours, theirs) = flushes(entry, &levels, "ERROR");
    assert_eq!(ours, theirs);
    let entry = json!({"class": "logging.handlers.MemoryHandler", "capacity": 1000, "flushOnClose": false});
    let (ours, theirs) = flushes(entry, &levels, "NOTSET");
    assert_eq!(ours, theirs);
}
