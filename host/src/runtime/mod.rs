//! Running the plugin: the engine and its pooled instances, the store's
//! state, the memory limiter and CPU deadline, the precompiled-component
//! cache, and `Handler`, a handler living in its own sandboxed instance.

pub mod cache;
pub mod deadline;
pub mod plugin;
pub mod spool_lock;
