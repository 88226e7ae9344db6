//! Running the plugin: the engine and its pooled instances (`plugin`), the
//! store's state (`state`), limits and the CPU deadline, the
//! precompiled-component cache, and `Handler`, one handler living in its
//! own sandboxed instance.

pub mod cache;
pub mod deadline;
pub mod error;
pub mod handler;
pub mod limits;
mod open;
pub mod plugin;
pub mod pure;
pub mod spool_lock;
pub mod state;

pub use error::PluginError;
pub use handler::Handler;
pub use limits::{Limits, DEFAULT_MAX_RECORD_BYTES};
pub use plugin::Plugin;
pub use pure::Pure;
