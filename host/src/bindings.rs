//! The only file that knows wasmtime's bindgen: the generated types, under
//! names the rest of the host uses.

wasmtime::component::bindgen!({ path: "../wit", world: "plugin" });

pub use exports::pylog::handlers::config::{
    Destination, Endpoint, Formatter, HandlerConfig, HandlerKind, NameOrNumber, SocketOptions, SyslogFormat,
    SyslogFraming, SyslogOptions,
};
pub use exports::pylog::handlers::handlers::HandlerStats;
pub use exports::pylog::handlers::types::{Args, HandlerError, LogRecord, Value};
/// The generated world; `Plugin` is the host's name for the loaded component.
pub use self::Plugin as PluginWorld;
pub use self::PluginPre as PluginWorldPre;

