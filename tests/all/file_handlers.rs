//! FileHandler, WatchedFileHandler, RotatingFileHandler and
//! TimedRotatingFileHandler, run by the host on real files, against
//! CPython's own handlers run on the same records with the same clock: the
//! same file names and the same bytes in each.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{python, run, script};
use pylog_host::config::{self, LocalTime};
use pylog_host::records::{self, Defaults};
use serde_json::{json, Value};

const FORMAT: &str = "%(asctime)s %(levelname)s %(name)s: %(message)s";

fn dir(name: &str, side: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pylog-files-{}-{name}-{side}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// Every file in `d` with its bytes.
fn contents(d: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(d)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            let bytes = std::fs::read(e.path()).expect("read");
            (e.file_name().to_string_lossy().into_owned(), String::from_utf8_lossy(&bytes).into_owned())
        })
        .filter(|(name, _)| name != "spec.json")
        .collect()
}

/// Records from `start`, `steps` seconds apart, of varied length and text.
fn records(start: f64, steps: &[f64]) -> Vec<Value> {
    let mut t = start;
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            t += step;
            let msecs = ((t - t.floor()) * 1000.0).floor();
            let (level, msg) = match i % 4 {
                0 => ("INFO", format!("request {i} handled {}", "x".repeat(i * 7 % 40))),
                1 => ("WARNING", format!("ünïcode ✓ 世界 #{i}")),
                2 => ("ERROR", format!("failure {i}")),
                _ => ("DEBUG", format!("debug {i} %s")),
            };
            let mut r = json!({"msg": msg, "levelname": level, "name": "app", "created": t, "msecs": msecs});
            if i % 4 == 2 {
                r["exc_text"] =
                    json!(format!("Traceback (most recent call last):\n  File \"x.py\", line {i}\nValueError: {i}"));
            }
            if i % 4 == 3 {
                r["args"] = json!([i]);
            }
            r
        })
        .collect()
}

/// Runs CPython's handler and ours on `recs` and compares the directories.
fn check(name: &str, entry: Value, recs: &[Value], moves: &[usize], tz: &str, utc_offset_seconds: i32) {
    let theirs = dir(name, "cpython");
    let ours = dir(name, "pylog");
    let class = entry["class"].as_str().unwrap_or_default().to_string();
    let mut cpython_entry = entry.clone();
    cpython_entry["filename"] = json!(theirs.join("app.log"));
    let spec = json!({"entry": cpython_entry, "formatter": {"format": FORMAT}, "records": recs, "moves": moves});
    let spec_path = theirs.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("file_handlers.py")).arg(&spec_path).current_dir(script("")).env("TZ", tz);
    let out = run(cmd, b"", Duration::from_secs(60));
    assert!(out.status.success(), "file_handlers.py: {}", out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");

    let mut our_entry = entry;
    our_entry["filename"] = json!(ours.join("app.log"));
    our_entry["formatter"] = json!("f");
    let doc = json!({"version": 1, "formatters": {"f": {"format": FORMAT}}, "handlers": {"h": our_entry}});
    let local = LocalTime { utc_offset_seconds, tz_name: tz.into() };
    let config = config::parse_str(&doc.to_string(), false, &local).expect("config").handlers.remove(0);
    let plugin = common::plugin();
    let mut handler = plugin.open(&config).expect("open");
    let mut failed = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        if moves.contains(&i) {
            std::fs::rename(ours.join("app.log"), ours.join("app.log.moved")).expect("move");
        }
        let record = records::from_json_line(&r.to_string(), &Defaults::default()).expect("record");
        if handler.emit(&record).is_err() {
            failed.push(r["msg"].clone());
        }
    }
    handler.close().expect("close");
    assert_eq!(Value::Array(failed), report["failed"], "records that failed");
    let (ours, theirs) = (contents(&ours), contents(&theirs));
    // A rotation test whose sequence never rotates would prove nothing.
    let rotates = ["Rotating", "Watched"].iter().any(|c| class.contains(c));
    assert!(!rotates || theirs.len() >= 2, "CPython wrote only {:?}", theirs.keys());
    assert_eq!(ours, theirs);
}

