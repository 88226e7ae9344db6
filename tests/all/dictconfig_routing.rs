//! A complete dictConfig document as Python users write it (formatters,
//! filters, handlers with filters, loggers with levels and propagate,
//! root): `pylog emit` sends each record to the same handlers CPython's
//! logging does, checked by comparing the files both write.

use std::path::Path;
use std::time::Duration;

use crate::common::{pylog_bin, python, run, script};
use serde_json::{json, Value};

fn document(dir: &Path) -> Value {
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    json!({
        "version": 1,
        "disable_existing_loggers": false,
        "formatters": {"plain": {"format": "%(name)s %(levelname)s %(message)s"}},
        "filters": {"web_only": {"name": "app.web"}, "audit_only": {"name": "audit"}},
        "handlers": {
            "everything": {"class": "logging.FileHandler", "filename": file("all.log"), "formatter": "plain"},
            "app": {"class": "logging.FileHandler", "filename": file("app.log"), "formatter": "plain", "level": "WARNING"},
            "db": {"class": "logging.FileHandler", "filename": file("db.log"), "formatter": "plain"},
            "web": {"class": "logging.FileHandler", "filename": file("web.log"), "formatter": "plain", "filters": ["web_only"]}
        },
        "loggers": {
            "app": {"level": "INFO", "handlers": ["app", "web"]},
            "app.db": {"handlers": ["db"], "propagate": false},
            "audit": {"level": "DEBUG", "handlers": ["db"], "filters": ["audit_only"]}
        },
        "root": {"level": "WARNING", "handlers": ["everything"]}
    })
}

#[test]
fn records_reach_the_handlers_cpython_would_pick() {
    let base = std::env::temp_dir().join(format!("pylog-routing-{}", std::process::id()));
    let (theirs, ours) = (base.join("cpython"), base.join("pylog"));
    for d in [&theirs, &ours] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).expect("dir");
    }
    let mut records = Vec::new();
    for name in ["app", "app.web", "app.web.api", "app.db", "app.db.pool", "apple", "audit", "audit.x", "other"] {
        for (levelno, levelname) in [(10, "DEBUG"), (20, "INFO"), (30, "WARNING"), (40, "ERROR"), (50, "CRITICAL")] {
            records.push(json!({"name": name, "msg": format!("{name} at {levelname}"), "levelno": levelno, "levelname": levelname}));
        }
    }
    let spec = base.join("spec.json");
    std::fs::write(&spec, json!({"doc": document(&theirs), "records": records}).to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("dictconfig_files.py")).arg(&spec).current_dir(script(""));
    let out = run(cmd, b"", Duration::from_secs(60));
    assert!(out.status.success(), "dictconfig_files.py: {}", out.stderr);

    let config = base.join("logging.json");
    std::fs::write(&config, document(&ours).to_string()).expect("config");
    let input: String = records.iter().map(|r| r.to_string() + "\n").collect();
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.args(["emit", "--config"]).arg(&config);
    let ran = run(cmd, input.as_bytes(), Duration::from_secs(60));
    assert!(ran.status.success(), "pylog emit: {}", ran.stderr);
    let (ours, theirs) = (crate::common::log_files(&ours), crate::common::log_files(&theirs));
    assert_eq!(theirs.len(), 4, "CPython wrote {:?}", theirs.keys());
    assert!(theirs.values().all(|t| !t.is_empty()), "every handler got something: {theirs:?}");
    assert_eq!(ours, theirs);
}

