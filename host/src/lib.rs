//! Embed the pylog-handlers component in a wasmtime host.
//!
//! ```no_run
//! use pylog_host::{dictconfig, records, Plugin};
//! let plugin = Plugin::load("pylog_handlers.wasm")?;
//! let doc = dictconfig::parse_file("logging.json".as_ref())?;
//! let mut handler = plugin.open(&doc.handlers[0])?;
//! let record = records::from_json_line(r#"{"msg": "hello %s", "args": ["world"]}"#, &Default::default())?;
//! handler.emit(&record)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod bindings;
pub mod cache;
pub mod composed;
pub mod deadline;
pub mod dictconfig;
pub mod frame_check;
pub mod http_gate;
pub mod input_lines;
pub mod listen;
pub mod log_bridge;
pub mod name_lookup;
pub mod pickle_json;
pub mod pickle_scan;
pub mod plugin;
pub mod queue;
pub mod records;
pub mod routing;
pub mod sandbox;
pub mod sequence_window;
pub mod signing;
pub mod socket_gate;
pub mod spool_lock;
pub mod syslog_parse;
pub mod unix_sockets;
pub mod unpickle;
pub mod wasi_logging;

pub use bindings::{HandlerConfig, HandlerError, LogRecord, Value};
pub use plugin::{Handler, Plugin, PluginError, Pure};
