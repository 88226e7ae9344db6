//! CPython's `logging.handlers`, rebuilt as plain Rust over `std::io::Write`
//! and exported as a WebAssembly component.
//!
//! Everything but `component` is ordinary Rust that compiles natively: that is
//! what the unit tests exercise and what the benchmarks use as the native
//! baseline. `component` is the only file that knows wit-bindgen.

pub mod ack;
pub mod backoff;
pub mod brace_format;
pub mod buffer;
pub mod civil_time;
pub mod connection;
pub mod delivery;
pub mod durable;
pub mod email_message;
pub mod error;
pub mod file_sink;
pub mod formatter;
pub mod handler;
pub mod http_body;
pub mod http_client;
pub mod log_routing;
pub mod percent;
pub mod pickle;
pub mod prepare;
pub mod priority;
pub mod pyrepr;
pub mod record;
pub mod signing;
pub mod smtp;
pub mod spool;
pub mod syslog;
pub mod text_encoding;
pub mod timed_rollover;
pub mod transport;

#[cfg(target_arch = "wasm32")]
mod component;
