//! What a call into the plugin can fail with, as a caller sees it: the
//! plugin's typed error, a refusal by the host itself, or a trap.

use crate::bindings::HandlerError;

/// A call's failure: either the plugin's typed answer or a trap, which means
/// a bug or a plugin over its limits; the trapped instance is discarded.
#[derive(Debug)]
pub enum PluginError {
    /// The plugin's typed answer (WIT `handler-error`).
    Handler(HandlerError),
    /// The host refused the configuration before the plugin saw it: what
    /// the sandbox cannot place (two spool or log directories in one
    /// instance, a spool over half the instance's memory), a durable spool
    /// another process holds, a wasi:logging route it cannot serve.
    Config(String),
    /// A record over `Limits::max_record_bytes`, refused before it entered
    /// the plugin (counted as dropped, invalid).
    RecordTooLarge { size: usize, max: usize },
    /// A call on a handler that was closed.
    Closed,
    /// The instance trapped (a bug, or a plugin over its limits) and was
    /// discarded; the next call starts a fresh one.
    Trap(anyhow::Error),
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginError::Handler(e) => write!(f, "{}", crate::bindings::describe(e)),
            PluginError::Config(m) => write!(f, "bad config: {m}"),
            PluginError::RecordTooLarge { size, max } => write!(
                f,
                "bad record: a record of {size} bytes is over the {max}-byte record limit and was not sent; raise it \
                 with `pylog emit --max-record-bytes` (Limits::max_record_bytes), or send less text"
            ),
            PluginError::Closed => write!(f, "handler is closed; open a new one"),
            PluginError::Trap(e) => write!(f, "plugin trapped and its instance was discarded: {e:#}"),
        }
    }
}

impl std::error::Error for PluginError {}

impl From<anyhow::Error> for PluginError {
    fn from(e: anyhow::Error) -> Self {
        PluginError::Trap(e)
    }
}

impl From<wasmtime::Error> for PluginError {
    fn from(e: wasmtime::Error) -> Self {
        PluginError::Trap(e.into())
    }
}

pub(crate) fn flatten<T>(r: wasmtime::Result<Result<T, HandlerError>>) -> Result<T, PluginError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(PluginError::Handler(e)),
        Err(e) => Err(PluginError::Trap(e.into())),
    }
}
