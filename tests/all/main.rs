//! The integration tests, as one binary with a module per area, so that
//! wasmtime and the host are linked once rather than into every file.
//! Each module runs the real processes and peers on loopback; helpers are
//! in `tests/common`, Python scripts in `tests/python`.

#[path = "../common/mod.rs"]
mod common;

mod acknowledged;
mod bad_input_corpus;
mod cli;
mod composition;
mod cpython_float_repr;
mod cpython_pickle;
mod cpython_priority;
mod cpython_receiver;
mod cpython_sender;
mod cpython_syslog;
mod dictconfig_parity;
mod dictconfig_routing;
mod durable_spool;
mod file_handlers;
mod handler_classes;
mod hardening;
mod hostile_input;
mod http_handler;
mod js_host;
mod listen_abuse;
mod listen_json;
mod log_bridge;
mod memory_handler;
mod network_faults;
mod packed_records;
mod python_host;
mod queue_handler;
mod readme;
mod record_lines;
mod relp;
mod rsyslog;
mod sandbox;
mod signed_frames;
mod smtp_handler;
mod spool;
mod stock_hosts;
mod syslog_ng;
mod tls_listen;
mod tls_rsyslog;
mod unix_sockets;
mod wasi_logging;
