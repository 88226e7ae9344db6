//! CPython's `logging.handlers`, rebuilt as plain Rust and exported as a
//! WebAssembly component.
//!
//! Read it bottom up; each layer is a folder and uses only those below it:
//!
//! - `python`: the `LogRecord`, Python values and `repr`, `%`/`{`/`$`
//!   formatting, `logging.Formatter`, text codecs.
//! - `encode`: a record into CPython's bytes (pickle frames, syslog, HTTP
//!   form bodies, mail).
//! - `deliver`: bytes to a receiver without losing any (transports, spool,
//!   acknowledgements, backoff), and the stats that account for each record.
//! - `handlers`: one file per handler family (`encode` x `deliver`), the
//!   configuration types, and `Handler`: level, MemoryHandler buffer, emit,
//!   flush, close.
//! - `routing`: the `wasi:logging` router over several handlers.
//! - `component` (wasm32 only): the WIT boundary; conversions and nothing else.
//!
//! Everything but `component` compiles natively: that is what the unit
//! tests exercise and what the benchmarks use as the native baseline.

pub mod deliver;
pub mod encode;
pub mod error;
pub mod handlers;
pub mod python;
pub mod routing;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{Error, Result};
pub use handlers::{FamilyOptions, Handler, HandlerConfig};
pub use python::record::{Args, LogRecord, Value};
