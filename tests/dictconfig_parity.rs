//! dictConfig documents written as real projects write them (Django's
//! root-in-`loggers`, `"root"` as a logger name, fileConfig's `qualname`,
//! `propagate` as 0/1, one handler on a logger and on its ancestor, no
//! handler at all so that `logging.lastResort` speaks, a root without a
//! level): CPython's `logging.config.dictConfig` and `pylog emit` get the
//! same document and records, and every file and stderr must match.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{pylog_bin, python, run, script};
use serde_json::{json, Value};

fn documents(dir: &Path) -> Vec<(&'static str, Value)> {
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let plain = json!({"plain": {"format": "%(name)s %(levelname)s %(message)s"}});
    vec![
        (
            "django: root configured as the \"\" logger",
            json!({"version": 1, "disable_existing_loggers": false, "formatters": plain,
                "handlers": {"file": {"class": "logging.FileHandler", "filename": file("django.log"), "formatter": "plain"}},
                "loggers": {"": {"handlers": ["file"], "level": "INFO"},
                            "django": {"handlers": ["file"], "level": "WARNING", "propagate": false}}}),
        ),
        (
            "\"root\" as a logger name",
            json!({"version": 1, "formatters": plain,
                "handlers": {"file": {"class": "logging.FileHandler", "filename": file("root.log"), "formatter": "plain"}},
                "loggers": {"root": {"handlers": ["file"], "level": "DEBUG"}, "app": {"level": "ERROR"}}}),
        ),
        (
            "qualname and propagate as 0 and 1",
            json!({"version": 1, "formatters": plain,
                "handlers": {
                    "a": {"class": "logging.FileHandler", "filename": file("a.log"), "formatter": "plain"},
                    "b": {"class": "logging.FileHandler", "filename": file("b.log"), "formatter": "plain"},
                    "c": {"class": "logging.FileHandler", "filename": file("c.log"), "formatter": "plain"}},
                "loggers": {"app": {"handlers": ["a"], "level": "INFO", "propagate": 0, "qualname": "app"},
                            "app.sub": {"handlers": ["b"], "propagate": 1, "qualname": "app.sub"}},
                "root": {"handlers": ["c"], "level": "DEBUG"}}),
        ),
        (
            "one handler on a logger and on its ancestor",
            json!({"version": 1, "formatters": plain,
                "handlers": {"f": {"class": "logging.FileHandler", "filename": file("twice.log"), "formatter": "plain"}},
                "loggers": {"app": {"handlers": ["f"], "level": "DEBUG"}},
                "root": {"handlers": ["f"], "level": "INFO"}}),
        ),
        (
            "no handler found: logging.lastResort",
            json!({"version": 1, "formatters": plain,
                "handlers": {"f": {"class": "logging.FileHandler", "filename": file("app-only.log"), "formatter": "plain"}},
                "loggers": {"app": {"handlers": ["f"], "level": "DEBUG", "propagate": false}}}),
        ),
        (
            "formatter styles { and $, as Django's and uvicorn's docs write them",
            json!({"version": 1,
                "formatters": {
                    "django": {"format": "{levelname} {asctime} {module} {process:d} {lineno:d} {message}", "style": "{"},
                    "specs": {"format": "[{levelname:<8}|{levelname:^9}|{levelname:>8.3}] {name!r:>14} {levelno:03d} {levelno:+,} {msecs:07.2f} {created:.3} {created:e} {lineno:#x} {message!a} {{literal}}", "style": "{"},
                    "dollar": {"format": "$levelname ${name}: $message costs $$5 (${lineno})", "style": "$"}},
                "handlers": {
                    "d": {"class": "logging.FileHandler", "filename": file("django-style.log"), "formatter": "django"},
                    "s": {"class": "logging.FileHandler", "filename": file("specs.log"), "formatter": "specs"},
                    "t": {"class": "logging.FileHandler", "filename": file("dollar.log"), "formatter": "dollar"}},
                "root": {"handlers": ["d", "s", "t"], "level": "DEBUG"}}),
        ),
        (
            "root without a level starts at WARNING",
            json!({"version": 1, "formatters": plain,
                "handlers": {"f": {"class": "logging.FileHandler", "filename": file("warning.log"), "formatter": "plain"}},
                "root": {"handlers": ["f"]}}),
        ),
    ]
}

fn contents(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".log").then(|| (name, std::fs::read_to_string(e.path()).unwrap_or_default()))
        })
        .collect()
}

