//! The host's `unix-sockets` capability: unix domain sockets for exactly the
//! paths a handler's configuration names. WASI has no unix sockets, so this
//! is the only way a plugin reaches `/dev/log`.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::Arc;

use wasmtime::component::Resource;

use crate::bindings::pylog::handlers::unix_sockets::{Host, HostUnixStream, UnixError, UnixStream as StreamHandle};
use crate::sandbox::Denials;

/// Connections are capped so that a plugin cannot exhaust the host's
/// descriptors by connecting in a loop.
const MAX_CONNECTIONS: usize = 16;

#[derive(Default)]
pub struct UnixCapability {
    /// None: this host offers no unix sockets at all.
    paths: Option<HashSet<String>>,
    connections: HashMap<u32, UnixStream>,
    next_id: u32,
    datagram: Option<UnixDatagram>,
    denials: Arc<Denials>,
}

impl UnixCapability {
    pub fn new(paths: Option<HashSet<String>>, denials: Arc<Denials>) -> UnixCapability {
        UnixCapability { paths, denials, ..Default::default() }
    }

    fn check(&self, path: &str) -> Result<(), UnixError> {
        match &self.paths {
            None => {
                Err(UnixError::Unsupported(format!("unix socket {path:?}: this host offers no unix socket capability")))
            }
            Some(paths) if paths.contains(path) => Ok(()),
            Some(_) => {
                self.denials.record_path(path);
                Err(UnixError::Denied(format!(
                    "unix socket {path:?} was not granted (the host did not grant this destination; add it to the plugin's configuration)"
                )))
            }
        }
    }
}

fn io(context: &str, e: std::io::Error) -> UnixError {
    UnixError::Io(format!("{context}: {e}"))
}

impl HostUnixStream for UnixCapability {
    fn connect(&mut self, path: String) -> Result<Resource<StreamHandle>, UnixError> {
        self.check(&path)?;
        if self.connections.len() >= MAX_CONNECTIONS {
            return Err(UnixError::Io(format!("too many open unix connections (limit {MAX_CONNECTIONS})")));
        }
        let stream = UnixStream::connect(&path).map_err(|e| io(&format!("connect {path}"), e))?;
        self.next_id = self.next_id.wrapping_add(1);
        self.connections.insert(self.next_id, stream);
        Ok(Resource::new_own(self.next_id))
    }

    fn send(&mut self, connection: Resource<StreamHandle>, bytes: Vec<u8>) -> Result<(), UnixError> {
        let stream = self
            .connections
            .get_mut(&connection.rep())
            .ok_or_else(|| UnixError::Io("this unix connection is closed; connect again".into()))?;
        stream.write_all(&bytes).map_err(|e| io("send", e))
    }

    fn drop(&mut self, connection: Resource<StreamHandle>) -> wasmtime::Result<()> {
        self.connections.remove(&connection.rep());
        Ok(())
    }
}

impl Host for UnixCapability {
    fn send_datagram(&mut self, path: String, bytes: Vec<u8>) -> Result<(), UnixError> {
        self.check(&path)?;
        if self.datagram.is_none() {
            self.datagram = Some(UnixDatagram::unbound().map_err(|e| io("unix datagram socket", e))?);
        }
        let socket = self.datagram.as_ref().ok_or_else(|| UnixError::Io("no socket".into()))?;
        socket.send_to(&bytes, &path).map_err(|e| io(&format!("send to {path}"), e))?;
        Ok(())
    }
}
