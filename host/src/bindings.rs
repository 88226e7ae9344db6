//! The only file that knows wasmtime's bindgen: the generated types, under
//! names the rest of the host uses.

wasmtime::component::bindgen!({ path: "../wit", world: "plugin" });

/// The generated world; `Plugin` is the host's name for the loaded component.
pub use self::Plugin as PluginWorld;
pub use self::PluginPre as PluginWorldPre;
pub use exports::pylog::handlers::handlers::HandlerStats;
pub use pylog::handlers::config::{
    BufferOptions, Credentials, Destination, Endpoint, FileOptions, Formatter, HandlerConfig, HandlerKind, HttpOptions,
    NameOrNumber, Overflow, Rotation, SizeRotation, SmtpOptions, SocketOptions, SpoolOptions, StreamTarget,
    SyslogFormat, SyslogFraming, SyslogOptions, TimedRotation,
};
pub use pylog::handlers::types::{Args, HandlerError, LogRecord, Value};

/// One line saying what went wrong and what to do. (The `Display` that
/// bindgen derives prints the variant's Rust spelling.)
pub fn describe(e: &HandlerError) -> String {
    match e {
        HandlerError::BadConfig(m) => format!("bad config: {m}"),
        HandlerError::BadRecord(m) => format!("bad record: {m}"),
        HandlerError::UnknownFacility(m) => format!("unknown facility: {m}"),
        HandlerError::UnknownPriority(m) => format!("unknown priority: {m}"),
        HandlerError::Io(m) => format!("i/o: {m}"),
        HandlerError::Denied(m) => format!("denied: {m}"),
        HandlerError::Unsupported(m) => format!("unsupported: {m}"),
        HandlerError::Closed => "handler is closed; open a new one".into(),
        HandlerError::Dropped(m) => format!("record dropped: {m}"),
    }
}
