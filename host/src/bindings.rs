//! The only file that knows wasmtime's bindgen: the generated types, under
//! names the rest of the host uses.

// Serialize: `pylog compose` bakes handler configurations into the
// composition as JSON, read back by the configuration component through
// the same WIT (`compose/route-config`).
wasmtime::component::bindgen!({ path: "../wit", world: "plugin", additional_derives: [serde::Serialize] });

/// The generated world; `Plugin` is the host's name for the loaded component.
pub use self::Plugin as PluginWorld;
pub use self::PluginPre as PluginWorldPre;
pub use exports::pylog::handlers::handlers::HandlerStats;
pub use pylog::handlers::config::{
    BufferOptions, Credentials, DatagramAddress, EncodingErrors, Endpoint, FileMode, FileOptions, FormatStyle,
    Formatter, HandlerConfig, HandlerKind, HttpMethod, HttpOptions, NameOrNumber, Overflow, RolloverWhen, Rotation,
    SizeRotation, SmtpOptions, SocketOptions, SpoolOptions, StreamAddress, StreamTarget, SyslogAddress, SyslogFormat,
    SyslogFraming, SyslogOptions, TextEncoding, TimedRotation,
};
pub use pylog::handlers::types::{Args, HandlerError, LogRecord, PackedRecords, Value};

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

/// Where a network handler sends, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub enum Address<'a> {
    Tcp(&'a Endpoint),
    /// TCP inside TLS, which the host's tls-streams capability connects.
    Tls(&'a Endpoint),
    Udp(&'a Endpoint),
    UnixStream(&'a str),
    UnixDatagram(&'a str),
}

impl Address<'_> {
    /// A stream (TCP, TLS or a unix stream socket) rather than datagrams.
    pub fn is_stream(&self) -> bool {
        matches!(self, Address::Tcp(_) | Address::Tls(_) | Address::UnixStream(_))
    }
}

impl std::fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp(e) => write!(f, "tcp {}:{}", e.host, e.port),
            Address::Tls(e) => write!(f, "tls {}:{}", e.host, e.port),
            Address::Udp(e) => write!(f, "udp {}:{}", e.host, e.port),
            Address::UnixStream(p) => write!(f, "unix stream {p}"),
            Address::UnixDatagram(p) => write!(f, "unix datagram {p}"),
        }
    }
}

/// All counters zero (`HandlerStats` is generated, so no derive).
impl Default for HandlerStats {
    fn default() -> Self {
        HandlerStats {
            emitted: 0,
            sent: 0,
            dropped: 0,
            skipped_by_level: 0,
            bytes: 0,
            reconnects: 0,
            truncated: 0,
            spooled: 0,
            replayed: 0,
            dropped_spool_full: 0,
            dropped_invalid: 0,
            dropped_unsent: 0,
            dropped_unconfirmed: 0,
            recovered: 0,
            corrupt: 0,
            buffered: 0,
        }
    }
}

/// The counters of two instances (or an instance and those before it) together.
impl std::ops::AddAssign for HandlerStats {
    fn add_assign(&mut self, o: HandlerStats) {
        self.emitted += o.emitted;
        self.sent += o.sent;
        self.dropped += o.dropped;
        self.skipped_by_level += o.skipped_by_level;
        self.bytes += o.bytes;
        self.reconnects += o.reconnects;
        self.truncated += o.truncated;
        self.spooled += o.spooled;
        self.replayed += o.replayed;
        self.dropped_spool_full += o.dropped_spool_full;
        self.dropped_invalid += o.dropped_invalid;
        self.dropped_unsent += o.dropped_unsent;
        self.dropped_unconfirmed += o.dropped_unconfirmed;
        self.recovered += o.recovered;
        self.corrupt += o.corrupt;
        self.buffered += o.buffered;
    }
}
