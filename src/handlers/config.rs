//! A handler's configuration as the core sees it: which family (with its
//! CPython constructor arguments), where it sends, its level, formatter,
//! spool and an optional MemoryHandler in front.

use crate::deliver::backoff::RetryPolicy;
use crate::deliver::file::FileOptions;
use crate::deliver::http::HttpOptions;
use crate::deliver::smtp::SmtpOptions;
use crate::deliver::spool::SpoolLimits;
use crate::deliver::transport::{Console, Destination};
use crate::encode::pickle;
use crate::encode::syslog::SyslogOptions;
use crate::handlers::memory::BufferOptions;
use crate::python::formatter::Formatter;
use crate::python::text_encoding::TextEncoding;

#[derive(Debug, Clone, PartialEq)]
pub struct HandlerConfig {
    pub name: String,
    pub kind: Kind,
    pub destination: Destination,
    pub level: i64,
    pub formatter: Formatter,
    /// For stream destinations (TCP, unix stream); 0 records turns it off.
    pub spool: SpoolLimits,
    /// A MemoryHandler in front of this handler.
    pub buffer: Option<BufferOptions>,
}

/// The handler families, each implemented by one file in `handlers/`.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Socket(SocketOptions),
    Datagram(SocketOptions),
    Syslog(SyslogOptions),
    Null,
    Stream(Console),
    File { options: FileOptions, encoding: TextEncoding },
    Http(HttpOptions),
    Smtp(SmtpOptions),
}

/// `SocketHandler` / `DatagramHandler`, with our signing and
/// acknowledgement options.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketOptions {
    pub pickle_protocol: u8,
    pub retry: RetryPolicy,
    pub close_on_error: bool,
    pub hmac_key: Option<Secret>,
    /// Acknowledged mode when above 0: at most this many frames in flight.
    pub ack_window: u32,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            pickle_protocol: pickle::DEFAULT_PROTOCOL,
            retry: RetryPolicy::default(),
            close_on_error: false,
            hmac_key: None,
            ack_window: 0,
        }
    }
}

/// Key bytes that never print.
#[derive(Clone, PartialEq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}
