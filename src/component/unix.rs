//! The host's `unix-sockets` import as the core's `UnixSockets` capability.

use crate::deliver::unix::{UnixConnection, UnixSockets};
use crate::error::Error;

use super::wit::pylog::handlers::unix_sockets as unix;

/// Unix sockets through the host's `unix-sockets` import.
pub struct ImportedUnixSockets;

fn unix_error(e: unix::UnixError) -> Error {
    match e {
        unix::UnixError::Unsupported(m) => Error::Unsupported(m),
        unix::UnixError::Denied(m) => Error::Denied(m),
        unix::UnixError::Io(m) => Error::Io(m),
    }
}

impl UnixSockets for ImportedUnixSockets {
    fn connect_stream(&mut self, path: &str) -> Result<Box<dyn UnixConnection>, Error> {
        let stream = unix::UnixStream::connect(path).map_err(unix_error)?;
        Ok(Box::new(ImportedStream(stream)))
    }
    fn send_datagram(&mut self, path: &str, bytes: &[u8]) -> Result<(), Error> {
        unix::send_datagram(path, bytes).map_err(unix_error)
    }
}

/// A connection the host holds; dropping the resource closes it.
struct ImportedStream(unix::UnixStream);

impl UnixConnection for ImportedStream {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.0.send(bytes).map_err(unix_error)
    }
}
