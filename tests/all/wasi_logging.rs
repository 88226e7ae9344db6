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
