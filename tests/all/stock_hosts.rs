//! `pylog compose` and hosts that are not ours: the composed extension
//! imports only wasi:* and runs in the stock `wasmtime run` and `wasmtime
//! serve` (the CLI of the wasmtime version our host links, `make
//! wasmtime-dep`) and in Node through jco, shipping its records to `pylog
//! listen`; with the receiver down, the failure is on the extension's stderr.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{pylog_listen, read_records, run, Peer};
use serde_json::{json, Value};

/// The stock CLI: $PYLOG_WASMTIME (the Makefile sets it), else where `make
/// wasmtime-dep` caches the version in Cargo.lock.
fn wasmtime() -> PathBuf {
    let path = std::env::var_os("PYLOG_WASMTIME").map(PathBuf::from).unwrap_or_else(|| {
        let lock = std::fs::read_to_string(common::package_root().join("Cargo.lock")).expect("Cargo.lock");
        let version = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"wasmtime\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
            .expect("wasmtime in Cargo.lock")
            .trim_matches('"')
            .to_string();
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(format!(".cache/pylog-handlers/wasmtime-cli-{version}/bin/wasmtime"))
    });
    assert!(path.exists(), "{} is missing: run `make wasmtime-dep` (or `make test`)", path.display());
    path
}

fn component(name: &str) -> PathBuf {
    let p = common::target_dir().join("wasm32-wasip2/component").join(name);
    assert!(p.exists(), "{} is missing: run `make compose` (or `make test`)", p.display());
    p
}

/// A dictConfig with one handler on root, written to a fresh folder.
fn config(dir: &Path, handler: Value) -> PathBuf {
    let doc = json!({"version": 1, "handlers": {"ship": handler}, "root": {"level": "DEBUG", "handlers": ["ship"]}});
    let path = dir.join("logging.json");
    std::fs::write(&path, doc.to_string()).expect("write config");
    path
}

fn socket_handler(port: u16) -> Value {
    json!({"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": port})
}