#[test]
fn config_check_prints_the_resolution_and_refuses_python_code() {
    let base = std::env::temp_dir().join(format!("pylog-check-{}", std::process::id()));
    std::fs::create_dir_all(&base).expect("dir");
    let config = base.join("logging.json");
    std::fs::write(&config, document(&base).to_string()).expect("config");
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.args(["config", "check"]).arg(&config);
    let out = run(cmd, b"", Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    let app_line = format!("  app: FileHandler to file {}, level WARNING", base.join("app.log").display());
    for line in [
        "valid",
        app_line.as_str(),
        "  app.db: level NOTSET (inherited), handlers [\"db\"], propagate false",
        "filter: handler web takes only records of loggers [\"app.web\"]",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    let mut doc = document(&base);
    doc["filters"]["custom"] = json!({"()": "mymodule.MyFilter"});
    std::fs::write(&config, doc.to_string()).expect("config");
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.args(["config", "check"]).arg(&config);
    let out = run(cmd, b"", Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(out.stderr.contains("filters.custom: a \"()\" factory is Python code"), "{}", out.stderr);
}

/// Two StreamHandlers on stdout, one on stderr and `logging.lastResort`
/// (stderr) print their lines record by record, in CPython's order: a
/// record's handlers one after the other, not one handler's batch after
/// another's. (Two handlers on stdout once deadlocked `pylog emit`.)
#[test]
fn console_handlers_interleave_as_cpythons_do() {
    let doc = json!({
        "version": 1,
        "formatters": {"a": {"format": "A %(levelname)s %(message)s"}, "b": {"format": "B %(name)s %(message)s"}},
        "handlers": {
            "out_all": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "a"},
            "out_warn": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "b",
                         "level": "WARNING"},
            "err_app": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "b"},
        },
        "loggers": {"app": {"handlers": ["err_app"]}, "lonely": {"propagate": false}},
        "root": {"level": "DEBUG", "handlers": ["out_all", "out_warn"]},
    });
    same_console_output_as_cpython("three", doc);
}

/// One StreamHandler on stderr and `logging.lastResort`, which joins it
/// once a record reaches no handler: their lines interleave as in CPython.
#[test]
fn a_lone_console_handler_and_last_resort_interleave_as_cpythons_do() {
    let doc = json!({
        "version": 1,
        "formatters": {"b": {"format": "B %(name)s %(message)s"}},
        "handlers": {"err_app": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "b"}},
        "loggers": {"app": {"handlers": ["err_app"]}},
    });
    same_console_output_as_cpython("lone", doc);
}

/// Records for several batches, mixing every route, through CPython's
/// dictConfig and `pylog emit`: the same stdout, and the same stderr
/// (pylog's own lines aside).
fn same_console_output_as_cpython(what: &str, doc: Value) {
    let records: Vec<Value> = (0..3000)
        .map(|i| {
            let (name, level, levelno) =
                [("app.web", "INFO", 20), ("db", "WARNING", 30), ("lonely", "ERROR", 40), ("app", "ERROR", 40)][i % 4];
            json!({"name": name, "levelname": level, "levelno": levelno, "msg": format!("record {i}")})
        })
        .collect();
    let base = std::env::temp_dir().join(format!("pylog-console-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&base).expect("dir");
    let spec = base.join("spec.json");
    std::fs::write(&spec, json!({"doc": doc, "records": records}).to_string()).expect("spec");
    let mut cmd = python();
    cmd.arg(script("dictconfig_files.py")).arg(&spec).current_dir(script(""));
    let cpython = run(cmd, b"", Duration::from_secs(60));
    assert!(cpython.status.success(), "{what}: dictconfig_files.py: {}", cpython.stderr);
    assert!(cpython.stderr.contains("record 2\n"), "{what}: lastResort wrote: {}", cpython.stderr);
    assert!(cpython.stderr.contains("B app record 3\n"), "{what}: err_app wrote: {}", cpython.stderr);

    let config = base.join("logging.json");
    std::fs::write(&config, doc.to_string()).expect("config");
    let input: String = records.iter().map(|r| r.to_string() + "\n").collect();
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.args(["emit", "--config"]).arg(&config);
    let pylog = run(cmd, input.as_bytes(), Duration::from_secs(60));
    assert!(pylog.status.success(), "{what}: pylog emit: {}", pylog.stderr);
    assert_eq!(String::from_utf8_lossy(&pylog.stdout), String::from_utf8_lossy(&cpython.stdout), "{what}");
    let said: String = pylog.stderr.lines().filter(|l| !l.starts_with("pylog")).map(|l| format!("{l}\n")).collect();
    assert_eq!(said, cpython.stderr, "{what}");
}
