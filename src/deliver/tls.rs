//! TLS, which WASI 0.2 lacks: the component gets TLS connections from a
//! host import (`component::tls`), native builds from nowhere
//! (`NoTlsStreams`). The host holds the trust store, any client
//! certificate and the verification policy; the plugin sees plaintext.
//! `TcpTransport` carries records over such a connection as over a plain one.

use std::time::Duration;

use crate::deliver::connection::Peer;
use crate::error::{Error, Result};

/// The capability: TLS connections to the destinations the host granted.
pub trait TlsStreams {
    /// Connects to `host:port` and completes the handshake within `timeout`.
    fn connect(&mut self, host: &str, port: u16, timeout: Duration) -> Result<Box<dyn TlsConnection>>;
    /// Connects in plaintext, for a protocol that upgrades with `start_tls`.
    fn connect_plain(&mut self, host: &str, port: u16, timeout: Duration) -> Result<Box<dyn TlsConnection>>;
}

/// One TLS connection; dropping it closes the connection.
pub trait TlsConnection {
    /// Writes all of `bytes` within `timeout`; after an error the
    /// connection is unusable.
    fn write(&mut self, bytes: &[u8], timeout: Duration) -> Result<()>;
    /// Appends what the peer has sent (up to `limit` bytes in `inbox`)
    /// without waiting; `Peer::Closed` once it has closed.
    fn read_available(&mut self, inbox: &mut Vec<u8>, limit: usize) -> Peer;
    /// Reads into `buf`, waiting up to `timeout` for the first byte; 0 at
    /// the end of the stream.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize>;
    /// The TLS handshake on a `connect_plain` connection.
    fn start_tls(&mut self, timeout: Duration) -> Result<()>;
}

/// The answer where no host offers TLS.
pub struct NoTlsStreams;

impl NoTlsStreams {
    fn error(host: &str, port: u16) -> Error {
        Error::Unsupported(format!(
            "TLS to {host}:{port}: WASI has no TLS and this host offers no tls-streams capability; run the plugin \
             in a host that provides it (pylog, or the embedding library)"
        ))
    }
}

impl TlsStreams for NoTlsStreams {
    fn connect(&mut self, host: &str, port: u16, _timeout: Duration) -> Result<Box<dyn TlsConnection>> {
        Err(NoTlsStreams::error(host, port))
    }
    fn connect_plain(&mut self, host: &str, port: u16, _timeout: Duration) -> Result<Box<dyn TlsConnection>> {
        Err(NoTlsStreams::error(host, port))
    }
}