fn scratch(name: &str) -> PathBuf {
    let dir = common::target_dir().join("tmp-tests").join(format!("stock-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `pylog compose --config CONFIG EXTENSION -o DIR/app.wasm`.
fn compose(dir: &Path, config: &Path, extension: &str) -> common::Output {
    let mut cmd = Command::new(common::pylog_bin());
    cmd.arg("compose").arg("--config").arg(config).arg(component(extension)).arg("-o").arg(dir.join("app.wasm"));
    run(cmd, b"", Duration::from_secs(60))
}

fn composed(dir: &Path, config: &Path, extension: &str) -> PathBuf {
    let out = compose(dir, config, extension);
    assert!(out.status.success(), "pylog compose: {}", out.stderr);
    dir.join("app.wasm")
}

/// The import lines of `jco wit` (wasm-tools' component wit, bundled in jco).
fn imports(app: &Path) -> Vec<String> {
    let mut wit = Command::new("npx");
    wit.args(["--no-install", "jco", "wit"]).arg(app).current_dir(common::package_root().join("examples/js"));
    let out = run(wit, b"", Duration::from_secs(120));
    assert!(out.status.success(), "jco wit (run `make deps` for examples/js/node_modules): {}", out.stderr);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().filter_map(|l| l.trim().strip_prefix("import ")).map(|l| l.trim_end_matches(';').to_string()).collect()
}

#[test]
fn compose_gives_a_component_that_imports_only_wasi_and_http_only_for_an_http_handler() {
    let dir = scratch("imports");
    let app = composed(&dir, &config(&dir, socket_handler(9)), "example_extension.wasm");
    let names = imports(&app);
    assert!(names.iter().any(|i| i.starts_with("wasi:sockets/tcp@")), "{names:?}");
    assert!(names.iter().all(|i| i.starts_with("wasi:")), "a non-WASI import is left: {names:?}");
    assert!(!names.iter().any(|i| i.starts_with("wasi:http/")), "wasi:http without an HTTPHandler: {names:?}");

    let http = json!({"class": "logging.handlers.HTTPHandler", "host": "127.0.0.1:9", "url": "/log"});
    let app = composed(&dir, &config(&dir, http), "example_extension.wasm");
    let names = imports(&app);
    assert!(names.iter().all(|i| i.starts_with("wasi:")), "{names:?}");
    assert!(names.iter().any(|i| i.starts_with("wasi:http/outgoing-handler@")), "{names:?}");
}

#[test]
fn compose_refuses_what_a_stock_host_cannot_run_and_says_what_to_do() {
    let dir = scratch("refused");
    let doc = json!({
        "version": 1,
        "handlers": {
            "devlog": {"class": "logging.handlers.SysLogHandler", "address": "/dev/log"},
            "secure": {"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", 6514],
                       "socktype": "ext://socket.SOCK_STREAM", ".": {"tls": {"server_name": "localhost"}}},
            "buffered": {"class": "logging.handlers.MemoryHandler", "capacity": 100, "target": "plain"},
            "plain": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": 9},
            "durable": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": 9,
                        ".": {"spool_dir": dir.join("spool")}}
        },
        "root": {"handlers": ["devlog", "secure", "buffered", "durable"]}
    });
    let path = dir.join("logging.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    let out = compose(&dir, &path, "example_extension.wasm");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    let problems =
        [("devlog", "unix sockets"), ("secure", "no TLS"), ("buffered", "never calls"), ("durable", "locks")];
    for (name, why) in problems {
        assert!(
            out.stderr.lines().any(|l| l.contains(&format!("handlers.{name}:")) && l.contains(why)),
            "no line for {name} saying {why:?}:\n{}",
            out.stderr
        );
    }
    assert!(!dir.join("app.wasm").exists(), "a refused composition must not be written");
}

#[test]
fn compose_says_what_is_wrong_with_an_extension_it_cannot_plug() {
    let dir = scratch("not-plugged");
    let config = config(&dir, socket_handler(9));
    // A component without a wasi:logging import (our own composition's
    // import is already met), and a file that is no component at all.
    let out = compose(&dir, &config, "extension_with_pylog.wasm");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("does not import wasi:logging/logging@0.1.0-draft"), "{}", out.stderr);
    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"not wasm").expect("write");
    let mut cmd = Command::new(common::pylog_bin());
    cmd.arg("compose").arg("--config").arg(&config).arg(&junk).arg("-o").arg(dir.join("app.wasm"));
    let out = run(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("is not a WebAssembly component"), "{}", out.stderr);
    assert!(!dir.join("app.wasm").exists());
}

/// `wasmtime run -S inherit-network=y APP.wasm 12`.
fn wasmtime_run(app: &Path) -> common::Output {
    let mut cmd = Command::new(wasmtime());
    cmd.args(["run", "-S", "inherit-network=y"]).arg(app).arg("12");
    run(cmd, b"", Duration::from_secs(120))
}

const EXTENSION_MESSAGES: [&str; 4] = ["processing 12 items", "item 4 was slow", "item 9 was slow", "done: 12 of 12"];

#[test]
fn the_stock_wasmtime_run_ships_the_extensions_records() {
    let dir = scratch("run");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let app = composed(&dir, &config(&dir, socket_handler(addrs[0].1.port())), "example_extension.wasm");
    let ran = wasmtime_run(&app);
    assert!(ran.status.success(), "wasmtime run: {}", ran.stderr);
    assert!(!ran.stderr.contains("pylog:"), "the plugin reported a failure: {}", ran.stderr);
    let got = read_records(out, 4, Duration::from_secs(30));
    let msgs: Vec<&Value> = got.iter().map(|r| &r["msg"]).collect();
    assert_eq!(msgs, EXTENSION_MESSAGES.map(|m| json!(m)).iter().collect::<Vec<_>>());
    assert!(got.iter().all(|r| r["name"] == json!("extension.work")));
}

