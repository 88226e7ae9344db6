//! The host's `tls-streams` capability: TLS client connections for exactly
//! the destination a handler's configuration names, made with the trust
//! store, client certificate and policy of that configuration (rustls).
//! The plugin writes and reads plaintext; it never holds a key, a
//! certificate or a path. WASI 0.2 has no TLS, and `wasi:tls` (a draft
//! that wasmtime-wasi-tls implements) offers no client certificates and no
//! per-handler trust store, which rsyslog's `x509/certvalid` and a private
//! CA need.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ProtocolVersion};
use wasmtime::component::Resource;

use crate::bindings::pylog::handlers::tls_streams::{Host, HostTlsStream, Received, TlsError, TlsStream as Handle};
use crate::config::tls::TlsClient;
use crate::sandbox::tls_errors::{connect_error, handshake_error, rustls_error, timed_out};
use crate::sandbox::{resolve, Denials, TlsGrant};

/// Connections are capped so that a plugin cannot exhaust the host's
/// descriptors by connecting in a loop.
const MAX_CONNECTIONS: usize = 16;

/// In TLS 1.3 a server refuses a client (no certificate, an untrusted one)
/// after the client has finished its handshake. A server that accepts
/// usually sends its session tickets at once; this is how long a new
/// connection waits for that first word, so that a refusal is a failed
/// connect rather than records written into a closing connection.
const VERDICT_WAIT: Duration = Duration::from_millis(250);

/// How much of the peer's data one `read-available` takes in at most.
const READ_CHUNK: usize = 16 << 10;

pub struct TlsCapability {
    /// None: this handler has no TLS destination, so every connect is refused.
    grant: Option<TlsGrant>,
    /// The grant's client, or the system's trust store, once built.
    client: Option<TlsClient>,
    connections: HashMap<u32, Connection>,
    next_id: u32,
    denials: Arc<Denials>,
}

struct Connection {
    /// None until the handshake (a `connect-plain` connection before `start-tls`).
    tls: Option<ClientConnection>,
    socket: TcpStream,
    /// The host name the plugin asked for, which the certificate must carry
    /// unless the configuration names another (`server_name`).
    host: String,
    /// "host:port", for messages.
    peer: String,
}

impl TlsCapability {
    pub fn new(grant: Option<TlsGrant>, denials: Arc<Denials>) -> TlsCapability {
        TlsCapability {
            client: grant.as_ref().and_then(|g| g.client.clone()),
            grant,
            connections: HashMap::new(),
            next_id: 0,
            denials,
        }
    }

    fn check(&self, host: &str, port: u16) -> Result<(), TlsError> {
        match &self.grant {
            Some(g) if g.host == host && g.port == port => Ok(()),
            _ => {
                self.denials.record_tls(host, port);
                Err(TlsError::Denied(format!(
                    "TLS to {host}:{port} was not granted (the host did not grant this destination; add it to the \
                     plugin's configuration)"
                )))
            }
        }
    }

    fn client(&mut self) -> Result<TlsClient, TlsError> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let built = TlsClient::system_default().map_err(|e| TlsError::Io(format!("{e:#}")))?;
        self.client = Some(built.clone());
        Ok(built)
    }

    fn connection(&mut self, handle: &Resource<Handle>) -> Result<&mut Connection, TlsError> {
        self.connections
            .get_mut(&handle.rep())
            .ok_or_else(|| TlsError::Io("this TLS connection is closed; connect again".into()))
    }
}

fn left(deadline: Instant) -> Option<Duration> {
    deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
}

impl Connection {
    /// Sends what rustls holds for the peer, within `deadline`.
    fn write_out(&mut self, deadline: Instant, timeout: Duration, what: &str) -> Result<(), TlsError> {
        let Some(tls) = self.tls.as_mut() else { return Ok(()) };
        while tls.wants_write() {
            let Some(remaining) = left(deadline) else { return Err(timed_out(what, &self.peer, timeout)) };
            let _ = self.socket.set_write_timeout(Some(remaining));
            match tls.write_tls(&mut self.socket) {
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(timed_out(what, &self.peer, timeout))
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(TlsError::Io(format!("{what} {}: {e}", self.peer))),
            }
        }
        Ok(())
    }

