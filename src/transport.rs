//! Byte movers: where a handler's encoded bytes go. They know nothing of
//! records; handlers encode, transports deliver.

use std::io::Write;
use std::net::{ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use crate::backoff::{Backoff, RetryPolicy};
use crate::connection::{Connection, Peer};
use crate::error::{Error, Result};
use crate::file_sink::FileSink;
use crate::http_client::HttpTarget;
use crate::smtp::SmtpTarget;

#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    Memory,
    Tcp {
        host: String,
        port: u16,
    },
    Udp {
        host: String,
        port: u16,
    },
    UnixStream(String),
    UnixDatagram(String),
    /// The handler kind names its own target: a file, a URL, a console stream.
    Configured,
}

/// `StreamHandler`'s stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Console {
    Stderr,
    Stdout,
}

/// The largest UDP payload IPv4 can carry (65535 - 8 UDP - 20 IP header).
pub const MAX_DATAGRAM: usize = 65_507;

/// Unix domain sockets, which WASI lacks: the component gets them from a
/// host import, native builds from nowhere (`NoUnixSockets`).
pub trait UnixSockets {
    fn connect_stream(&mut self, path: &str) -> Result<u32>;
    fn send_stream(&mut self, connection: u32, bytes: &[u8]) -> Result<()>;
    fn close_stream(&mut self, connection: u32);
    fn send_datagram(&mut self, path: &str, bytes: &[u8]) -> Result<()>;
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
    fn connect_stream(&mut self, path: &str) -> Result<u32> {
        Err(NoUnixSockets::error(path))
    }
    fn send_stream(&mut self, _connection: u32, _bytes: &[u8]) -> Result<()> {
        Err(NoUnixSockets::error("(stream)"))
    }
    fn close_stream(&mut self, _connection: u32) {}
    fn send_datagram(&mut self, path: &str, _bytes: &[u8]) -> Result<()> {
        Err(NoUnixSockets::error(path))
    }
}

pub enum Transport {
    Memory(Vec<u8>),
    Tcp(TcpTransport),
    Udp(UdpTransport),
    UnixStream { path: String, connection: Option<u32>, unix: Box<dyn UnixSockets> },
    UnixDatagram { path: String, unix: Box<dyn UnixSockets> },
    Console(Console),
    File(FileSink),
    Http(HttpTarget),
    Smtp(SmtpTarget),
}

impl Transport {
    /// `timeout` bounds each connect and each write to a stream receiver.
    pub fn open(
        destination: &Destination,
        retry: RetryPolicy,
        timeout: Duration,
        unix: Box<dyn UnixSockets>,
    ) -> Result<Transport> {
        match destination {
            Destination::Memory => Ok(Transport::Memory(Vec::new())),
            Destination::Tcp { host, port } => Ok(Transport::Tcp(TcpTransport {
                host: host.clone(),
                port: *port,
                stream: None,
                backoff: Backoff::new(retry),
                reconnects: 0,
                connected_once: false,
                inbox: Vec::new(),
                last_write: None,
                timeout,
                last_failure: None,
            })),
            Destination::Udp { host, port } => {
                Ok(Transport::Udp(UdpTransport { host: host.clone(), port: *port, socket: None }))
            }
            Destination::UnixStream(path) => Ok(Transport::UnixStream { path: path.clone(), connection: None, unix }),
            Destination::UnixDatagram(path) => Ok(Transport::UnixDatagram { path: path.clone(), unix }),
            Destination::Configured => Err(Error::BadConfig(
                "this handler kind needs a network destination (tcp, udp or a unix socket)".into(),
            )),
        }
    }