#[test]
fn the_stock_wasmtime_run_with_the_receiver_down_says_what_was_not_delivered() {
    let dir = scratch("run-down");
    let app = composed(&dir, &config(&dir, socket_handler(common::free_port())), "example_extension.wasm");
    let ran = wasmtime_run(&app);
    // `log` returns nothing to the extension, which finishes its work; what
    // the handler could not deliver is on stderr, with counts, every time.
    assert!(ran.status.success(), "wasmtime run: {}", ran.stderr);
    let reports: Vec<&str> = ran.stderr.lines().filter(|l| l.starts_with("pylog: handler \"ship\"")).collect();
    assert_eq!(reports.len(), EXTENSION_MESSAGES.len(), "one report per undelivered message:\n{}", ran.stderr);
    let last = reports.last().expect("a report");
    assert!(last.contains("4 records wait in the spool, undelivered"), "{last}");
}

/// `wasmtime serve -S cli=y -S inherit-network=y` on a free port (Rust's std
/// imports wasi:cli, which serve links only with `cli=y`), ready when it
/// accepts a connection.
fn wasmtime_serve(app: &Path) -> (Peer, u16, std::sync::Arc<std::sync::Mutex<String>>) {
    let port = common::free_port();
    let mut child = Command::new(wasmtime())
        .args(["serve", "-S", "cli=y", "-S", "inherit-network=y", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .arg(app)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wasmtime serve");
    let mut err = child.stderr.take().expect("stderr");
    let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let kept = said.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = err.read(&mut buf) {
            kept.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let peer = Peer(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "wasmtime serve did not listen: {}", said.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    (peer, port, said)
}

/// One HTTP/1.1 GET; the status line's code.
fn get(port: u16, path: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to wasmtime serve");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("request");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[test]
fn the_stock_wasmtime_serve_ships_one_record_per_request_for_1000_requests() {
    let dir = scratch("serve");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let app = composed(&dir, &config(&dir, socket_handler(addrs[0].1.port())), "example_http_extension.wasm");
    let (_serve, port, said) = wasmtime_serve(&app);
    for i in 0..1000 {
        assert_eq!(get(port, &format!("/orders/{i}?page=2")), 200, "request {i}: {}", said.lock().unwrap());
    }
    let got = read_records(out, 1000, Duration::from_secs(60));
    assert_eq!(got.len(), 1000, "wasmtime serve said: {}", said.lock().unwrap());
    let mut paths: Vec<String> = got.iter().map(|r| r["msg"].as_str().expect("msg").to_string()).collect();
    paths.sort();
    let mut want: Vec<String> = (0..1000).map(|i| format!("GET /orders/{i}?page=2")).collect();
    want.sort();
    assert_eq!(paths, want);
    assert!(got.iter().all(|r| r["name"] == json!("http") && r["levelname"] == json!("INFO")));
}

#[test]
fn the_stock_wasmtime_serve_with_the_receiver_down_reports_each_undelivered_record() {
    let dir = scratch("serve-down");
    let app = composed(&dir, &config(&dir, socket_handler(common::free_port())), "example_http_extension.wasm");
    let (_serve, port, said) = wasmtime_serve(&app);
    for i in 0..20 {
        assert_eq!(get(port, &format!("/down/{i}")), 200);
    }
    // Each request is a new instance whose one record is not delivered; its
    // report is written before the response, and serve passes it on.
    let reports = || {
        let text = said.lock().unwrap().clone();
        let n = text.lines().filter(|l| l.contains("pylog: handler \"ship\"") && l.contains("undelivered")).count();
        (n, text)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while reports().0 < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (n, text) = reports();
    assert_eq!(n, 20, "wasmtime serve's stderr:\n{text}");
}

#[test]
fn jco_runs_the_composed_component_in_node() {
    let dir = scratch("jco");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let app = composed(&dir, &config(&dir, socket_handler(addrs[0].1.port())), "example_extension.wasm");
    let mut jco = Command::new("npx");
    jco.args(["--no-install", "jco", "run"])
        .arg(&app)
        .arg("12")
        .current_dir(common::package_root().join("examples/js"));
    let ran = run(jco, b"", Duration::from_secs(180));
    assert!(ran.status.success(), "jco run: {}", ran.stderr);
    let got = read_records(out, 4, Duration::from_secs(30));
    let msgs: Vec<&Value> = got.iter().map(|r| &r["msg"]).collect();
    assert_eq!(msgs, EXTENSION_MESSAGES.map(|m| json!(m)).iter().collect::<Vec<_>>());
}

/// The handlers cross the composition as JSON of the WIT types, written by
/// the host's bindings and read by the configuration component's: a
/// document with many kinds and options opens every handler in the stock
/// host, and each does its job.
#[test]
fn every_kind_of_handler_crosses_the_composition_intact() {
    let dir = scratch("kinds");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"]);
    let log_file = dir.join("app.log");
    let doc = json!({
        "version": 1,
        "formatters": {"brace": {"format": "{levelname}|{name}|{message}", "style": "{"}},
        "handlers": {
            "socket": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": addrs[0].1.port(),
                       ".": {"spool_records": 50, "flush_timeout": 2, "retryStart": 0.5}},
            "datagram": {"class": "logging.handlers.DatagramHandler", "host": "127.0.0.1", "port": addrs[1].1.port()},
            "syslog": {"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", 9], "facility": "local3",
                       "level": "ERROR"},
            "file": {"class": "logging.handlers.RotatingFileHandler", "filename": log_file, "maxBytes": 100000,
                     "backupCount": 2, "formatter": "brace", "encoding": "utf-8"},
            "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "brace"},
            "http": {"class": "logging.handlers.HTTPHandler", "host": "127.0.0.1:9", "url": "/log", "method": "POST",
                     "level": "CRITICAL"}
        },
        "root": {"level": "INFO", "handlers": ["socket", "datagram", "syslog", "file", "console", "http"]}
    });
    let path = dir.join("logging.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    let app = composed(&dir, &path, "example_extension.wasm");
    let mut cmd = Command::new(wasmtime());
    // The HTTPHandler brings wasi:http, which wasmtime run links with http=y.
    cmd.args(["run", "-S", "inherit-network=y", "-S", "http=y", "--dir"])
        .arg(format!("{0}::{0}", dir.display()))
        .arg(&app)
        .arg("12");
    let ran = run(cmd, b"", Duration::from_secs(120));
    assert!(ran.status.success(), "wasmtime run: {}", ran.stderr);
    assert!(!ran.stderr.contains("cannot be read") && !ran.stderr.contains("not opened"), "{}", ran.stderr);
    // Two inputs, the four messages each; UDP on loopback is not lost here,
    // but the order between the inputs is the listener's.
    let got = read_records(out, 8, Duration::from_secs(30));
    let mut msgs: Vec<&str> = got.iter().map(|r| r["msg"].as_str().unwrap_or("")).collect();
    msgs.sort();
    let mut want: Vec<&str> = EXTENSION_MESSAGES.iter().chain(EXTENSION_MESSAGES.iter()).copied().collect();
    want.sort();
    assert_eq!(msgs, want);
    let lines: Vec<String> = EXTENSION_MESSAGES
        .iter()
        .map(|m| format!("{}|extension.work|{m}", if m.contains("slow") { "WARNING" } else { "INFO" }))
        .collect();
    assert_eq!(std::fs::read_to_string(&log_file).expect("the log file").lines().collect::<Vec<_>>(), lines);
    let console: Vec<&str> = ran.stderr.lines().filter(|l| l.contains("|extension.work|")).collect();
    assert_eq!(console, lines);
}
