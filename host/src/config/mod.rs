//! `logging.config.dictConfig` documents (JSON or TOML) to handler configs.
//!
//! Handler entries use CPython's class names and constructor keys, so a file
//! that configures Python's logging configures ours. Our own options go in
//! the `"."` attribute table, which CPython's dictConfig applies with
//! `setattr` and its handlers then ignore: the same file still loads in Python.
//!
//! `document` reads the whole document; `loggers` and `routing` decide which
//! handlers a record reaches; `classes` maps each handler class, using
//! `arguments` for CPython's constructor keys and `options` for ours.

mod arguments;
mod classes;
mod document;
mod key_file;
mod local_time;
mod loggers;
mod options;
mod problems;
mod queues;
pub mod routing;
pub mod tls;
mod values;

pub use document::{parse_file, parse_str, Document};
pub use key_file::read_key_file;
pub use local_time::LocalTime;
pub use queues::QueueConfig;
pub use values::{MAX_BACKUP_COUNT, MAX_CAPACITY};