#[test]
fn real_world_documents_route_records_as_cpython_does() {
    let base = std::env::temp_dir().join(format!("pylog-parity-{}", std::process::id()));
    let mut records = Vec::new();
    for name in ["app", "app.sub", "app.sub.x", "django", "django.request", "other", "root"] {
        for (levelno, levelname) in [(10, "DEBUG"), (20, "INFO"), (30, "WARNING"), (40, "ERROR"), (50, "CRITICAL")] {
            records.push(json!({"name": name, "msg": format!("{name} at {levelname} \u{e9}"), "levelno": levelno,
                "levelname": levelname, "created": 1_700_000_000.25 + levelno as f64, "msecs": 250.0,
                "pathname": "/srv/app/views.py", "filename": "views.py", "module": "views",
                "lineno": 40 + levelno, "process": 4242}));
        }
    }
    let input: String = records.iter().map(|r| r.to_string() + "\n").collect();
    let count = documents(&base).len();
    for k in 0..count {
        let (theirs, ours) = (base.join(format!("{k}-cpython")), base.join(format!("{k}-pylog")));
        for d in [&theirs, &ours] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d).expect("dir");
        }
        let (what, their_doc) = documents(&theirs).swap_remove(k);
        let (_, our_doc) = documents(&ours).swap_remove(k);
        let spec = base.join(format!("{k}-spec.json"));
        std::fs::write(&spec, json!({"doc": their_doc, "records": records}).to_string()).expect("spec");
        let mut cmd = python();
        cmd.arg(script("dictconfig_files.py")).arg(&spec).current_dir(script(""));
        let cpython = run(cmd, b"", Duration::from_secs(60));
        assert!(cpython.status.success(), "{what}: dictconfig_files.py: {}", cpython.stderr);

        let config = base.join(format!("{k}-logging.json"));
        std::fs::write(&config, our_doc.to_string()).expect("config");
        let mut cmd = std::process::Command::new(pylog_bin());
        cmd.args(["emit", "--config"]).arg(&config);
        let pylog = run(cmd, input.as_bytes(), Duration::from_secs(60));
        assert!(pylog.status.success(), "{what}: pylog emit: {}", pylog.stderr);
        let (ours, theirs) = (contents(&ours), contents(&theirs));
        assert!(!theirs.is_empty() || !cpython.stderr.is_empty(), "{what}: CPython wrote nothing");
        assert_eq!(ours, theirs, "{what}");
        let said: String = pylog.stderr.lines().filter(|l| !l.starts_with("pylog")).map(|l| format!("{l}\n")).collect();
        assert_eq!(said, cpython.stderr, "{what}: what reached stderr");
    }
}

#[test]
fn djangos_default_logging_is_refused_with_every_problem_and_its_path() {
    // django/utils/log.py DEFAULT_LOGGING, as Python writes it to JSON.
    let doc = json!({"version": 1, "disable_existing_loggers": false,
        "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
                    "require_debug_true": {"()": "django.utils.log.RequireDebugTrue"}},
        "formatters": {"django.server": {"()": "django.utils.log.ServerFormatter",
                                         "format": "[{server_time}] {message}", "style": "{"}},
        "handlers": {"console": {"level": "INFO", "filters": ["require_debug_true"], "class": "logging.StreamHandler"},
                     "django.server": {"level": "INFO", "class": "logging.StreamHandler", "formatter": "django.server"},
                     "mail_admins": {"level": "ERROR", "filters": ["require_debug_false"],
                                     "class": "django.utils.log.AdminEmailHandler"}},
        "loggers": {"django": {"handlers": ["console", "mail_admins"], "level": "INFO"},
                    "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": false}}});
    let base = std::env::temp_dir().join(format!("pylog-parity-django-{}", std::process::id()));
    std::fs::create_dir_all(&base).expect("dir");
    let config = base.join("logging.json");
    std::fs::write(&config, doc.to_string()).expect("config");
    for args in [&["config", "check"][..], &["emit", "--config"][..]] {
        let mut cmd = std::process::Command::new(pylog_bin());
        cmd.args(args).arg(&config);
        let out = run(cmd, b"", Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        for path in [
            "filters.require_debug_false: ",
            "filters.require_debug_true: ",
            "formatters.django.server: ",
            "handlers.mail_admins.class: ",
        ] {
            assert!(out.stderr.contains(path), "{args:?}: {path:?} not in {}", out.stderr);
        }
    }
}
