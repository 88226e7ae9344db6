//! Ways to use the plugin from a Rust program: QueueHandler's host thread,
//! the `log` and `tracing` bridges, the plugin's `wasi:logging` export, and
//! an extension composed with the plugin.

pub mod composed;
pub mod log_bridge;
pub mod queue;
pub mod wasi_logging;
