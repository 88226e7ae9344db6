//! dictConfig documents written as real projects write them (Django's
//! root-in-`loggers` and `{` formats, `"root"` as a logger name, gunicorn's
//! generic formatter with `qualname` and `propagate` as 0, the logging
//! HOWTO's multiple destinations, filters on loggers and handlers, one
//! handler on a logger and on its ancestor, no handler at all so that
//! `logging.lastResort` speaks, `$` formats, a SysLogHandler to a unix
//! socket, size rotation, a root without a level): CPython's
//! `logging.config.dictConfig` and `pylog emit` get the same document and
//! records, and every file, datagram and stderr line must match.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{pylog_bin, python, run, script};
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
            "gunicorn: generic formatter with datefmt, filters, qualname, propagate 0",
            json!({"version": 1, "disable_existing_loggers": false,
                "filters": {"only_access": {"name": "gunicorn.access"}},
                "formatters": {"generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
                    "datefmt": "[%Y-%m-%d %H:%M:%S %z]", "class": "logging.Formatter"}},
                "handlers": {
                    "error_file": {"class": "logging.FileHandler", "formatter": "generic", "filename": file("error.log")},
                    "access_file": {"class": "logging.FileHandler", "formatter": "generic", "filename": file("access.log"),
                        "filters": ["only_access"]}},
                "loggers": {
                    "gunicorn.error": {"level": "INFO", "handlers": ["error_file"], "propagate": true, "qualname": "gunicorn.error"},
                    "gunicorn.access": {"level": "INFO", "handlers": ["access_file"], "propagate": 0, "qualname": "gunicorn.access"}},
                "root": {"level": "INFO", "handlers": ["error_file"]}}),
        ),
        (
            "the logging HOWTO's multiple destinations, each at its own level",
            json!({"version": 1,
                "formatters": {"f": {"format": "%(asctime)s %(name)-12s %(levelname)-8s %(message)s", "datefmt": "%m-%d %H:%M"}},
                "handlers": {
                    "file": {"class": "logging.FileHandler", "filename": file("myapp.log"), "mode": "w", "formatter": "f", "level": "DEBUG"},
                    "errors": {"class": "logging.FileHandler", "filename": file("errors.log"), "formatter": "f", "level": "ERROR"}},
                "root": {"level": "DEBUG", "handlers": ["file", "errors"]}}),
        ),
        (
            "a filter on a logger applies to records logged there, not to those propagating through",
            json!({"version": 1, "formatters": plain,
                "filters": {"sub_only": {"name": "app.sub"}},
                "handlers": {"f": {"class": "logging.FileHandler", "filename": file("filtered.log"), "formatter": "plain"}},
                "loggers": {"app": {"handlers": ["f"], "filters": ["sub_only"], "level": "DEBUG"}}}),
        ),
        (
            "SysLogHandler to a unix socket",
            json!({"version": 1,
                "formatters": {"f": {"format": "%(name)s[%(process)d]: %(levelname)s %(message)s"}},
                "handlers": {"syslog": {"class": "logging.handlers.SysLogHandler", "address": file("log.sock"),
                    "facility": "local1", "formatter": "f"}},
                "root": {"level": "DEBUG", "handlers": ["syslog"]}}),
        ),
        (
            "RotatingFileHandler rolling over by size",
            json!({"version": 1, "formatters": plain,
                "handlers": {"rot": {"class": "logging.handlers.RotatingFileHandler", "filename": file("rot.log"),
                    "maxBytes": 400, "backupCount": 2, "formatter": "plain", "encoding": "utf-8"}},
                "root": {"level": "DEBUG", "handlers": ["rot"]}}),
        ),
        (
            "root without a level starts at WARNING",
            json!({"version": 1, "formatters": plain,
                "handlers": {"f": {"class": "logging.FileHandler", "filename": file("warning.log"), "formatter": "plain"}},
                "root": {"handlers": ["f"]}}),
        ),
    ]
}

/// A unix datagram socket standing in for /dev/log, read by a thread as
/// datagrams come (the kernel queues only a few before a sender blocks).
struct Datagrams {
    path: PathBuf,
    reader: std::thread::JoinHandle<Vec<Vec<u8>>>,
}

/// Sent by the test after the sender exited: everything before it arrived.
const END: &[u8] = b"--end of test--";

impl Datagrams {
    fn bind(path: &Path) -> Datagrams {
        let _ = std::fs::remove_file(path);
        let socket = std::os::unix::net::UnixDatagram::bind(path).expect("bind unix socket");
        socket.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65_536];
            while let Ok(n) = socket.recv(&mut buf) {
                if &buf[..n] == END {
                    break;
                }
                got.push(buf[..n].to_vec());
            }
            got
        });
        Datagrams { path: path.to_path_buf(), reader }
    }

    fn take(self) -> Vec<Vec<u8>> {
        let client = std::os::unix::net::UnixDatagram::unbound().expect("client");
        client.send_to(END, &self.path).expect("send the end marker");
        self.reader.join().expect("reader")
    }
}

#[test]
fn real_world_documents_route_records_as_cpython_does() {
    let base = std::env::temp_dir().join(format!("pylog-parity-{}", std::process::id()));
    let mut records = Vec::new();
    for name in [
        "app",
        "app.sub",
        "app.sub.x",
        "django",
        "django.request",
        "gunicorn.error",
        "gunicorn.access.x",
        "other",
        "root",
    ] {
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
        let their_socket = Datagrams::bind(&theirs.join("log.sock"));
        let cpython = run(cmd, b"", Duration::from_secs(60));
        assert!(cpython.status.success(), "{what}: dictconfig_files.py: {}", cpython.stderr);

        let config = base.join(format!("{k}-logging.json"));
        std::fs::write(&config, our_doc.to_string()).expect("config");
        let mut cmd = std::process::Command::new(pylog_bin());
        cmd.args(["emit", "--config"]).arg(&config);
        let our_socket = Datagrams::bind(&ours.join("log.sock"));
        let pylog = run(cmd, input.as_bytes(), Duration::from_secs(60));
        assert!(pylog.status.success(), "{what}: pylog emit: {}", pylog.stderr);
        let (our_datagrams, their_datagrams) = (our_socket.take(), their_socket.take());
        assert_eq!(our_datagrams, their_datagrams, "{what}: datagrams on the unix socket");
        let (ours, theirs) = (crate::common::log_files(&ours), crate::common::log_files(&theirs));
        assert!(
            !theirs.is_empty() || !cpython.stderr.is_empty() || !their_datagrams.is_empty(),
            "{what}: CPython wrote nothing"
        );
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