/// 1,700,000,000 is 2023-11-14 22:13:20 UTC, a Tuesday.
const START: f64 = 1_700_000_000.25;

#[test]
fn file_handler_appends_and_truncates() {
    let recs = records(START, &[1.0; 12]);
    check("file-a", json!({"class": "logging.FileHandler"}), &recs, &[], "UTC", 0);
    check("file-w-delay", json!({"class": "logging.FileHandler", "mode": "w", "delay": true}), &recs, &[], "UTC", 0);
    check(
        "file-ascii",
        json!({"class": "logging.FileHandler", "encoding": "ascii", "errors": "backslashreplace"}),
        &recs,
        &[],
        "UTC",
        0,
    );
}

#[test]
fn watched_file_handler_reopens_after_a_move() {
    let recs = records(START, &[1.0; 10]);
    check("watched", json!({"class": "logging.handlers.WatchedFileHandler"}), &recs, &[3, 7], "UTC", 0);
}

#[test]
fn rotating_file_handler_rolls_at_max_bytes() {
    // Non-ASCII messages: CPython compares characters with the file's bytes.
    let recs = records(START, &[0.5; 40]);
    let entry = json!({"class": "logging.handlers.RotatingFileHandler", "maxBytes": 300, "backupCount": 3});
    check("rotating", entry, &recs, &[], "UTC", 0);
    let entry =
        json!({"class": "logging.handlers.RotatingFileHandler", "maxBytes": 120, "backupCount": 2, "delay": true});
    check("rotating-delay", entry, &recs, &[], "UTC", 0);
}

#[test]
fn timed_rotating_file_handler_rolls_where_cpython_does() {
    let irregular: Vec<f64> = (0..30).map(|i| [0.3, 1.7, 0.9, 2.5, 0.1][i % 5]).collect();
    let timed = |when: &str, interval: u32, backup: u32| {
        json!({"class": "logging.handlers.TimedRotatingFileHandler", "when": when, "interval": interval,
               "backupCount": backup, "utc": true, "delay": true})
    };
    check("timed-s", timed("S", 1, 3), &records(START, &irregular), &[], "UTC", 0);
    check("timed-s3", timed("s", 3, 0), &records(START, &irregular), &[], "UTC", 0);
    let minutes: Vec<f64> = (0..25).map(|i| [20.0, 75.0, 130.0, 5.0][i % 4]).collect();
    check("timed-m", timed("M", 2, 4), &records(START, &minutes), &[], "UTC", 0);
    let hours: Vec<f64> = (0..25).map(|i| [1800.0, 4000.0, 9000.0][i % 3]).collect();
    check("timed-h", timed("H", 1, 5), &records(START, &hours), &[], "UTC", 0);
    let days: Vec<f64> = (0..25).map(|i| [20_000.0, 50_000.0, 90_000.0, 3_000.0][i % 4]).collect();
    check("timed-d", timed("D", 2, 2), &records(START, &days), &[], "UTC", 0);
    check("timed-midnight", timed("midnight", 1, 3), &records(START, &days), &[], "UTC", 0);
    let weeks: Vec<f64> = (0..25).map(|i| [100_000.0, 300_000.0, 40_000.0][i % 3]).collect();
    let mut w = timed("W0", 1, 2);
    w["atTime"] = json!("06:30:00");
    check("timed-w0", w, &records(START, &weeks), &[], "UTC", 0);
    // Local time: CPython under TZ=Asia/Kolkata (no DST), ours told the offset.
    let mut local = timed("midnight", 1, 3);
    local["utc"] = json!(false);
    check("timed-local", local, &records(START, &days), &[], "Asia/Kolkata", 19_800);
}