    /// After a TLS 1.3 handshake, the server's first word (tickets, or an
    /// alert refusing us), waited for up to `VERDICT_WAIT`.
    fn await_verdict(&mut self, deadline: Instant, server_name: &str) -> Result<(), TlsError> {
        let wait = left(deadline).map_or(Duration::ZERO, |d| d.min(VERDICT_WAIT));
        let Some(tls) = self.tls.as_mut().filter(|_| !wait.is_zero()) else { return Ok(()) };
        let _ = self.socket.set_read_timeout(Some(wait));
        match tls.read_tls(&mut self.socket) {
            Ok(0) => Err(TlsError::Handshake(format!(
                "TLS with {} failed: the server closed the connection right after the handshake (it refused us; \
                 does it require a client certificate?)",
                self.peer
            ))),
            Ok(_) => match tls.process_new_packets() {
                Ok(_) => Ok(()),
                Err(e) => Err(handshake_error(&self.peer, server_name, &e)),
            },
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
            Err(e) => Err(TlsError::Io(format!("TLS with {}: {e}", self.peer))),
        }
    }
}

impl TlsCapability {
    /// The checks every new connection passes, then the TCP connection.
    fn open(&mut self, host: &str, port: u16, timeout: Duration, deadline: Instant) -> Result<Connection, TlsError> {
        self.check(host, port)?;
        if self.connections.len() >= MAX_CONNECTIONS {
            return Err(TlsError::Io(format!("too many open TLS connections (limit {MAX_CONNECTIONS})")));
        }
        let peer = format!("{host}:{port}");
        let addrs = resolve(host, port).map_err(|e| TlsError::Io(crate::bindings::describe(&e)))?;
        let mut last = None;
        for addr in addrs {
            let Some(remaining) = left(deadline) else { break };
            match TcpStream::connect_timeout(&addr, remaining) {
                Ok(socket) => {
                    let _ = socket.set_nodelay(true);
                    return Ok(Connection { tls: None, socket, host: host.to_string(), peer });
                }
                Err(e) => last = Some(connect_error(addr, &e, timeout)),
            }
        }
        Err(last.unwrap_or_else(|| timed_out("connect", &peer, timeout)))
    }

    fn keep(&mut self, c: Connection) -> Resource<Handle> {
        self.next_id = self.next_id.wrapping_add(1);
        self.connections.insert(self.next_id, c);
        Resource::new_own(self.next_id)
    }
}

impl Connection {
    /// The TLS handshake with this handler's client, and (TLS 1.3) the
    /// server's verdict on us, before `deadline`.
    fn handshake(&mut self, client: &TlsClient, timeout: Duration, deadline: Instant) -> Result<(), TlsError> {
        let name = client
            .server_name
            .clone()
            .unwrap_or_else(|| self.host.trim_start_matches('[').trim_end_matches(']').to_string());
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| TlsError::Io(format!("{name:?} is not a DNS name or an IP address to verify")))?;
        let mut tls = ClientConnection::new(client.config.clone(), server_name)
            .map_err(|e| TlsError::Io(format!("TLS with {}: {e}", self.peer)))?;
        tls.set_buffer_limit(None);
        let _ = self.socket.set_nonblocking(false);
        while tls.is_handshaking() {
            let Some(remaining) = left(deadline) else {
                return Err(timed_out("TLS handshake with", &self.peer, timeout));
            };
            let _ = self.socket.set_read_timeout(Some(remaining));
            let _ = self.socket.set_write_timeout(Some(remaining));
            match tls.complete_io(&mut self.socket) {
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(timed_out("TLS handshake with", &self.peer, timeout))
                }
                Err(e) => {
                    return Err(match rustls_error(&e) {
                        Some(err) => handshake_error(&self.peer, &name, err),
                        None if e.kind() == ErrorKind::UnexpectedEof => TlsError::Handshake(format!(
                            "TLS handshake with {} failed: the peer closed the connection (is it a TLS port?)",
                            self.peer
                        )),
                        None => TlsError::Io(format!("TLS handshake with {}: {e}", self.peer)),
                    })
                }
            }
        }
        let version = tls.protocol_version();
        self.tls = Some(tls);
        self.write_out(deadline, timeout, "TLS handshake with")?;
        if version == Some(ProtocolVersion::TLSv1_3) {
            self.await_verdict(deadline, &name)?;
        }
        Ok(())
    }
}

impl HostTlsStream for TlsCapability {
    fn connect(&mut self, host: String, port: u16, timeout_ms: u32) -> Result<Resource<Handle>, TlsError> {
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
        let deadline = Instant::now() + timeout;
        let client = self.client()?;
        let mut c = self.open(&host, port, timeout, deadline)?;
        c.handshake(&client, timeout, deadline)?;
        Ok(self.keep(c))
    }

    fn connect_plain(&mut self, host: String, port: u16, timeout_ms: u32) -> Result<Resource<Handle>, TlsError> {
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
        let c = self.open(&host, port, timeout, Instant::now() + timeout)?;
        Ok(self.keep(c))
    }

