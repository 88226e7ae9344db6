//! The host's `tls-streams` import as the core's `TlsStreams` capability.

use std::time::Duration;

use crate::deliver::connection::Peer;
use crate::deliver::tls::{TlsConnection, TlsStreams};
use crate::error::Error;

use super::wit::pylog::handlers::tls_streams as tls;

/// TLS connections through the host's `tls-streams` import.
pub struct ImportedTlsStreams;

/// A handshake or verification failure is an `Io` failure of the
/// destination (spooled, retried on the backoff, counted), worded by the
/// host, which knows the reason.
fn tls_error(e: tls::TlsError) -> Error {
    match e {
        tls::TlsError::Unsupported(m) => Error::Unsupported(m),
        tls::TlsError::Denied(m) => Error::Denied(m),
        tls::TlsError::Handshake(m) | tls::TlsError::TimedOut(m) | tls::TlsError::Io(m) => Error::Io(m),
    }
}

/// Milliseconds for the host, saturating (a timeout is at most an hour).
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl TlsStreams for ImportedTlsStreams {
    fn connect(&mut self, host: &str, port: u16, timeout: Duration) -> Result<Box<dyn TlsConnection>, Error> {
        let stream = tls::TlsStream::connect(host, port, millis(timeout)).map_err(tls_error)?;
        Ok(Box::new(ImportedStream(stream)))
    }

    fn connect_plain(&mut self, host: &str, port: u16, timeout: Duration) -> Result<Box<dyn TlsConnection>, Error> {
        let stream = tls::TlsStream::connect_plain(host, port, millis(timeout)).map_err(tls_error)?;
        Ok(Box::new(ImportedStream(stream)))
    }
}

/// A connection the host holds; dropping the resource closes it.
struct ImportedStream(tls::TlsStream);

impl TlsConnection for ImportedStream {
    fn write(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), Error> {
        self.0.write(bytes, millis(timeout)).map_err(tls_error)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, Error> {
        let max = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let received = self.0.read(max, millis(timeout)).map_err(tls_error)?;
        let n = received.bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&received.bytes[..n]);
        Ok(n)
    }

    fn start_tls(&mut self, timeout: Duration) -> Result<(), Error> {
        self.0.start_tls(millis(timeout)).map_err(tls_error)
    }

    fn read_available(&mut self, inbox: &mut Vec<u8>, limit: usize) -> Peer {
        let room = u32::try_from(limit.saturating_sub(inbox.len())).unwrap_or(u32::MAX);
        if room == 0 {
            // A peer that floods us with bytes nobody asked for is treated as gone.
            return Peer::Closed;
        }
        match self.0.read_available(room) {
            Ok(received) => {
                inbox.extend_from_slice(&received.bytes);
                if received.closed {
                    Peer::Closed
                } else {
                    Peer::Open
                }
            }
            Err(_) => Peer::Closed,
        }
    }
}