    /// Sends one message: a stream write for TCP, one datagram for UDP.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            Transport::Memory(buf) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Transport::Tcp(t) => t.send(bytes),
            Transport::Udp(u) => u.send(bytes),
            Transport::UnixStream { path, connection, unix } => {
                let conn = match connection {
                    Some(c) => *c,
                    None => *connection.insert(unix.connect_stream(path)?),
                };
                unix.send_stream(conn, bytes).inspect_err(|_| {
                    // Reconnect on the next record, as CPython does after a failed send.
                    unix.close_stream(conn);
                    *connection = None;
                })
            }
            Transport::UnixDatagram { path, unix } => unix.send_datagram(path, bytes),
            Transport::Console(c) => {
                let written = match c {
                    Console::Stderr => std::io::stderr().write_all(bytes),
                    Console::Stdout => std::io::stdout().write_all(bytes),
                };
                written.map_err(|e| Error::from_io("write to the host's console", &e))
            }
            Transport::File(f) => f.write_lines(bytes),
            Transport::Http(h) => h.send(bytes),
            Transport::Smtp(s) => s.send(bytes),
        }
    }

    /// Sends one record's bytes; rotating files need its length in
    /// characters and its creation time to decide on a rollover first.
    pub fn send_record(&mut self, bytes: &[u8], chars: u64, created: f64) -> Result<()> {
        match self {
            Transport::File(f) => f.write_record(bytes, chars, created),
            other => other.send(bytes),
        }
    }

    pub fn flush(&mut self) -> Result<()> {
        match self {
            Transport::Tcp(TcpTransport { stream: Some(s), timeout, .. }) => {
                s.flush_within(*timeout).map_err(|e| Error::from_io("flush", &e))
            }
            Transport::File(f) => f.flush(),
            _ => Ok(()),
        }
    }

    pub fn close(&mut self) {
        match self {
            Transport::Tcp(t) => t.stream = None,
            Transport::Udp(u) => u.socket = None,
            Transport::UnixStream { connection, unix, .. } => {
                if let Some(c) = connection.take() {
                    unix.close_stream(c);
                }
            }
            Transport::File(f) => f.close(),
            Transport::Memory(_)
            | Transport::UnixDatagram { .. }
            | Transport::Console(_)
            | Transport::Http(_)
            | Transport::Smtp(_) => {}
        }
    }

    /// Whether several records' bytes may go out in one write.
    pub fn coalesces(&self) -> bool {
        match self {
            Transport::File(f) => f.coalesces(),
            Transport::Console(_) => true,
            other => other.is_stream(),
        }
    }

    /// Streams keep order and can hold records back for a spool; datagrams
    /// and memory cannot.
    pub fn is_stream(&self) -> bool {
        matches!(self, Transport::Tcp(_) | Transport::UnixStream { .. })
    }

    /// How long until a send may try to connect (zero when connected or
    /// when the reconnect schedule allows an attempt now).
    pub fn ready_in(&self) -> std::time::Duration {
        match self {
            Transport::Tcp(t) if t.stream.is_none() => t.backoff.remaining(Instant::now()),
            _ => std::time::Duration::ZERO,
        }
    }

    /// Bytes the receiver sent back since the last call (acknowledgements),
    /// and whether the connection is (now) down.
    pub fn take_inbox(&mut self) -> (Vec<u8>, bool) {
        match self {
            Transport::Tcp(t) => {
                if t.peer_closed() {
                    t.stream = None;
                }
                (std::mem::take(&mut t.inbox), t.stream.is_none())
            }
            _ => (Vec::new(), false),
        }
    }

    /// Why the receiver was last found unreachable: the destination and
    /// the OS error of the last failed connection attempt.
    pub fn last_failure(&self) -> Option<String> {
        match self {
            Transport::Tcp(t) => {
                Some(t.last_failure.clone().unwrap_or_else(|| format!("tcp {}:{}: no connection", t.host, t.port)))
            }
            Transport::UnixStream { path, .. } => Some(format!("unix stream {path}")),
            _ => None,
        }
    }

    pub fn reconnects(&self) -> u64 {
        match self {
            Transport::Tcp(t) => t.reconnects,
            _ => 0,
        }
    }

    pub fn take_output(&mut self) -> Vec<u8> {
        match self {
            Transport::Memory(buf) => std::mem::take(buf),
            _ => Vec::new(),
        }
    }
}

