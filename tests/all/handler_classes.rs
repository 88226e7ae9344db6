//! Every handler class of CPython's `logging.handlers` (and `logging`'s
//! StreamHandler, FileHandler and NullHandler) is known to the config
//! loader; those that cannot work here say why. StreamHandler writes what
//! CPython's does; NullHandler takes records and sends nothing.

use std::time::Duration;

use crate::common::{pylog_bin, python, run, script, write_config};
use pylog_host::config::{self, LocalTime};
use pylog_host::records::{self, Defaults};
use serde_json::{json, Value};

#[test]
fn every_cpython_handler_class_is_known() {
    let mut cmd = python();
    cmd.args([
        "-c",
        "import json, logging, logging.handlers as h\n\
         names = ['logging.handlers.' + n for n, c in vars(h).items() if isinstance(c, type) and issubclass(c, logging.Handler)]\n\
         print(json.dumps(names + ['logging.StreamHandler', 'logging.FileHandler', 'logging.NullHandler']))",
    ]);
    let out = run(cmd, b"", Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.stderr);
    let classes: Vec<String> = serde_json::from_slice(&out.stdout).expect("class list");
    assert!(classes.len() >= 15, "CPython listed {classes:?}");
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    for class in classes {
        let doc = json!({"version": 1, "handlers": {"h": {"class": class}}});
        if let Err(e) = config::parse_str(&doc.to_string(), false, &local) {
            let e = format!("{e:#}");
            assert!(!e.contains("unknown handler class"), "{class}: {e}");
            let short = class.rsplit('.').next().unwrap_or_default();
            assert!(e.contains(short), "{class}: the error should name the class and say why: {e}");
        }
    }
}

#[test]
fn stream_handler_writes_what_cpython_writes() {
    let format = "%(levelname)s:%(name)s:%(message)s";
    let lines = [
        r#"{"msg": "started", "levelname": "INFO", "name": "app"}"#,
        r#"{"msg": "héllo %s", "args": ["世界"], "levelname": "WARNING", "name": "app"}"#,
        r#"{"msg": "boom", "levelname": "ERROR", "exc_text": "Traceback (most recent call last):\nValueError: x"}"#,
    ];
    let recs: Vec<Value> = lines
        .iter()
        .map(|l| Value::Object(records::to_json(&records::from_json_line(l, &Defaults::default()).expect("record"))))
        .collect();
    let dir = std::env::temp_dir().join(format!("pylog-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let spec = dir.join("spec.json");
    std::fs::write(&spec, json!({"format": format, "records": recs}).to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("stream_capture.py")).arg(&spec).current_dir(script(""));
    let theirs = run(cmd, b"", Duration::from_secs(30));
    assert!(theirs.status.success(), "{}", theirs.stderr);

    let input: String = recs.iter().map(|r| r.to_string() + "\n").collect();
    for stream in ["ext://sys.stdout", "ext://sys.stderr"] {
        let config = dir.join(format!("config-{}.json", stream.len()));
        let doc = json!({"version": 1, "formatters": {"f": {"format": format}},
            "handlers": {"h": {"class": "logging.StreamHandler", "stream": stream, "formatter": "f"}}});
        std::fs::write(&config, doc.to_string()).expect("config");
        let mut cmd = std::process::Command::new(pylog_bin());
        cmd.args(["emit", "--config"]).arg(&config);
        let ours = run(cmd, input.as_bytes(), Duration::from_secs(60));
        assert!(ours.status.success(), "{}", ours.stderr);
        let expected = String::from_utf8_lossy(&theirs.stdout);
        if stream.ends_with("stdout") {
            assert_eq!(String::from_utf8_lossy(&ours.stdout), expected);
        } else {
            assert!(ours.stdout.is_empty());
            assert!(ours.stderr.starts_with(expected.as_ref()), "stderr: {}", ours.stderr);
        }
    }
}

#[test]
fn null_handler_sends_nothing_and_says_so() {
    let config = write_config("null", json!({"class": "logging.NullHandler"}));
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.args(["emit", "--config"]).arg(&config);
    let out = run(cmd, b"{\"msg\": \"a\"}\n{\"msg\": \"b\"}\n", Duration::from_secs(60));
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("0 sent") && out.stderr.contains("2 below level"), "{}", out.stderr);
}
