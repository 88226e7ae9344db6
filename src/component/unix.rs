//! The host's `unix-sockets` import as the core's `UnixSockets` capability.

use crate::deliver::unix::UnixSockets;
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
    fn connect_stream(&mut self, path: &str) -> Result<u32, Error> {
        unix::connect_stream(path).map_err(unix_error)
    }
    fn send_stream(&mut self, connection: u32, bytes: &[u8]) -> Result<(), Error> {
        unix::send_stream(connection, bytes).map_err(unix_error)
    }
    fn close_stream(&mut self, connection: u32) {
        unix::close_stream(connection)
    }
    fn send_datagram(&mut self, path: &str, bytes: &[u8]) -> Result<(), Error> {
        unix::send_datagram(path, bytes).map_err(unix_error)
    }
}