fn resolve(host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>> {
    let addrs: Vec<_> =
        (host, port).to_socket_addrs().map_err(|e| Error::from_io(&format!("resolve {host}:{port}"), &e))?.collect();
    if addrs.is_empty() {
        return Err(Error::Io(format!("{host} has no address; check the host name")));
    }
    Ok(addrs)
}

pub struct TcpTransport {
    host: String,
    port: u16,
    stream: Option<Connection>,
    backoff: Backoff,
    reconnects: u64,
    connected_once: bool,
    /// What the receiver sent back (acknowledgements), not yet consumed.
    inbox: Vec<u8>,
    last_write: Option<Instant>,
    /// For one connect and one write: a receiver that stops reading costs
    /// a record this long, then a reconnect, never a hung process.
    timeout: Duration,
    /// Why the last connection attempt failed (destination and OS error),
    /// for the message that reports records left undelivered.
    last_failure: Option<String>,
}

/// A write after a pause this long first checks whether the peer closed.
const PAUSE: Duration = Duration::from_millis(1);
/// After this long without a write, a peer that closed meanwhile is likely;
/// see `TcpTransport::send`.
const IDLE: Duration = Duration::from_millis(100);

/// What a flooding receiver may make us hold before we stop reading: it is
/// not acknowledging.
const INBOX_LIMIT: usize = 1 << 20;

impl TcpTransport {
    /// Reads whatever the receiver has sent, without waiting, into `inbox`;
    /// true when the peer has closed (or reset) the connection. A plain log
    /// receiver sends nothing, so there readable means end of stream.
    fn peer_closed(&mut self) -> bool {
        self.stream.as_mut().is_some_and(|s| s.read_available(&mut self.inbox, INBOX_LIMIT) == Peer::Closed)
    }

    fn connect(&mut self) -> Result<()> {
        let now = Instant::now();
        if !self.backoff.may_attempt(now) {
            return Err(Error::Dropped(format!(
                "{}:{} is unreachable; next connection attempt in {:.1} s (retry_start/retry_factor/retry_max)",
                self.host,
                self.port,
                self.backoff.remaining(now).as_secs_f64()
            )));
        }
        let attempt = resolve(&self.host, self.port).and_then(|addrs| {
            let mut last = None;
            for addr in addrs {
                match Connection::connect(addr, self.timeout) {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(Error::from_io(&format!("connect {addr}"), &e)),
                }
            }
            Err(last.unwrap_or_else(|| Error::Io("no address to connect to".into())))
        });
        match attempt {
            Ok(stream) => {
                self.backoff.succeeded();
                if self.connected_once {
                    self.reconnects += 1;
                }
                self.connected_once = true;
                self.stream = Some(stream);
                Ok(())
            }
            Err(e) => {
                self.backoff.failed(now);
                self.last_failure = Some(e.to_string());
                Err(e)
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        // Checked before every write: a record written after the peer has
        // gone would be accepted by the kernel and never read. (Records
        // already in flight when it dies are what acknowledged mode is for.)
        // Under steady traffic a dead peer shows up as a write error within
        // a few writes, and what is in flight then is acknowledged mode's
        // job; the check (three host calls) runs after a pause.
        let idle_for = self.last_write.map_or(Duration::MAX, |t| t.elapsed());
        let mut closed = idle_for >= PAUSE && self.peer_closed();
        if !closed && idle_for >= IDLE {
            // wasmtime answers a read from its I/O reactor's view of the
            // socket, which can lag the kernel by a moment after a peer's
            // close. After an idle spell, give it that moment once.
            std::thread::sleep(std::time::Duration::from_millis(1));
            closed = self.peer_closed();
        }
        if closed {
            // Writing now would put the record into a dead connection,
            // where the kernel accepts it and nobody reads it.
            self.stream = None;
        }
        if self.stream.is_none() {
            self.connect()?;
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Error::Io("no connection".into()));
        };
        match stream.write_all_within(bytes, self.timeout) {
            Ok(()) => {
                self.last_write = Some(Instant::now());
                Ok(())
            }
            Err(e) => {
                // CPython closes the socket and lets the next emit reconnect;
                // so do we, and report this record as not sent. A timed-out
                // write may have sent part of the frame: the connection
                // cannot carry another, so it is closed either way.
                self.stream = None;
                let timed_out = matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
                if timed_out {
                    self.backoff.failed(Instant::now());
                    return Err(Error::Io(format!(
                        "send to {}:{} timed out after {:.1} s: the receiver is not reading (timeout)",
                        self.host,
                        self.port,
                        self.timeout.as_secs_f64()
                    )));
                }
                Err(Error::from_io(&format!("send to {}:{}", self.host, self.port), &e))
            }
        }
    }
}

pub struct UdpTransport {
    host: String,
    port: u16,
    socket: Option<(UdpSocket, std::net::SocketAddr)>,
}

impl UdpTransport {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(Error::Dropped(format!(
                "message is {} bytes, over the {MAX_DATAGRAM}-byte UDP limit; use a TCP handler for large records",
                bytes.len()
            )));
        }
        if self.socket.is_none() {
            let addr = resolve(&self.host, self.port)?[0];
            let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let socket = UdpSocket::bind(bind).map_err(|e| Error::from_io("bind udp socket", &e))?;
            self.socket = Some((socket, addr));
        }
        let Some((socket, addr)) = self.socket.as_ref() else {
            return Err(Error::Io("no socket".into()));
        };
        socket.send_to(bytes, addr).map_err(|e| Error::from_io(&format!("send to {addr}"), &e))?;
        Ok(())
    }
}
