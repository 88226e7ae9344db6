//! The plugin exports `wasi:logging/logging` beside `pylog:handlers`; a
//! message logged there reaches a real receiver as a CPython LogRecord
//! through the handlers the host configured.

use crate::common;

use std::time::Duration;

use crate::common::Destination;
use crate::common::{pylog_listen, read_records, socket_config, socket_options};
use pylog_host::bindings::Endpoint;
use pylog_host::embed::wasi_logging::{Level, WasiLogging};
use serde_json::json;

#[test]
fn the_component_exports_wasi_logging_and_pylog_handlers() {
    let exports = common::plugin().exports();
    for wanted in
        ["wasi:logging/logging@0.1.0-draft", "pylog:handlers/handlers@0.2.0", "pylog:handlers/log-routing@0.2.0"]
    {
        assert!(exports.iter().any(|e| e == wanted), "{wanted} not in {exports:?}");
    }
}

#[test]
fn messages_arrive_as_log_records_with_python_levels() {
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let port = addrs[0].1.port();
    let config = socket_config(Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }), socket_options(), false);
    let plugin = common::plugin();
    let mut logging = WasiLogging::open(&plugin, &[config]).expect("open");
    let levels = [
        (Level::Trace, 5, "Level 5"),
        (Level::Debug, 10, "DEBUG"),
        (Level::Info, 20, "INFO"),
        (Level::Warn, 30, "WARNING"),
        (Level::Error, 40, "ERROR"),
        (Level::Critical, 50, "CRITICAL"),
    ];
    for (level, _, _) in &levels {
        logging.log(*level, "extension.work", &format!("step {level:?} done: 100% ✓")).expect("log");
    }
    logging.log(Level::Info, "", "no context").expect("log");
    logging.close().expect("close");
    let stats = logging.stats().expect("stats");
    assert!(stats.is_empty(), "closed routes have no handlers: {stats:?}");
    let got = read_records(out, levels.len() + 1, Duration::from_secs(30));
    assert_eq!(got.len(), levels.len() + 1);
    for (r, (level, levelno, levelname)) in got.iter().zip(&levels) {
        assert_eq!(r["name"], json!("extension.work"));
        assert_eq!(r["msg"], json!(format!("step {level:?} done: 100% ✓")));
        assert_eq!((r["levelno"].clone(), r["levelname"].clone()), (json!(levelno), json!(levelname)));
        assert_eq!(r["args"], json!(null));
        assert!(r["created"].as_f64().is_some_and(|c| c > 1.7e9), "{r}");
    }
    assert_eq!(got[levels.len()]["name"], json!("root"));
}

/// A host that never calls `close` (a stock wasmtime, jco, Spin) still gets
/// what was spooled while the receiver was away out: each `log` delivers the
/// spool when the reconnect schedule allows an attempt (here always: no
/// backoff), and says on stderr what could not go yet.
#[test]
fn spooled_messages_go_out_with_later_logs_without_a_close() {
    let port = common::free_port();
    let options = pylog_host::bindings::SocketOptions { retry_start: 0.0, retry_max: 0.0, ..socket_options() };
    let mut config = socket_config(Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }), options, false);
    config.spool.flush_timeout = 0.2;
    let plugin = common::plugin();
    let mut logging = WasiLogging::open(&plugin, &[config]).expect("open");
    for i in 0..3 {
        logging.log(Level::Warn, "ext", &format!("while away {i}")).expect("log");
    }
    let said = logging.plugin_said().unwrap_or_default();
    assert!(said.contains("records wait in the spool, undelivered"), "{said}");
    assert_eq!(logging.stats().expect("stats")[0].spooled, 3);
    let (_listen, _addrs, out) = pylog_listen(&["--tcp", &format!("127.0.0.1:{port}")]);
    logging.log(Level::Warn, "ext", "back").expect("log");
    let got = read_records(out, 4, Duration::from_secs(30));
    let msgs: Vec<&str> = got.iter().map(|r| r["msg"].as_str().unwrap_or("")).collect();
    assert_eq!(msgs, ["while away 0", "while away 1", "while away 2", "back"], "no close was called");
    let stats = logging.stats().expect("stats");
    assert_eq!((stats[0].sent, stats[0].spooled, stats[0].dropped), (4, 0, 0), "{stats:?}");
}
