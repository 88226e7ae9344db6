//! Unix domain sockets, which WASI lacks: the component gets them from a
//! host import (`component::unix`), native builds from nowhere
//! (`NoUnixSockets`). The two transports over that capability: a stream
//! (SocketHandler, SysLogHandler with SOCK_STREAM) and datagrams
//! (`/dev/log`).

use crate::deliver::transport::Transport;
use crate::error::{Error, Result};

/// The capability: stream connections and datagrams to the paths the host
/// granted.
pub trait UnixSockets {
    fn connect_stream(&mut self, path: &str) -> Result<Box<dyn UnixConnection>>;
    fn send_datagram(&mut self, path: &str, bytes: &[u8]) -> Result<()>;
}

/// One connected stream; dropping it closes the connection.
pub trait UnixConnection {
    /// Writes all of `bytes`; after an error the connection is unusable.
    fn send(&mut self, bytes: &[u8]) -> Result<()>;
}

/// The answer where no host offers unix sockets.
pub struct NoUnixSockets;

impl NoUnixSockets {
    fn error(path: &str) -> Error {
        Error::Unsupported(format!(
            "unix socket {path:?}: WASI has no unix domain sockets and this host offers no unix capability; \
             send to the receiver over UDP or TCP on loopback instead"
        ))
    }
}

impl UnixSockets for NoUnixSockets {
    fn connect_stream(&mut self, path: &str) -> Result<Box<dyn UnixConnection>> {
        Err(NoUnixSockets::error(path))
    }
    fn send_datagram(&mut self, path: &str, _bytes: &[u8]) -> Result<()> {
        Err(NoUnixSockets::error(path))
    }
}

pub struct UnixStream {
    path: String,
    connection: Option<Box<dyn UnixConnection>>,
    unix: Box<dyn UnixSockets>,
}

impl UnixStream {
    pub fn new(path: &str, unix: Box<dyn UnixSockets>) -> UnixStream {
        UnixStream { path: path.to_string(), connection: None, unix }
    }
}

impl Transport for UnixStream {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let connection = match self.connection.as_mut() {
            Some(c) => c,
            None => self.connection.insert(self.unix.connect_stream(&self.path)?),
        };
        connection.send(bytes).inspect_err(|_| {
            // Reconnect on the next record, as CPython does after a failed send.
            self.connection = None;
        })
    }

    fn close(&mut self) {
        self.connection = None;
    }

    fn is_stream(&self) -> bool {
        true
    }

    fn last_failure(&self) -> Option<String> {
        Some(format!("unix stream {}", self.path))
    }
}

pub struct UnixDatagram {
    path: String,
    unix: Box<dyn UnixSockets>,
}

impl UnixDatagram {
    pub fn new(path: &str, unix: Box<dyn UnixSockets>) -> UnixDatagram {
        UnixDatagram { path: path.to_string(), unix }
    }
}

impl Transport for UnixDatagram {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.unix.send_datagram(&self.path, bytes)
    }
}