    fn start_tls(&mut self, handle: Resource<Handle>, timeout_ms: u32) -> Result<(), TlsError> {
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
        let deadline = Instant::now() + timeout;
        let client = self.client()?;
        let c = self.connection(&handle)?;
        if c.tls.is_some() {
            return Err(TlsError::Io(format!("the connection to {} is TLS already", c.peer)));
        }
        let started = c.handshake(&client, timeout, deadline);
        if started.is_err() {
            self.connections.remove(&handle.rep());
        }
        started
    }

    fn write(&mut self, handle: Resource<Handle>, bytes: Vec<u8>, timeout_ms: u32) -> Result<(), TlsError> {
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
        let deadline = Instant::now() + timeout;
        let c = self.connection(&handle)?;
        let _ = c.socket.set_nonblocking(false);
        let sent = match c.tls.as_mut() {
            Some(tls) => match tls.writer().write_all(&bytes) {
                Ok(()) => c.write_out(deadline, timeout, "send to"),
                Err(e) => Err(TlsError::Io(format!("send to {}: {e}", c.peer))),
            },
            None => {
                let _ = c.socket.set_write_timeout(Some(timeout));
                c.socket.write_all(&bytes).map_err(|e| match e.kind() {
                    ErrorKind::WouldBlock | ErrorKind::TimedOut => timed_out("send to", &c.peer, timeout),
                    _ => TlsError::Io(format!("send to {}: {e}", c.peer)),
                })
            }
        };
        if sent.is_err() {
            // Part of a record may be on the wire: this connection is done.
            self.connections.remove(&handle.rep());
        }
        sent
    }

    fn read(&mut self, handle: Resource<Handle>, max: u32, timeout_ms: u32) -> Result<Received, TlsError> {
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
        let deadline = Instant::now() + timeout;
        let c = self.connection(&handle)?;
        let mut bytes = vec![0u8; (max as usize).clamp(1, READ_CHUNK)];
        let _ = c.socket.set_nonblocking(false);
        loop {
            let Some(remaining) = left(deadline) else { return Err(timed_out("read from", &c.peer, timeout)) };
            let _ = c.socket.set_read_timeout(Some(remaining));
            let Some(tls) = c.tls.as_mut() else {
                return match c.socket.read(&mut bytes) {
                    Ok(n) => {
                        bytes.truncate(n);
                        Ok(Received { closed: n == 0, bytes })
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        Err(timed_out("read from", &c.peer, timeout))
                    }
                    Err(e) => Err(TlsError::Io(format!("read from {}: {e}", c.peer))),
                };
            };
            match tls.reader().read(&mut bytes) {
                Ok(n) => {
                    bytes.truncate(n);
                    return Ok(Received { closed: n == 0, bytes });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(TlsError::Io(format!("read from {}: {e}", c.peer))),
            }
            match tls.read_tls(&mut c.socket) {
                Ok(0) => return Ok(Received { bytes: Vec::new(), closed: true }),
                Ok(_) => {
                    tls.process_new_packets().map_err(|e| TlsError::Io(format!("read from {}: {e}", c.peer)))?;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(timed_out("read from", &c.peer, timeout))
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(TlsError::Io(format!("read from {}: {e}", c.peer))),
            }
        }
    }

    fn read_available(&mut self, handle: Resource<Handle>, max: u32) -> Result<Received, TlsError> {
        let c = self.connection(&handle)?;
        let max = (max as usize).min(READ_CHUNK);
        let _ = c.socket.set_nonblocking(true);
        let Some(tls) = c.tls.as_mut() else {
            let mut bytes = vec![0u8; max];
            let read = c.socket.read(&mut bytes);
            let _ = c.socket.set_nonblocking(false);
            return Ok(match read {
                Ok(n) => {
                    bytes.truncate(n);
                    Received { closed: n == 0 && max > 0, bytes }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => Received { bytes: Vec::new(), closed: false },
                Err(_) => Received { bytes: Vec::new(), closed: true },
            });
        };
        let mut closed = false;
        // Take in what has arrived; a few records at most, never a wait.
        for _ in 0..64 {
            match tls.read_tls(&mut c.socket) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(_) => {
                    if tls.process_new_packets().is_err() {
                        closed = true;
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let mut bytes = vec![0u8; max];
        let mut filled = 0;
        while filled < max {
            match tls.reader().read(&mut bytes[filled..]) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        bytes.truncate(filled);
        let _ = c.socket.set_nonblocking(false);
        Ok(Received { bytes, closed })
    }

    fn drop(&mut self, handle: Resource<Handle>) -> wasmtime::Result<()> {
        if let Some(mut c) = self.connections.remove(&handle.rep()) {
            // A polite close_notify, never a wait.
            if let Some(tls) = c.tls.as_mut() {
                tls.send_close_notify();
                let _ = c.socket.set_nonblocking(true);
                let _ = tls.write_tls(&mut c.socket);
            }
        }
        Ok(())
    }
}

impl Host for TlsCapability {}
